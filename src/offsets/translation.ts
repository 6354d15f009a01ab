import type { Checkpoint } from '../mm2/codecs';
import type { ExactOutcome } from './exact-positions';

/**
 * Plans where each consumer group should stand on the target cluster: from exact,
 * record-verified positions where the activity could compute them (src/offsets/
 * exact-positions.ts; planned failover and failback), else from MM2's latest
 * checkpoints, and says per partition which (`method`). Pure: the activity gathers the facts (checkpoints, the groups'
 * state and committed offsets on the target, the target topics' offsets), this decides.
 *
 * Rules, in the order they apply:
 * - a group with members on the target is skipped: its consumers would overwrite what we
 *   set (and the broker refuses offset commits from outside a live group anyway);
 * - a partition is never moved backwards unless the plan says `allowRewind`: a group that
 *   is ahead on the target has already consumed there, and moving it back re-delivers;
 * - a checkpoint past the target partition's end is refused (kept where it is, with the
 *   reason): MM2 only translates offsets it replicated, so it is stale (the topic was
 *   recreated or truncated on the target) and no position derived from it can be trusted;
 *   clamping it to the end would skip the group's backlog silently;
 * - a checkpoint below the log start is clamped up to it, with a note: those records were
 *   deleted there (retention); committing below the start makes the consumer hit
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
  | 'invalid-checkpoint'
  /** The checkpoint is past the end of the target partition (stale): refused, kept where it is. */
  | 'refused-past-end';

/** Where a partition's position comes from: verified by record content, MM2's checkpoint, or nowhere. */
export type PositionMethod = 'exact' | 'checkpoint' | 'none';

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
  /** The group's committed offset on the source: what the exact position or the checkpoint translates. */
  upstream: string | null;
  /** Where `to` comes from when set: 'exact' (verified by content), 'checkpoint', or 'none' (kept). */
  method: PositionMethod;
  /** The checkpoint's upstream offset, when an exact position was attempted (the commit on the source is known: `upstream`). */
  checkpointUpstream?: string;
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
  /** When exact positions were computed: what was read, and how many were verified. */
  exactReads?: ExactReads;
  /**
   * Passes over MM2's internal topics behind this plan (set by the activity): one over the
   * checkpoints and one over the offset syncs per plan, whatever the number of groups and
   * partitions. An activity retry plans again (one more each), and so does each poll of the
   * failback's checkpoint-freshness wait (it waits for newer checkpoints). docs/mm2-internals.md.
   */
  readPasses?: { checkpoints: number; offsetSyncs: number };
}

/** What the exact positions read (once per activity call), for reports and benchmarks. */
export interface ExactReads {
  syncsRead: number;
  sourceRecordsRead: number;
  targetRecordsRead: number;
  /** Group-partitions with a commit on the source, and how many got a verified position. */
  attempted: number;
  verified: number;
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
  /**
   * Exact positions computed per (group, downstream topic, partition) where the group has a
   * commit on the source; absent when exact positions were not asked for. A partition here
   * is planned even without a checkpoint.
   */
  exact?: ExactPlacement[];
}

