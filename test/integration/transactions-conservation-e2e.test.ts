import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Admin, Producer } from 'kafkajs';
import { createDeps } from '../../activities/deps';
import { remoteTopicName } from '../../src/mm2/connector-configs';
import type { FailbackFigures } from '../../src/model/failback-input';
import type { FailoverFigures } from '../../src/model/failover-input';
import type { PlaybookReport } from '../../src/model/gates';
import { stackRegistry } from '../../src/registry/load';
import type { failback } from '../../workflows/failback';
import type { failover } from '../../workflows/failover';
import { approveSignal } from '../../workflows/framework';
import { instrumentDeps } from '../helpers/instrumented-deps';
import {
  cycleFailbackInput,
  endOffsets,
  forwardOn,
  mirrorFlowAtoB,
  planAtoB,
  plannedFailoverInput,
  useMirroredTopic,
  useMirrorPair,
} from '../helpers/mirror-pair';
import { flowConnectors } from '../helpers/mm2';
import { e2eGateOpen } from '../helpers/playbook';
import { eventually, readUntil, stack, uniqueId } from '../helpers/stack';
import { startPlaybook, withWorker } from '../helpers/worker';

/**
 * Transactions and record conservation in a planned failover A→B on the real stack
 * (issue 15 part 3, issue 14 part 1), one run:
 * (a) a kafkajs transactional producer writes 100 committed and 20 aborted records to A
 *     (2 partitions); the drain completes although each partition ends on a commit marker
 *     MM2 never replicates, and the aborted records never reach B (read_committed MM2);
 * (d) 7 records are written to A right before stop-forward (a test hook in the worker's
 *     Connect client, before the stop call): the drain had ended, so A grew before the
 *     snapshot; the replication-gap gate opens with the per-partition growth; a bare
 *     approve (re-drain) resumes the flow, drains, stops again and the check passes;
 * (c) a straggler writes 10 records to A while the consumers-cutover gate is open: the
 *     producers-cutover gate's description and the report count them per partition
 *     (writesAfterSnapshot), and rpoRecords is 10, not a constant.
 * Pass: B holds every committed record of A written before the snapshot (100 + 7), none of
 * the aborted ones and none of the stragglers.
 */

const PARTITIONS = 2;

