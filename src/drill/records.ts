/**
 * The drill's synthetic records: one global sequence number per record, so loss and
 * duplicates can be counted exactly across clusters, topics and partitions. Pure.
 */

/** A drill topic on both clusters (Identity replication: the same name on A and B). */
export interface DrillTopic {
  name: string;
  partitions: number;
  compacted: boolean;
}

/** Where sequence `seq` goes: topics take turns, partitions round-robin within a topic. */
export function placeRecord(topics: readonly DrillTopic[], seq: number): { topic: string; partition: number } {
  if (topics.length === 0) throw new Error('the drill needs at least one topic');
  const t = topics[seq % topics.length]!;
  return { topic: t.name, partition: Math.floor(seq / topics.length) % t.partitions };
}

/**
 * The record for `seq`. Its key is unique (the sequence itself): on the compacted topic
 * a shared key would let the log cleaner remove older records, and a removed record
 * would be counted as lost.
 */
export function encodeRecord(seq: number, producedOn: string): { key: string; value: string } {
  return { key: String(seq), value: JSON.stringify({ seq, producedOn }) };
}

/** The sequence number of a drill record, or undefined for anything else on the topic. */
export function decodeSeq(value: Buffer | string | null): number | undefined {
  if (value === null) return undefined;
  try {
    const parsed = JSON.parse(value.toString()) as { seq?: unknown };
    return typeof parsed.seq === 'number' && Number.isInteger(parsed.seq) && parsed.seq >= 0 ? parsed.seq : undefined;
  } catch {
    return undefined;
  }
}
