import { Context } from '@temporalio/activity';
import type { Admin } from 'kafkajs';
import { z } from 'zod';
import { classified, invalidInput } from '../src/failures';
import {
  describeTopicsWith,
  evaluateClusterHealth,
  fetchEndOffsets,
  highsOf,
  isQuiet,
  observeOffsets,
  quietHeartbeat,
  readClusterSnapshot,
  resolveExpectedBrokers,
  resumeQuietWindow,
  type ClusterHealth,
  type EndOffsetMap,
  type PartitionOffsets,
  type QuietWindow,
  type TopicDescription,
} from '../src/kafka/probes';
import { evaluateHeadroom, evaluateQuorum } from '../src/kafka/quorum-headroom';
import { describeLogDirs, describeQuorum } from '../src/kafka/raw-admin';
import { AliasSchema } from '../src/registry/schema';
import type { ActivityDeps } from './deps';
import { parseArgs } from './support';

/**
 * Kafka probes: read-only questions to a cluster (health, topic shapes, end offsets,
 * are producers quiet). None of them changes anything, so all are safe to repeat.
 * A cluster that cannot be reached fails with ClusterUnreachable (retryable): kafkajs
 * gives up after one quick retry and Temporal's retry policy decides the rest.
 */

// Kafka's legal topic names; a bad one is the caller's mistake, not the cluster's.
const TopicSchema = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name (1-249 of letters, digits, . _ -)');
const TopicsSchema = z
  .array(TopicSchema)
  .min(1, 'needs at least one topic')
  .transform((topics) => [...new Set(topics)]);

export const ClusterHealthInput = z
  .object({
    cluster: AliasSchema,
    /** Overrides the registry's expectedBrokers for this check. */
    expectedBrokers: z.number().int().min(1).optional(),
  })
  .strict();
export const TopicsInput = z.object({ cluster: AliasSchema, topics: TopicsSchema }).strict();
export const QuietProducersInput = z
  .object({
    cluster: AliasSchema,
    topics: TopicsSchema,
    /** How long every end offset must stay put. */
    quietSeconds: z.number().positive().max(86_400),
    pollMs: z.number().int().min(100).max(60_000).default(1_000),
  })
  .strict();

export interface EndOffsetsResult {
  cluster: string;
  /** topic → partitions with low and end ("high") offsets, as decimal strings. */
  offsets: Record<string, PartitionOffsets[]>;
  /** Asked-for topics that do not exist on the cluster. */
  missingTopics: string[];
}

export interface EndOffsetSnapshot {
  cluster: string;
  /** Activity clock, taken after every end offset was read: all records below them were written before it. */
  takenAt: string;
  offsets: EndOffsetMap;
  /** Asked-for topics absent on the cluster (failback treats them as "nothing was written here"). */
  missingTopics: string[];
}

export interface QuietProducersResult {
  cluster: string;
  /** When the end offsets were last seen moving (or first seen, if they never moved). */
  quietSince: string;
  endOffsets: EndOffsetMap;
  polls: number;
}