describe('transactions and conservation: planned failover A→B end to end', { timeout: 600_000 }, () => {
  const { id, topic, group, mirrored, forward, pair } = useMirroredTopic('txn', PARTITIONS);
  const { kafkaA, kafkaB, adminA, adminB } = pair;
  let plain: Producer;

  before(async () => {
    plain = kafkaA.producer({ allowAutoTopicCreation: false });
    await plain.connect();
  });
  pair.onCleanup(async () => plain?.disconnect());

  /** n records, alternating partitions, values `<prefix>-<i>`. */
  const batch = (prefix: string, n: number) =>
    [...Array(n).keys()].map((i) => ({ key: `${prefix}-${i}`, value: `${prefix}-${i}`, partition: i % PARTITIONS }));

  it('drains past the markers, keeps aborted records off B, re-drains a gap, and counts writes after the snapshot', async () => {
    // (a) 12 transactions of 10 records; the 4th and the 9th aborted.
    const txn = kafkaA.producer({
      transactionalId: `kdr-test-${id}`,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await txn.connect();
    try {
      for (let t = 0; t < 12; t++) {
        const aborted = t === 3 || t === 8;
        const tx = await txn.transaction();
        await tx.send({ topic, acks: -1, messages: batch(aborted ? `x${t}` : `c${t}`, 10) });
        if (aborted) await tx.abort();
        else await tx.commit();
      }
    } finally {
      await txn.disconnect();
    }
    // 60 records and 12 markers (one per transaction) per partition.
    assert.deepEqual(await endOffsets(adminA, topic), [72, 72]);
    await eventually(
      'the 100 committed records mirrored to B',
      async () => {
        const b = await endOffsets(adminB, mirrored).catch(() => []);
        return b.length === PARTITIONS && b[0]! + b[1]! >= 100 ? true : undefined;
      },
      120_000,
      500,
    );

    // (d) The hook: 7 records to A right before the stop-forward call, after the drain ended.
    let injected = false;
    const deps = instrumentDeps(createDeps(stackRegistry(stack), `txn-e2e-${id}`), async (at) => {
      if (injected || at.activity !== 'stopConnectors' || at.phase !== 'before' || !at.call.startsWith('connect.')) return;
      injected = true;
      await plain.send({ topic, acks: -1, messages: batch('g', 7) });
    });

    const eightMinutes = { deadline: '8 minutes' };
    const input = plannedFailoverInput({
      forward,
      topics: [topic],
      groups: [group],
      gates: { 'stop-producers': eightMinutes, 'consumers-cutover': eightMinutes, 'producers-cutover': eightMinutes },
    });

    const report = await withWorker(
      async (ctx) => {
        const h = await startPlaybook<typeof failover>(ctx, 'failover', `txn-e2e-${id}`, input, '9 minutes');
        const gateOpen = (gate: string) => e2eGateOpen(h, gate, 240_000);

        await gateOpen('stop-producers');
        await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });

        // (d) The drain completed (markers are not lag); A grew by 7 before the snapshot.
        const gap = await gateOpen('replication-gap');
        assert.ok(injected, 'the hook wrote before stop-forward');
        const c1 = (gap.figures as Partial<FailoverFigures>).conservation!;
        assert.deepEqual(
          c1.grownAfterDrain.map((g) => [g.partition, g.before, g.grown]),
          [
            [0, '72', '4'],
            [1, '72', '3'],
          ],
        );
        assert.match(gap.openGate!.description, new RegExp(`grew after the drain.*${topic}-0 \\+4, ${topic}-1 \\+3`));
        assert.deepEqual(gap.openGate!.choices, { options: ['re-drain', 'accept-loss'], keys: ['gap'], default: 're-drain' });
        // Some of the 7 may have been replicated before the stop; the rest is the gap, counted exactly.
        assert.ok(BigInt(c1.gapRecords) <= 7n, `gap ${c1.gapRecords}`);
        await h.signal(approveSignal, { gate: 'replication-gap', by: 'bob', comment: 'producers really stopped now' });

        const consumers = await gateOpen('consumers-cutover');
        const c2 = (consumers.figures as Partial<FailoverFigures>).conservation!;
        assert.equal(c2.redrains, 1);
        assert.equal(c2.gapRecords, '0');
        assert.deepEqual(c2.grownAfterDrain, []);

        // (c) The straggler: 10 records to A while consumers-cutover is open.
        await plain.send({ topic, acks: -1, messages: batch('s', 10) });
        await h.signal(approveSignal, { gate: 'consumers-cutover', by: 'carol' });
        const producers = await gateOpen('producers-cutover');
        assert.match(
          producers.openGate!.description,
          new RegExp(
            `WARNING: 10 record\\(s\\) were written to A after the stop-forward snapshot and are not on B .*${topic}-0: 5 record\\(s\\).*${topic}-1: 5 record\\(s\\)`,
          ),
        );
        await h.signal(approveSignal, { gate: 'producers-cutover', by: 'dave' });
        return (await h.result()) as PlaybookReport<FailoverFigures>;
      },
      { deps },
    );

    assert.equal(report.outcome, 'completed', JSON.stringify(report.steps.filter((s) => s.state === 'failed')));
    const f = report.figures;
    assert.equal(f.rpoRecords, 10, 'the 10 stragglers, measured');
    assert.equal(f.writesAfterSnapshot.at, 'end');
    assert.equal(f.writesAfterSnapshot.records, '10');
    assert.deepEqual(
      f.writesAfterSnapshot.partitions.map((p) => [p.topic, p.partition, p.records]),
      [
        [topic, 0, '5'],
        [topic, 1, '5'],
      ],
    );
    assert.deepEqual(report.decisions.find((d) => d.gate === 'replication-gap')?.choices, { gap: 're-drain' });
    assert.ok(report.steps.some((s) => s.name === 're-drain-1' && s.state === 'completed'));

    // B: every committed record written before the snapshot (100 + 7), no aborted one, no straggler.
    const endB = await endOffsets(adminB, mirrored);
    const total = endB.reduce((a, b) => a + b, 0);
    const onB = await readUntil(kafkaB, mirrored, (rs) => rs.length >= total);
    const values = new Set(onB.map((r) => r.value!.toString()));
    assert.equal(total, 107, `B end offsets ${endB.join(',')}`);
    assert.equal(values.size, 107, 'no duplicates on B');
    const aborted = [...values].filter((v) => v.startsWith('x'));
    assert.deepEqual(aborted, [], 'aborted records not on B');
    assert.deepEqual(
      [...values].filter((v) => v.startsWith('s-')),
      [],
      'stragglers not on B (counted in rpoRecords instead)',
    );
    for (let t = 0; t < 12; t++) {
      if (t === 3 || t === 8) continue;
      for (let i = 0; i < 10; i++) assert.ok(values.has(`c${t}-${i}`), `committed c${t}-${i} on B`);
    }
    for (let i = 0; i < 7; i++) assert.ok(values.has(`g-${i}`), `gap record g-${i} on B after the re-drain`);
  });
});

