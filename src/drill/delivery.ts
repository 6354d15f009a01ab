/**
 * Loss and duplicate accounting from sequence numbers. Pure: the drill feeds it what
 * the producer had acknowledged and what the consumer group saw.
 */

export interface DeliveryCounts {
  /** Distinct sequence numbers acknowledged by a cluster. */
  produced: number;
  /** Records the consumer group processed (a record seen twice counts twice). */
  consumed: number;
  /** Distinct acknowledged sequences the group never saw. */
  lost: number;
  /** Processings beyond the first of a sequence (at-least-once re-reads). */
  duplicates: number;
  /** The first lost sequences (at most `sampleSize`), for the report. */
  lostSample: number[];
  /** Sequences seen that the producer never had acknowledged (a send that failed after writing). */
  unacknowledgedSeen: number;
}

/** Counts delivery from acknowledged sequences and every consumed sequence (in any order, with repeats). */
export function countDelivery(acknowledged: Iterable<number>, consumed: Iterable<number>, sampleSize = 20): DeliveryCounts {
  const acked = new Set(acknowledged);
  const seen = new Map<number, number>();
  let consumedCount = 0;
  for (const seq of consumed) {
    consumedCount++;
    seen.set(seq, (seen.get(seq) ?? 0) + 1);
  }
  let duplicates = 0;
  let unacknowledgedSeen = 0;
  for (const [seq, n] of seen) {
    duplicates += n - 1;
    if (!acked.has(seq)) unacknowledgedSeen++;
  }
  const lostAll = [...acked].filter((s) => !seen.has(s)).sort((a, b) => a - b);
  return {
    produced: acked.size,
    consumed: consumedCount,
    lost: lostAll.length,
    duplicates,
    lostSample: lostAll.slice(0, sampleSize),
    unacknowledgedSeen,
  };
}

/**
 * Sequences in `expected` that are absent from `present`: the records a cluster
 * acknowledged that never reached the other one (the measured RPO, in records).
 */
export function missingFrom(expected: Iterable<number>, present: Iterable<number>): number[] {
  const have = new Set(present);
  return [...new Set(expected)].filter((s) => !have.has(s)).sort((a, b) => a - b);
}

/** Compact ranges for a report line: [1,2,3,7,9,10] → "1-3, 7, 9-10". */
export function formatRanges(seqs: readonly number[]): string {
  const sorted = [...new Set(seqs)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}
