import { inState, type ConnectClient } from '../connect/client';
import type { LagReport } from '../offsets/lag';
import { Chaos } from './chaos';
import type { DrillKafka, SeqAt, SyntheticProducer } from './clients';
import { formatRanges, missingFrom } from './delivery';
import type { DrillTopic } from './records';

/**
 * `kafka-dr drill --mode unplanned --chaos`: an unplanned tail with MM2 lagging, and the
 * failback that must find it.
 *
 * MM2's forward source connector is paused (a stalled MM2) while transactions (some
 * aborted) and a burst land on A, beside the synthetic producer; a lag monitor measures
 * the lag every second meanwhile, which records A's end offsets on B (what a worker does
 * at every lag measurement, activities/lag.ts). The writers on A then stop, one last
 * measurement is taken and the whole of cluster A is killed: the tail (acknowledged by A,
 * never on B) is exactly what the last known end offsets say, so the failover's measured
 * rpoRecords can be checked against it. In production writes go on after the last
 * measurement; those are outside the bound (its `asOf` says how old it is).
 *
 * rpoRecords counts offsets: the tail's data records plus the aborted records and the
 * commit/abort markers in it, plus the last records MM2 copied to B whose offsets Connect
 * had not committed (measured at the kill: B's end against the committed offsets). The failback finds the tail on A (gate divergent-records),
 * the drill's bare approval takes replay. A tail record is accounted for only when its
 * offset on A lies in a divergent range the failback reported, the choice was replay, and
 * after the failback it is on B and on A. Counted by sequence read back from both clusters,
 * so either replay mechanism (a copy to B, or a re-write at A's end carried by the forward
 * flow) is judged the same way.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface UnplannedChaosReport {
  kind: 'unplanned';
  /** Records written to A in a burst while MM2 was paused. */
  lagBurst: number;
  /** Largest forward lag the monitor measured (records), and how many measurements it took. */
  lagMax: number;
  measurements: number;
  /** The last measurement before the kill (the failover's last known source end offsets). */
  lastMeasuredAt: string | null;
  transactions: { committedRecords: number; abortedRecords: number; markers: number; abortedSeen: number };
  /** Acknowledged by A, not on B when A was killed (read from B). */
  tail: { records: number; seqRanges: string; abortedRecords: number; markers: number; offsets: number };
  /** Per partition at the kill, and the records on B whose offsets Connect had not committed (counted in rpoRecords). */
  atKill: { partitions: UnplannedChaos['atKill']; onBNotCommitted: number };
  /**
   * The failover's rpoRecords (committed offsets vs last known end offsets) and whether it
   * equals the tail's offsets (records + aborted records + markers) plus the records B got
   * whose offsets Connect had not committed (a paused MM2 task commits nothing more); the
   * failback's.
   */
  rpoRecords: { failover: number | null; explained: boolean; failback: number | null };
  /** The failback's divergent records: count, offset ranges per partition, the choice, by whom. */
  divergent: {
    records: number;
    partitions: Array<{ topic: string; partition: number; records: number; ranges: Array<[string, string]> }>;
    choice: string | null;
    by: string | null;
    replayed: number | null;
    /** The groups the gate named: originals they read twice, and originals they had read before the failover (read again as copies). */
    groups: Array<{ group: string; readsOriginals: number; readBefore: number }>;
  } | null;
  /** Tail records the drill's consumer read more than once (before the crash on A, then a replayed copy). */
  tailReadTwice: number;
  /** Tail records found divergent, replayed, and on B and on A after the failback. */
  accounted: number;
  unaccounted: number;
  unaccountedSample: number[];
  /** Tail records on B after the failback / on A more than once (a replay written at A's end). */
  tailOnB: number;
  tailOnATwice: number;
  /** Group-partitions the failback's translation could not place (gate unplaced-groups; the drill chose earliest). */
  unplacedOnFailback: string[];
  /** How long the drill waited for the forward flow to bring the tail to B after the failback. */
  waitedForBMs: number;
}

interface DivergentFigure {
  records?: number;
  partitions?: Array<{ topic: string; partition: number; records: number; ranges: Array<[string, string]> }>;
  choice?: string;
  by?: string | null;
  replayed?: { copied: number };
  groups?: Array<{ group: string; readsOriginals: number; readBefore?: number }>;
}

