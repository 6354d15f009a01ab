import type { Checkpoint } from '../mm2/codecs';

/**
 * Plans where each consumer group should stand on the target cluster, from MM2's
 * latest checkpoints. Pure: the activity gathers the facts (checkpoints, the groups'
 * state and committed offsets on the target, the target topics' offsets), this decides.
 *
 * Rules, in the order they apply:
 * - a group with members on the target is skipped: its consumers would overwrite what we
 *   set (and the broker refuses offset commits from outside a live group anyway);
 * - a partition is never moved backwards unless the plan says `allowRewind`: a group that
 *   is ahead on the target has already consumed there, and moving it back re-delivers;
 * - a checkpoint outside the target partition's [start, end] range is clamped into it,
 *   with a note: committing past the end or below the start makes the consumer hit
 *   OFFSET_OUT_OF_RANGE and jump by `auto.offset.reset` (often to latest: silent loss).
 * The plan is plain data with offsets as decimal strings, for dry-runs, reports and
 * Temporal history.
 */

export type PartitionAction =
  /** Will be set to `to` (the checkpoint's downstream offset). */
  | 'set'
  /** Will be set to `to`, which is the checkpoint moved into the partition's range; see note. */
  | 'clamped'
  /** Already at the checkpoint: nothing to do. */
  | 'unchanged'
  /** The target is ahead of the checkpoint and allowRewind is off: kept where it is. */
  | 'skip-would-rewind'
  /** No checkpoint for this partition: kept where it is. */
  | 'no-checkpoint'
  /** The downstream topic does not exist on the target: nothing to set. */
  | 'no-target-topic'
  /** A negative downstream offset: MM2 could not translate; kept where it is. */
  | 'invalid-checkpoint';

/** Actions that change the group on the target when applied. */
export const APPLIED_ACTIONS: ReadonlySet<PartitionAction> = new Set<PartitionAction>(['set', 'clamped']);

export interface PartitionPlan {
  /** The downstream topic on the target, e.g. `A.orders`. */
  topic: string;
  partition: number;
  /** The group's committed offset on the target now (null: none). */
  from: string | null;
  /** Where the group stands on this partition once the plan is applied (null: no offset). */
  to: string | null;
  action: PartitionAction;
  /** The checkpoint's downstream offset, when there is one (differs from `to` when skipped or clamped). */
  checkpoint: string | null;
  /** The group's committed offset on the source that the checkpoint translates. */
  upstream: string | null;
  note?: string;
}

export interface GroupPlan {
  group: string;
  /** The group's state on the target (`Empty`, `Stable`, `Dead` for one that does not exist, ...). */
  state: string;
  members: number;
  /** Present when nothing is applied to this group; says why and what to do. Partitions still show what would happen. */
  skipped?: string;
  partitions: PartitionPlan[];
}

export interface OffsetPlan {
  source: string;
  target: string;
  allowRewind: boolean;
  groups: GroupPlan[];
  /** Records read from the checkpoints topic (all groups, before filtering). */
  checkpointsRead: number;
  generatedAt: string;
}

/** A group on the target as the admin API describes it. */
export interface TargetGroup {
  group: string;
  state: string;
  members: number;
  /** Committed offsets on the target for the downstream topics (missing or null: none). */
  committed: Array<{ topic: string; partition: number; offset: bigint | null }>;
}

/** Offsets of a partition on the target: the log start (low) and end (high). */
export interface TargetPartitionOffsets {
  topic: string;
  partition: number;
  low: bigint;
  high: bigint;
}

export interface PlanInput {
  source: string;
  target: string;
  /** Latest checkpoint per (group, topic, partition), already filtered. */
  checkpoints: Checkpoint[];
  /** Every group to plan: those with checkpoints and any named explicitly. */
  groups: TargetGroup[];
  /** Offsets of the downstream topics on the target; a topic absent here does not exist there. */
  targetOffsets: TargetPartitionOffsets[];
  allowRewind: boolean;
  checkpointsRead: number;
  generatedAt: string;
}

/** States in which the group is not being consumed: offsets can be set from outside. */
export const SETTABLE_GROUP_STATES: ReadonlySet<string> = new Set(['Empty', 'Dead']);

/** Why a group cannot be changed right now, or undefined when it can. */
export function activeGroupReason(group: { group: string; state: string; members: number }, target: string): string | undefined {
  if (group.members > 0) {
    return `group ${group.group} has ${group.members} active member${group.members === 1 ? '' : 's'} on ${target}: stop its consumers there first`;
  }
  if (!SETTABLE_GROUP_STATES.has(group.state)) {
    return `group ${group.group} is ${group.state} on ${target}: wait until it is Empty (no consumers) and run again`;
  }
  return undefined;
}

const pkey = (topic: string, partition: number) => `${topic}\u0000${partition}`;
const str = (v: bigint | null | undefined): string | null => (v === null || v === undefined ? null : v.toString());

