import { createHash } from 'node:crypto';

/**
 * Exact consumer positions across a MirrorMaker 2 flow, verified by record content.
 *
 * A group committed at N on a source partition has consumed every record before N; its
 * next record is the first one at or after N (offsets may have no record: compaction,
 * transaction markers, aborted records a read_committed reader skips). Its exact position
 * on the target is the offset of that record's copy there. When no record follows N
 * (caught up), it is one past the copy of the last record before N.
 *
 * What MM2 guarantees (Kafka's MirrorSourceTask / OffsetSyncWriter):
 * - records of one source partition go to the same target partition in source order, each
 *   with the source's key, value, headers and timestamp (SourceRecord carries the timestamp);
 * - an offset sync (u, d) says "source record u was written at target offset d", exactly:
 *   it comes from the producer's ack of that very record. With `offset.lag.max=0` MM2 queues
 *   one for nearly every record (at most 10 in flight: under load some are skipped);
 * - at-least-once: after a task restart MM2 re-copies from its last committed source offset,
 *   so a range can appear twice on the target. Syncs in the order MM2 wrote them tell which
 *   copy is the newest (the one after which every later record follows in order).
 * Offsets are therefore never computed as d + (x - u) and trusted: that is only a guess
 * (gaps on either side break it), and every position is checked against the records.
 *
 * Pure: the activity reads the records (src/kafka/read-ranges.ts) and the syncs.
 */

/** What is compared between a source record and its copy. */
export interface RecordPrint {
  offset: bigint;
  /** Digest of key, value and headers (hex): records are not kept, only this. */
  digest: string;
  timestamp: number;
}

export interface RawForPrint {
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers?: Record<string, unknown>;
}

function feed(h: ReturnType<typeof createHash>, b: Buffer | null): void {
  // Length-prefixed, with null distinct from empty.
  if (b === null) {
    h.update('\u0000n');
    return;
  }
  h.update(`\u0000${b.length}:`);
  h.update(b);
}

/** A record's fingerprint: key, value and headers (order kept) digested, timestamp as is. */
export function printRecord(r: RawForPrint): RecordPrint {
  const h = createHash('sha1');
  feed(h, r.key);
  feed(h, r.value);
  for (const [k, v] of Object.entries(r.headers ?? {})) {
    for (const one of Array.isArray(v) ? v : [v]) {
      feed(h, Buffer.from(k));
      feed(h, one === undefined || one === null ? null : Buffer.isBuffer(one) ? one : Buffer.from(String(one)));
    }
  }
  return { offset: r.offset, digest: h.digest('hex'), timestamp: r.timestamp };
}

export const sameRecord = (a: RecordPrint, b: RecordPrint): boolean => a.digest === b.digest && a.timestamp === b.timestamp;

export interface SyncPair {
  upstreamOffset: bigint;
  downstreamOffset: bigint;
}

/**
 * The syncs of one partition as a line increasing in both offsets, built from the syncs in
 * the order MM2 wrote them. A sync that goes backwards on either side starts a new
 * lifetime (task restart re-copying a range, topic recreated): the entries it contradicts
 * (at or above it on either side) describe older copies and are dropped; older entries
 * below it stay valid (their copies are still there, before the re-copied range).
 */
export class SyncLine {
  readonly points: SyncPair[] = [];

  add(s: SyncPair): void {
    const p = this.points;
    while (p.length > 0 && (p[p.length - 1]!.upstreamOffset >= s.upstreamOffset || p[p.length - 1]!.downstreamOffset >= s.downstreamOffset))
      p.pop();
    p.push({ upstreamOffset: s.upstreamOffset, downstreamOffset: s.downstreamOffset });
  }

  /** Index of the last point with upstream ≤ u, or -1. */
  private below(u: bigint): number {
    let lo = 0;
    let hi = this.points.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.points[mid]!.upstreamOffset <= u) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best;
  }

  /** The syncs around u: the last at or below it, and the first above it. */
  around(u: bigint): { below?: SyncPair; above?: SyncPair } {
    const i = this.below(u);
    return {
      ...(i >= 0 ? { below: this.points[i] } : {}),
      ...(i + 1 < this.points.length ? { above: this.points[i + 1] } : {}),
    };
  }
}

/** Records read from one partition, by offset, and the ranges they were read over. */
export class PartitionRecords {
  private readonly byOffset = new Map<bigint, RecordPrint>();
  private sorted: RecordPrint[] | undefined;

  add(r: RecordPrint): void {
    this.byOffset.set(r.offset, r);
    this.sorted = undefined;
  }

  at(offset: bigint): RecordPrint | undefined {
    return this.byOffset.get(offset);
  }

  private all(): RecordPrint[] {
    this.sorted ??= [...this.byOffset.values()].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
    return this.sorted;
  }

