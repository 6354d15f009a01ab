import { ApplicationFailure, Context } from '@temporalio/activity';
import { z } from 'zod';
import type { ConnectorOffset } from '../src/connect/client';
import { classified, FailureType, invalidInput } from '../src/failures';
import {
  committedMirrorOffsets,
  computeLag,
  isDrained,
  nextDrainProgress,
  resumeDrain,
  unreplicatedRange,
  withTransactions,
  type DrainProgress,
  type LagReport,
  type SourcePartitionOffsets,
} from '../src/offsets/lag';
import type { ActivityDeps } from './deps';
import { fetchOffsetsOfTopics } from '../src/kafka/topic-offsets';
import { recordSourceEnds } from '../src/kafka/source-ends-store';
import { scanCommittedRanges } from '../src/kafka/committed-records';
import { activityContext, parseArgs } from './support';

/**
 * MM2 replication lag from Connect's offsets API (what MirrorSourceConnector committed)
 * and the source cluster's end offsets, and the drain wait built on it.
 */

const LagInputSchema = z.strictObject({
  /** Connect cluster name (registry) running the MirrorSourceConnector(s). */
  connect: z.string().min(1),
  /** The flow's MirrorSourceConnector names (e.g. `mm2-A-to-B-source`). */
  connectors: z.array(z.string().min(1)).min(1),
  /** Alias of the source cluster (MM2's `source.cluster.alias`, also a registry alias). */
  source: z.string().min(1),
  /** Only these source topics; default: every topic the connectors have committed offsets for. */
  topics: z.array(z.string().min(1)).min(1).optional(),
  /**
   * Count the committed data records of every unreplicated range exactly (read to its end).
   * Default: stop each partition at its first data record, enough for "behind or drained".
   */
  exact: z.boolean().default(false),
});
export type ReplicationLagInput = z.input<typeof LagInputSchema>;

// Connect commits a source offset only once the target acknowledged the record, and each
// poll reads offsets before end offsets (a race overstates lag): with producers quiet, one
// zero poll already proves the drain. The second, half a second later, guards against a
// producer that was not quite stopped; a third added a second of cutover time and nothing else.
const DrainInputSchema = LagInputSchema.extend({
  /** Zero-lag polls in a row required (within one attempt) before returning. */
  consecutiveZeroPolls: z.number().int().min(1).max(1000).default(2),
  pollMs: z.number().int().min(100).max(600_000).default(500),
});
export type WaitForDrainInput = z.input<typeof DrainInputSchema>;

export interface DrainResult extends DrainProgress {
  /** The last poll's report (every partition at 0). */
  report: LagReport;
}

/**
 * Keeps the source end offsets a measurement read on the target cluster (the cluster the
 * measured flow writes to), so that an unplanned failover can bound the records lost
 * without the source (src/offsets/rpo.ts). Best effort: a measurement is not failed by it;
 * a failure is logged and the failover reports the age of what it finds.
 */
