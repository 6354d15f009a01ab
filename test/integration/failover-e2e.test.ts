import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Producer } from 'kafkajs';
import { readLatestCheckpoints } from '../../src/mm2/checkpoints';
import type { FailoverFigures, FailoverInput } from '../../src/model/failover-input';
import type { PlaybookReport } from '../../src/model/gates';
import type { failover } from '../../workflows/failover';
import { approveSignal, decideUpdate } from '../../workflows/framework';
import { consumeAndCommit, endOffsets, useMirroredTopic } from '../helpers/mirror-pair';
import { e2eGateOpen } from '../helpers/playbook';
import { eventually, readUntil, sleep } from '../helpers/stack';
import { startPlaybook, withWorker } from '../helpers/worker';
import { captureHistory } from '../replay/capture';

/**
 * A planned failover A→B on the real stack: MM2 A→B on connect-b, a producer writing
 * sequence-numbered records to A the whole time until the stop-producers gate, a
 * consumer group on A; the playbook runs on a real worker with the production
 * activities, the test answers its gates. Pass: 0 records lost, the forward connectors
 * STOPPED, the group set on B exactly after the last record it consumed on A, and
 * both snapshots in the report.
 */

const PARTITIONS = 3;
const BATCH_PER_PARTITION = 5;

describe('failover (planned) A→B end to end on the real stack', { timeout: 300_000 }, () => {
  const { id, topic, group, mirrored, forward, pair } = useMirroredTopic('fo', PARTITIONS);
  const names = forward.connectors;
  const { kafkaA, kafkaB, adminA, adminB, connectB: connect } = pair;

  /** The sequence-numbered producer: seq i → partition i % 3; counts what A acknowledged. */
  const producerState = { running: true, paused: false, seq: 0, acked: new Array<number>(PARTITIONS).fill(0) };
  let producer: Producer;
  let producing: Promise<void> | undefined;
  const produceLoop = async () => {
    while (producerState.running) {
      if (producerState.paused) {
        await sleep(50);
        continue;
      }
      const messages = [];
      for (let i = 0; i < BATCH_PER_PARTITION * PARTITIONS; i++, producerState.seq++) {
        messages.push({ key: `k-${producerState.seq}`, value: `seq=${producerState.seq}`, partition: producerState.seq % PARTITIONS });
      }
      const acks = await producer.send({ topic, acks: -1, messages });
      for (const m of messages) producerState.acked[m.partition]!++;
      assert.ok(acks.length > 0);
      await sleep(100);
    }
  };

  before(async () => {
    producer = kafkaA.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });
  pair.onCleanup(async () => {
    producerState.running = false;
    await producing?.catch(() => undefined);
    await producer?.disconnect();
  });

  it('drains to 0 lost, stops the forward flow, moves the group to B after the last record it consumed on A', async () => {
    producing = produceLoop();
    await eventually('records mirrored to B', async () => {
      const b = await endOffsets(adminB, mirrored).catch(() => []);
      return b.length === PARTITIONS && b.every((n) => n >= 20) ? true : undefined;
    });

    // The group consumes on A up to where A is while the producer pauses (so the last
    // consumed offset has an MM2 offset sync: exact translation), commits, and leaves A.
    producerState.paused = true;
    await sleep(300);
    const consumedTo = await endOffsets(adminA, topic);
    await eventually('B caught up with the pause point', async () => {
      const b = await endOffsets(adminB, mirrored);
      return b.every((n, p) => n === consumedTo[p]) ? true : undefined;
    });
    const lastSeqOnA = await consumeAndCommit(kafkaA, group, topic, consumedTo);
    for (let p = 0; p < PARTITIONS; p++) {
      assert.equal(lastSeqOnA.get(p), (consumedTo[p]! - 1) * PARTITIONS + p, `partition ${p}: the last record the group consumed on A`);
    }
    // Still paused: MM2 translates exactly only through the offset sync of the last
    // replicated record, and keeps only sparse older syncs once new records flow.
    await eventually(
      `exact checkpoints for ${group} at the pause point on B`,
      async () => {
        const read = await readLatestCheckpoints(kafkaB, 'A', { groups: [group] });
        const ours = read.checkpoints.filter((c) => c.topic === mirrored);
        const exact = (c: (typeof ours)[number]) =>
          c.upstreamOffset === BigInt(consumedTo[c.partition]!) && c.downstreamOffset === BigInt(consumedTo[c.partition]!);
        return ours.length === PARTITIONS && ours.every(exact) ? ours : undefined;
      },
      60_000,
      1000,
    );
    producerState.paused = false;

    const input: FailoverInput = {
      source: 'A',
      target: 'B',
      mode: 'planned',
      forward,
      topics: [topic],
      groups: [group],
      requestedBy: 'alice',
      gates: {
        'stop-producers': { deadline: '5 minutes' },
        'consumers-cutover': { fourEyes: true, deadline: '5 minutes' },
        'producers-cutover': { deadline: '5 minutes' },
      },
      quietSeconds: 2,
    };

    const report = await withWorker(async (ctx) => {
      // The CLI uses cutoverWorkflowId('A', 'B'); the shared stack needs a unique ID per test.
      const h = await startPlaybook<typeof failover>(ctx, 'failover', `failover-e2e-${id}`, input);
      const gateOpen = (gate: string) => e2eGateOpen(h, gate, 90_000);

      await gateOpen('stop-producers');
      // The operator stops the producers, then confirms.
      producerState.running = false;
      await producing;
      await h.executeUpdate(decideUpdate, {
        args: [{ gate: 'stop-producers', decision: 'approve', by: 'bob', comment: 'producers stopped' }],
      });
      const atConsumers = await gateOpen('consumers-cutover');
      assert.equal(
        atConsumers.figures.offsetsSet,
        undefined,
        'consumers stop before the translation: nothing set before the consumers gate',
      );
      await h.signal(approveSignal, { gate: 'consumers-cutover', by: 'carol' });
      const atProducers = await gateOpen('producers-cutover');
      assert.ok(atProducers.figures.offsetsSet, 'offsets set before the producers gate');
      assert.deepEqual(atProducers.figures.unplaced, [], 'the group has a position on every partition it committed');
      await h.signal(approveSignal, { gate: 'producers-cutover', by: 'carol' });
      const result = (await h.result()) as PlaybookReport<FailoverFigures>;
      await captureHistory(h, 'failover-planned-default-policy');
      return result;
    });

    assert.equal(report.outcome, 'completed', report.reason ?? '');
    const acked = producerState.acked;
    assert.ok(
      acked.every((n) => n > consumedTo[0]!),
      `the producer wrote after the group stopped: ${acked.join(',')}`,
    );

    // 0 lost: every acknowledged record of A is on B, per partition, by count and by seq.
    assert.deepEqual(await endOffsets(adminA, topic), acked);
    assert.deepEqual(await endOffsets(adminB, mirrored), acked, 'per-partition counts on B equal what A acknowledged');
    const total = acked.reduce((a, b) => a + b, 0);
    const onB = await readUntil(kafkaB, mirrored, (r) => r.length >= total);
    const seqs = new Set(onB.map((r) => Number(r.value!.toString().slice('seq='.length))));
    assert.equal(seqs.size, total, 'every seq once on B');
    for (let s = 0; s < total; s++) assert.ok(seqs.has(s), `seq ${s} on B`);

    // The forward connectors are STOPPED.
    for (const n of names) assert.equal((await connect.status(n)).connector.state, 'STOPPED', n);

    // The group's committed offsets on B are its translated position: right after the last record it consumed on A.
    const [committed] = await adminB.fetchOffsets({ groupId: group, topics: [mirrored] });
    const onBOffsets = committed!.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
    assert.deepEqual(onBOffsets, consumedTo, `offsets set by the playbook: ${JSON.stringify(report.figures.offsetsSet)}`);
    assert.deepEqual(
      report.figures.offsetsSet.map((o) => [o.group, o.topic, o.partition, Number(o.offset)]).sort(),
      consumedTo.map((o, p) => [group, mirrored, p, o]),
    );
    // A consumer of the group on B starts at the record after the last one it consumed on A.
    const consumerB = kafkaB.consumer({ groupId: group, maxWaitTimeInMs: 200 });
    const firstOnB = new Map<number, number>();
    await consumerB.connect();
    try {
      await consumerB.subscribe({ topic: mirrored });
      await consumerB.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          if (!firstOnB.has(partition)) firstOnB.set(partition, Number(message.value!.toString().slice('seq='.length)));
        },
      });
      await eventually('the group reads on B', async () => (firstOnB.size === PARTITIONS ? true : undefined), 60_000, 200);
    } finally {
      await consumerB.disconnect();
    }
    for (let p = 0; p < PARTITIONS; p++)
      assert.equal(firstOnB.get(p), consumedTo[p]! * PARTITIONS + p, `partition ${p}: the next seq after the last consumed on A`);

    // The report holds both snapshots (failback's boundary) and the figures.
    const { snapshots } = report.figures;
    assert.deepEqual(Object.values(snapshots.source!.offsets[topic]!).map(Number), acked);
    assert.deepEqual(Object.values(snapshots.target.offsets[mirrored]!).map(Number), acked);
    assert.deepEqual(snapshots.target.missingTopics, [topic], 'nothing was written to the local name on B yet');
    assert.equal(report.figures.rpoRecords, 0);
    assert.ok(report.figures.rtoMs > 0 && report.figures.drainMs >= 0);
    assert.ok(BigInt(report.figures.lagAtStart) >= 0n);
    assert.deepEqual(
      report.decisions.map((d) => [d.gate, d.decision, d.by]),
      [
        ['stop-producers', 'approved', 'bob'],
        ['consumers-cutover', 'approved', 'carol'],
        ['producers-cutover', 'approved', 'carol'],
      ],
    );
  });
});
