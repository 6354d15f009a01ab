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
 * replay: copied to B (the forward flow's target partition) before the forward flow resumes;
 * quarantine: copied to a quarantine topic on A with origin headers, plus a JSON export;
 * discard: left on A only, recorded with the counts. replay loses nothing: the default.
 */
export const DIVERGENT_CHOICES = ['replay', 'quarantine', 'discard'] as const;
export type DivergentChoice = (typeof DIVERGENT_CHOICES)[number];
export const DIVERGENT_GATE_CHOICES = { options: [...DIVERGENT_CHOICES], keys: ['records'], default: 'replay' };

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
  /** replay: records written to B, per target topic. */
  replayed?: { copied: number; topics: string[] };
  /** discard: records left on A only (B never gets them). */
  discarded?: number;
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
  const what =
    d.choice === 'replay'
      ? `replayed to the DR cluster (${d.replayed?.copied ?? 0} copied)`
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
