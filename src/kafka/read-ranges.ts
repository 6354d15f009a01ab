import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { RawRecord } from './read-to-end';

/**
 * Reads given offset ranges of topic partitions, with one consumer, and stops when each
 * range is covered. Unlike readToEnd, the ranges may end on offsets with no record
 * (transaction markers, aborted records, compacted offsets): progress is taken from the
 * offsets the fetches covered (kafkajs' batch events), not from the records returned.
 *
 * Read committed (kafkajs' default): a reader never sees an aborted record, as a
 * read_committed group would not. A range that reaches into an open transaction waits
 * for it (then times out, retryably).
 */

export interface PartitionRange {
  topic: string;
  partition: number;
  from: bigint;
  /** Exclusive; at most the partition's end offset. */
  to: bigint;
}

export interface ReadRangesOptions {
  timeoutMs?: number;
  onProgress?: (read: number) => void;
}

export class ReadRangesTimeout extends Error {
  constructor(missing: string) {
    super(`reading record ranges did not finish in time; still behind on ${missing}`);
    this.name = 'ReadRangesTimeout';
  }
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Calls `onRecord` for every record in the ranges (one range per partition: merge first).
 * Records of a batch beyond the range are not passed on.
 */
export async function readRanges(
  kafka: Kafka,
  ranges: readonly PartitionRange[],
  onRecord: (topic: string, record: RawRecord & { headers?: Record<string, unknown> }) => void,
  options: ReadRangesOptions = {},
): Promise<{ records: number }> {
  const wanted = new Map<string, PartitionRange>();
  for (const r of ranges) {
    if (r.from >= r.to) continue;
    if (wanted.has(key(r.topic, r.partition))) throw new Error(`readRanges: two ranges for ${r.topic} partition ${r.partition}`);
    wanted.set(key(r.topic, r.partition), r);
  }
  if (wanted.size === 0) return { records: 0 };
  const remaining = new Set(wanted.keys());
  const topics = [...new Set([...wanted.values()].map((r) => r.topic))];
  // `__` prefix: MM2's default groups.exclude skips it, so this reader is never checkpointed.
  const consumer = kafka.consumer({ groupId: `__kafka-dr-reader-${randomUUID()}`, maxWaitTimeInMs: 200, allowAutoTopicCreation: false });
  let count = 0;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const covered = (topic: string, partition: number, lastOffset: string | null | undefined) => {
    const k = key(topic, partition);
    const r = wanted.get(k);
    if (!r || lastOffset === null || lastOffset === undefined || !remaining.has(k)) return;
    if (BigInt(lastOffset) >= r.to - 1n) {
      remaining.delete(k);
      if (remaining.size === 0) finish();
    }
  };
  await consumer.connect();
  try {
    // Batches made only of markers or aborted records skip eachBatch but still emit this.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => covered(e.payload.topic, e.payload.partition, e.payload.lastOffset));
    // Not from the beginning: partitions not asked for start at their end and stay idle.
    await consumer.subscribe({ topics, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        const r = wanted.get(key(batch.topic, batch.partition));
        if (!r) return;
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (offset < r.from) continue;
          if (offset >= r.to) break;
          onRecord(batch.topic, {
            partition: batch.partition,
            offset,
            key: m.key,
            value: m.value,
            timestamp: Number(m.timestamp),
            ...(m.headers ? { headers: m.headers as Record<string, unknown> } : {}),
          });
          count++;
        }
        options.onProgress?.(count);
      },
    });
    for (const r of wanted.values()) consumer.seek({ topic: r.topic, partition: r.partition, offset: r.from.toString() });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const missing = [...remaining].slice(0, 5).map((k) => k.replace('\u0000', ' partition '));
        reject(new ReadRangesTimeout(missing.join(', ') + (remaining.size > 5 ? ` and ${remaining.size - 5} more` : '')));
      }, options.timeoutMs ?? 120_000);
    });
    try {
      await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return { records: count };
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}
