/**
 * Divergent records on failback: records on the primary (A) the DR cluster (B) never
 * received. They sit between the forward flow's last replicated offset + 1 and A's end at
 * the cutover (the unplanned tail, stragglers written after the failover snapshot, writes
 * after the consumers moved). Under IdentityReplicationPolicy the reverse flow copied B's
 * DR-period records into the same partitions, interleaved with them: those came from B and
 * are not divergent. Pure (no imports): workflow code, activities and the CLI share it.
 * See docs/playbooks.md#divergent-records.
 */

/** The gate that asks what to do with them, once per failback (key `records`). */
export const DIVERGENT_GATE = 'divergent-records';

/**
 * replay: re-produced at the end of their own partition on A after the cutover snapshot, so
 * the forward flow (resuming at the snapshot) copies them to B and groups on A read them;
 * quarantine: copied to a quarantine topic on A with origin headers, plus a JSON export;
 * discard: left on A only, recorded with the counts. replay loses nothing: the default.
 */
export const DIVERGENT_CHOICES = ['replay', 'quarantine', 'discard'] as const;
export type DivergentChoice = (typeof DIVERGENT_CHOICES)[number];
export const DIVERGENT_GATE_CHOICES = { options: [...DIVERGENT_CHOICES], keys: ['records'], default: 'replay' };

/**
 * Headers a replayed copy carries on A (and on B: MM2 copies headers). `origin` is
 * `<topic>/<partition>/<offset>` of the original (topic names cannot hold '/'); a retry
 * looks for it after the snapshot before writing, find-divergent never counts a copy.
 */
export const REPLAY_HEADERS = {
  origin: 'kafka-dr.replay.origin',
  workflow: 'kafka-dr.replay.workflow',
} as const;

export function replayOrigin(topic: string, partition: number, offset: bigint | string): string {
  return `${topic}/${partition}/${offset}`;
}

/** Origin headers a quarantined copy carries (values are UTF-8 decimal or text). */
export const ORIGIN_HEADERS = {
  topic: 'kafka-dr.origin.topic',
  partition: 'kafka-dr.origin.partition',
  offset: 'kafka-dr.origin.offset',
  timestamp: 'kafka-dr.origin.timestamp',
} as const;

/**
 * The quarantine topic on the primary for one source topic. The `.internal` suffix keeps
 * it out of every kafka-dr flow (KAFKA_DR_TOPICS_EXCLUDE), so it is never replicated.
 */
export function quarantineTopicFor(topic: string): string {
  return `kafka-dr.quarantine.${topic}.internal`;
}

/** One partition with divergent records. Offsets are decimal strings. */
export interface DivergentPartition {
  /** The topic on A. */
  topic: string;
  partition: number;
  /** Forward flow's last replicated offset + 1 (null: it never replicated this partition: from A's log start). */
  from: string;
  /** A's end at the cutover (exclusive). */
  to: string;
  /** Divergent records (committed data records not copied to B, not copied back from B). */
  records: number;
  /** Their offsets, as inclusive [first, last] runs. */
  ranges: Array<[string, string]>;
  /** Records in [from, to) that came back from B through the reverse flow (not divergent). */
  fromDr: number;
}

/** What the failback report and `status` show. */
export interface DivergentFigures {
  checkedAt: string;
  records: number;
  partitions: DivergentPartition[];
  choice?: DivergentChoice;
  by?: string | null;
  at?: string;
  /** quarantine: the topics written on A and the export file (on the worker that ran it). */
  quarantine?: { topics: string[]; copied: number; exportPath: string };
  /**
   * replay: records appended on A after the snapshot (copied: there now, written: by this
   * attempt), per topic on A; the forward flow copies them to B when it resumes.
   */
  replayed?: { copied: number; written?: number; topics: string[] };
  /** replay: the groups on A with a position on a divergent partition, and how many originals each reads too. */
  groups?: DivergentGroup[];
  /** discard: records left on A only (B never gets them). */
  discarded?: number;
  /**
   * Default policy: the forward flow resumes from its committed offsets on A's own topics
   * (they hold only A's records), so MM2 copies these itself; no gate, no copy of ours.
   */
  forwardFlow?: number;
}

/** A group on A with a committed (or playbook-placed) position on a partition with divergent records. */
export interface DivergentGroup {
  group: string;
  /**
   * Divergent originals at or after its positions: it reads those and, after a replay, their
   * copies too (twice). 0: positioned past them, it reads each replayed copy once.
   */
  readsOriginals: number;
  partitions: Array<{
    topic: string;
    partition: number;
    position: string;
    /** placed: set by this failback (translate-offsets, place-unplaced), where its consumers started on A. */
    from: 'placed' | 'committed';
    readsOriginals: number;
    /** Its committed position here before the failback started (read-primary-positions), when past some originals. */
    before?: string;
    readBefore?: number;
  }>;
  /**
   * Divergent originals it had read on A before the failback started (committed past them
   * before the crash or failover): after a replay it reads their copies again (duplicates).
   */
  readBefore?: number;
}

