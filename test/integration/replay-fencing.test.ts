import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Kafka, Producer, Transaction } from 'kafkajs';
import { createDeps } from '../../activities';
import {
  copyTransactionalId,
  createDivergentActivities,
  type CopyDivergentInput,
  type CopyDivergentResult,
  TXN_RECORDS,
} from '../../activities/divergent';
import { ORIGIN_HEADERS, quarantineTopicFor, REPLAY_HEADERS } from '../../src/offsets/divergent';
import { stackRegistry } from '../../src/registry/load';
import { produceSeq, useMirrorPair } from '../helpers/mirror-pair';
import { seqOf } from '../helpers/seq-clients';
import { sleep, stack, uniqueId } from '../helpers/stack';

/**
 * Two attempts of copyDivergentRecords at the same time, with the same input (same
 * workflow id): what Temporal does when an attempt misses its heartbeat timeout while its
 * worker is still alive (paused, GC-stalled) and writing. Real cluster A; each attempt has
 * its own activity deps and kafkajs clients, as two workers would.
 *
 * How the attempts interleave for certain: attempt 1's deps wrap the real kafkajs producer
 * so that a chosen transaction call (the n-th send or commit) waits for the test. The test
 * waits until attempt 1 is held there, runs attempt 2 to its end, then lets attempt 1 go on.
 * The activity sends one partition per request (≤ 500 records) and commits every
 * TXN_RECORDS records and at the end:
 * - held-open (3 × 40 records, one transaction): held before its 2nd send, attempt 1 has
 *   written partition 0's 40 copies in its open transaction (on A: read_uncommitted shows
 *   them); attempt 2's initTransactions aborts them, attempt 2 writes all 120; attempt 1's
 *   next send fails (fenced);
 * - held-between (3 × 2,000, two transactions): held before the first send of its second
 *   transaction, attempt 1 has committed 5,000 (partitions 0, 1 and half of 2); attempt 2
 *   finds them and writes the other 1,000; attempt 1's next send fails (fenced);
 * - together (3 × 40): both started at once, nothing held (whatever the race gives);
 * - quarantine (3 × 40): held before its commit, all 120 written and not committed.
 * After each: A holds each origin exactly once (read_committed), in the originals' order, and
 * a plain sequential re-run writes 0.
 */

const PARTITIONS = 3;

type Kind = 'held-open' | 'held-between' | 'together' | 'quarantine';
type Point = { call: 'send' | 'commit'; nth: number };
/** Originals per partition, offsets 0 to per - 1, all divergent. */
const PER: Record<Kind, number> = { 'held-open': 40, 'held-between': 2_000, together: 40, quarantine: 40 };
const total = (k: Kind) => PARTITIONS * PER[k];

