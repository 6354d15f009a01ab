import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import { classified, FailureType } from '../src/failures';
import { GroupHasMembersError } from '../src/kafka/group-commit';
import { fetchOffsetsOfTopics } from '../src/kafka/topic-offsets';
import { groupMatcher, literalGroupNames } from '../src/mm2/checkpoints';
import { MIRROR_CHECKPOINT_CLASS } from '../src/mm2/connector-configs';
import { mirroredTopic, upstreamTopic } from '../src/model/failover-input';
import type { PlacedCount, PlacedUnplaced, UnplacedPartition } from '../src/model/unplaced';
import { activeGroupReason } from '../src/offsets/translation';
import { findUnplaced, groupFilteredOut, placedCounts, type SourceGroupCommit } from '../src/offsets/unplaced';
import type { ActivityDeps } from './deps';
import { parseArgs } from './support';

/**
 * The groups the translation could not place: which named groups the flow never
 * translates (refused at start), which group-partitions ended without a position (the
 * `unplaced-groups` gate lists them), and setting the approver's choice for them.
 */

const Name = z.string().min(1);
const Policy = z.enum(['default', 'identity']);

const CheckGroupsSchema = z.strictObject({ connect: Name, connectors: z.array(Name).min(1), groups: z.array(Name).min(1) });
export type CheckGroupsInFlowInput = z.infer<typeof CheckGroupsSchema>;

const PlannedSchema = z.array(
  z.object({
    group: Name,
    skipped: z.string().optional(),
    partitions: z.array(
      z.object({
        topic: Name,
        partition: z.number().int().min(0),
        action: Name,
        upstream: z.string().nullable(),
        method: z.string().optional(),
        checkpointUpstream: z.string().optional(),
        note: z.string().optional(),
      }),
    ),
  }),
);

const FindSchema = z.strictObject({
  /** Where the groups consumed (their commits and the partitions' ends are read there unless `readSource` is false). */
  source: Name,
  target: Name,
  policy: Policy,
  /** The flow's replication.policy.separator (Default policy names `<source><separator><topic>`). */
  separator: z.string().min(1).default('.'),
  /** The playbook's group allowlist (names or regexes). */
  groups: z.array(Name).min(1),
  /** Source topic names. */
  topics: z.array(Name).min(1),
  /** The translation's outcome per group and partition (downstream topic names). */
  planned: PlannedSchema,
  /** False when the source is down: only the translation's own `upstream` offsets are known. */
  readSource: z.boolean(),
});
export type FindUnplacedInput = z.input<typeof FindSchema>;

const PlaceSchema = z.strictObject({
  target: Name,
  placements: z.array(
    z.strictObject({
      group: Name,
      choice: z.enum(['earliest', 'end']),
      /** Downstream topics on the target. */
      partitions: z.array(z.strictObject({ topic: Name, partition: z.number().int().min(0) })).min(1),
    }),
  ),
});
export type PlaceUnplacedInput = z.input<typeof PlaceSchema>;

export interface GroupsInFlowResult {
  /** The MirrorCheckpointConnectors among the connectors (their configs were read). */
  checkpointConnectors: string[];
  /** Named groups none of them translates, with why. */
  outside: Array<{ group: string; why: string }>;
}

export interface FindUnplacedResult {
  unplaced: UnplacedPartition[];
  /** Per group, the partitions the translation placed itself. */
  placed: Record<string, PlacedCount>;
  /** Whether the groups' commits were read on the source (false: the translation's upstream offsets only). */
  sourceRead: boolean;
}