  /** The first record at or after `offset` and below `until` (exclusive). */
  firstFrom(offset: bigint, until: bigint): RecordPrint | undefined {
    for (const r of this.all()) if (r.offset >= offset && r.offset < until) return r;
    return undefined;
  }

  /** The last record before `offset` and at or after `from`. */
  lastBefore(offset: bigint, from: bigint): RecordPrint | undefined {
    let best: RecordPrint | undefined;
    for (const r of this.all()) {
      if (r.offset >= offset) break;
      if (r.offset >= from) best = r;
    }
    return best;
  }

  /** Records in [from, until) matching `p`, in offset order. */
  matches(p: RecordPrint, from: bigint, until: bigint): RecordPrint[] {
    return this.all().filter((r) => r.offset >= from && r.offset < until && sameRecord(r, p));
  }
}

export interface Range {
  from: bigint;
  /** Exclusive. */
  to: bigint;
}

/** Records read around a group's offset on the source: this many before and after. */
export const SOURCE_BEFORE = 8n;
export const SOURCE_AFTER = 32n;
/** Records read around each guess on the target, and searched for the copy. */
export const TARGET_SLACK = 32n;

const max = (a: bigint, b: bigint) => (a > b ? a : b);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** The source range read for a group committed at `committed` (clipped to the partition). */
export function sourceRangeFor(committed: bigint, low: bigint, high: bigint): Range | undefined {
  const from = max(low, committed - SOURCE_BEFORE);
  const to = min(high, max(committed, low) + SOURCE_AFTER);
  return from < to ? { from, to } : undefined;
}

/** Where to find the copy of a source record: the guesses, best first, and the range to search. */
export interface CopyGuess {
  guesses: bigint[];
  search: Range;
}

/**
 * Guesses for the target offset of source record `u`, clipped to the target partition
 * [low, high): the sync for exactly u; between two syncs, the span between them (the copy
 * lies strictly inside); from the nearest sync, the same distance (true when no gap); the
 * same offset (an offset-preserving mirror: Identity flow onto an empty topic).
 */
export function guessCopy(u: bigint, syncs: SyncLine | undefined, low: bigint, high: bigint): CopyGuess | undefined {
  if (high <= low) return undefined;
  const guesses: bigint[] = [];
  let search: Range | undefined;
  const { below, above } = syncs?.around(u) ?? {};
  if (below && below.upstreamOffset === u) {
    guesses.push(below.downstreamOffset);
    search = { from: below.downstreamOffset, to: below.downstreamOffset + 1n };
  } else {
    if (below) guesses.push(below.downstreamOffset + (u - below.upstreamOffset));
    if (above) guesses.push(above.downstreamOffset - (above.upstreamOffset - u));
    if (below && above && above.downstreamOffset - below.downstreamOffset <= 4n * TARGET_SLACK) {
      search = { from: below.downstreamOffset + 1n, to: above.downstreamOffset };
    }
  }
  guesses.push(u);
  const inRange = [...new Set(guesses.filter((g) => g >= low && g < high))];
  if (!search) {
    const around = inRange.length > 0 ? inRange : [high - 1n];
    search = { from: around.reduce(min) - TARGET_SLACK, to: around.reduce(max) + TARGET_SLACK + 1n };
  }
  search = { from: max(search.from, low), to: min(search.to, high) };
  if (search.from >= search.to) return undefined;
  return { guesses: inRange, search };
}

export type ExactOutcome = { method: 'exact'; position: bigint; note: string } | { method: 'none'; reason: string };

export interface ExactInput {
  /** The group's committed offset on the source. */
  committed: bigint;
  /**
   * `readFrom`/`readTo`: the source offsets read around the commit, when more than
   * sourceRangeFor's window (a long run of compacted offsets or markers was read past).
   */
  source: { low: bigint; high: bigint; records: PartitionRecords; readFrom?: bigint; readTo?: bigint };
  target: { low: bigint; high: bigint; records: PartitionRecords };
  syncs?: SyncLine;
}

/** The first step: which source record anchors the position, and whether it is "the next" or "the last consumed". */
export function anchorOf(
  input: Pick<ExactInput, 'committed' | 'source'>,
): { record: RecordPrint; next: boolean } | { reason: string; readMore?: Range } {
  const { committed, source } = input;
  const window = sourceRangeFor(committed, source.low, source.high);
  if (!window) return { reason: `the source partition is empty (offsets ${source.low}..${source.high})` };
  const range = { from: min(window.from, source.readFrom ?? window.from), to: max(window.to, source.readTo ?? window.to) };
  const next = source.records.firstFrom(committed, range.to);
  if (next) return { record: next, next: true };
  if (committed < source.high && range.to < source.high) {
    return {
      reason: `no record in ${committed}..${range.to - 1n} on the source (a long run of markers or compacted offsets)`,
      readMore: { from: range.from, to: min(source.high, range.to + (range.to - range.from) * 4n) },
    };
  }
  const last = source.records.lastBefore(committed, range.from);
  if (last) return { record: last, next: false };
  if (range.from > source.low) {
    return {
      reason: `no record in ${range.from}..${committed - 1n} on the source to anchor the position`,
      readMore: { from: max(source.low, range.from - (range.to - range.from) * 4n), to: range.to },
    };
  }
  return { reason: `no record before offset ${committed} on the source to anchor the position` };
}