export interface ExactPlacement {
  group: string;
  /** The downstream topic on the target. */
  topic: string;
  partition: number;
  /** The group's committed offset on the source. */
  committed: bigint;
  outcome: ExactOutcome;
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
  exact?: ExactPlacement,
): PartitionPlan {
  const base = {
    topic,
    partition,
    from: str(current),
    checkpoint: str(cp?.downstreamOffset),
    // A source commit with no placement must still show (the gate lists it as unplaced).
    upstream: str(exact ? exact.committed : cp?.upstreamOffset),
    // Whenever the commit is known (exact attempted): equal to `upstream` means a checkpoint re-reads nothing.
    ...(exact && cp ? { checkpointUpstream: cp.upstreamOffset.toString() } : {}),
  };
  const keep = { ...base, to: str(current), method: 'none' as const };
  // Why the exact position is missing, prefixed to the checkpoint's outcome.
  const noExact = exact && exact.outcome.method === 'none' ? `no verified position (${exact.outcome.reason}); ` : '';
  if (!range) {
    return {
      ...keep,
      action: 'no-target-topic',
      note: `${topic} partition ${partition} does not exist on ${target} (topic deleted, or not created by MM2 yet): nothing to set`,
    };
  }
  let wanted: bigint;
  let method: PositionMethod;
  let note: string | undefined;
  if (exact && exact.outcome.method === 'exact') {
    wanted = exact.outcome.position;
    method = 'exact';
    note = exact.outcome.note;
  } else {
    if (!cp) {
      return {
        ...keep,
        action: 'no-checkpoint',
        note: `${noExact}no checkpoint for this partition (the group has not committed it on the source, or MM2 has not emitted one yet): offset kept`,
      };
    }
    if (cp.downstreamOffset < 0n) {
      return {
        ...keep,
        action: 'invalid-checkpoint',
        note: `${noExact}checkpoint downstream offset ${cp.downstreamOffset} is negative (MM2 could not translate): offset kept`,
      };
    }
    if (cp.downstreamOffset > range.high) {
      return {
        ...keep,
        action: 'refused-past-end',
        note:
          `${noExact}checkpoint ${cp.downstreamOffset} is past the end of ${topic} partition ${partition} on ${target} (${range.high}): ` +
          'stale (MM2 only translates offsets it replicated; was the topic recreated or truncated there?); refused, offset kept',
      };
    }
    wanted = cp.downstreamOffset;
    method = 'checkpoint';
    note = noExact ? `${noExact}from the checkpoint` : undefined;
  }
  let clamped = false;
  if (wanted < range.low) {
    note =
      `${note ? `${note}; ` : ''}${wanted} is below the log start of ${topic} partition ${partition} on ${target} (${range.low}): ` +
      `records ${wanted}..${range.low - 1n} were deleted there (retention) and cannot be consumed; clamped to the log start`;
    wanted = range.low;
    clamped = true;
  }
  const withNote = note ? { note } : {};
  if (current !== null && current === wanted) {
    return { ...base, to: str(wanted), action: 'unchanged', method, ...withNote };
  }
  if (current !== null && current > wanted) {
    if (!allowRewind) {
      return {
        ...keep,
        action: 'skip-would-rewind',
        note:
          `${note ? `${note}; ` : ''}${target} is ahead of the ${method === 'exact' ? 'exact position' : 'checkpoint'} (${current} > ${wanted}): kept; rerun with allowRewind to move it back ` +
          `(re-delivers ${current - wanted} records)`,
      };
    }
    const rewind = `moved back by ${current - wanted} (allowRewind): those records are delivered again`;
    return { ...base, to: str(wanted), action: clamped ? 'clamped' : 'set', method, note: note ? `${note}; ${rewind}` : rewind };
  }
  return { ...base, to: str(wanted), action: clamped ? 'clamped' : 'set', method, ...withNote };
}

