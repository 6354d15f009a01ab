import { ApplicationFailure } from '@temporalio/activity';
import { ConfigResourceTypes, type Admin } from 'kafkajs';
import { z } from 'zod';
import { compareTopics, DRIFT_CONFIGS, type DriftConfig, type DriftReport, type TopicFacts } from '../src/audit/drift';
import {
  HEARTBEATS_TOPIC,
  HeartbeatTracker,
  remoteHeartbeatsHint,
  remoteHeartbeatsTopic,
  summarizeHeartbeats,
  targetHeartbeatsHint,
  type FreshnessReport,
  type HeartbeatReading,
} from '../src/audit/freshness';
import {
  committedTopics,
  detectRecreation,
  parseMirrorSourceOffsets,
  type CommittedOffset,
  type TopicRecreation,
} from '../src/audit/recreation';
import { classified, FailureType, invalidInput } from '../src/failures';
import { readToEnd } from '../src/kafka/read-to-end';
import { decodeHeartbeat, Mm2DecodeError } from '../src/mm2/codecs';
import { remoteTopicName, sourceConsumerIsolation } from '../src/mm2/connector-configs';
import type { ActivityDeps } from './deps';
import { fetchOffsetsOfTopics } from '../src/kafka/topic-offsets';
import { heartbeat, onClusters, parseArgs } from './support';

/**
 * Audit activities: replication freshness (the RPO estimate), topic config drift and
 * source-topic recreation. All of them only read; every one is safe to repeat.
 */

const ClusterAlias = z.string().min(1, 'must name a cluster of the registry');
const TopicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name (1-249 letters, digits, ., _ or -)');
// An MM2 alias becomes part of topic names (`<alias>.heartbeats`).
const Mm2Alias = z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, 'must be an MM2 cluster alias (letters, digits, ., _ or -)');

const RemoteTopicSchema = z.strictObject({
  policy: z.enum(['default', 'identity']),
  /** DefaultReplicationPolicy's `replication.policy.separator` (default "."). */
  separator: z.string().min(1).max(8).optional(),
  /** The MM2 source alias, when it differs from the registry alias of the source cluster. */
  sourceAlias: Mm2Alias.optional(),
});

export const FreshnessInputSchema = z.strictObject({
  /** The cluster that receives the replicated heartbeats (the DR side). */
  target: ClusterAlias,
  /** The MM2 alias of the source whose freshness is measured. */
  sourceAlias: Mm2Alias,
  /** Default `<sourceAlias>.heartbeats`. */
  topic: TopicName.optional(),
  /** Also read the target's own `heartbeats` (default true). */
  includeTargetHeartbeats: z.boolean().optional(),
});
export type FreshnessInput = z.infer<typeof FreshnessInputSchema>;

export const DriftInputSchema = z.strictObject({
  source: ClusterAlias,
  target: ClusterAlias,
  /** Source topic names. */
  topics: z.array(TopicName).min(1, 'name at least one source topic'),
  remoteTopic: RemoteTopicSchema,
});
export type DriftInput = z.infer<typeof DriftInputSchema>;

export const RecreationInputSchema = z.strictObject({
  /** The Connect cluster the MirrorSourceConnectors run on (writes to the target). */
  connect: z.string().min(1),
  connectors: z.array(z.string().min(1)).min(1, 'name at least one MirrorSourceConnector'),
  source: ClusterAlias,
  target: ClusterAlias,
  /** Source topics to check; default: every topic the connectors committed offsets for. */
  topics: z.array(TopicName).min(1).optional(),
  remoteTopic: RemoteTopicSchema,
});
export type RecreationInput = z.infer<typeof RecreationInputSchema>;

export interface RecreationReport {
  source: string;
  target: string;
  checkedAt: string;
  topics: TopicRecreation[];
  /** Topics where the source log is not the one MM2 replicated. */
  recreated: string[];
  notes: string[];
  /**
   * MirrorSourceConnectors whose source consumer reads read_uncommitted: they copy aborted
   * transactional records to the target as ordinary records. Absent in older reports.
   */
  readUncommitted?: Array<{ connector: string; isolationLevel: string }>;
}

function remoteNamer(remote: z.infer<typeof RemoteTopicSchema>, source: string): (topic: string) => string {
  return (topic) => remoteTopicName(remote.policy, remote.sourceAlias ?? source, topic, remote.separator);
}