/** Source records after `r` (up to `n`), in order, among those read. */
function followers(records: PartitionRecords, r: RecordPrint, n: number): RecordPrint[] {
  const out: RecordPrint[] = [];
  let at = r.offset + 1n;
  while (out.length < n) {
    const next = records.firstFrom(at, at + SOURCE_AFTER);
    if (!next) break;
    out.push(next);
    at = next.offset + 1n;
  }
  return out;
}

/** Records after a candidate copy match the source's next records (where read): the copy is in a run, not a lone look-alike. */
function aligned(target: PartitionRecords, copy: RecordPrint, next: RecordPrint[]): boolean {
  let t = copy.offset + 1n;
  for (const want of next) {
    const got = target.at(t);
    if (!got) return true;
    if (!sameRecord(got, want)) return false;
    t++;
  }
  return true;
}

/** How many records after a candidate copy are compared with the source. */
const ALIGN = 3;

/**
 * The verified target position of a group, or why there is none. A copy that a sync
 * names (MM2's ack of that very record, newest lifetime) wins. Otherwise, among the
 * copies found by content: the last one that is followed by the source's next records
 * (a range MM2 copied twice: after the newest copy every later record follows, fewest
 * re-reads), else the first one (never a loss: what follows are duplicates).
 */
export function exactPosition(input: ExactInput): ExactOutcome {
  const anchor = anchorOf(input);
  if ('reason' in anchor) return { method: 'none', reason: anchor.reason };
  const { record, next } = anchor;
  const guess = guessCopy(record.offset, input.syncs, input.target.low, input.target.high);
  if (!guess)
    return { method: 'none', reason: `the target partition has no records to match (offsets ${input.target.low}..${input.target.high})` };
  const { records } = input.target;
  let copy: RecordPrint | undefined;
  let how: string;
  const synced = input.syncs?.around(record.offset).below;
  const bySync = synced && synced.upstreamOffset === record.offset ? records.at(synced.downstreamOffset) : undefined;
  if (bySync && sameRecord(bySync, record)) {
    copy = bySync;
    how = 'the offset sync for it, verified by content';
  } else {
    const lo = guess.guesses.reduce(min, guess.search.from);
    const hi = guess.guesses.reduce((a, g) => max(a, g + 1n), guess.search.to);
    const found = records.matches(record, lo, hi);
    const after = followers(input.source.records, record, ALIGN);
    const runs = found.filter((f) => aligned(records, f, after));
    copy = runs[runs.length - 1] ?? found[0];
    how =
      found.length > 1
        ? `${found.length} copies by content (MM2 duplicates), took the ${runs.length > 0 ? 'last one followed by the next source records' : 'first'}`
        : 'found by content';
  }
  if (!copy) {
    return {
      method: 'none',
      reason: `no copy of source offset ${record.offset} (same key, value, headers and timestamp) in target offsets ${guess.search.from}..${guess.search.to - 1n}`,
    };
  }
  const position = next ? copy.offset : copy.offset + 1n;
  const what = next
    ? `next record (source ${record.offset}) is target ${copy.offset}`
    : `caught up: last consumed record (source ${record.offset}) is target ${copy.offset}`;
  return { method: 'exact', position, note: `${what}; ${how}` };
}

/** The target range to read for a group, once its source anchor is known. */
export function targetRangeFor(input: Omit<ExactInput, 'target'> & { target: { low: bigint; high: bigint } }): Range | undefined {
  const anchor = anchorOf(input);
  if ('reason' in anchor) return undefined;
  const guess = guessCopy(anchor.record.offset, input.syncs, input.target.low, input.target.high);
  if (!guess) return undefined;
  let from = guess.search.from;
  let to = guess.search.to;
  for (const g of guess.guesses) {
    from = min(from, g);
    to = max(to, g + 1n);
  }
  return { from, to };
}

/** Merges ranges that overlap or nearly touch (reading a gap of `gap` records is cheaper than another seek). */
export function mergeRanges(ranges: readonly Range[], gap = 256n): Range[] {
  const sorted = [...ranges].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to + gap) last.to = max(last.to, r.to);
    else out.push({ ...r });
  }
  return out;
}
