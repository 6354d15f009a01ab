import type { LagReport } from './lag';

/**
 * Record conservation of a planned failover, from lag reports taken with the forward flow
 * stopped (its MirrorSourceConnectors' committed offsets no longer move) and exact counting
 * (src/offsets/lag.ts `withTransactions`): each source partition's unreplicated committed
 * data records are exactly the records on the source that the target never got. Markers and
 * aborted records are not counted; an open transaction keeps its raw offsets (an upper
 * bound, flagged).
 *
 *   gap                 = unreplicated records right after stop-forward (a drain that did not hold)
 *   writesAfterSnapshot = unreplicated records now − the gap accepted at that check
 *   rpoRecords          = unreplicated records at the end (accepted gap + writes after the snapshot)
 */

export interface PartitionGap {
  topic: string;
  partition: number;
  /** Source end offset when measured. */
  end: string | null;
  /** The forward connector's next offset (committed + 1), null when it never replicated the partition. */
  next: string | null;
  /** Committed data records in [next, end). */
  records: string;
  openTransactionAt?: string;
}

/** Partitions with unreplicated records (lag > 0 after marker accounting), in the report's order. */
export function replicationGaps(report: LagReport): PartitionGap[] {
  const out: PartitionGap[] = [];
  for (const p of report.partitions) {
    if (p.lag === null || p.state === 'anomaly' || BigInt(p.lag) <= 0n) continue;
    out.push({
      topic: p.topic,
      partition: p.partition,
      end: p.end,
      next: p.committed === null ? null : (BigInt(p.committed) + 1n).toString(),
      records: p.lag,
      ...(p.openTransactionAt !== undefined ? { openTransactionAt: p.openTransactionAt } : {}),
    });
  }
  return out;
}

export const sumRecords = (gaps: ReadonlyArray<{ records: string }>): bigint => gaps.reduce((s, g) => s + BigInt(g.records), 0n);

export interface EndGrowth {
  topic: string;
  partition: number;
  before: string;
  after: string;
  /** Offsets added (markers included: a raw end offset comparison). */
  grown: string;
}

/**
 * Partitions whose end offset grew between two readings (e.g. the drain's last poll and the
 * stop-forward snapshot): a producer was still writing. Partitions present in only one
 * reading are not compared.
 */
export function endGrowth(
  before: ReadonlyArray<{ topic: string; partition: number; end: string | null }>,
  after: Record<string, Record<string, string>>,
): EndGrowth[] {
  const out: EndGrowth[] = [];
  for (const b of before) {
    const a = after[b.topic]?.[String(b.partition)];
    if (b.end === null || a === undefined) continue;
    const grown = BigInt(a) - BigInt(b.end);
    if (grown > 0n) out.push({ topic: b.topic, partition: b.partition, before: b.end, after: a, grown: grown.toString() });
  }
  return out;
}

export interface WritesAfterSnapshot {
  /** Records written to the source after the stop-forward snapshot and not on the target. */
  records: string;
  partitions: Array<{ topic: string; partition: number; records: string; end: string | null }>;
  /** Where it was measured (gate or `end`) and when. */
  at: string;
  measuredAt: string;
  /** Unreplicated records in all (accepted gap included): the measured RPO at that moment. */
  unreplicated: string;
  /** Some counts include records of a transaction still open (upper bounds). */
  openTransactions: number;
}

/**
 * Writes after the snapshot: today's unreplicated records per partition minus those already
 * known (and accepted) at the conservation check.
 */
export function writesAfterSnapshot(baseline: readonly PartitionGap[], now: LagReport, at: string): WritesAfterSnapshot {
  const known = new Map(baseline.map((g) => [`${g.topic}\u0000${g.partition}`, BigInt(g.records)]));
  const gaps = replicationGaps(now);
  const partitions: WritesAfterSnapshot['partitions'] = [];
  let total = 0n;
  for (const g of gaps) {
    const extra = BigInt(g.records) - (known.get(`${g.topic}\u0000${g.partition}`) ?? 0n);
    if (extra <= 0n) continue;
    total += extra;
    partitions.push({ topic: g.topic, partition: g.partition, records: extra.toString(), end: g.end });
  }
  return {
    records: total.toString(),
    partitions,
    at,
    measuredAt: now.measuredAt,
    unreplicated: sumRecords(gaps).toString(),
    openTransactions: gaps.filter((g) => g.openTransactionAt !== undefined).length,
  };
}

/** One line per partition, at most `max`, for a gate description. */
export function describeGaps(
  gaps: ReadonlyArray<{ topic: string; partition: number; records: string; end: string | null; next?: string | null }>,
  max = 10,
): string {
  const lines = gaps
    .slice(0, max)
    .map(
      (g) =>
        `${g.topic}-${g.partition}: ${g.records} record(s)${g.next !== undefined ? ` (replicated up to ${g.next ?? 'nothing'}, end ${g.end ?? '?'})` : ` (end ${g.end ?? '?'})`}`,
    );
  if (gaps.length > max) lines.push(`… and ${gaps.length - max} more partition(s)`);
  return lines.join('; ');
}