/**
 * (b) Transactional producers on both sides of a full cycle (Identity, deployed with
 * deploy-replication's activity, so read_committed comes from kafka-dr's own configs):
 * 30 committed + 10 aborted on A, planned failover; 30 committed + 10 aborted on B during
 * the DR period, failback. Pass: both playbooks complete with rpoRecords 0, each cluster's
 * end offsets are exactly its own records and markers plus the other's committed records
 * (an aborted record copied across would add 10), and every committed record is on both.
 */
describe('transactions: failover then failback with transactional producers on A and on B', { timeout: 600_000 }, () => {
  const id = uniqueId();
  const topic = `txc-${id}`;
  const groups = [`txc-svc-${id}`];
  const forwardPlan = planAtoB(`txcf-${id}`, [topic], groups);
  const forward = flowConnectors(forwardPlan);
  const reverseName = `txcr-${id}`;
  const reverse = flowConnectors({ name: reverseName, topicGroups: [{ name: 'failback', topics: [topic] }] });
  const cutoverId = `txc-cutover-${id}`;
  const pair = useMirrorPair('txn-cycle-e2e', {
    topics: [{ topic, partitions: 2, on: ['A', 'B'] }],
    connectors: { 'connect-a': reverse.all },
  });
  const { kafkaA, kafkaB, adminA, adminB } = pair;
  const ends = (admin: Admin) => endOffsets(admin, topic);

  /** 4 transactions of 10 records over 2 partitions, the third aborted: 30 committed, 10 aborted, 4 markers per partition. */
  async function transactions(client: typeof kafkaA, prefix: string): Promise<void> {
    const txn = client.producer({
      transactionalId: `kdr-test-${prefix}-${id}`,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await txn.connect();
    try {
      for (let t = 0; t < 4; t++) {
        const tx = await txn.transaction();
        await tx.send({
          topic,
          acks: -1,
          messages: [...Array(10).keys()].map((i) => ({
            key: `${prefix}${t}-${i}`,
            value: `${prefix}${t === 2 ? 'x' : 'c'}${t}-${i}`,
            partition: i % 2,
          })),
        });
        if (t === 2) await tx.abort();
        else await tx.commit();
      }
    } finally {
      await txn.disconnect();
    }
  }

  it('both playbooks complete, rpoRecords 0, aborted records stay where they were written, 0 lost', async () => {
    await pair.deployFlow(forwardPlan);
    await transactions(kafkaA, 'a');
    assert.deepEqual(await ends(adminA), [24, 24], '20 records + 4 markers per partition on A');

    const { foReport, fbReport } = await withWorker(async (ctx) => {
      const foInput = plannedFailoverInput({ policy: 'identity', forward: forwardOn(forward), topics: [topic], groups });
      const fo = await startPlaybook<typeof failover>(ctx, 'failover', cutoverId, foInput, '8 minutes');
      for (const gate of ['stop-producers', 'consumers-cutover', 'producers-cutover']) {
        await e2eGateOpen(fo, gate, 240_000);
        await fo.signal(approveSignal, { gate, by: 'bob' });
      }
      const foReport = (await fo.result()) as PlaybookReport<FailoverFigures>;
      assert.equal(foReport.outcome, 'completed', foReport.reason ?? '');

      // The DR period: a transactional producer on B.
      await transactions(kafkaB, 'b');

      const fbInput = cycleFailbackInput(forward, reverseName, {
        topics: [topic],
        groups,
        seed: { mode: 'auto', failoverWorkflowId: cutoverId },
        catchUpTimeoutSeconds: 180,
      });
      const fb = await startPlaybook<typeof failback>(ctx, 'failback', cutoverId, fbInput, '8 minutes');
      for (const gate of ['consumers-cutover', 'stop-producers', 'producers-cutover']) {
        await e2eGateOpen(fb, gate, 240_000);
        await fb.signal(approveSignal, { gate, by: 'bob' });
      }
      const fbReport = (await fb.result()) as PlaybookReport<FailbackFigures>;
      return { foReport, fbReport };
    });

    assert.equal(
      fbReport.outcome,
      'completed',
      `${fbReport.reason ?? ''} ${JSON.stringify(fbReport.steps.filter((x) => x.state === 'failed'))}`,
    );
    assert.equal(foReport.figures.rpoRecords, 0);
    assert.equal(foReport.figures.conservation.gapRecords, '0');
    assert.equal(fbReport.figures.rpoRecords, 0);
    assert.equal((fbReport.figures as FailbackFigures & { conservation: { gapRecords: string } }).conservation.gapRecords, '0');

    // Each side: its own 20 records + 4 markers per partition, plus the other side's 15 committed per partition.
    assert.deepEqual(await ends(adminB), [39, 39], 'B: no aborted record of A copied');
    assert.deepEqual(await ends(adminA), [39, 39], 'A: no aborted record of B copied back');
    for (const [name, client] of [
      ['A', kafkaA],
      ['B', kafkaB],
    ] as const) {
      const read = await readUntil(client, topic, (rs) => rs.length >= 60);
      const values = new Set(read.map((r) => r.value!.toString()));
      for (const prefix of ['a', 'b']) {
        for (const t of [0, 1, 3])
          for (let i = 0; i < 10; i++) assert.ok(values.has(`${prefix}c${t}-${i}`), `${prefix}c${t}-${i} on ${name}`);
      }
      assert.deepEqual(
        [...values].filter((v) => v.includes('x')),
        [],
        `no aborted record readable on ${name}`,
      );
    }
  });
});

/**
 * The lag measurement itself on the real stack (what the drain polls): an open transaction
 * on A is never "drained" whatever MM2 did; once it commits, the unreplicated offsets left
 * are markers only and the partition is caught up; an aborted transaction leaves only
 * aborted records and markers, caught up too, and none of them reaches B.
 */
describe('replicationLag with transactions on the real stack', { timeout: 300_000 }, () => {
  const id = uniqueId();
  const topic = `txl-${id}`;
  const flow = mirrorFlowAtoB(`txl-${id}`, [topic], [`txl-svc-${id}`]);
  const pair = useMirrorPair('txn-lag', { topics: [{ topic, partitions: 1 }] });
  pair.leaves({ topics: { B: [remoteTopicName('default', 'A', topic), topic] } });
  const { kafkaA } = pair;
  const lag = (exact: boolean) =>
    pair.activities.replicationLag({ connect: 'connect-b', connectors: [`${flow.name}-source`], source: 'A', topics: [topic], exact });

  before(async () => {
    await pair.putFlow(flow);
  });

  it('open transaction: behind, never drained; committed: markers only, caught up; aborted: caught up, nothing on B', async () => {
    const txn = kafkaA.producer({
      transactionalId: `kdr-test-lag-${id}`,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await txn.connect();
    try {
      const first = await txn.transaction();
      await first.send({ topic, acks: -1, messages: [...Array(5).keys()].map((i) => ({ value: `c-${i}`, partition: 0 })) });
      await first.commit();
      const drained = await eventually(
        'the first transaction replicated (lag: its commit marker only)',
        async () => {
          const r = await lag(false);
          return r.drained ? r : undefined;
        },
        120_000,
        1000,
      );
      assert.equal(drained.partitions[0]!.end, '6');
      assert.equal(drained.partitions[0]!.committed, '4', 'MM2 replicated offsets 0-4; offset 5 is the commit marker');

      // An open transaction: 3 records after offset 6, not committed.
      const open = await txn.transaction();
      await open.send({ topic, acks: -1, messages: [...Array(3).keys()].map((i) => ({ value: `o-${i}`, partition: 0 })) });
      await new Promise((r) => setTimeout(r, 3000));
      for (const exact of [false, true]) {
        const r = await lag(exact);
        assert.equal(r.drained, false, `exact ${exact}: an open transaction is not drained`);
        assert.equal(r.partitions[0]!.state, 'behind');
        assert.equal(r.partitions[0]!.openTransactionAt, '6');
      }
      await open.commit();
      const after1 = await eventually(
        'the committed transaction replicated',
        async () => {
          const r = await lag(true);
          return r.drained ? r : undefined;
        },
        120_000,
        1000,
      );
      assert.equal(after1.partitions[0]!.end, '10');
      assert.equal(after1.partitions[0]!.committed, '8');

      // An aborted transaction: 4 records and a marker, never replicated, caught up at once.
      const aborted = await txn.transaction();
      await aborted.send({ topic, acks: -1, messages: [...Array(4).keys()].map((i) => ({ value: `x-${i}`, partition: 0 })) });
      await aborted.abort();
      const r = await lag(true);
      assert.equal(r.drained, true);
      assert.equal(r.partitions[0]!.end, '15');
      assert.equal(r.partitions[0]!.committed, '8');
      assert.equal(r.partitions[0]!.markersOrAborted, '6', 'commit marker 9, aborted 10-13, abort marker 14');
      assert.equal(r.total, '0');
    } finally {
      await txn.disconnect();
    }
    // B: the 8 committed records only.
    const onB = await readUntil(pair.kafkaB, remoteTopicName('default', 'A', topic), (rs) => rs.length >= 8);
    await new Promise((res) => setTimeout(res, 2000));
    assert.deepEqual(onB.map((x) => x.value!.toString()).sort(), ['c-0', 'c-1', 'c-2', 'c-3', 'c-4', 'o-0', 'o-1', 'o-2']);
  });
});
