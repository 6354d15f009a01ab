import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { loadStackConfig, type StackConfig } from '../../src/stack/config';
// Test clients read what MM2 writes in any codec, as kafka-dr's own clients do.
import '../../src/kafka/compression';

/** Tests run from dist/test/...: the repo root is three levels up. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * The stack the test command brought up (same KDR_* settings as the CLI). KDR_TEMPORAL_ADDRESS
 * points the tests at another Temporal server: `npm run test:unit` starts one of its own.
 */
export const stack = withTemporalAddress(loadStackConfig(process.env, REPO_ROOT), process.env.KDR_TEMPORAL_ADDRESS);

function withTemporalAddress(config: StackConfig, address: string | undefined): StackConfig {
  return address ? { ...config, temporal: { ...config.temporal, address } } : config;
}

/** Unique per run, so tests can share the clusters and re-run without cleanup. */
export function uniqueId(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** A client of the stack's cluster `alias` (bench/ names its clients `kafka-dr-bench-*`). */
export function kafka(alias: 'A' | 'B', clientId = `kafka-dr-test-${alias}`): Kafka {
  return new Kafka({
    clientId,
    brokers: stack.kafka[alias].bootstrapServers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 200 },
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value; fails naming `what` and the last value seen. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

export interface ReadRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: KafkaMessage['headers'];
}

/**
 * Reads `topic` from the beginning until `done(records)` holds, then stops.
 * A throwaway group (`kafka-dr-test-reader-*`) that no MM2 checkpoint connector matches.
 */
export async function readUntil(
  client: Kafka,
  topic: string,
  done: (records: ReadRecord[]) => boolean,
  timeoutMs = 90_000,
): Promise<ReadRecord[]> {
  const consumer = client.consumer({ groupId: `kafka-dr-test-reader-${uniqueId()}`, maxWaitTimeInMs: 250 });
  const records: ReadRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({ partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers });
        if (done(records)) finish();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`read ${records.length} records of ${topic} in ${timeoutMs} ms without reaching the goal`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([finished, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return records;
  } finally {
    await consumer.disconnect();
  }
}
