import { ConfigResourceTypes, type Admin } from 'kafkajs';
import { z } from 'zod';
import { classified } from '../src/failures';
import { GroupHasMembersError } from '../src/kafka/group-commit';
import { topicMetadataOrMissing } from '../src/kafka/probes';
import { fetchOffsetsOfTopics } from '../src/kafka/topic-offsets';
import { mirroredTopic } from '../src/model/failover-input';
import { LOCAL_TOPIC_CONFIGS, localTopicPlan, topicOverrides, type LocalTopic, type TopicShape } from '../src/offsets/local-topics';
import type { ActivityDeps } from './deps';
import { parseArgs } from './support';

/**
 * The DR cluster's local topics under the Default policy (src/offsets/local-topics.ts):
 * created like the source's when missing, and every group given a position on them.
 */

const Name = z.string().min(1);
const TopicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name');

const PrepareSchema = z.strictObject({
  /** The flow's source alias (A): mirrors on the target are `<source><separator><topic>`. */
  source: Name,
  /** The DR cluster (B), where producers will write to `<topic>`. */
  target: Name,
  separator: z.string().min(1).default('.'),
  /** Source topic names (= the local topic names on the target). */
  topics: z.array(TopicName).min(1),
  /** Groups (names) to give a position on the local topics. */
  groups: z.array(Name),
  /** False when the source is down: the shape comes from the mirror MM2 created like it. */
  readSource: z.boolean(),
  /** Read only: what would be created and set. */
  dryRun: z.boolean().default(false),
});
export type PrepareLocalTopicsInput = z.input<typeof PrepareSchema>;

export interface LocalPosition {
  group: string;
  topic: string;
  partition: number;
  offset: string;
  /** set: committed now at the partition's end; kept: the group already had a position (not moved); will-set: dry run. */
  action: 'set' | 'kept' | 'will-set';
}

export interface PrepareLocalTopicsResult {
  topics: LocalTopic[];
  positions: LocalPosition[];
  /** Groups not placed, with why (members on the target: a consumer already runs there). */
  skippedGroups: Array<{ group: string; why: string }>;
}

async function shapes(admin: Admin, topics: string[]): Promise<Map<string, TopicShape>> {
  const out = new Map<string, TopicShape>();
  if (topics.length === 0) return out;
  const { found } = await topicMetadataOrMissing(admin, topics);
  const existing = topics.filter((t) => found.has(t));
  if (existing.length === 0) return out;
  const res = await admin.describeConfigs({
    resources: existing.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: [...LOCAL_TOPIC_CONFIGS] })),
    includeSynonyms: false,
  });
  const configs = new Map(res.resources.map((r) => [r.resourceName, r.configEntries]));
  for (const t of existing) {
    const parts = found.get(t) ?? [];
    out.set(t, {
      partitions: parts.length,
      replicationFactor: Math.max(0, ...parts.map((p) => p.replicas.length)),
      configs: topicOverrides(configs.get(t) ?? []),
    });
  }
  return out;
}