export class UnplannedChaos {
  readonly txn: Chaos;
  lagBurst = 0;
  lagMax = 0;
  measurements = 0;
  lastMeasuredAt: string | null = null;
  private last: LagReport | null = null;
  /** Per partition at the kill: A's last known end, the forward connector's committed offset, B's end. */
  atKill: Array<{ topic: string; partition: number; aEnd: string | null; committed: string | null; bEnd: string }> = [];
  /** Acknowledged by A, not on B at the kill. */
  tail: number[] = [];

  constructor(
    kafka: DrillKafka,
    private readonly topics: readonly DrillTopic[],
    private readonly connectB: ConnectClient,
    private readonly forwardSource: string,
    /** One lag measurement of the forward flow (it records A's end offsets on B). */
    private readonly measure: () => Promise<LagReport>,
    private readonly log: (line: string) => void,
    drillId: string,
  ) {
    this.txn = new Chaos(kafka, topics, connectB, forwardSource, log, drillId);
  }

  /**
   * MM2 paused, then transactions and a burst on A beside the producer, with a lag
   * measurement every second; then the producer stops and a last measurement is taken.
   * MM2 stays paused: A is killed behind it.
   */
  async lagThenQuiet(producer: SyntheticProducer, burst: number): Promise<void> {
    await this.connectB.pause(this.forwardSource);
    // Paused only once its tasks say so: a task still polling would copy part of the tail.
    const t0 = Date.now();
    while (!inState(await this.connectB.status(this.forwardSource), 'PAUSED')) {
      if (Date.now() - t0 > 30_000) throw new Error(`${this.forwardSource} did not pause within 30 s`);
      await sleep(250);
    }
    let monitoring = true;
    const monitor = (async () => {
      while (monitoring) {
        await this.measureOnce().catch((err: unknown) => this.log(`chaos: lag measurement failed: ${String(err)}`));
        await sleep(1_000);
      }
    })();
    try {
      await this.txn.transactions(5, 20);
      this.lagBurst = await producer.burst(burst);
      await sleep(3_000);
    } finally {
      monitoring = false;
      await monitor;
    }
    await producer.stop();
    await this.measureOnce();
    this.log(
      `chaos: MM2 paused; ${this.lagBurst} burst + ${this.txn.txnCommitted.length} committed, ${this.txn.txnAborted.length} aborted ` +
        `transactional records on A; lag ${this.lagMax} at the last of ${this.measurements} measurements (${this.lastMeasuredAt})`,
    );
  }

  private async measureOnce(): Promise<void> {
    const r = await this.measure();
    this.measurements++;
    this.lastMeasuredAt = r.measuredAt;
    this.last = r;
    this.lagMax = Math.max(this.lagMax, Number(r.total));
  }

  /**
   * Records the tail: what A acknowledged (producer and committed transactions) that B does
   * not hold; and per partition where A, the connector's commits and B stood (Identity: B's
   * topic holds only what MM2 copied, so B's end minus committed + 1 is what B got and
   * Connect had not committed).
   */
  async recordTail(kafka: DrillKafka, ackedOnA: readonly number[], seqsOnB: readonly number[]): Promise<number[]> {
    const bEnds = await kafka.withAdmin('B', async (admin) => {
      const out = new Map<string, string>();
      for (const t of this.topics) for (const o of await admin.fetchTopicOffsets(t.name)) out.set(`${t.name}/${o.partition}`, o.high);
      return out;
    });
    this.atKill = (this.last?.partitions ?? []).map((p) => ({
      topic: p.topic,
      partition: p.partition,
      aEnd: p.end,
      committed: p.committed,
      bEnd: bEnds.get(`${p.topic}/${p.partition}`) ?? '0',
    }));
    this.tail = missingFrom([...ackedOnA, ...this.txn.txnCommitted], seqsOnB);
    const notCommitted = this.onBNotCommitted();
    this.log(
      `chaos: tail of ${this.tail.length} records acknowledged by A, not on B (${formatRanges(this.tail).slice(0, 200)}); ` +
        `on B, offsets not committed by Connect: ${notCommitted}; per partition ${JSON.stringify(this.atKill)}`,
    );
    return this.tail;
  }

  /** Records on B whose source offsets Connect had not committed at the kill (they make the RPO bound too high). */
  onBNotCommitted(): number {
    return this.atKill.reduce((n, p) => n + Math.max(0, Number(p.bEnd) - (p.committed === null ? 0 : Number(p.committed) + 1)), 0);
  }