export function planOffsets(input: PlanInput): OffsetPlan {
  const ranges = new Map(input.targetOffsets.map((o) => [pkey(o.topic, o.partition), o]));
  const partitionsOf = new Map<string, number[]>();
  for (const o of input.targetOffsets) partitionsOf.set(o.topic, [...(partitionsOf.get(o.topic) ?? []), o.partition]);

  const byGroup = new Map<string, Checkpoint[]>();
  for (const c of input.checkpoints) byGroup.set(c.consumerGroupId, [...(byGroup.get(c.consumerGroupId) ?? []), c]);
  const exactByGroup = new Map<string, ExactPlacement[]>();
  for (const e of input.exact ?? []) exactByGroup.set(e.group, [...(exactByGroup.get(e.group) ?? []), e]);

  const groups: GroupPlan[] = [...input.groups]
    .sort((a, b) => a.group.localeCompare(b.group))
    .map((g) => {
      const cps = byGroup.get(g.group) ?? [];
      const exact = exactByGroup.get(g.group) ?? [];
      const cpByPartition = new Map(cps.map((c) => [pkey(c.topic, c.partition), c]));
      const exactByPartition = new Map(exact.map((e) => [pkey(e.topic, e.partition), e]));
      const committed = new Map(g.committed.map((c) => [pkey(c.topic, c.partition), c.offset]));
      // The group's partitions: every partition (on the target) of every topic it has a
      // checkpoint or a source commit for, plus such partitions the target lacks.
      const topics = [...new Set([...cps.map((c) => c.topic), ...exact.map((e) => e.topic)])].sort();
      const partitions: PartitionPlan[] = [];
      for (const topic of topics) {
        const ps = new Set([
          ...(partitionsOf.get(topic) ?? []),
          ...cps.filter((c) => c.topic === topic).map((c) => c.partition),
          ...exact.filter((e) => e.topic === topic).map((e) => e.partition),
        ]);
        for (const p of [...ps].sort((a, b) => a - b)) {
          const k = pkey(topic, p);
          partitions.push(
            planPartition(
              topic,
              p,
              committed.get(k) ?? null,
              cpByPartition.get(k),
              ranges.get(k),
              input.allowRewind,
              input.target,
              exactByPartition.get(k),
            ),
          );
        }
      }
      const plan: GroupPlan = { group: g.group, state: g.state, members: g.members, partitions };
      const active = activeGroupReason(g, input.target);
      if (active) plan.skipped = active;
      else if (cps.length === 0 && exact.length === 0) {
        plan.skipped =
          `no checkpoint for group ${g.group} in ${input.source}.checkpoints.internal on ${input.target}` +
          (input.exact ? ` and no committed offset on ${input.source} for the mirrored topics` : '') +
          ": is it in the checkpoint connector's groups allowlist, and has it committed offsets on the source?";
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
export function summarizePlan(plan: OffsetPlan): {
  groups: number;
  skippedGroups: number;
  actions: Partial<Record<PartitionAction, number>>;
  methods: Partial<Record<PositionMethod, number>>;
} {
  const actions: Partial<Record<PartitionAction, number>> = {};
  const methods: Partial<Record<PositionMethod, number>> = {};
  let skippedGroups = 0;
  for (const g of plan.groups) {
    if (g.skipped) {
      skippedGroups++;
      continue;
    }
    for (const p of g.partitions) {
      actions[p.action] = (actions[p.action] ?? 0) + 1;
      methods[p.method] = (methods[p.method] ?? 0) + 1;
    }
  }
  return { groups: plan.groups.length, skippedGroups, actions, methods };
}

/** Per group, how its partitions end up: the report's "exact / re-read N / left out". */
export interface GroupOutcome {
  group: string;
  /** Partitions at a verified exact position (set now or already there). */
  exact: number;
  /** Partitions placed from a checkpoint. */
  checkpoint: number;
  /**
   * Records the group reads again on the target, at most: per checkpoint-placed partition, its
   * commit on the source minus the offset the checkpoint translated (source offsets: an upper
   * bound where offsets have no record). Null when a commit on the source is unknown.
   */
  reread: string | null;
  /** Partitions with a commit on the source that got no position (kept as they were). */
  leftOut: number;
  /** Why the whole group was left as it was. */
  skipped?: string;
}

export function groupOutcomes(plan: OffsetPlan): GroupOutcome[] {
  return plan.groups.map((g) => {
    const out: GroupOutcome = { group: g.group, exact: 0, checkpoint: 0, reread: '0', leftOut: 0 };
    let reread: bigint | null = 0n;
    for (const p of g.partitions) {
      const placed = !g.skipped && (APPLIED_ACTIONS.has(p.action) || p.action === 'unchanged');
      if (!placed) {
        if (p.upstream !== null) out.leftOut++;
        continue;
      }
      if (p.method === 'exact') out.exact++;
      else if (p.method === 'checkpoint') {
        out.checkpoint++;
        const from = p.checkpointUpstream ?? p.upstream;
        if (p.checkpointUpstream === undefined) reread = null;
        else if (reread !== null && from !== null && p.upstream !== null) {
          const d = BigInt(p.upstream) - BigInt(from);
          if (d > 0n) reread += d;
        }
      }
    }
    out.reread = reread === null ? null : reread.toString();
    if (g.skipped) out.skipped = g.skipped;
    return out;
  });
}