/** A group's committed position on A, read before the reverse flow started (offset: next to read). */
export interface PositionBefore {
  group: string;
  topic: string;
  partition: number;
  offset: string;
}

/** A group's position on one partition (A's topic). */
export interface GroupPosition {
  group: string;
  topic: string;
  partition: number;
  position: bigint;
  from: 'placed' | 'committed';
}

/** Per group: the divergent originals at or after its positions (it reads them, then their replayed copies). */
export function groupReads(partitions: readonly DivergentPartition[], positions: readonly GroupPosition[]): DivergentGroup[] {
  const byPartition = new Map(partitions.map((p) => [`${p.topic}\u0000${p.partition}`, p]));
  const out = new Map<string, DivergentGroup>();
  for (const g of positions) {
    const p = byPartition.get(`${g.topic}\u0000${g.partition}`);
    if (!p) continue;
    let reads = 0;
    for (const [a, b] of p.ranges) {
      const first = BigInt(a) > g.position ? BigInt(a) : g.position;
      if (first <= BigInt(b)) reads += Number(BigInt(b) - first + 1n);
    }
    const entry = out.get(g.group) ?? { group: g.group, readsOriginals: 0, partitions: [] };
    entry.partitions.push({ topic: g.topic, partition: g.partition, position: g.position.toString(), from: g.from, readsOriginals: reads });
    entry.readsOriginals += reads;
    out.set(g.group, entry);
  }
  return [...out.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

/**
 * Adds to each group the originals it had read before the failback started: those below its
 * position then. A position above the first record the reverse flow copied back from dr
 * cannot be from before the failover (an earlier failback attempt set it): not counted.
 */
export function withReadBefore(
  groups: readonly DivergentGroup[],
  partitions: ReadonlyArray<Pick<DivergentPartition, 'topic' | 'partition' | 'ranges'> & { firstFromDr: bigint | null }>,
  before: readonly PositionBefore[],
): DivergentGroup[] {
  const byPartition = new Map(partitions.map((p) => [`${p.topic}\u0000${p.partition}`, p]));
  const out = new Map(groups.map((g) => [g.group, { ...g, partitions: g.partitions.map((x) => ({ ...x })) }]));
  for (const b of before) {
    const p = byPartition.get(`${b.topic}\u0000${b.partition}`);
    const position = BigInt(b.offset);
    if (!p || (p.firstFromDr !== null && position > p.firstFromDr)) continue;
    let read = 0;
    for (const [a, z] of p.ranges) {
      const last = BigInt(z) < position ? BigInt(z) : position - 1n;
      if (last >= BigInt(a)) read += Number(last - BigInt(a) + 1n);
    }
    if (read === 0) continue;
    const entry = out.get(b.group) ?? { group: b.group, readsOriginals: 0, partitions: [] };
    let part = entry.partitions.find((x) => x.topic === b.topic && x.partition === b.partition);
    if (!part) {
      part = { topic: b.topic, partition: b.partition, position: b.offset, from: 'committed', readsOriginals: 0 };
      entry.partitions.push(part);
    }
    part.before = b.offset;
    part.readBefore = read;
    entry.readBefore = (entry.readBefore ?? 0) + read;
    out.set(b.group, entry);
  }
  return [...out.values()].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

/** `g (n), h (m)` for at most ten groups. */
function namedCounts(groups: readonly DivergentGroup[], count: (g: DivergentGroup) => number): string {
  return (
    groups
      .slice(0, 10)
      .map((g) => `${g.group} (${count(g)})`)
      .join(', ') + (groups.length > 10 ? `, and ${groups.length - 10} more` : '')
  );
}

/** What the gate says, with what replay does and what it costs. */
export function divergentGateDescription(args: {
  primary: string;
  dr: string;
  records: number;
  partitions: readonly DivergentPartition[];
  groups: readonly DivergentGroup[];
}): string {
  const { primary: A, dr: B } = args;
  const twice = args.groups.filter((g) => g.readsOriginals > 0);
  const again = args.groups.filter((g) => (g.readBefore ?? 0) > 0);
  const once = args.groups.filter((g) => g.readsOriginals === 0 && !g.readBefore).length;
  const groupsNote =
    args.groups.length === 0
      ? `No group on ${A} has a position on these partitions.`
      : `Groups on ${A} positioned past them read each copy once (${once} group(s))` +
        (twice.length > 0
          ? `; positioned at or before them, these read the originals too, so twice: ${namedCounts(twice, (g) => g.readsOriginals)}.`
          : '.') +
        (again.length > 0
          ? ` These had read originals on ${A} before the failover (committed past them then) and read their copies again: ` +
            `${namedCounts(again, (g) => g.readBefore ?? 0)} duplicate(s); a consumer can skip a copy by its ${REPLAY_HEADERS.origin} header ` +
            `(topic/partition/offset of the original) below its position then, listed per partition in the report.`
          : '');
  return (
    `${args.records} record(s) on ${A} never reached ${B} (an unplanned tail, or producers that wrote to ${A} after the failover): ` +
    `${describeDivergent(args.partitions)}. Approve with choice replay (default: each is written again at the end of its own partition on ${A}, ` +
    `after the cutover snapshot, with its key, value, headers and timestamp and a ${REPLAY_HEADERS.origin} header; the forward flow resumes at the snapshot and copies them to ${B} once). ` +
    `${groupsNote} Cost: on a keyed or compacted topic the replayed (older) values land after the newer values written during the DR period and win; choose quarantine there. ` +
    `quarantine: copied to kafka-dr.quarantine.<topic>.internal on ${A} with origin headers, and a JSON export; ${B} never gets them. discard: recorded with the counts`
  );
}

/** A record's identity for matching a copy to its original: MM2 keeps timestamp, key, value and headers. */
export interface Fingerprinted {
  offset: bigint;
  fingerprint: string;
}

/**
 * Offsets of A's records that are not copies of B's reverse-copied records, in order. The
 * reverse flow writes B's records to A in B's order, so they form a subsequence of A's
 * range: a greedy match keeps the rest (A's own writes) as divergent.
 */
export function unmatchedOffsets(onA: readonly Fingerprinted[], fromB: readonly string[]): { divergent: bigint[]; matched: number } {
  const divergent: bigint[] = [];
  let next = 0;
  for (const r of onA) {
    if (next < fromB.length && r.fingerprint === fromB[next]) next++;
    else divergent.push(r.offset);
  }
  return { divergent, matched: next };
}

/** Sorted offsets as inclusive runs of consecutive offsets (markers between two records break a run). */
export function offsetRuns(offsets: readonly bigint[]): Array<[string, string]> {
  const runs: Array<[string, string]> = [];
  let start: bigint | undefined;
  let prev: bigint | undefined;
  for (const o of offsets) {
    if (start !== undefined && prev !== undefined && o === prev + 1n) {
      prev = o;
      continue;
    }
    if (start !== undefined) runs.push([start.toString(), prev!.toString()]);
    start = o;
    prev = o;
  }
  if (start !== undefined) runs.push([start.toString(), prev!.toString()]);
  return runs;
}

/** One line per partition for a gate description: `t-0: 5 record(s) at 10-14`. At most `max` partitions named. */
export function describeDivergent(partitions: readonly DivergentPartition[], max = 10): string {
  const shown = partitions.slice(0, max).map((p) => {
    const runs = p.ranges
      .slice(0, 5)
      .map(([a, b]) => (a === b ? a : `${a}-${b}`))
      .join(',');
    return `${p.topic}-${p.partition}: ${p.records} at ${runs}${p.ranges.length > 5 ? ',…' : ''}`;
  });
  return shown.join('; ') + (partitions.length > max ? `; and ${partitions.length - max} more partition(s)` : '');
}

/** One line for `kafka-dr status`. */
export function divergentLine(d: DivergentFigures): string {
  const head = `${d.records} record(s) on the primary the DR cluster never received, in ${d.partitions.length} partition(s)`;
  if (d.records === 0) return 'none: the DR cluster received every record of the primary';
  if (d.forwardFlow !== undefined) return `${head}: left to the forward flow, which resumes where it stopped and copies them`;
  const what =
    d.choice === 'replay'
      ? `replayed on the primary after the cutover (${d.replayed?.copied ?? 0}), copied to the DR cluster by the forward flow` +
        (d.groups?.some((g) => g.readsOriginals > 0)
          ? `; read twice by ${namedCounts(
              d.groups.filter((g) => g.readsOriginals > 0),
              (g) => g.readsOriginals,
            )}`
          : '') +
        (d.groups?.some((g) => (g.readBefore ?? 0) > 0)
          ? `; read again by ${namedCounts(
              d.groups.filter((g) => (g.readBefore ?? 0) > 0),
              (g) => g.readBefore ?? 0,
            )} (read before the failover)`
          : '')
      : d.choice === 'quarantine'
        ? `quarantined (${d.quarantine?.copied ?? 0} copied to ${d.quarantine?.topics.join(', ')}; export ${d.quarantine?.exportPath})`
        : d.choice === 'discard'
          ? `discarded (${d.discarded ?? d.records} left on the primary only)`
          : 'awaiting the divergent-records decision';
  return `${head}: ${what}${d.by ? ` by ${d.by}` : ''}`;
}

/**
 * Part 4: where a re-run's reverse flow starts per partition. A previous attempt's reverse
 * source connector (same name) committed the last B offset it copied; starting from the
 * seed again would copy those records a second time. The later of the two wins, unless the
 * committed offset is at or beyond B's end (a topic recreated since: the seed stands).
 */
export function seedAfterPrevious(
  seed: string | null,
  previous: string | null | undefined,
  end: string,
): { offset: string | null; fromPrevious: boolean } {
  if (previous === null || previous === undefined) return { offset: seed, fromPrevious: false };
  const p = BigInt(previous);
  if (p + 1n > BigInt(end)) return { offset: seed, fromPrevious: false };
  if (seed !== null && BigInt(seed) >= p) return { offset: seed, fromPrevious: false };
  return { offset: previous, fromPrevious: true };
}
