import assert from 'node:assert/strict';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { eventually } from './stack';

/**
 * The sequence-numbered producer and consumer group of the end-to-end tests that keep
 * clients running through a failover and a failback: each record's value is `seq=<n>`,
 * so loss and duplicates are counted from what the clusters hold and the group read.
 */

/** seq s goes to partition s % SEQ_PARTITIONS. */
export const SEQ_PARTITIONS = 3;
/** Records per send (one batch every SEQ_SEND_EVERY_MS): ~60 records/s. */
const BATCH = 6;
const SEND_EVERY_MS = 100;

export const seqOf = (v: Buffer | null) => Number(v!.toString().slice('seq='.length));

/** Remembers which cluster acknowledged each seq. */
export class SeqProducer {
  readonly acked = new Map<number, 'A' | 'B'>();
  failedSends = 0;
  private next = 0;
  private run: { producer: Producer; stop: boolean; done: Promise<void> } | undefined;

  constructor(private readonly topic: string) {}

  async start(client: Kafka, cluster: 'A' | 'B'): Promise<void> {
    assert.equal(this.run, undefined, 'producer already running');
    const producer = client.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const run = { producer, stop: false, done: Promise.resolve() };
    run.done = (async () => {
      while (!run.stop) {
        const messages = [];
        for (let i = 0; i < BATCH; i++, this.next++)
          messages.push({ key: `k-${this.next}`, value: `seq=${this.next}`, partition: this.next % SEQ_PARTITIONS });
        try {
          await producer.send({ topic: this.topic, acks: -1, messages });
          for (const m of messages) this.acked.set(seqOf(Buffer.from(m.value)), cluster);
        } catch {
          // Not acknowledged: not counted (the pass condition is about acknowledged records).
          this.failedSends++;
        }
        await new Promise((r) => setTimeout(r, SEND_EVERY_MS));
      }
    })();
    this.run = run;
  }

  /** Stops after the send in flight; every acknowledged seq is recorded when it returns. */
  async stop(): Promise<void> {
    const run = this.run;
    if (!run) return;
    run.stop = true;
    await run.done;
    await run.producer.disconnect();
    this.run = undefined;
  }

  /** The seqs the cluster acknowledged, in order. */
  ackedOn(cluster: 'A' | 'B'): number[] {
    return [...this.acked]
      .filter(([, c]) => c === cluster)
      .map(([s]) => s)
      .sort((a, b) => a - b);
  }
}

/** The consumer group, on one cluster at a time; counts how often it saw each seq. */
export class SeqConsumer {
  readonly seen = new Map<number, number>();
  private consumer: Consumer | undefined;

  constructor(private readonly group: string) {}

  /**
   * fromBeginning only matters for a partition without a committed offset. After a cutover
   * pass false: a partition the playbook left without a position starts at its end and
   * shows as loss.
   */
  async start(client: Kafka, topics: string[], fromBeginning: boolean): Promise<void> {
    assert.equal(this.consumer, undefined, 'consumer already running');
    const consumer = client.consumer({ groupId: this.group, maxWaitTimeInMs: 200, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning });
    // Commit after every record: the group's commit is its real position when it stops.
    await consumer.run({
      autoCommitThreshold: 1,
      eachMessage: async ({ message }) => void this.seen.set(seqOf(message.value), (this.seen.get(seqOf(message.value)) ?? 0) + 1),
    });
    this.consumer = consumer;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }

  get duplicates(): number {
    let n = 0;
    for (const c of this.seen.values()) n += c - 1;
    return n;
  }
}

/**
 * The end of a cycle: lets `producer` write `more` records more, stops it, gives `consumer`
 * a while to read every acknowledged seq (the assertions that follow say what it missed),
 * and stops it. Returns the acknowledged seqs, sorted.
 */
export async function stopTraffic(producer: SeqProducer, consumer: SeqConsumer, more = 100): Promise<number[]> {
  const ackedBefore = producer.acked.size;
  await eventually('more records after the failback', async () => (producer.acked.size >= ackedBefore + more ? true : undefined), 60_000);
  await producer.stop();
  const expected = [...producer.acked.keys()].sort((a, b) => a - b);
  await eventually(
    'the group read every acknowledged seq',
    async () => (expected.every((s) => consumer.seen.has(s)) ? true : undefined),
    90_000,
    500,
  ).catch(() => undefined);
  await consumer.stop();
  return expected;
}