export function createKafkaActivities(deps: ActivityDeps) {
  const { registry, kafka } = deps;
  const withAdmin = <T>(cluster: string, fn: (admin: Admin) => Promise<T>) =>
    classified(() => kafka.withAdmin(cluster, fn), { cluster, registry });

  return {
    /**
     * Reads broker count, controller, partition states, the controller quorum
     * (DescribeQuorum) and every broker's log dir headroom (DescribeLogDirs), and judges
     * them; changes nothing, safe to repeat.
     */
    async clusterHealth(input: z.input<typeof ClusterHealthInput>): Promise<ClusterHealth> {
      const args = parseArgs(ClusterHealthInput, input);
      return classified(
        async () => {
          const config = registry.cluster(args.cluster);
          const expected = resolveExpectedBrokers(args.expectedBrokers, config.expectedBrokers);
          const client = kafka.get(args.cluster);
          const snapshot = await kafka.withAdmin(args.cluster, (admin) => readClusterSnapshot(admin, client));
          // Read together: each opens its own connections; neither waits for the other.
          const [rawQuorum, rawLogDirs] = await Promise.all([describeQuorum(client), describeLogDirs(client)]);
          return evaluateClusterHealth(args.cluster, snapshot, expected, {
            quorum: evaluateQuorum(rawQuorum, Date.now()),
            headroom: evaluateHeadroom(rawLogDirs, config.minUsableLogDirPercent),
          });
        },
        { cluster: args.cluster, registry },
      );
    },

    /** Reads partitions, replication factor and key configs per topic (missing ones as exists: false); safe to repeat. */
    async describeTopics(input: z.input<typeof TopicsInput>): Promise<Record<string, TopicDescription>> {
      const args = parseArgs(TopicsInput, input);
      return withAdmin(args.cluster, (admin) => describeTopicsWith(admin, args.topics));
    },

    /** Reads low and end offsets per partition; changes nothing, safe to repeat. */
    async endOffsets(input: z.input<typeof TopicsInput>): Promise<EndOffsetsResult> {
      const args = parseArgs(TopicsInput, input);
      const { offsets, missingTopics } = await withAdmin(args.cluster, (admin) => fetchEndOffsets(admin, args.topics));
      return { cluster: args.cluster, offsets, missingTopics };
    },

    /**
     * Records end offsets with a timestamp: the boundary a failover hands to failback.
     * Changes nothing; a repeat gives a newer snapshot, so a workflow records the first.
     */
    async snapshotEndOffsets(input: z.input<typeof TopicsInput>): Promise<EndOffsetSnapshot> {
      const args = parseArgs(TopicsInput, input);
      const { offsets, missingTopics } = await withAdmin(args.cluster, (admin) => fetchEndOffsets(admin, args.topics));
      return { cluster: args.cluster, takenAt: new Date().toISOString(), offsets: highsOf(offsets), missingTopics };
    },

    /**
     * Waits until no end offset of the topics moved for quietSeconds, heartbeating each
     * poll; changes nothing, safe to repeat, and a retry resumes the quiet window from
     * the last heartbeat. Bounded only by the activity's own timeouts; honours cancellation.
     */
    async waitForQuietProducers(input: z.input<typeof QuietProducersInput>): Promise<QuietProducersResult> {
      const args = parseArgs(QuietProducersInput, input);
      const ctx = Context.current();
      const quietMs = args.quietSeconds * 1_000;
      const context = { cluster: args.cluster, registry };
      let window: QuietWindow | undefined = resumeQuietWindow(ctx.info.heartbeatDetails);

      // One admin connection for the whole wait; a broken one fails the attempt and the
      // retry resumes from the heartbeat.
      const admin = await classified(async () => {
        const a = kafka.get(args.cluster).admin();
        await a.connect();
        return a;
      }, context);
      try {
        for (;;) {
          // Raced with cancellation: a poll stuck on a dying cluster must not delay it.
          const { offsets, missingTopics } = await Promise.race([
            classified(() => fetchEndOffsets(admin, args.topics), context),
            ctx.cancelled,
          ]);
          if (missingTopics.length > 0) {
            throw invalidInput(
              `topics not on cluster ${args.cluster}: ${missingTopics.join(', ')} (check the names; a topic that was deleted while waiting has no producers to wait for)`,
            );
          }
          const highs = highsOf(offsets);
          const now = Date.now();
          window = observeOffsets(window, highs, now);
          ctx.heartbeat(quietHeartbeat(window));
          if (isQuiet(window, now, quietMs)) {
            return {
              cluster: args.cluster,
              quietSince: new Date(window.lastChangeAtMs).toISOString(),
              endOffsets: highs,
              polls: window.polls,
            };
          }
          // Sleep no longer than the window needs, so the answer comes within one poll of it.
          const remaining = window.lastChangeAtMs + quietMs - now;
          await ctx.sleep(Math.max(1, Math.min(args.pollMs, remaining)));
        }
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
  };
}
