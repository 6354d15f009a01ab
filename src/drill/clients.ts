import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { kafkaConfig } from '../kafka/client';
import type { Registry } from '../registry/load';
import { decodeSeq, encodeRecord, placeRecord, type DrillTopic } from './records';

/**
 * The drill's synthetic application: a producer writing sequence-numbered records and
 * a consumer group reading them, each pointed at one cluster at a time and moved by
 * the drill switch at the playbooks' gates. They count what was acknowledged and what
 * was processed, which is all the loss accounting needs.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with `fallback` after `ms`: a client stuck on a dead broker must not hang the drill. */
async function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<T>((r) => (timer = setTimeout(() => r(fallback), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** kafkajs clients for the drill: the registry's connection settings, quiet, fast to give up on a dead broker. */
export class DrillKafka {
  private readonly clients = new Map<string, Kafka>();

  constructor(private readonly registry: Registry) {}

  get(alias: string): Kafka {
    let client = this.clients.get(alias);
    if (!client) {
      // The synthetic clients' own errors are counted (failed sends); kafkajs' log lines
      // about a broker the unplanned drill killed on purpose would only be noise.
      client = new Kafka({
        ...kafkaConfig(this.registry.cluster(alias), `kafka-dr-drill-${alias}`),
        requestTimeout: 5_000,
        retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1_000 },
        logLevel: logLevel.NOTHING,
        logCreator: () => () => undefined,
      });
      this.clients.set(alias, client);
    }
    return client;
  }

  /**
   * True when each bootstrap broker, asked alone, lists every partition of `topics` with a
   * leader. createTopics' waitForLeaders asks one broker; the others learn new topics from
   * the metadata log a moment later, and a client that asks one of them first gets
   * UNKNOWN_TOPIC_OR_PARTITION (seen on the HA stack under load).
   */
  async everyBrokerKnows(alias: string, topics: ReadonlyArray<{ name: string; partitions: number }>): Promise<boolean> {
    const cluster = this.registry.cluster(alias);
    const answers = await Promise.all(
      cluster.bootstrapServers.map(async (address) => {
        const admin = new Kafka({
          ...kafkaConfig({ ...cluster, bootstrapServers: [address] }, `kafka-dr-drill-${alias}-probe`),
          requestTimeout: 5_000,
          retry: { retries: 0 },
          logLevel: logLevel.NOTHING,
          logCreator: () => () => undefined,
        }).admin();
        try {
          await admin.connect();
          const meta = await admin.fetchTopicMetadata({ topics: topics.map((t) => t.name) });
          return topics.every((t) => {
            const parts = meta.topics.find((m) => m.name === t.name)?.partitions ?? [];
            return parts.length === t.partitions && parts.every((p) => p.leader >= 0);
          });
        } catch {
          return false;
        } finally {
          await within(
            admin.disconnect().catch(() => undefined),
            5_000,
            undefined,
          );
        }
      }),
    );
    return answers.every(Boolean);
  }

  async withAdmin<T>(alias: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = this.get(alias).admin();
    await admin.connect();
    try {
      return await fn(admin);
    } finally {
      await within(
        admin.disconnect().catch(() => undefined),
        5_000,
        undefined,
      );
    }
  }
}

export interface ProducerStats {
  /** Acknowledged sequences per cluster. */
  ackedOn: Record<string, number>;
  failedSends: number;
  lastError: string | null;
  nextSeq: number;
}

/**
 * Writes `batch` records every `intervalMs` with acks=all. A failed send keeps its
 * sequences and sends them again (on whatever cluster the producer points at by then),
 * so every sequence is eventually acknowledged exactly once by the producer's count.
 */
export class SyntheticProducer {
  private cluster: string | null = null;
  private producer: Producer | null = null;
  private running = false;
  private loop: Promise<void> | null = null;
  private pending: number[] = [];
  private nextSeq = 0;
  /** seq → cluster that acknowledged it. */
  readonly acked = new Map<number, string>();
  private failedSends = 0;
  private lastError: string | null = null;

  constructor(
    private readonly kafka: DrillKafka,
    private readonly topics: readonly DrillTopic[],
    private readonly options: { batch: number; intervalMs: number } = { batch: 4, intervalMs: 100 },
  ) {}

  get current(): string | null {
    return this.running ? this.cluster : null;
  }

  async start(cluster: string): Promise<void> {
    if (this.running && this.cluster === cluster) return;
    if (this.running) await this.stop();
    this.cluster = cluster;
    this.producer = this.kafka.get(cluster).producer({ allowAutoTopicCreation: false });
    this.running = true;
    const producer = this.producer;
    this.loop = this.run(producer, cluster);
  }

  /** Stops producing; resolves once the send in flight was acknowledged or failed. */
  async stop(): Promise<{ stoppedOn: string | null; lastSeq: number }> {
    const stoppedOn = this.current;
    this.running = false;
    if (this.loop) await within(this.loop, 30_000, undefined);
    if (this.producer)
      await within(
        this.producer.disconnect().catch(() => undefined),
        5_000,
        undefined,
      );
    this.loop = null;
    this.producer = null;
    return { stoppedOn, lastSeq: this.nextSeq - 1 };
  }

  /**
   * Writes `count` records at once on the producer's cluster, next to the loop: the
   * peak that leaves MM2 behind for a moment (the unplanned drill crashes A right after).
   */
  async burst(count: number): Promise<number> {
    const cluster = this.current;
    if (!cluster || !this.producer) throw new Error('the producer is not running: start it before a burst');
    const seqs = Array.from({ length: count }, () => this.nextSeq++);
    const { acked, failed } = await this.send(this.producer, cluster, seqs);
    // Not acknowledged: the loop sends them again, like any failed send.
    this.pending.push(...failed);
    return acked;
  }

  /**
   * Sends `seqs` with acks=all, one request per partition, and records which were
   * acknowledged; returns the others. One partition per sendBatch: kafkajs 2.2.4 retries a
   * multi-partition batch only to brokers that have not answered yet, so a partition
   * whose leader moved to a broker that already answered for another partition is
   * reported sent but never written (docs/ha.md). Seen on the HA stack as acknowledged
   * records missing from every cluster.
   */
  private async send(producer: Producer, cluster: string, seqs: number[]): Promise<{ acked: number; failed: number[] }> {
    const failed: number[] = [];
    let acked = 0;
    const results = await Promise.allSettled(
      [...groupByPartition(this.topics, seqs)].map(async ([, { topic, partition, seqs: part }]) => {
        try {
          await producer.sendBatch({
            acks: -1,
            topicMessages: [{ topic, messages: part.map((seq) => ({ ...encodeRecord(seq, cluster), partition })) }],
          });
        } catch (err) {
          failed.push(...part);
          throw err;
        }
        for (const seq of part) this.acked.set(seq, cluster);
        acked += part.length;
      }),
    );
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected) {
      this.failedSends++;
      this.lastError = rejected.reason instanceof Error ? rejected.reason.message : String(rejected.reason);
    }
    return { acked, failed: failed.sort((a, b) => a - b) };
  }

  stats(): ProducerStats {
    const ackedOn: Record<string, number> = {};
    for (const c of this.acked.values()) ackedOn[c] = (ackedOn[c] ?? 0) + 1;
    return { ackedOn, failedSends: this.failedSends, lastError: this.lastError, nextSeq: this.nextSeq };
  }

  private async run(producer: Producer, cluster: string): Promise<void> {
    let connected = false;
    while (this.running) {
      const seqs = this.pending.length > 0 ? this.pending : Array.from({ length: this.options.batch }, () => this.nextSeq++);
      this.pending = [];
      if (!connected) {
        try {
          await producer.connect();
          connected = true;
        } catch (err) {
          this.failedSends++;
          this.lastError = err instanceof Error ? err.message : String(err);
          this.pending.push(...seqs);
          await sleep(500);
          continue;
        }
      }
      const { failed } = await this.send(producer, cluster, seqs);
      if (failed.length > 0) {
        this.pending.push(...failed);
        await sleep(500);
        continue;
      }
      await sleep(this.options.intervalMs);
    }
  }
}

/** The sequences per partition they are placed on (placeRecord), in order. Pure. */
export function groupByPartition(
  topics: readonly DrillTopic[],
  seqs: readonly number[],
): Map<string, { topic: string; partition: number; seqs: number[] }> {
  const out = new Map<string, { topic: string; partition: number; seqs: number[] }>();
  for (const seq of seqs) {
    const { topic, partition } = placeRecord(topics, seq);
    const key = `${topic}/${partition}`;
    const entry = out.get(key) ?? { topic, partition, seqs: [] };
    entry.seqs.push(seq);
    out.set(key, entry);
  }
  return out;
}

/** One processed record. */
export interface Consumed {
  seq: number;
  cluster: string;
}

/**
 * A consumer group member on one cluster at a time. kafkajs commits after each batch
 * (autoCommit without interval or threshold), so the committed offsets the playbooks
 * translate trail what was processed by at most one batch.
 */
export class SyntheticConsumer {
  private cluster: string | null = null;
  private consumer: Consumer | null = null;
  readonly consumed: Consumed[] = [];
  private positions = new Map<string, { topic: string; partition: number; next: string }>();
  /** The running consumer's: set on stop, read by its restartOnFailure. */
  private life = { stopped: false };

  constructor(
    private readonly kafka: DrillKafka,
    readonly groupId: string,
    readonly topics: readonly DrillTopic[],
  ) {}

  get current(): string | null {
    return this.cluster;
  }

  async start(cluster: string): Promise<void> {
    if (this.cluster === cluster) return;
    if (this.cluster) await this.stop();
    const life = { stopped: false };
    this.life = life;
    const consumer = this.kafka.get(cluster).consumer({
      groupId: this.groupId,
      maxWaitTimeInMs: 250,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      // kafkajs restarts a crashed consumer by itself: one left on a killed cluster (its
      // stop timed out) would rejoin the group there once the cluster is back, and the
      // failback refuses a group with members on the primary. Stopped means stopped.
      retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 2_000, restartOnFailure: async () => !life.stopped },
    });
    this.positions = new Map();
    await consumer.connect();
    // fromBeginning applies only to partitions without a committed offset: where the
    // playbook set the group's offsets, the group starts there.
    await consumer.subscribe({ topics: this.topics.map((t) => t.name), fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const seq = decodeSeq(message.value);
        if (seq !== undefined) this.consumed.push({ seq, cluster });
        this.positions.set(`${topic}/${partition}`, { topic, partition, next: (BigInt(message.offset) + 1n).toString() });
      },
    });
    this.consumer = consumer;
    this.cluster = cluster;
  }

  /** Commits what was processed and leaves the group (bounded: the cluster may be gone). */
  async stop(): Promise<{ stoppedOn: string | null; consumed: number }> {
    const stoppedOn = this.cluster;
    const consumer = this.consumer;
    this.life.stopped = true;
    this.consumer = null;
    this.cluster = null;
    if (consumer) {
      await within(
        consumer
          .commitOffsets([...this.positions.values()].map((p) => ({ topic: p.topic, partition: p.partition, offset: p.next })))
          .catch(() => undefined),
        5_000,
        undefined,
      );
      await within(
        consumer.disconnect().catch(() => undefined),
        15_000,
        undefined,
      );
    }
    return { stoppedOn, consumed: this.consumed.length };
  }

  consumedOn(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.consumed) out[c.cluster] = (out[c.cluster] ?? 0) + 1;
    return out;
  }
}