async function recordEnds(
  deps: ActivityDeps,
  input: z.output<typeof LagInputSchema>,
  sourceOffsets: SourcePartitionOffsets[],
  observedAt: string,
): Promise<void> {
  try {
    const target = deps.registry.connect(input.connect).writesTo;
    await recordSourceEnds(
      deps.kafka.get(target),
      sourceOffsets.map((o) => ({
        source: input.source,
        topic: o.topic,
        partition: o.partition,
        low: o.low,
        end: o.high,
        observedAt,
        by: deps.workerName,
      })),
    );
  } catch (err) {
    const log = activityContext()?.log;
    (log ? log.warn.bind(log) : console.warn)(
      `could not record the source end offsets of ${input.source} on the target of ${input.connect}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

async function measureLag(deps: ActivityDeps, input: z.output<typeof LagInputSchema>, record = true): Promise<LagReport> {
  deps.registry.cluster(input.source);
  const connect = deps.connect(input.connect);
  // Offsets first, end offsets second: an end offset read later can only be larger, so
  // a race with replication overstates the lag, never understates it.
  const offsets: ConnectorOffset[] = [];
  for (const name of input.connectors) offsets.push(...(await connect.getOffsets(name)));
  const committed = committedMirrorOffsets(input.source, offsets);
  const topics = input.topics ?? [...new Set([...committed.values()].map((c) => c.topic))].sort();
  // One connection per measurement (the drain measures every half second): the topic list and the offsets together.
  // High watermarks, not kafkajs' default last stable offsets: an open transaction's records
  // lie beyond the LSO, and a drain that read LSOs would call a partition drained while a
  // commit can still add records to replicate (the scan below then flags the transaction).
  const { offsets: ranges, missing } = await fetchOffsetsOfTopics(deps.kafka.get(input.source), topics, 'high-watermark');
  const sourceOffsets: SourcePartitionOffsets[] = [];
  for (const [topic, partitions] of ranges) for (const p of partitions) sourceOffsets.push({ topic, ...p });
  const measuredAt = new Date().toISOString();
  if (record) await recordEnds(deps, input, sourceOffsets, measuredAt);
  const report = computeLag(input.source, sourceOffsets, committed, measuredAt, topics, input.topics ? missing : []);
  // Transaction markers and aborted records are never replicated: read the unreplicated
  // ranges read_committed to tell them from data (and open transactions from both).
  const unreplicated = report.partitions.map(unreplicatedRange).filter((r) => r !== null);
  if (unreplicated.length === 0) return report;
  const scans = await scanCommittedRanges(
    deps.kafka.get(input.source),
    unreplicated,
    input.exact ? {} : { firstOnly: true, partitionMaxBytes: 64 * 1024 },
  );
  return withTransactions(report, scans);
}

const RECORD_EVERY_MS = 5_000;

export function createLagActivities(deps: ActivityDeps) {
  return {
    /** Measures MM2 replication lag per source partition; reads only, safe to repeat. */
    async replicationLag(input: ReplicationLagInput): Promise<LagReport> {
      const parsed = parseArgs(LagInputSchema, input, 'replicationLag input');
      return classified(() => measureLag(deps, parsed), { cluster: parsed.source, registry: deps.registry });
    },

    /**
     * Waits (one heartbeating activity) until every partition's lag is 0 for K polls in a row;
     * reads only, safe to repeat; resumes its poll count from heartbeat details after a retry.
     */
    async waitForDrain(input: WaitForDrainInput): Promise<DrainResult> {
      const parsed = parseArgs(DrainInputSchema, input, 'waitForDrain input');
      const ctx = Context.current();
      // polls carries over from the last attempt; consecutiveZero restarts at 0 (see resumeDrain).
      let progress = resumeDrain(ctx.info.heartbeatDetails);
      let lastRecorded = 0;
      ctx.heartbeat(progress);
      // Heartbeat at least twice per heartbeat timeout even with a long pollMs.
      const slice = ctx.info.heartbeatTimeoutMs ? Math.max(50, Math.min(parsed.pollMs, ctx.info.heartbeatTimeoutMs / 2)) : parsed.pollMs;
      for (;;) {
        // Only the measurement is classified: the cancellation thrown by ctx.sleep below must
        // reach the SDK as a CancelledFailure, not be turned into an ApplicationFailure.
        // The drain polls every half second: its end offsets are recorded every RECORD_EVERY_MS.
        const record = Date.now() - lastRecorded >= RECORD_EVERY_MS;
        if (record) lastRecorded = Date.now();
        const report = await classified(() => measureLag(deps, parsed, record), { cluster: parsed.source, registry: deps.registry }).catch(
          (err: unknown) => {
            // A Connect worker that is starting answers 404 for connectors it has not read from
            // its config topic yet. Once this drain has read the connector, a 404 means that, not
            // "no such connector": retried like any other Connect outage.
            if (progress.polls > 0 && err instanceof ApplicationFailure && err.type === FailureType.ConnectorNotFound) {
              throw ApplicationFailure.create({
                type: FailureType.ConnectUnavailable,
                message: `${err.message} (this drain read the connector before: Connect may be restarting; retrying)`,
              });
            }
            throw err;
          },
        );
        if (report.missingTopics.length > 0) {
          throw invalidInput(
            `waitForDrain: ${report.missingTopics.join(', ')} not on source cluster ${parsed.source}: fix the topics list (a drain cannot be proven for a topic that does not exist)`,
          );
        }
        progress = nextDrainProgress(progress, report);
        ctx.heartbeat(progress);
        if (isDrained(progress, parsed.consecutiveZeroPolls)) return { ...progress, report };
        for (let waited = 0; waited < parsed.pollMs; waited += slice) {
          await ctx.sleep(Math.min(slice, parsed.pollMs - waited));
          ctx.heartbeat(progress);
        }
      }
    },
  };
}