async function readHeartbeats(
  deps: ActivityDeps,
  target: string,
  topic: string,
  exists: boolean,
  nowMs: () => number,
  missingHint: string,
): Promise<HeartbeatReading> {
  const tracker = new HeartbeatTracker();
  if (exists) {
    await readToEnd(
      deps.kafka.get(target),
      topic,
      (r) => {
        if (!r.key || !r.value) {
          tracker.addUnreadable();
          return;
        }
        try {
          tracker.add(decodeHeartbeat(r.key, r.value));
        } catch (err) {
          // A record we cannot read is skipped, not guessed at: the newest readable
          // heartbeat still bounds the RPO, and failing would leave the playbook with none.
          if (!(err instanceof Mm2DecodeError)) throw err;
          tracker.addUnreadable();
        }
      },
      // Heartbeats are appended in emission order: the newest 10,000 records hold the newest
      // heartbeat of every emitter, without reading a week of them.
      { tail: 10_000, onProgress: (read) => heartbeat({ topic, read }) },
    );
  }
  return summarizeHeartbeats({ topic, topicExists: exists, tracker, nowMs: nowMs(), missingHint });
}

async function topicFacts(admin: Admin, topics: string[]): Promise<Map<string, TopicFacts>> {
  const existing = new Set(await admin.listTopics());
  const present = [...new Set(topics)].filter((t) => existing.has(t));
  const facts = new Map<string, TopicFacts>();
  if (present.length === 0) return facts;
  const [metadata, configs] = await Promise.all([
    admin.fetchTopicMetadata({ topics: present }),
    admin.describeConfigs({
      resources: present.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: [...DRIFT_CONFIGS] })),
      includeSynonyms: false,
    }),
  ]);
  const configsByTopic = new Map(configs.resources.map((r) => [r.resourceName, r.configEntries]));
  for (const t of metadata.topics) {
    const entries = configsByTopic.get(t.name) ?? [];
    const values: Partial<Record<DriftConfig, string>> = {};
    for (const e of entries) {
      // Sensitive values come back null; none of ours is sensitive, but do not print "null".
      if ((DRIFT_CONFIGS as readonly string[]).includes(e.configName) && typeof e.configValue === 'string') {
        values[e.configName as DriftConfig] = e.configValue;
      }
    }
    facts.set(t.name, {
      partitions: t.partitions.length,
      replicationFactor: t.partitions.length === 0 ? 0 : Math.min(...t.partitions.map((p) => p.replicas.length)),
      configs: values,
    });
  }
  return facts;
}