/** Partitions where the group's committed offset is behind the end (empty: caught up). */
export async function groupBehind(kafka: DrillKafka, cluster: string, groupId: string, topics: readonly DrillTopic[]): Promise<string[]> {
  return kafka.withAdmin(cluster, async (admin) => {
    const behind: string[] = [];
    const committed = await admin.fetchOffsets({ groupId, topics: topics.map((t) => t.name) });
    for (const t of topics) {
      const ends = await admin.fetchTopicOffsets(t.name);
      const c = committed.find((x) => x.topic === t.name)?.partitions ?? [];
      for (const e of ends) {
        const at = BigInt(c.find((p) => p.partition === e.partition)?.offset ?? '-1');
        if (BigInt(e.high) > 0n && at < BigInt(e.high)) behind.push(`${t.name}-${e.partition} at ${at} of ${e.high}`);
      }
    }
    return behind;
  });
}

/** Every drill sequence on `cluster`'s topics, read from the beginning to the end offsets of now. */
export async function readAllSeqs(
  kafka: DrillKafka,
  cluster: string,
  topics: readonly DrillTopic[],
  timeoutMs = 120_000,
): Promise<number[]> {
  return (await readSeqPositions(kafka, cluster, topics, timeoutMs)).map((r) => r.seq);
}

