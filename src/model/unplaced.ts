/**
 * Group-partitions the offset translation could not place on the target, the choice an
 * approver makes for each group at the `unplaced-groups` gate, and the per-group account
 * the report, `status` and the drill show. Pure (no imports): workflow code, activities
 * and the CLI share it.
 *
 * A group-partition is "unplaced" when the group has a commit on the source partition and
 * the translation left it without a position it set or found in place (no checkpoint or
 * sync, members on the target, a refused checkpoint, ...). A consumer of such a group
 * starts wherever its `auto.offset.reset` says: with `latest` it silently skips its
 * backlog. So the playbook stops and asks, before consumers move.
 */

/** The gate that asks, per group, what to do with its unplaced partitions. */
export const UNPLACED_GATE = 'unplaced-groups';

/**
 * earliest: the target partition's log start (the group reads again what it had read);
 * end: the target partition's end (the group's backlog is skipped: counted);
 * leave-out: nothing is set (the group stays as it is on the target).
 */
export const UNPLACED_CHOICES = ['earliest', 'end', 'leave-out'] as const;
export type UnplacedChoice = (typeof UNPLACED_CHOICES)[number];

/** One group-partition without a position on the target. Offsets are decimal strings. */
export interface UnplacedPartition {
  group: string;
  /** The topic on the source. */
  topic: string;
  /** Its mirrored name on the target (where the offset would be set). */
  downstream: string;
  partition: number;
  /** The group's committed offset on the source (null: not known, e.g. the source is down and the group was skipped). */
  committed: string | null;
  /** The source partition's end when read (null: the source was not read). */
  sourceEnd: string | null;
  /** Records between the group's commit and the partition end (null: not known). */
  lag: string | null;
  /** Why the translation left it without a position. */
  why: string;
}

/** How many partitions of a group the translation placed itself. */
export interface PlacedCount {
  /** Placed on a verified mapping (the translation's `method` says 'exact'). */
  exact: number;
  /** Placed through a checkpoint (may stand before the group's exact position). */
  translated: number;
  /**
   * Records the translated partitions read again, at most (the group's commit minus the
   * checkpoint's upstream offset, summed); null when a commit is not known (source down).
   * Absent when nothing was translated.
   */
  translatedReRead?: string | null;
}

/** What applying a choice set, per partition (activities/unplaced.ts placeUnplacedGroups). */
export interface PlacedUnplaced {
  group: string;
  /** Downstream topic on the target. */
  topic: string;
  partition: number;
  choice: 'earliest' | 'end';
  offset: string;
  /** The target partition's log start and end when set. */
  low: string;
  high: string;
}

/** The per-group account: report, status, drill. Record counts are decimal strings. */
export interface GroupPosition {
  group: string;
  exact: number;
  translated: number;
  /** Records read again by the partitions placed through a checkpoint, at most (null: not known; absent in older runs). */
  translatedReRead?: string | null;
  /** Unplaced partitions set to the target's log start / end, and left out. */
  earliest: number;
  end: number;
  leftOut: number;
  /**
   * Records read again because of `earliest`: per partition, the target's records up to
   * the group's position (target end − lag), when the lag is known; null when a lag is not.
   */
  reRead: string | null;
  /** Records skipped because of `end`: the sum of the lags (null when a lag is not known). */
  skipped: string | null;
  /** One line: `exact`, `translated (checkpoint)`, `re-read N`, `skipped N`, `left out (P partitions)`, joined by `; `. */
  outcome: string;
}

const key = (group: string, topic: string, partition: number) => `${group}\u0000${topic}\u0000${partition}`;

/** The groups named in the unplaced list, sorted. */
export function unplacedGroups(unplaced: readonly UnplacedPartition[]): string[] {
  return [...new Set(unplaced.map((u) => u.group))].sort();
}

/** The gate's description: each group/partition with its lag, and the choices. */
export function describeUnplaced(unplaced: readonly UnplacedPartition[], target: string, limit = 50): string {
  const lines = unplaced.slice(0, limit).map((u) => {
    const lag = u.lag === null ? 'lag unknown' : `lag ${u.lag}`;
    const at = u.committed === null ? '' : ` (committed ${u.committed}${u.sourceEnd !== null ? ` of ${u.sourceEnd}` : ''})`;
    return `${u.group} ${u.topic}[${u.partition}]: ${lag}${at}: ${u.why}`;
  });
  const more = unplaced.length > limit ? [`... and ${unplaced.length - limit} more (figures.unplaced lists all)`] : [];
  return (
    `${unplaced.length} group-partition(s) of ${unplacedGroups(unplaced).length} group(s) have a commit on the source but no verified position on ${target}: ` +
    `${[...lines, ...more].join('; ')}. Approve choosing per group (--choice <group>=<choice>, or --choice <choice> for all): ` +
    `earliest (${target}'s log start: records read again), end (${target}'s end: the lag is skipped, counted), ` +
    `leave-out (nothing set: the group starts by its auto.offset.reset). Nothing is set for these groups before the decision; consumers start after it`
  );
}