export function createAuditActivities(deps: ActivityDeps) {
  const { registry } = deps;
  return {
    /**
     * Age of the newest MM2 heartbeat replicated to `target` from `sourceAlias` (the RPO
     * estimate); reads only, safe to repeat. A missing or empty topic is a result, not a failure.
     */
    async replicationFreshness(input: FreshnessInput): Promise<FreshnessReport> {
      const args = parseArgs(FreshnessInputSchema, input);
      return onClusters(registry, [args.target], async () => {
        const topic = args.topic ?? remoteHeartbeatsTopic(args.sourceAlias);
        const topics = new Set(await deps.kafka.withAdmin(args.target, (admin) => admin.listTopics()));
        const reading = await readHeartbeats(
          deps,
          args.target,
          topic,
          topics.has(topic),
          () => Date.now(),
          remoteHeartbeatsHint(args.target, args.sourceAlias),
        );
        const report: FreshnessReport = {
          target: args.target,
          sourceAlias: args.sourceAlias,
          checkedAt: new Date().toISOString(),
          ...reading,
        };
        if (args.includeTargetHeartbeats !== false && topic !== HEARTBEATS_TOPIC) {
          report.targetHeartbeats = await readHeartbeats(
            deps,
            args.target,
            HEARTBEATS_TOPIC,
            topics.has(HEARTBEATS_TOPIC),
            () => Date.now(),
            targetHeartbeatsHint(args.target),
          );
        }
        return report;
      });
    },

    /**
     * Compares retention, cleanup policy, min ISR, max message bytes, partitions and
     * replication factor of each source topic with its mirror; reads only, safe to repeat.
     */
    async auditTopicDrift(input: DriftInput): Promise<DriftReport> {
      const args = parseArgs(DriftInputSchema, input);
      return onClusters(registry, [args.source, args.target], async () => {
        const remote = remoteNamer(args.remoteTopic, args.source);
        const pairs = args.topics.map((topic) => ({ topic, remoteTopic: remote(topic) }));
        // Each side classified on its own, so a failure names the cluster that is down.
        const [sourceFacts, targetFacts] = await Promise.all([
          classified(() => deps.kafka.withAdmin(args.source, (a) => topicFacts(a, args.topics)), { cluster: args.source, registry }),
          classified(
            () =>
              deps.kafka.withAdmin(args.target, (a) =>
                topicFacts(
                  a,
                  pairs.map((p) => p.remoteTopic),
                ),
              ),
            { cluster: args.target, registry },
          ),
        ]);
        return compareTopics(pairs.map((p) => ({ ...p, source: sourceFacts.get(p.topic), target: targetFacts.get(p.remoteTopic) })));
      });
    },

    /**
     * Flags source topics recreated or truncated under MM2 (end offset below the committed
     * offset + 1, partition count changed, committed partitions gone); reads only, safe to repeat.
     */
    async detectTopicRecreation(input: RecreationInput): Promise<RecreationReport> {
      const args = parseArgs(RecreationInputSchema, input);
      return onClusters(registry, [args.source, args.target], async () => {
        const connect = deps.connect(args.connect);
        const sourceAlias = args.remoteTopic.sourceAlias ?? args.source;
        const notes: string[] = [];
        const readUncommitted: Array<{ connector: string; isolationLevel: string }> = [];
        const committed: CommittedOffset[] = [];
        for (const name of args.connectors) {
          const config = await connect.getConfig(name);
          if (!config) {
            throw ApplicationFailure.create({
              type: FailureType.ConnectorNotFound,
              message: `connector ${name} does not exist on ${args.connect} (check the name with GET /connectors)`,
              nonRetryable: true,
            });
          }
          const cls = config['connector.class'] ?? '';
          if (!cls.endsWith('MirrorSourceConnector')) {
            throw invalidInput(
              `connector ${name} is a ${cls || 'connector without connector.class'}, not a MirrorSourceConnector: only those commit replicated source offsets`,
            );
          }
          const isolationLevel = sourceConsumerIsolation(config);
          if (isolationLevel !== 'read_committed') readUncommitted.push({ connector: name, isolationLevel });
          const configuredAlias = config['source.cluster.alias'];
          if (configuredAlias !== undefined && configuredAlias !== sourceAlias) {
            notes.push(
              `connector ${name} replicates from MM2 alias '${configuredAlias}', not '${sourceAlias}': its offsets were not considered (set remoteTopic.sourceAlias if that is the flow meant)`,
            );
          }
          const parsed = parseMirrorSourceOffsets(name, await connect.getOffsets(name), sourceAlias);
          committed.push(...parsed.committed);
          if (parsed.unrecognized > 0) {
            notes.push(`connector ${name}: ${parsed.unrecognized} offset entr(ies) not in MirrorSourceConnector's shape were ignored`);
          }
        }
        const topics = args.topics ?? committedTopics(committed);
        if (topics.length === 0) {
          notes.push(`the connectors have no committed offsets for source '${sourceAlias}' yet: nothing to compare`);
        }
        const remote = remoteNamer(args.remoteTopic, args.source);

        const source = await classified(async () => (await fetchOffsetsOfTopics(deps.kafka.get(args.source), topics)).offsets, {
          cluster: args.source,
          registry,
        });
        const targetPartitions = await classified(
          () =>
            deps.kafka.withAdmin(args.target, async (admin) => {
              const existing = new Set(await admin.listTopics());
              const remotes = [...new Set(topics.map(remote))].filter((t) => existing.has(t));
              const out = new Map<string, number>();
              if (remotes.length === 0) return out;
              const metadata = await admin.fetchTopicMetadata({ topics: remotes });
              for (const t of metadata.topics) out.set(t.name, t.partitions.length);
              return out;
            }),
          { cluster: args.target, registry },
        );

        const results = detectRecreation({ topics, remoteTopic: remote, committed, source, targetPartitions });
        return {
          source: args.source,
          target: args.target,
          checkedAt: new Date().toISOString(),
          topics: results,
          recreated: results.filter((r) => r.recreationSuspected).map((r) => r.topic),
          notes,
          readUncommitted,
        };
      });
    },
  };
}