function planPartition(
  topic: string,
  partition: number,
  current: bigint | null,
  cp: Checkpoint | undefined,
  range: TargetPartitionOffsets | undefined,
  allowRewind: boolean,
  target: string,
): PartitionPlan {
  const base = { topic, partition, from: str(current), checkpoint: str(cp?.downstreamOffset), upstream: str(cp?.upstreamOffset) };
  const keep = { ...base, to: str(current) };
  if (!range) {
    return {
      ...keep,
      action: 'no-target-topic',
      note: `${topic} partition ${partition} does not exist on ${target} (topic deleted, or not created by MM2 yet): nothing to set`,
    };
  }
  if (!cp) {
    return {
      ...keep,
      action: 'no-checkpoint',
      note: 'no checkpoint for this partition (the group has not committed it on the source, or MM2 has not emitted one yet): offset kept',
    };
  }
  if (cp.downstreamOffset < 0n) {
    return {
      ...keep,
      action: 'invalid-checkpoint',
      note: `checkpoint downstream offset ${cp.downstreamOffset} is negative (MM2 could not translate): offset kept`,
    };
  }
  let wanted = cp.downstreamOffset;
  let clampNote: string | undefined;
  if (wanted > range.high) {
    clampNote =
      `checkpoint ${wanted} is past the end of ${topic} partition ${partition} on ${target} (${range.high}); this should not happen ` +
      '(MM2 only translates offsets it has replicated): was the topic recreated or truncated on the target? Clamped to the end';
    wanted = range.high;
  } else if (wanted < range.low) {
    clampNote =
      `checkpoint ${wanted} is below the log start of ${topic} partition ${partition} on ${target} (${range.low}): ` +
      `records ${wanted}..${range.low - 1n} were deleted there (retention) and cannot be consumed; clamped to the log start`;
    wanted = range.low;
  }
  if (current !== null && current === wanted) {
    return { ...base, to: str(wanted), action: 'unchanged', ...(clampNote ? { note: clampNote } : {}) };
  }
  if (current !== null && current > wanted) {
    if (!allowRewind) {
      return {
        ...keep,
        action: 'skip-would-rewind',
        note:
          `${target} is ahead of the checkpoint (${current} > ${wanted}): kept; rerun with allowRewind to move it back ` +
          `(re-delivers ${current - wanted} records)`,
      };
    }
    const rewind = `moved back by ${current - wanted} (allowRewind): those records are delivered again`;
    return clampNote
      ? { ...base, to: str(wanted), action: 'clamped', note: `${clampNote}; ${rewind}` }
      : { ...base, to: str(wanted), action: 'set', note: rewind };
  }
  return clampNote ? { ...base, to: str(wanted), action: 'clamped', note: clampNote } : { ...base, to: str(wanted), action: 'set' };
}

export function planOffsets(input: PlanInput): OffsetPlan {
  const ranges = new Map(input.targetOffsets.map((o) => [pkey(o.topic, o.partition), o]));
  const partitionsOf = new Map<string, number[]>();
  for (const o of input.targetOffsets) partitionsOf.set(o.topic, [...(partitionsOf.get(o.topic) ?? []), o.partition]);

  const byGroup = new Map<string, Checkpoint[]>();
  for (const c of input.checkpoints) byGroup.set(c.consumerGroupId, [...(byGroup.get(c.consumerGroupId) ?? []), c]);

  const groups: GroupPlan[] = [...input.groups]
    .sort((a, b) => a.group.localeCompare(b.group))
    .map((g) => {
      const cps = byGroup.get(g.group) ?? [];
      const cpByPartition = new Map(cps.map((c) => [pkey(c.topic, c.partition), c]));
      const committed = new Map(g.committed.map((c) => [pkey(c.topic, c.partition), c.offset]));
      // The group's partitions: every partition (on the target) of every topic it has a
      // checkpoint for, plus checkpointed partitions the target lacks.
      const topics = [...new Set(cps.map((c) => c.topic))].sort();
      const partitions: PartitionPlan[] = [];
      for (const topic of topics) {
        const ps = new Set([...(partitionsOf.get(topic) ?? []), ...cps.filter((c) => c.topic === topic).map((c) => c.partition)]);
        for (const p of [...ps].sort((a, b) => a - b)) {
          const k = pkey(topic, p);
          partitions.push(planPartition(topic, p, committed.get(k) ?? null, cpByPartition.get(k), ranges.get(k), input.allowRewind, input.target));
        }
      }
      const plan: GroupPlan = { group: g.group, state: g.state, members: g.members, partitions };
      const active = activeGroupReason(g, input.target);
      if (active) plan.skipped = active;
      else if (cps.length === 0) {
        plan.skipped =
          `no checkpoint for group ${g.group} in ${input.source}.checkpoints.internal on ${input.target}: ` +
          'is it in the checkpoint connector\'s groups allowlist, and has it committed offsets on the source?';
      }
      return plan;
    });

  return {
    source: input.source,
    target: input.target,
    allowRewind: input.allowRewind,
    groups,
    checkpointsRead: input.checkpointsRead,
    generatedAt: input.generatedAt,
  };
}

/** What applying a group's plan writes: per topic, the partitions and offsets (empty when skipped). */
export function offsetsToApply(group: GroupPlan): Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> {
  if (group.skipped) return [];
  const byTopic = new Map<string, Array<{ partition: number; offset: string }>>();
  for (const p of group.partitions) {
    if (!APPLIED_ACTIONS.has(p.action) || p.to === null) continue;
    byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), { partition: p.partition, offset: p.to }]);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

/** Counts per action over the groups that are not skipped, for one-line summaries. */
export function summarizePlan(plan: OffsetPlan): { groups: number; skippedGroups: number; actions: Partial<Record<PartitionAction, number>> } {
  const actions: Partial<Record<PartitionAction, number>> = {};
  let skippedGroups = 0;
  for (const g of plan.groups) {
    if (g.skipped) {
      skippedGroups++;
      continue;
    }
    for (const p of g.partitions) actions[p.action] = (actions[p.action] ?? 0) + 1;
  }
  return { groups: plan.groups.length, skippedGroups, actions };
}
