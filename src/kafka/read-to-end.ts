import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';

/**
 * Reads a topic from its start up to the end offsets it had when the read began,
 * then stops. The stop condition is data, not time: "read for 10 seconds" returns
 * a partial view on a slow cluster and wastes 10 seconds on a fast one.
 *
 * Meant for MM2's internal topics (checkpoints, offset syncs, heartbeats): they are
 * compacted and not transactional, so the record at end-1 always exists.
 */

export interface RawRecord {
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
}

export class ReadToEndTimeout extends Error {
  constructor(topic: string, missing: string) {
    super(`reading ${topic} to its end offsets did not finish in time; still behind on ${missing}`);
    this.name = 'ReadToEndTimeout';
  }
}

export interface ReadToEndOptions {
  /** Only these partitions (default: all). */
  partitions?: number[];
  /**
   * Start each partition at max(low, end - tail) instead of its beginning: e.g. only
   * the newest heartbeats of a topic that holds a week of them (~600k per emitter).
   */
  tail?: number;
  /** Safety net only: a read that has not reached the end by then fails (retryably). */
  timeoutMs?: number;
  /** Called with progress so an activity can heartbeat. */
  onProgress?: (read: number) => void;
}

/**
 * Whether `topic` exists, asked before reading it: on a broker with
 * auto.create.topics.enable, a metadata request for a missing topic could create it
 * with the wrong settings.
 */
export async function topicExists(kafka: Kafka, topic: string): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.listTopics()).includes(topic);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function readToEnd(
  kafka: Kafka,
  topic: string,
  onRecord: (record: RawRecord) => void,
  options: ReadToEndOptions = {},
): Promise<{ records: number; endOffsets: Map<number, bigint> }> {
  const admin = kafka.admin();
  await admin.connect();
  let offsets: Array<{ partition: number; high: string; low: string }>;
  try {
    offsets = await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  const wanted = options.partitions ? new Set(options.partitions) : undefined;
  const endOffsets = new Map<number, bigint>();
  const remaining = new Map<number, bigint>();
  for (const o of offsets) {
    if (wanted && !wanted.has(o.partition)) continue;
    const high = BigInt(o.high);
    endOffsets.set(o.partition, high);
    // Empty (or fully expired) partitions have nothing to read.
    if (high > BigInt(o.low)) remaining.set(o.partition, high - 1n);
  }
  if (remaining.size === 0) return { records: 0, endOffsets };

  // `__` prefix: MM2's default groups.exclude skips it, so this reader is never checkpointed.
  const consumer = kafka.consumer({
    groupId: `__kafka-dr-reader-${randomUUID()}`,
    maxWaitTimeInMs: 200,
    allowAutoTopicCreation: false,
  });
  let count = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        const last = remaining.get(batch.partition);
        if (last === undefined) return;
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (offset > last) break;
          onRecord({ partition: batch.partition, offset, key: m.key, value: m.value, timestamp: Number(m.timestamp) });
          count++;
        }
        options.onProgress?.(count);
        if (BigInt(batch.lastOffset()) >= last) {
          remaining.delete(batch.partition);
          if (remaining.size === 0) finish();
        }
      },
    });
    if (options.tail !== undefined) {
      for (const o of offsets) {
        if (!remaining.has(o.partition)) continue;
        const from = BigInt(o.high) - BigInt(options.tail);
        const low = BigInt(o.low);
        consumer.seek({ topic, partition: o.partition, offset: (from > low ? from : low).toString() });
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ReadToEndTimeout(topic, [...remaining.keys()].map((p) => `partition ${p}`).join(', '))),
        options.timeoutMs ?? 60_000,
      );
    });
    try {
      await Promise.race([done, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return { records: count, endOffsets };
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}
