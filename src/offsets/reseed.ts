/**
 * Part 4 of record conservation: where a re-run's reverse flow (dr B → primary A) starts
 * when the previous attempt's committed offsets are gone (connector deleted with its
 * offsets, Connect's offsets topic reset, another Connect cluster, a flow removed by hand).
 * What the previous attempt copied is then found on A by record content (timestamp, key,
 * value, headers: what MM2 copies unchanged). Pure (no imports but the shared matcher):
 * workflow code and activities share it. See docs/playbooks.md#failback-re-run.
 */
import { seedAfterPrevious, unmatchedOffsets, type Fingerprinted } from './divergent';

/** Where a reverse partition's start came from, as the plan and the report say it. */
export type SeedOrigin = 'committed' | 'found-on-primary' | 'from-start';

/** One partition's search on the primary (activities/reseed.ts findCopiedOnPrimary). */
export interface CopySearch {
  /** The topic on B (the reverse flow's source). */
  topic: string;
  partition: number;
  /** found: the last copied B record is known; none: A holds no copy; ambiguous: the search cannot tell (never guessed). */
  status: 'found' | 'none' | 'ambiguous';
  /** found: B offset of the last record the previous attempt copied. */
  lastCopied?: string;
  /** found: where that copy sits on A (topic, offset). */
  copyOnPrimary?: { topic: string; offset: string };
  reason?: string;
  readOnPrimary: number;
  readOnDr: number;
  /** Identity: older offsets of A's range left unread (only the newest maxRecords are searched). */
  skippedOnPrimary?: number;
}

/**
 * Identity: the part of A's range [from, end) the search reads. A previous attempt's copies
 * are the newest records there (its reverse flow appended them after A came back, after any
 * unplanned tail), so past `max` offsets only the newest `max` are read: a first failback
 * with a long tail is not refused, and a re-run still finds the end of its copy.
 */
export function newestWindow(from: bigint, end: bigint, max: number): { from: bigint; skipped: bigint } {
  return end - from > BigInt(max) ? { from: end - BigInt(max), skipped: end - BigInt(max) - from } : { from, skipped: 0n };
}

export type LastCopied =
  | { status: 'found'; drOffset: bigint; primaryOffset: bigint; matched: number }
  | { status: 'none' }
  | { status: 'ambiguous'; reason: string };

/**
 * Identity: A's partition after the forward flow's last replicated offset holds A's own
 * records and the previous reverse flow's copies of B's, in B's order. `onDr` are B's
 * records after the seed whose fingerprint is somewhere in `onPrimary`, in offset order.
 * The in-order match (find-divergent's matcher) gives the last copied B record; the newest
 * A record that matches any B record must be a copy of that same record, or the two
 * disagree (identical records on B, copies out of order) and the answer is ambiguous.
 */
export function lastCopiedIdentity(onPrimary: readonly Fingerprinted[], onDr: readonly Fingerprinted[]): LastCopied {
  const onB = new Set(onDr.map((r) => r.fingerprint));
  let newest: Fingerprinted | undefined;
  for (let i = onPrimary.length - 1; i >= 0 && !newest; i--) if (onB.has(onPrimary[i]!.fingerprint)) newest = onPrimary[i];
  if (!newest) return { status: 'none' };
  const { matched } = unmatchedOffsets(
    onPrimary,
    onDr.map((r) => r.fingerprint),
  );
  const last = matched > 0 ? onDr[matched - 1] : undefined;
  if (!last || last.fingerprint !== newest.fingerprint) {
    return {
      status: 'ambiguous',
      reason: `the newest copy on the primary (offset ${newest.offset}) is not the last of the in-order match (${matched} of ${onDr.length} dr records matched in order)`,
    };
  }
  // A copy of a B record past the last in-order one: copies out of order, the seed would copy it again.
  const upToLast = new Set(onDr.filter((r) => r.offset <= last.offset).map((r) => r.fingerprint));
  const beyond = onPrimary.find((r) => onB.has(r.fingerprint) && !upToLast.has(r.fingerprint));
  if (beyond) {
    return {
      status: 'ambiguous',
      reason: `the primary holds (at offset ${beyond.offset}) a copy of a dr record after the last in-order copy (dr offset ${last.offset})`,
    };
  }
  const twins = onDr.filter((r) => r.fingerprint === last.fingerprint && r.offset !== last.offset);
  if (twins.some((r) => r.offset > last.offset)) {
    return {
      status: 'ambiguous',
      reason: `dr holds the record at ${last.offset} again at ${twins.map((r) => r.offset).join(', ')} (same timestamp, key, value, headers): which one was copied last is unknown`,
    };
  }
  return { status: 'found', drOffset: last.offset, primaryOffset: newest.offset, matched };
}

