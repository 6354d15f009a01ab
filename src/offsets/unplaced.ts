import type { PlacedCount, UnplacedPartition } from '../model/unplaced';
import { groupNotCheckpointed } from '../mm2/flow-scope';
import { parseConnectList } from '../mm2/policy';
import { APPLIED_ACTIONS, type PartitionAction } from './translation';

/**
 * Which group-partitions the translation left without a position (pure; see
 * src/model/unplaced.ts), and which named groups the flow's checkpoint connector never
 * translates (MM2's `groups` / `groups.exclude`).
 */

/** A translation outcome for one partition, as much as this needs (a PartitionPlan, or a richer one). */
export interface PlannedPartition {
  /** Downstream topic on the target. */
  topic: string;
  partition: number;
  action: string;
  /** The group's commit on the source the translation worked from (null: none known). */
  upstream: string | null;
  /** How the position was found, when the translation says ('exact' for a verified mapping). */
  method?: string;
  /** The checkpoint's upstream offset when the commit on the source was known too: `upstream` minus it is re-read. */
  checkpointUpstream?: string;
  note?: string;
}

export interface PlannedGroup {
  group: string;
  /** Set when nothing was applied to the group: every partition with a commit is unplaced. */
  skipped?: string;
  partitions: PlannedPartition[];
}

/** A group's committed offset on the source (null: none). */
export interface SourceGroupCommit {
  group: string;
  /** Source topic name. */
  topic: string;
  partition: number;
  offset: string | null;
}

/**
 * Placed: the group is not skipped and the action set the partition or found it already
 * there. Any other action (today's and any added later, e.g. a refused checkpoint) leaves
 * it unplaced.
 */
export function isPlaced(group: Pick<PlannedGroup, 'skipped'>, p: Pick<PlannedPartition, 'action'>): boolean {
  return !group.skipped && (APPLIED_ACTIONS.has(p.action as PartitionAction) || p.action === 'unchanged');
}

/** Per group, the partitions the translation placed (exact: its `method` says so). */
export function placedCounts(groups: readonly PlannedGroup[]): Record<string, PlacedCount> {
  const out: Record<string, PlacedCount> = {};
  for (const g of groups) {
    const c: PlacedCount = (out[g.group] = { exact: 0, translated: 0 });
    let reRead: bigint | null = 0n;
    for (const p of g.partitions) {
      if (!isPlaced(g, p)) continue;
      if (p.method === 'exact') c.exact++;
      else {
        c.translated++;
        // A checkpoint translates an older commit than the group's last: those records are read again (at most:
        // source offsets, and offsets without a record count too). Unknown without the commit (source down).
        if (reRead === null || p.checkpointUpstream === undefined || p.upstream === null) reRead = null;
        else if (BigInt(p.upstream) > BigInt(p.checkpointUpstream)) reRead += BigInt(p.upstream) - BigInt(p.checkpointUpstream);
      }
    }
    if (c.translated > 0) c.translatedReRead = reRead === null ? null : reRead.toString();
  }
  return out;
}

const pkey = (group: string, topic: string, partition: number) => `${group}\u0000${topic}\u0000${partition}`;

/**
 * The unplaced group-partitions, sorted by group, topic, partition. `commits` are the
 * groups' commits on the source (null when the source could not be read: then the
 * translation's own `upstream` is all there is); `sourceEnds` the source partitions' ends
 * (topic → partition → offset) for the lag.
 */
export function findUnplaced(args: {
  groups: readonly PlannedGroup[];
  commits: readonly SourceGroupCommit[] | null;
  sourceEnds: Readonly<Record<string, Readonly<Record<string, string>>>> | null;
  downstreamTopic: (sourceTopic: string) => string;
  upstreamTopic: (downstream: string) => string;
}): UnplacedPartition[] {
  const planned = new Map<string, { g: PlannedGroup; p: PlannedPartition }>();
  for (const g of args.groups) for (const p of g.partitions) planned.set(pkey(g.group, p.topic, p.partition), { g, p });
  const skipped = new Map(args.groups.filter((g) => g.skipped).map((g) => [g.group, g.skipped!]));
  const out = new Map<string, UnplacedPartition>();
  const add = (group: string, downstream: string, partition: number, committed: string | null, why: string) => {
    const topic = args.upstreamTopic(downstream);
    const end = args.sourceEnds?.[topic]?.[String(partition)] ?? null;
    const lag =
      end !== null && committed !== null ? (BigInt(end) > BigInt(committed) ? BigInt(end) - BigInt(committed) : 0n).toString() : null;
    out.set(pkey(group, downstream, partition), { group, topic, downstream, partition, committed, sourceEnd: end, lag, why });
  };
  const whyOf = (group: string, entry: { g: PlannedGroup; p: PlannedPartition } | undefined) =>
    skipped.get(group) ??
    (entry ? `${entry.p.action}${entry.p.note ? `: ${entry.p.note}` : ''}` : 'no checkpoint or offset sync translates this partition');

  for (const c of args.commits ?? []) {
    if (c.offset === null) continue;
    const downstream = args.downstreamTopic(c.topic);
    const entry = planned.get(pkey(c.group, downstream, c.partition));
    if (entry && isPlaced(entry.g, entry.p)) continue;
    add(c.group, downstream, c.partition, c.offset, whyOf(c.group, entry));
  }
  // What the translation itself knew a commit for (all there is when the source is down).
  for (const g of args.groups) {
    for (const p of g.partitions) {
      if (isPlaced(g, p) || out.has(pkey(g.group, p.topic, p.partition))) continue;
      if (p.upstream !== null) add(g.group, p.topic, p.partition, p.upstream, whyOf(g.group, { g, p }));
      else if (g.skipped && args.commits === null) add(g.group, p.topic, p.partition, null, g.skipped);
    }
  }
  return [...out.values()].sort((a, b) => a.group.localeCompare(b.group) || a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

// ---------------------------------------------------------------------------
// MM2's group filter (DefaultGroupFilter): `groups` (default `.*`) minus `groups.exclude`.

/** MM2's defaults (MirrorCheckpointConfig / DefaultGroupFilter, Kafka 3.x). */
export const MM2_GROUPS_DEFAULT = '.*';
export const MM2_GROUPS_EXCLUDE_DEFAULT = 'console-consumer-.*, connect-.*, __.*';

/**
 * Why the checkpoint connector with this config never translates `group`, or undefined when
 * it does. (`groups.blacklist` is the pre-3.0 name of `groups.exclude`.) The rule itself is
 * src/mm2/flow-scope.ts groupNotCheckpointed, which check-scope uses.
 */
export function groupFilteredOut(config: Readonly<Record<string, string>>, group: string): string | undefined {
  const include = config['groups'] ?? MM2_GROUPS_DEFAULT;
  const exclude = config['groups.exclude'] ?? config['groups.blacklist'] ?? MM2_GROUPS_EXCLUDE_DEFAULT;
  return groupNotCheckpointed(group, parseConnectList(include), parseConnectList(exclude));
}