/** A drill record where a cluster holds it. */
export interface SeqAt {
  topic: string;
  partition: number;
  offset: bigint;
  seq: number;
}

/** Like readAllSeqs, with where each record lies (the unplanned chaos drill matches them to divergent offset ranges). */
export async function readSeqPositions(
  kafka: DrillKafka,
  cluster: string,
  topics: readonly DrillTopic[],
  timeoutMs = 120_000,
): Promise<SeqAt[]> {
  const ends = await kafka.withAdmin(cluster, async (admin) => {
    const out = new Map<string, bigint>();
    for (const t of topics)
      for (const o of await admin.fetchTopicOffsets(t.name)) if (BigInt(o.high) > 0n) out.set(`${t.name}/${o.partition}`, BigInt(o.high));
    return out;
  });
  const seqs: SeqAt[] = [];
  if (ends.size === 0) return seqs;
  // A throwaway group no MM2 flow checkpoints (the flows list the drill's group only).
  const consumer = kafka.get(cluster).consumer({
    groupId: `kafka-dr-drill-reader-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    maxWaitTimeInMs: 250,
  });
  const remaining = new Set(ends.keys());
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: topics.map((t) => t.name), fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const key = `${topic}/${partition}`;
        const end = ends.get(key);
        if (end === undefined || BigInt(message.offset) >= end) return;
        const seq = decodeSeq(message.value);
        if (seq !== undefined) seqs.push({ topic, partition, offset: BigInt(message.offset), seq });
        if (BigInt(message.offset) === end - 1n) {
          remaining.delete(key);
          if (remaining.size === 0) done();
        }
      },
    });
    const ok = await within(
      finished.then(() => true),
      timeoutMs,
      false,
    );
    if (!ok)
      throw new Error(
        `reading ${cluster} did not reach the end offsets in ${timeoutMs} ms (partitions left: ${[...remaining].join(', ')})`,
      );
    return seqs;
  } finally {
    await within(
      consumer.disconnect().catch(() => undefined),
      10_000,
      undefined,
    );
  }
}