/**
 * Default: A's `<dr>.<topic>` holds only copies, so its last record is the last one copied.
 * `hits` are B's records with its fingerprint, read from the seed and from the first record
 * with its timestamp on (offsetsForTimes) to B's end: exactly one must match. None: when
 * B still holds the whole DR period (`whole`), the copy is of an earlier DR period's record
 * (an earlier failover and failback): nothing of this one was copied; else unknown.
 */
export function locateCopy(copy: Fingerprinted, hits: readonly Fingerprinted[], whole: boolean): LastCopied {
  if (hits.length === 1) return { status: 'found', drOffset: hits[0]!.offset, primaryOffset: copy.offset, matched: 1 };
  if (hits.length === 0) {
    if (whole) return { status: 'none' };
    return {
      status: 'ambiguous',
      reason: `the last copy on the primary (offset ${copy.offset}) is not on dr after the seed, and retention removed part of the DR period there: whether it was copied from it is unknown`,
    };
  }
  return {
    status: 'ambiguous',
    reason: `the last copy on the primary (offset ${copy.offset}) matches ${hits.length} dr records (${hits.map((r) => r.offset).join(', ')})`,
  };
}

export interface ReseedDecision {
  /** Connect offset to set: the last B offset not to copy; null = from B's first record. */
  offset: string | null;
  origin: SeedOrigin;
  /** Set when the partition cannot be seeded without a guess: the playbook refuses. */
  problem?: string;
  note?: string;
}

/**
 * One partition's start on a (re-)run. The previous reverse connector's committed offset
 * wins when it is past the seed (seedAfterPrevious); else what the search found on the
 * primary, when past the seed; else the seed (nothing of this DR period copied yet). An
 * ambiguous search is a problem, never a guess. `search` absent: not searched.
 */
export function decideReseed(seed: string | null, previous: string | null | undefined, end: string, search?: CopySearch): ReseedDecision {
  const committed = seedAfterPrevious(seed, previous, end);
  if (committed.fromPrevious) return { offset: committed.offset, origin: 'committed' };
  if (!search || search.status === 'none') return { offset: seed, origin: 'from-start' };
  if (search.status === 'ambiguous') return { offset: seed, origin: 'from-start', problem: search.reason ?? 'ambiguous' };
  const found = BigInt(search.lastCopied!);
  if (found + 1n > BigInt(end)) {
    return {
      offset: seed,
      origin: 'from-start',
      problem: `the copy found on the primary is of dr offset ${found}, beyond dr's end ${end}`,
    };
  }
  if (seed !== null && found <= BigInt(seed)) {
    // A copy from before this DR period (an earlier failover and failback): the seed stands.
    return { offset: seed, origin: 'from-start', note: `the newest copy on the primary is of dr offset ${found}, before the seed` };
  }
  return { offset: found.toString(), origin: 'found-on-primary' };
}

/** The refusal's list: `t-0 (reason; read 12 on primary, 30 on dr)`, at most `max` named. */
export function describeUnsearchable(
  problems: ReadonlyArray<{ topic: string; partition: number; problem: string; readOnPrimary: number; readOnDr: number }>,
  max = 10,
): string {
  const shown = problems
    .slice(0, max)
    .map((p) => `${p.topic}-${p.partition} (${p.problem}; read ${p.readOnPrimary} on primary, ${p.readOnDr} on dr)`);
  return shown.join('; ') + (problems.length > max ? `; and ${problems.length - max} more partition(s)` : '');
}
