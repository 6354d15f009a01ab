import type { ConnectClient } from '../connect/client';
import { groupByPartition, type DrillKafka, type SyntheticProducer } from './clients';
import { encodeRecord, placeRecord, type DrillTopic } from './records';

/**
 * `kafka-dr drill --chaos` (planned mode): what the happy path does not touch, each with
 * its own sequence range so the accounting tells them apart from the synthetic producer's.
 *
 * - MM2 lagging: the forward source connector is paused while a burst and a transactional
 *   producer (committed and aborted transactions) write to A; it resumes before the
 *   failover, whose drain and conservation check must account for the backlog and markers.
 * - A straggler: a producer nobody stops keeps writing to A during the DR period. B never
 *   gets those records from MM2: the failback must find them (gate divergent-records) and
 *   the drill's bare approval takes replay, which writes them again on A after the cutover snapshot; the resumed forward flow carries them to B.
 *
 * `lost` counts what no playbook accounted for: a synthetic or committed transactional
 * record the group never processed, plus a straggler record that is neither on B after the
 * failback nor counted in its divergent records.
 */

/** Sequence ranges of the chaos writers (the synthetic producer counts up from 0). */
export const STRAGGLER_SEQ = 1_000_000_000;
export const TXN_SEQ = 2_000_000_000;
export const ABORTED_SEQ = 3_000_000_000;

export interface ChaosReport {
  /** Records written to A in a burst while MM2 was paused. */
  lagBurst: number;
  /** Longest forward lag seen while paused (records). */
  lagMax: number;
  transactions: { committedRecords: number; abortedRecords: number; abortedSeen: number };
  stragglers: { written: number; onB: number };
  /** The failover's measured rpoRecords and the failback's. */
  rpoRecords: { failover: number | null; failback: number | null };
  /** The failback's divergent records: how many, the choice, by whom. */
  divergent: { records: number; choice: string | null; by: string | null } | null;
  /** Straggler records the playbooks accounted for (divergent records replayed: on A again, and through the forward flow on B). */
  accounted: number;
  /** Straggler records nobody accounted for (not on B, beyond the divergent count). */
  unaccounted: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function messagesFor(topics: readonly DrillTopic[], seqs: number[], cluster: string) {
  const byTopic = new Map<string, Array<{ key: string; value: string; partition: number }>>();
  for (const seq of seqs) {
    const { topic, partition } = placeRecord(topics, seq);
    const list = byTopic.get(topic) ?? [];
    list.push({ ...encodeRecord(seq, cluster), partition });
    byTopic.set(topic, list);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

export class Chaos {
  readonly txnCommitted: number[] = [];
  readonly txnAborted: number[] = [];
  readonly stragglers: number[] = [];
  /** Commit and abort markers the transactions wrote: one per partition a transaction touched. */
  txnMarkers = 0;
  lagBurst = 0;
  lagMax = 0;

  constructor(
    private readonly kafka: DrillKafka,
    private readonly topics: readonly DrillTopic[],
    private readonly connectB: ConnectClient,
    private readonly forwardSource: string,
    private readonly log: (line: string) => void,
    private readonly drillId: string,
  ) {}

  /** MM2 paused while a burst and transactions land on A, then resumed: the failover drains a real backlog. */
  async lagAndTransactions(producer: SyntheticProducer, burst = 2_000): Promise<void> {
    await this.connectB.pause(this.forwardSource);
    try {
      this.lagBurst = await producer.burst(burst);
      await this.transactions(5, 20);
      await sleep(2_000);
      this.lagMax = await this.endsGap().catch(() => 0);
      this.log(`chaos: MM2 paused, ${this.lagBurst} burst + ${this.txnCommitted.length} transactional records on A, lag ${this.lagMax}`);
    } finally {
      await this.connectB.resume(this.forwardSource);
    }
  }

  /** A's end offsets minus B's over the drill topics: what MM2 has not copied (markers included). */
  private async endsGap(): Promise<number> {
    const total = async (alias: string) =>
      this.kafka.withAdmin(alias, async (admin) => {
        let n = 0;
        for (const t of this.topics) for (const o of await admin.fetchTopicOffsets(t.name)) n += Number(o.high);
        return n;
      });
    return (await total('A')) - (await total('B'));
  }

  /** `rounds` transactions of `size` records on A: every third aborted (its records must never be seen). */
  async transactions(rounds: number, size: number): Promise<void> {
    const producer = this.kafka.get('A').producer({
      transactionalId: `kafka-dr-drill-${this.drillId}-txn`,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    try {
      for (let i = 0; i < rounds; i++) {
        const abort = i % 3 === 1;
        const base = (abort ? ABORTED_SEQ : TXN_SEQ) + i * size;
        const seqs = Array.from({ length: size }, (_, k) => base + k);
        const txn = await producer.transaction();
        await txn.sendBatch({ acks: -1, topicMessages: messagesFor(this.topics, seqs, 'A') });
        this.txnMarkers += groupByPartition(this.topics, seqs).size;
        if (abort) {
          await txn.abort();
          this.txnAborted.push(...seqs);
        } else {
          await txn.commit();
          this.txnCommitted.push(...seqs);
        }
      }
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  }

  /** A producer nobody stopped: writes to A for `ms` while everyone else is on B. */
  async straggle(ms: number, batch = 5, intervalMs = 500): Promise<void> {
    const producer = this.kafka.get('A').producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const until = Date.now() + ms;
    try {
      while (Date.now() < until) {
        const seqs = Array.from({ length: batch }, (_, k) => STRAGGLER_SEQ + this.stragglers.length + k);
        await producer.sendBatch({ acks: -1, topicMessages: messagesFor(this.topics, seqs, 'A') });
        this.stragglers.push(...seqs);
        await sleep(intervalMs);
      }
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
    this.log(`chaos: the straggler wrote ${this.stragglers.length} records to A during the DR period`);
  }

  /** The chaos figures, given what B holds at the end, what the group processed and the playbooks' figures. */
  account(args: {
    seqsOnB: readonly number[];
    consumed: readonly number[];
    failover?: Record<string, unknown>;
    failback?: Record<string, unknown>;
  }): ChaosReport {
    const onB = new Set(args.seqsOnB);
    const seen = new Set(args.consumed);
    const stragglersOnB = this.stragglers.filter((s) => onB.has(s)).length;
    const d = args.failback?.['divergent'] as { records?: number; choice?: string; by?: string | null } | undefined;
    const divergentRecords = d?.records ?? 0;
    // A straggler is accounted for when the failback counted it as divergent and (replay) B has it.
    const accounted = Math.min(divergentRecords, d?.choice === 'replay' ? stragglersOnB : divergentRecords);
    const rpo = (f?: Record<string, unknown>) => (typeof f?.['rpoRecords'] === 'number' ? f['rpoRecords'] : null);
    return {
      lagBurst: this.lagBurst,
      lagMax: this.lagMax,
      transactions: {
        committedRecords: this.txnCommitted.length,
        abortedRecords: this.txnAborted.length,
        abortedSeen: this.txnAborted.filter((s) => seen.has(s) || onB.has(s)).length,
      },
      stragglers: { written: this.stragglers.length, onB: stragglersOnB },
      rpoRecords: { failover: rpo(args.failover), failback: rpo(args.failback) },
      divergent: d ? { records: divergentRecords, choice: d.choice ?? null, by: d.by ?? null } : null,
      accounted,
      unaccounted: this.stragglers.length - accounted,
    };
  }
}