/** The partitions to set, per group and choice (leave-out sets nothing). */
export function placementsFor(
  unplaced: readonly UnplacedPartition[],
  choices: Readonly<Record<string, string>>,
): Array<{ group: string; choice: 'earliest' | 'end'; partitions: Array<{ topic: string; partition: number }> }> {
  const out = new Map<string, { group: string; choice: 'earliest' | 'end'; partitions: Array<{ topic: string; partition: number }> }>();
  for (const u of unplaced) {
    const choice = choices[u.group];
    if (choice !== 'earliest' && choice !== 'end') continue;
    const entry = out.get(u.group) ?? { group: u.group, choice, partitions: [] };
    entry.partitions.push({ topic: u.downstream, partition: u.partition });
    out.set(u.group, entry);
  }
  return [...out.values()];
}

/** The per-group account from what the translation placed and what the choices set. */
export function groupPositions(args: {
  placed: Readonly<Record<string, PlacedCount>>;
  unplaced: readonly UnplacedPartition[];
  choices: Readonly<Record<string, string>>;
  set: readonly PlacedUnplaced[];
}): GroupPosition[] {
  const lagOf = new Map(args.unplaced.map((u) => [key(u.group, u.downstream, u.partition), u.lag]));
  const groups = [...new Set([...Object.keys(args.placed), ...args.unplaced.map((u) => u.group)])].sort();
  return groups.map((group) => {
    const placed = args.placed[group] ?? { exact: 0, translated: 0 };
    const mine = args.unplaced.filter((u) => u.group === group);
    const set = args.set.filter((s) => s.group === group);
    let reRead: bigint | null = 0n;
    let skipped: bigint | null = 0n;
    for (const s of set) {
      const lag = lagOf.get(key(group, s.topic, s.partition));
      if (s.choice === 'end') skipped = lag === null || lag === undefined || skipped === null ? null : skipped + BigInt(lag);
      else {
        // Assumes the target holds the source's records up to its end (drained): the group's place is `lag` before it.
        const before = lag === null || lag === undefined ? null : BigInt(s.high) - BigInt(s.low) - BigInt(lag);
        reRead = before === null || reRead === null ? null : reRead + (before > 0n ? before : 0n);
      }
    }
    const earliest = set.filter((s) => s.choice === 'earliest').length;
    const end = set.filter((s) => s.choice === 'end').length;
    const leftOut = mine.length - earliest - end;
    const parts: string[] = [];
    if (placed.exact > 0 && placed.translated === 0 && mine.length === 0) parts.push('exact');
    else {
      if (placed.exact > 0) parts.push(`exact on ${placed.exact} partition(s)`);
      if (placed.translated > 0) {
        const r = placed.translatedReRead;
        const reads = r === undefined ? '' : r === null ? ', re-read unknown' : r === '0' ? ', re-read 0' : `, re-read up to ${r}`;
        parts.push(`translated through checkpoints on ${placed.translated} partition(s)${reads}`);
      }
    }
    if (earliest > 0) parts.push(`re-read ${reRead === null ? 'unknown' : reRead.toString()} (earliest on ${earliest} partition(s))`);
    if (end > 0) parts.push(`skipped ${skipped === null ? 'unknown' : skipped.toString()} (end on ${end} partition(s))`);
    if (leftOut > 0)
      parts.push(`left out (${leftOut} partition(s) without a position${args.choices[group] ? `: ${args.choices[group]}` : ''})`);
    return {
      group,
      exact: placed.exact,
      translated: placed.translated,
      ...(placed.translatedReRead !== undefined ? { translatedReRead: placed.translatedReRead } : {}),
      earliest,
      end,
      leftOut,
      reRead: earliest > 0 && reRead !== null ? reRead.toString() : earliest > 0 ? null : '0',
      skipped: end > 0 && skipped !== null ? skipped.toString() : end > 0 ? null : '0',
      outcome: parts.join('; ') || 'nothing to place',
    };
  });
}

/** Records a group reads again in all: through checkpoints plus `earliest`; null when either is unknown. */
export function totalReRead(p: GroupPosition): string | null {
  const parts = [p.translatedReRead ?? '0', p.reRead];
  return parts.some((x) => x === null) ? null : parts.reduce((a, b) => a + BigInt(b!), 0n).toString();
}

/** What find-unplaced, the unplaced-groups gate and place-unplaced leave in the figures. */
export interface UnplacedFigures {
  /** Group-partitions with a commit on the source and no position from the translation. */
  unplaced: UnplacedPartition[];
  /** The approver's choice per group (empty when nothing was unplaced). */
  unplacedChoices: Record<string, string>;
  /** Offsets set by those choices. */
  unplacedSet: PlacedUnplaced[];
  /** Per group: exact / translated / re-read N / skipped N / left out. */
  groupPositions: GroupPosition[];
}

/** `group: outcome` per group, for one-line summaries (drill, status, report), at most `limit` groups. */
export function describePositions(positions: readonly GroupPosition[], limit = 20): string {
  if (positions.length === 0) return 'no group to place';
  const shown = positions.slice(0, limit).map((p) => `${p.group}: ${p.outcome}`);
  return [...shown, ...(positions.length > limit ? [`and ${positions.length - limit} more groups`] : [])].join('; ');
}