describe('copyDivergentRecords: concurrent attempts copy each record once (real stack)', { timeout: 400_000 }, () => {
  const id = uniqueId();
  const kinds: Kind[] = ['held-open', 'held-between', 'together', 'quarantine'];
  const topicOf = (k: Kind) => `rfence-${k}-${id}`;
  const exportDir = mkdtempSync(join(tmpdir(), 'kdr-fence-'));
  const pair = useMirrorPair('replay-fencing', { topics: kinds.map((k) => ({ topic: topicOf(k), partitions: PARTITIONS, on: ['A'] })) });
  pair.leaves({ topics: { A: [quarantineTopicFor(topicOf('quarantine'))] } });
  const { kafkaA } = pair;
  const previousDir = process.env['KDR_QUARANTINE_DIR'];

  before(async () => {
    process.env['KDR_QUARANTINE_DIR'] = exportDir;
    // seq n at partition n % 3, offset floor(n / 3).
    for (const k of kinds) await produceSeq(kafkaA, topicOf(k), 0, total(k), PARTITIONS);
  });
  after(() => {
    if (previousDir === undefined) delete process.env['KDR_QUARANTINE_DIR'];
    else process.env['KDR_QUARANTINE_DIR'] = previousDir;
  });

  const inputFor = (k: Kind): CopyDivergentInput => ({
    primary: 'A',
    dr: 'B',
    choice: k === 'quarantine' ? 'quarantine' : 'replay',
    partitions: Array.from({ length: PARTITIONS }, (_, p) => ({
      topic: topicOf(k),
      partition: p,
      ranges: [['0', String(PER[k] - 1)]],
      drTopic: topicOf(k),
      drEnd: '0',
      after: String(PER[k]),
    })),
    workflowId: `rfence-${k}-${id}`,
    runId: 'run-1',
  });

  /** An attempt: the production activity on its own deps; `hold` stops it before that transaction call until released. */
  function attempt(hold?: Point) {
    const base = createDeps(stackRegistry(stack), 'test-replay-fencing');
    let reached!: () => void;
    let release!: () => void;
    const atHold = new Promise<void>((r) => (reached = r));
    const released = new Promise<void>((r) => (release = r));
    const counts = { send: 0, commit: 0 };
    const gate = async (call: 'send' | 'commit') => {
      counts[call]++;
      if (hold && hold.call === call && hold.nth === counts[call]) {
        reached();
        await released;
      }
    };
    const wrapTxn = (txn: Transaction): Transaction => ({
      ...txn,
      send: async (record) => {
        await gate('send');
        return txn.send(record);
      },
      commit: async () => {
        await gate('commit');
        return txn.commit();
      },
    });
    const wrapProducer = (p: Producer): Producer =>
      new Proxy(p, { get: (o, key, r) => (key === 'transaction' ? async () => wrapTxn(await o.transaction()) : Reflect.get(o, key, r)) });
    const wrapKafka = (k: Kafka): Kafka =>
      new Proxy(k, {
        get: (o, key, r) =>
          key === 'producer' ? (opts: Parameters<Kafka['producer']>[0]) => wrapProducer(o.producer(opts)) : Reflect.get(o, key, r),
      });
    const kafka = new Proxy(base.kafka, {
      get: (o, key, r) => (key === 'get' ? (alias: string) => wrapKafka(o.get(alias)) : Reflect.get(o, key, r)),
    });
    return { activities: createDivergentActivities({ ...base, kafka }), atHold, release, counts };
  }

  /** Every record of `topic` on A (read_committed unless `uncommitted`): at least `atLeast`, then 3 s more (an extra copy would show). */
  async function readAll(topic: string, atLeast: number, uncommitted = false) {
    const consumer = kafkaA.consumer({ groupId: `kafka-dr-test-reader-${uniqueId()}`, maxWaitTimeInMs: 250, readUncommitted: uncommitted });
    const got: Array<{ partition: number; offset: number; value: Buffer | null; headers: Record<string, string> }> = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) =>
          void got.push({
            partition,
            offset: Number(message.offset),
            value: message.value,
            headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
          }),
      });
      const deadline = Date.now() + 60_000;
      while (got.length < atLeast && Date.now() < deadline) await sleep(200);
      await sleep(3_000);
    } finally {
      await consumer.disconnect();
    }
    return got;
  }

  /** The replayed copies on A: each origin once, in the originals' order, each the record its origin names. */
  async function assertEachOriginOnce(k: Kind) {
    const topic = topicOf(k);
    const n = total(k);
    const copies = (await readAll(topic, 2 * n)).filter((r) => r.headers[REPLAY_HEADERS.origin] !== undefined);
    const origins = copies.map((r) => r.headers[REPLAY_HEADERS.origin]!);
    assert.equal(new Set(origins).size, origins.length, `${k}: ${origins.length - new Set(origins).size} origins copied twice`);
    assert.equal(copies.length, n, `${k}: ${copies.length} copies on A, want ${n}`);
    for (const c of copies) {
      const [t, p, o] = c.headers[REPLAY_HEADERS.origin]!.split('/');
      assert.equal(t, topic);
      assert.equal(Number(p), c.partition, 'a copy lands in its own partition');
      assert.ok(c.offset >= PER[k], 'above the snapshot');
      assert.equal(seqOf(c.value), Number(o) * PARTITIONS + c.partition, 'the copy is the record at its origin');
      assert.equal(c.headers[REPLAY_HEADERS.workflow], `rfence-${k}-${id}/run-1`);
    }
    for (let p = 0; p < PARTITIONS; p++) {
      const order = copies.filter((c) => c.partition === p).map((c) => Number(c.headers[REPLAY_HEADERS.origin]!.split('/')[2]));
      assert.deepEqual(
        order,
        Array.from({ length: PER[k] }, (_, i) => i),
        `partition ${p}: copies in the originals' order`,
      );
    }
  }

  const fenced = (err: unknown) => {
    const e = err as { type?: string; message?: string };
    return e.type === 'KafkaError' && /fenced off transactional id kafka-dr-divergent-/.test(e.message ?? '');
  };

  /** Attempt 1 held at `hold`, attempt 2 run to its end meanwhile, then attempt 1 let go (its outcome in `one`). */
  async function heldThenOvertaken(k: Kind, hold: Point) {
    const first = attempt(hold);
    const second = attempt();
    const one = first.activities.copyDivergentRecords(inputFor(k)).then(
      (r) => ({ ok: r }),
      (err: unknown) => ({ err }),
    );
    const where = await Promise.race([first.atHold.then(() => 'held'), one.then((r) => `ended before its hold: ${JSON.stringify(r)}`)]);
    assert.equal(where, 'held', 'attempt 1 reached its hold');
    const two = await second.activities.copyDivergentRecords(inputFor(k));
    first.release();
    return { two, first, one: await one };
  }

  /** Attempt 1 failed, fenced: a fenced attempt never reports a success. */
  function assertFenced(r1: { ok: CopyDivergentResult } | { err: unknown }) {
    assert.ok('err' in r1, `attempt 1 must fail once fenced, got ${JSON.stringify(r1)}`);
    assert.ok(fenced(r1.err), `attempt 1's failure says fenced: ${String((r1.err as Error).message)}`);
  }

  async function sequentialRerun(k: Kind): Promise<CopyDivergentResult> {
    const again = await attempt().activities.copyDivergentRecords(inputFor(k));
    assert.deepEqual([again.copied, again.written], [total(k), 0], `${k}: a plain re-run writes nothing`);
    return again;
  }

  it('replay: attempt 1 held mid-transaction; attempt 2 fences it and writes all 120; each once on A', async (t) => {
    const k: Kind = 'held-open';
    const n = total(k);
    const { two, one } = await heldThenOvertaken(k, { call: 'send', nth: 2 });
    await assertEachOriginOnce(k);
    assertFenced(one);
    assert.deepEqual([two.copied, two.written], [n, n], 'attempt 2 found nothing committed: attempt 1 had not committed');
    // Attempt 1 did write before it was fenced: its 40 copies of partition 0 are on A, aborted.
    const raw = (await readAll(topicOf(k), 2 * n + PER[k], true)).filter((r) => r.headers[REPLAY_HEADERS.origin]);
    assert.equal(raw.length, n + PER[k], "read_uncommitted: 120 committed + attempt 1's 40 aborted copies");
    assert.equal(raw.filter((r) => r.partition === 0).length, 2 * PER[k]);
    await sequentialRerun(k);
    t.diagnostic(`${k}: attempt 2 wrote ${two.written}; ${raw.length - n} aborted copies of attempt 1 on A (read_uncommitted)`);
  });

  it('replay: attempt 1 held after committing 5,000 of 6,000; attempt 2 finds them and writes the other 1,000', async (t) => {
    const k: Kind = 'held-between';
    const n = total(k);
    const { two, first, one } = await heldThenOvertaken(k, { call: 'send', nth: TXN_RECORDS / 500 + 1 });
    await assertEachOriginOnce(k);
    assertFenced(one);
    assert.equal(first.counts.commit, 1, 'attempt 1 committed its first transaction before the hold');
    assert.deepEqual([two.copied, two.written], [n, n - TXN_RECORDS], 'attempt 2 skipped what attempt 1 had committed');
    await sequentialRerun(k);
    t.diagnostic(`${k}: attempt 1 committed ${TXN_RECORDS}, attempt 2 wrote ${two.written}`);
  });

  it('replay: two attempts started together, nothing held: each origin once on A', async (t) => {
    const k: Kind = 'together';
    const results = await Promise.allSettled([attempt(), attempt()].map((a) => a.activities.copyDivergentRecords(inputFor(k))));
    const ok = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason as unknown);
    assert.ok(ok.length >= 1, `at least one attempt succeeds: ${failed.map((e) => String((e as Error).message)).join('; ')}`);
    for (const e of failed) assert.ok(fenced(e), `a failed attempt was fenced: ${String((e as Error).message)}`);
    assert.ok(
      ok.every((r) => r.copied === total(k)),
      JSON.stringify(ok),
    );
    await assertEachOriginOnce(k);
    await sequentialRerun(k);
    t.diagnostic(`${k}: ${ok.length} succeeded (written ${ok.map((r) => r.written).join(', ')}), ${failed.length} fenced`);
  });

  it('quarantine: attempt 1 held at its commit; each origin once on the quarantine topic, export complete', async (t) => {
    const k: Kind = 'quarantine';
    const n = total(k);
    const { two, one } = await heldThenOvertaken(k, { call: 'commit', nth: 1 });
    const q = quarantineTopicFor(topicOf(k));
    const onQ = await readAll(q, n);
    const origins = onQ.map(
      (r) => `${r.headers[ORIGIN_HEADERS.topic]}/${r.headers[ORIGIN_HEADERS.partition]}/${r.headers[ORIGIN_HEADERS.offset]}`,
    );
    assert.equal(new Set(origins).size, origins.length, `${origins.length - new Set(origins).size} origins quarantined twice`);
    assert.equal(onQ.length, n);
    assertFenced(one);
    assert.deepEqual([two.copied, two.written], [n, n]);
    for (const r of onQ) {
      assert.equal(r.headers[ORIGIN_HEADERS.topic], topicOf(k));
      assert.equal(seqOf(r.value), Number(r.headers[ORIGIN_HEADERS.offset]) * PARTITIONS + Number(r.headers[ORIGIN_HEADERS.partition]));
    }
    const raw = await readAll(q, 2 * n, true);
    assert.equal(raw.length, 2 * n, "read_uncommitted: attempt 1's 120 aborted records are there too");
    const exported = JSON.parse(readFileSync(two.exportPath!, 'utf8')) as { records: unknown[] };
    assert.equal(exported.records.length, n, 'the export lists every record once');
    const again = await sequentialRerun(k);
    assert.equal(again.exportPath, two.exportPath);
    t.diagnostic(`${k}: attempt 2 wrote ${two.written}; ${raw.length - n} aborted records of attempt 1`);
  });

  it('the transactional id is stable per workflow and choice', () => {
    assert.equal(copyTransactionalId('w', 'replay'), copyTransactionalId('w', 'replay'));
    assert.notEqual(copyTransactionalId('w', 'replay'), copyTransactionalId('w', 'quarantine'));
    assert.notEqual(copyTransactionalId('w', 'replay'), copyTransactionalId('w2', 'replay'));
    assert.match(copyTransactionalId('x'.repeat(255), 'replay'), /^kafka-dr-divergent-replay-[0-9a-f]{32}$/);
  });
});