export function createUnplacedActivities(deps: ActivityDeps) {
  return {
    /**
     * Reads the flow's MirrorCheckpointConnector configs and names the literal groups none of
     * them translates (MM2's `groups` / `groups.exclude`). Reads only; safe to repeat.
     */
    async checkGroupsInFlow(raw: CheckGroupsInFlowInput): Promise<GroupsInFlowResult> {
      const input = parseArgs(CheckGroupsSchema, raw, 'checkGroupsInFlow');
      const client = deps.connect(input.connect);
      const configs: Array<{ name: string; config: Record<string, string> }> = [];
      for (const name of input.connectors) {
        const config = await classified(() => client.getConfig(name), { registry: deps.registry });
        if (config?.['connector.class'] === MIRROR_CHECKPOINT_CLASS) configs.push({ name, config });
      }
      const named = literalGroupNames(input.groups);
      // No checkpoint connector named: nothing to compare with; the translation finds no checkpoint and the gate lists the groups.
      if (configs.length === 0) return { checkpointConnectors: [], outside: [] };
      const outside: GroupsInFlowResult['outside'] = [];
      for (const group of named) {
        const why = configs.map((c) => ({ c, why: groupFilteredOut(c.config, group) }));
        if (why.every((w) => w.why !== undefined)) outside.push({ group, why: why.map((w) => `${w.c.name}: ${w.why}`).join('; ') });
      }
      return { checkpointConnectors: configs.map((c) => c.name), outside };
    },

    /**
     * The group-partitions with a commit on the source that the translation left without a
     * position, with their lag (source end − commit). Reads only; safe to repeat.
     */
    async findUnplacedPositions(raw: FindUnplacedInput): Promise<FindUnplacedResult> {
      const input = parseArgs(FindSchema, raw, 'findUnplacedPositions');
      const downstreamTopic = (t: string) => mirroredTopic(input.policy, input.source, t, input.separator);
      const upstreamOf = (d: string) => upstreamTopic(input.policy, input.source, d, input.separator);
      const placed = placedCounts(input.planned);
      if (!input.readSource) {
        return {
          unplaced: findUnplaced({ groups: input.planned, commits: null, sourceEnds: null, downstreamTopic, upstreamTopic: upstreamOf }),
          placed,
          sourceRead: false,
        };
      }
      const { commits, sourceEnds } = await classified(
        () =>
          deps.kafka.withAdmin(input.source, async (admin) => {
            const matches = groupMatcher(input.groups);
            const listed = (await admin.listGroups()).groups.map((g) => g.groupId).filter(matches);
            const groups = [...new Set([...literalGroupNames(input.groups), ...input.planned.map((g) => g.group), ...listed])].sort();
            const ranges = await fetchOffsetsOfTopics(deps.kafka.get(input.source), input.topics);
            const topics = input.topics.filter((t) => ranges.offsets.has(t));
            const commits: SourceGroupCommit[] = [];
            for (const group of topics.length > 0 ? groups : []) {
              for (const t of await admin.fetchOffsets({ groupId: group, topics })) {
                for (const p of t.partitions) {
                  // kafkajs reports "no committed offset" as -1.
                  const offset = BigInt(p.offset);
                  commits.push({ group, topic: t.topic, partition: p.partition, offset: offset < 0n ? null : offset.toString() });
                }
              }
            }
            const sourceEnds: Record<string, Record<string, string>> = {};
            for (const [topic, ps] of ranges.offsets)
              sourceEnds[topic] = Object.fromEntries(ps.map((p) => [String(p.partition), p.high.toString()]));
            return { commits, sourceEnds };
          }),
        { cluster: input.source, registry: deps.registry },
      );
      return {
        unplaced: findUnplaced({ groups: input.planned, commits, sourceEnds, downstreamTopic, upstreamTopic: upstreamOf }),
        placed,
        sourceRead: true,
      };
    },

    /**
     * Sets each group's partitions to the target's log start (earliest) or end, as the
     * approver chose, with the same committer and empty-group rule as the translation
     * (activities/offsets.ts). Safe to repeat: the values are read again, not incremented.
     */
    async placeUnplacedGroups(raw: PlaceUnplacedInput): Promise<{ set: PlacedUnplaced[] }> {
      const input = parseArgs(PlaceSchema, raw, 'placeUnplacedGroups');
      if (input.placements.length === 0) return { set: [] };
      return classified(
        async () => {
          const topics = [...new Set(input.placements.flatMap((p) => p.partitions.map((x) => x.topic)))];
          const ranges = await fetchOffsetsOfTopics(deps.kafka.get(input.target), topics);
          const set: PlacedUnplaced[] = [];
          const writes = input.placements.map((pl) => {
            const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
            for (const { topic, partition } of pl.partitions) {
              const range = ranges.offsets.get(topic)?.find((r) => r.partition === partition);
              if (!range) {
                throw ApplicationFailure.create({
                  type: FailureType.PreconditionFailed,
                  message: `${topic} partition ${partition} does not exist on ${input.target}: group ${pl.group} cannot be placed there (choose leave-out)`,
                  nonRetryable: true,
                });
              }
              const offset = (pl.choice === 'earliest' ? range.low : range.high).toString();
              byTopic.set(topic, [...(byTopic.get(topic) ?? []), { partition, offset }]);
              set.push({
                group: pl.group,
                topic,
                partition,
                choice: pl.choice,
                offset,
                low: range.low.toString(),
                high: range.high.toString(),
              });
            }
            return { group: pl.group, writes: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) };
          });
          await deps.kafka.withAdmin(input.target, async (admin) => {
            const { groups } = await admin.describeGroups(writes.map((w) => w.group));
            for (const g of groups) {
              const reason = activeGroupReason({ group: g.groupId, state: g.state, members: g.members.length }, input.target);
              if (reason)
                throw ApplicationFailure.create({ type: FailureType.PreconditionFailed, message: `${reason}; nothing was set; retrying` });
            }
          });
          await deps.kafka.withGroupCommitter(input.target, async (committer) => {
            for (const w of writes) {
              try {
                await committer.commit(w.group, w.writes);
              } catch (err) {
                if (err instanceof GroupHasMembersError)
                  throw ApplicationFailure.create({
                    type: FailureType.PreconditionFailed,
                    message: `${err.message}: stop its consumers on ${input.target}; retrying`,
                  });
                throw err;
              }
            }
          });
          return { set };
        },
        { cluster: input.target, registry: deps.registry },
      );
    },
  };
}
