import { z } from 'zod';
import type { ConnectorOffset } from '../src/connect/client';
import { classified } from '../src/failures';
import { readToEnd } from '../src/kafka/read-to-end';
import { readSourceEnds } from '../src/kafka/source-ends-store';
import { fetchOffsetsOfTopics } from '../src/kafka/topic-offsets';
import { mirroredTopic } from '../src/model/failover-input';
import { committedMirrorOffsets } from '../src/offsets/lag';
import { computeRpoEvidence, type RpoEvidence } from '../src/offsets/rpo';
import { AliasSchema } from '../src/registry/schema';
import { createAuditActivities } from './audit';
import type { ActivityDeps } from './deps';
import { heartbeat, parseArgs } from './support';

/**
 * The unplanned failover's RPO evidence (src/offsets/rpo.ts), read from the target side
 * only: the target-side Connect (committed offsets), the target cluster (last known
 * source end offsets, newest replicated records, replicated heartbeats). Never contacts
 * the source.
 */

const EvidenceInput = z.strictObject({
  /** Connect cluster running the forward MirrorSourceConnectors (writes to the target). */
  connect: z.string().min(1),
  /** The forward MirrorSourceConnector names. */
  connectors: z.array(z.string().min(1)).min(1),
  source: AliasSchema,
  target: AliasSchema,
  /** Source topic names. */
  topics: z.array(z.string().min(1)).min(1),
  policy: z.enum(['default', 'identity']).default('default'),
});
export type RpoEvidenceInput = z.input<typeof EvidenceInput>;

export interface RpoEvidenceResult extends RpoEvidence {
  heartbeat: {
    topic: string;
    /** The key of the flow's own emitter: (target, source), see buildHeartbeatEmitter. */
    emitter: { source: string; target: string };
    /** Emitters seen in the topic other than the flow's own (other flows' heartbeats replicated by it). */
    otherEmitters: number;
    reason?: string;
  };
}

/** Newest record (by offset) of every non-empty partition of each topic, read from the end. */
async function newestRecords(
  deps: ActivityDeps,
  cluster: string,
  topics: Map<string, string>,
): Promise<Array<{ topic: string; partition: number; timestampMs: number }>> {
  const kafka = deps.kafka.get(cluster);
  const { offsets } = await fetchOffsetsOfTopics(kafka, [...topics.keys()]);
  const out: Array<{ topic: string; partition: number; timestampMs: number }> = [];
  for (const [mirrored, ranges] of offsets) {
    if (!ranges.some((r) => r.high > r.low)) continue;
    const newest = new Map<number, { offset: bigint; timestamp: number }>();
    // A few records back, not one: a transactional write ends on a marker that is not a record.
    await readToEnd(
      kafka,
      mirrored,
      (r) => {
        const seen = newest.get(r.partition);
        if (!seen || r.offset > seen.offset) newest.set(r.partition, { offset: r.offset, timestamp: r.timestamp });
      },
      { tail: 16, onProgress: (read) => heartbeat({ reading: mirrored, read }) },
    );
    for (const [partition, n] of newest) out.push({ topic: topics.get(mirrored)!, partition, timestampMs: n.timestamp });
  }
  return out;
}

export function createRpoActivities(deps: ActivityDeps) {
  const audit = createAuditActivities(deps);
  return {
    /**
     * What an unplanned failover can prove about the records lost without the source:
     * committed offsets, last known source end offsets, newest replicated records and
     * heartbeat, and the records/seconds bounds. Reads only; safe to repeat.
     */
    async unplannedRpoEvidence(input: RpoEvidenceInput): Promise<RpoEvidenceResult> {
      const args = parseArgs(EvidenceInput, input, 'unplannedRpoEvidence input');
      return classified(
        async () => {
          deps.registry.cluster(args.source); // unknown alias: a clear failure before anything is read
          const client = deps.connect(args.connect);
          const offsets: ConnectorOffset[] = [];
          for (const name of args.connectors) offsets.push(...(await client.getOffsets(name)));
          heartbeat({ read: 'committed offsets' });
          const knownEnds = await readSourceEnds(deps.kafka.get(args.target), args.source, (read) =>
            heartbeat({ reading: 'source end offsets', read }),
          );
          const mirrored = new Map(args.topics.map((t) => [mirroredTopic(args.policy, args.source, t), t]));
          const records = await newestRecords(deps, args.target, mirrored);
          const fresh = await audit.replicationFreshness({ target: args.target, sourceAlias: args.source, includeTargetHeartbeats: false });
          const own = fresh.emitters.find((e) => e.source === args.target && e.target === args.source);
          const evidence = computeRpoEvidence({
            source: args.source,
            topics: args.topics,
            committed: committedMirrorOffsets(args.source, offsets),
            knownEnds,
            newestRecords: records,
            lastHeartbeatAt: own?.lastHeartbeatAt ?? null,
            nowMs: Date.now(),
          });
          return {
            ...evidence,
            heartbeat: {
              topic: fresh.topic,
              emitter: { source: args.target, target: args.source },
              otherEmitters: fresh.emitters.filter((e) => e !== own).length,
              ...(own
                ? {}
                : {
                    reason:
                      `no heartbeat keyed (${args.target}→${args.source}) in ${fresh.topic} on ${args.target}: the flow has no heartbeat emitter ` +
                      `writing into ${args.source} (deploy-replication adds one)${fresh.reason ? `; ${fresh.reason}` : ''}`,
                  }),
            },
          };
        },
        { cluster: args.target, registry: deps.registry },
      );
    },
  };
}