export function createLocalTopicsActivities(deps: ActivityDeps) {
  return {
    /**
     * Default policy: makes sure the target's local `<topic>` exists for every source topic
     * (created with the source's partition count and topic overrides, or the mirror's when
     * the source is down), then commits, for each named group without a position there, the
     * partition's end (the group has read nothing written on the target). A group with a
     * position keeps it; a group with members is left out and named. Safe to repeat: an
     * existing topic is left as it is, and a group placed once keeps its position.
     */
    async prepareLocalTopics(raw: PrepareLocalTopicsInput): Promise<PrepareLocalTopicsResult> {
      const input = parseArgs(PrepareSchema, raw, 'prepareLocalTopics');
      const mirrorOf = (t: string) => mirroredTopic('default', input.source, t, input.separator);
      const onTarget = await classified(
        () => deps.kafka.withAdmin(input.target, (admin) => shapes(admin, [...input.topics, ...input.topics.map(mirrorOf)])),
        { cluster: input.target, registry: deps.registry },
      );
      const onSource = input.readSource
        ? await classified(() => deps.kafka.withAdmin(input.source, (admin) => shapes(admin, input.topics)), {
            cluster: input.source,
            registry: deps.registry,
          })
        : undefined;

      const plans = input.topics.map((topic) => {
        const plan = localTopicPlan({
          topic,
          mirror: mirrorOf(topic),
          local: onTarget.get(topic),
          source: onSource?.get(topic),
          mirrorShape: onTarget.get(mirrorOf(topic)),
          sourceAlias: input.source,
          target: input.target,
        });
        if (!plan) {
          // Not a failure: the failover is past its point of no return for consumers; the gate descriptions and figures name it.
          return {
            topic,
            mirror: mirrorOf(topic),
            create: false,
            missing: true,
            partitions: 0,
            replicationFactor: null,
            configs: {},
            from: 'target' as const,
            note:
              `${topic} is not on ${input.target} and its shape is unknown (${input.readSource ? `not on ${input.source}` : `${input.source} not read`}, ` +
              `no mirror ${mirrorOf(topic)} on ${input.target}): create ${topic} on ${input.target} before producers move there`,
          };
        }
        return { ...plan, missing: false };
      });

      const toCreate = plans.filter((p) => p.create);
      const created = new Set<string>();
      if (!input.dryRun && toCreate.length > 0) {
        await classified(
          () =>
            deps.kafka.withAdmin(input.target, async (admin) => {
              for (const p of toCreate) {
                // false: it exists (a retry after a create whose answer was lost, or someone else): left as it is.
                const made = await admin.createTopics({
                  waitForLeaders: true,
                  topics: [
                    {
                      topic: p.topic,
                      numPartitions: p.partitions,
                      ...(p.replicationFactor !== null ? { replicationFactor: p.replicationFactor } : {}),
                      configEntries: Object.entries(p.configs).map(([name, value]) => ({ name, value })),
                    },
                  ],
                });
                if (made) created.add(p.topic);
              }
            }),
          { cluster: input.target, registry: deps.registry },
        );
      }
      const topics: LocalTopic[] = plans.map(({ create, missing, ...p }) => ({
        ...p,
        action: missing ? 'missing' : !create ? 'exists' : input.dryRun ? 'will-create' : created.has(p.topic) ? 'created' : 'exists',
      }));

      const groups = [...new Set(input.groups)].sort();
      if (groups.length === 0) return { topics, positions: [], skippedGroups: [] };
      return classified(
        async () => {
          const existing = topics.filter((t) => t.action === 'exists' || t.action === 'created').map((t) => t.topic);
          const ranges = await fetchOffsetsOfTopics(deps.kafka.get(input.target), existing);
          const positions: LocalPosition[] = [];
          const skippedGroups: PrepareLocalTopicsResult['skippedGroups'] = [];
          const writes = new Map<string, Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>();
          await deps.kafka.withAdmin(input.target, async (admin) => {
            const { groups: described } = await admin.describeGroups(groups);
            const busy = new Set(described.filter((g) => g.members.length > 0).map((g) => g.groupId));
            for (const group of groups) {
              if (busy.has(group)) {
                skippedGroups.push({ group, why: `has members on ${input.target}: a consumer already runs there; nothing was set for it` });
                continue;
              }
              const committed = new Map<string, bigint>();
              if (existing.length > 0) {
                for (const t of await admin.fetchOffsets({ groupId: group, topics: existing })) {
                  for (const p of t.partitions) committed.set(`${t.topic}:${p.partition}`, BigInt(p.offset));
                }
              }
              for (const t of topics) {
                if (t.action === 'will-create') {
                  for (let partition = 0; partition < t.partitions; partition++)
                    positions.push({ group, topic: t.topic, partition, offset: '0', action: 'will-set' });
                  continue;
                }
                const set: Array<{ partition: number; offset: string }> = [];
                for (const r of ranges.offsets.get(t.topic) ?? []) {
                  const c = committed.get(`${t.topic}:${r.partition}`);
                  // kafkajs reports "no committed offset" as -1.
                  if (c !== undefined && c >= 0n) {
                    positions.push({ group, topic: t.topic, partition: r.partition, offset: c.toString(), action: 'kept' });
                  } else {
                    const offset = r.high.toString();
                    positions.push({ group, topic: t.topic, partition: r.partition, offset, action: input.dryRun ? 'will-set' : 'set' });
                    set.push({ partition: r.partition, offset });
                  }
                }
                if (set.length > 0) writes.set(group, [...(writes.get(group) ?? []), { topic: t.topic, partitions: set }]);
              }
            }
          });
          if (!input.dryRun && writes.size > 0) {
            await deps.kafka.withGroupCommitter(input.target, async (committer) => {
              for (const [group, w] of writes) {
                try {
                  await committer.commit(group, w);
                } catch (err) {
                  if (!(err instanceof GroupHasMembersError)) throw err;
                  // Started between the check and the write: the broker refused; report it, the rest goes on.
                  skippedGroups.push({ group, why: `${err.message}: a consumer started on ${input.target} before its position was set` });
                }
              }
            });
          }
          const skipped = new Set(skippedGroups.map((s) => s.group));
          return { topics, positions: positions.filter((p) => !skipped.has(p.group)), skippedGroups };
        },
        { cluster: input.target, registry: deps.registry },
      );
    },
  };
}