  /**
   * Waits (bounded) until every tail record is on B: a replay written at A's end reaches B
   * through the forward flow some seconds after the failback. Returns what B holds then.
   */
  async awaitTailOnB(readB: () => Promise<number[]>, timeoutMs: number): Promise<{ seqsOnB: number[]; waitedMs: number }> {
    const t0 = Date.now();
    for (;;) {
      const seqsOnB = await readB();
      if (missingFrom(this.tail, seqsOnB).length === 0 || Date.now() - t0 > timeoutMs) return { seqsOnB, waitedMs: Date.now() - t0 };
      await sleep(2_000);
    }
  }

  account(args: {
    seqsOnB: readonly number[];
    onA: readonly SeqAt[];
    consumed: readonly number[];
    failover?: Record<string, unknown>;
    failback?: Record<string, unknown>;
    waitedForBMs: number;
  }): UnplannedChaosReport {
    const onB = new Set(args.seqsOnB);
    const seen = new Set(args.consumed);
    const consumedTimes = new Map<number, number>();
    for (const s of args.consumed) consumedTimes.set(s, (consumedTimes.get(s) ?? 0) + 1);
    const timesOnA = new Map<number, number>();
    for (const r of args.onA) timesOnA.set(r.seq, (timesOnA.get(r.seq) ?? 0) + 1);
    const d = args.failback?.['divergent'] as DivergentFigure | undefined;
    const ranges = (d?.partitions ?? []).flatMap((p) =>
      p.ranges.map(([first, last]) => ({ topic: p.topic, partition: p.partition, first: BigInt(first), last: BigInt(last) })),
    );
    const foundDivergent = new Set(
      args.onA
        .filter((r) => ranges.some((g) => g.topic === r.topic && g.partition === r.partition && r.offset >= g.first && r.offset <= g.last))
        .map((r) => r.seq),
    );
    const replayed = d?.choice === 'replay';
    const unaccounted = this.tail.filter((s) => !(replayed && foundDivergent.has(s) && onB.has(s) && timesOnA.has(s)));
    const tailSet = new Set(this.tail);
    // The tail's offsets on A: its records, the aborted records and one marker per partition per transaction.
    const tailAborted = this.txn.txnAborted.length;
    const tailOffsets = this.tail.length + tailAborted + this.txn.txnMarkers;
    const rpo = (f?: Record<string, unknown>) => (typeof f?.['rpoRecords'] === 'number' ? f['rpoRecords'] : null);
    const failoverRpo = rpo(args.failover);
    return {
      kind: 'unplanned',
      lagBurst: this.lagBurst,
      lagMax: this.lagMax,
      measurements: this.measurements,
      lastMeasuredAt: this.lastMeasuredAt,
      transactions: {
        committedRecords: this.txn.txnCommitted.length,
        abortedRecords: this.txn.txnAborted.length,
        markers: this.txn.txnMarkers,
        abortedSeen: this.txn.txnAborted.filter((s) => seen.has(s) || onB.has(s) || timesOnA.has(s)).length,
      },
      tail: {
        records: this.tail.length,
        seqRanges: formatRanges(this.tail),
        abortedRecords: tailAborted,
        markers: this.txn.txnMarkers,
        offsets: tailOffsets,
      },
      atKill: { partitions: this.atKill, onBNotCommitted: this.onBNotCommitted() },
      rpoRecords: { failover: failoverRpo, explained: failoverRpo === tailOffsets + this.onBNotCommitted(), failback: rpo(args.failback) },
      divergent: d
        ? {
            records: d.records ?? 0,
            partitions: (d.partitions ?? []).map((p) => ({ topic: p.topic, partition: p.partition, records: p.records, ranges: p.ranges })),
            choice: d.choice ?? null,
            by: d.by ?? null,
            replayed: d.replayed?.copied ?? null,
            groups: (d.groups ?? []).map((g) => ({ group: g.group, readsOriginals: g.readsOriginals, readBefore: g.readBefore ?? 0 })),
          }
        : null,
      tailReadTwice: this.tail.filter((s) => (consumedTimes.get(s) ?? 0) > 1).length,
      accounted: this.tail.length - unaccounted.length,
      unaccounted: unaccounted.length,
      unaccountedSample: unaccounted.slice(0, 20),
      tailOnB: this.tail.filter((s) => onB.has(s)).length,
      tailOnATwice: [...timesOnA].filter(([s, n]) => n > 1 && tailSet.has(s)).length,
      unplacedOnFailback: (
        (args.failback?.['unplaced'] ?? []) as Array<{ group: string; topic: string; partition: number; why: string }>
      ).map((u) => `${u.group} ${u.topic}-${u.partition}: ${u.why}`),
      waitedForBMs: args.waitedForBMs,
    };
  }
}
