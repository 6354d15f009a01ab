import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { Admin } from 'kafkajs';
import { readLatestCheckpoints } from '../../src/mm2/checkpoints';
import { remoteTopicName } from '../../src/mm2/connector-configs';
import type { FailoverFigures, FailoverInput } from '../../src/model/failover-input';
import type { PlaybookReport } from '../../src/model/gates';
import type { failover } from '../../workflows/failover';
import { approveSignal, decideUpdate } from '../../workflows/framework';
import { endOffsets, forwardOfFlow, mirrorFlowAtoB, plannedFailoverInput, useMirrorPair } from '../helpers/mirror-pair';
import { e2eGateOpen } from '../helpers/playbook';
import { eventually, uniqueId } from '../helpers/stack';
import { startPlaybook, withWorker } from '../helpers/worker';

/**
 * Issue 13 on the real stack: a group with commits on A that MM2's checkpoint connector
 * never translates (its `groups` names only the other group) ends the translation
 * without a position on B. The planned failover stops at gate unplaced-groups with the
 * list (lag per partition) before consumers start, B's offsets of that group untouched;
 * approving with `end` sets them at B's end and the report counts the skipped records.
 * A group named literally that the checkpoint connector never translates is refused at
 * start (check-groups), before anything changes.
 */

const PARTITIONS = 2;
const RECORDS = 50;
/** Where the parked group stands on A, per partition: lag 30 and 20. */
const PARKED_AT = [20, 30];

describe('unplaced groups: the planned failover stops at a gate and applies the choice (real stack)', { timeout: 300_000 }, () => {
  const id = uniqueId();
  const topic = `ug-${id}`;
  const prefix = `ug-${id}`;
  const ok = `${prefix}-ok`;
  const parked = `${prefix}-parked`;
  const mirrored = remoteTopicName('default', 'A', topic);
  // Only `ok` is translated: `parked` gets no checkpoint.
  const flow = mirrorFlowAtoB(`ug-${id}`, [topic], [ok]);
  let names: string[] = [];
  const pair = useMirrorPair('unplaced-groups-e2e', { topics: [{ topic, partitions: PARTITIONS }], groups: [ok, parked] });
  pair.leaves({ topics: { B: [mirrored, topic] } });
  const { kafkaA, kafkaB, adminA, adminB, connectB: connect } = pair;

  const input = (groups: string[]): FailoverInput =>
    plannedFailoverInput({
      forward: forwardOfFlow(flow),
      topics: [topic],
      groups,
    });

  const committedOn = async (admin: Admin, group: string, t: string) => {
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [t] });
    return offsets!.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
  };

  before(async () => {
    const producer = kafkaA.producer({ allowAutoTopicCreation: false, idempotent: true });
    await producer.connect();
    const messages = [];
    for (let i = 0; i < RECORDS * PARTITIONS; i++) messages.push({ key: `k-${i}`, value: `seq=${i}`, partition: i % PARTITIONS });
    await producer.send({ topic, acks: -1, messages });
    await producer.disconnect();
    // Both groups committed on A, no consumer running: `ok` at the end, `parked` behind.
    await adminA.setOffsets({
      groupId: ok,
      topic,
      partitions: [...Array(PARTITIONS).keys()].map((p) => ({ partition: p, offset: String(RECORDS) })),
    });
    await adminA.setOffsets({
      groupId: parked,
      topic,
      partitions: PARKED_AT.map((offset, partition) => ({ partition, offset: String(offset) })),
    });
    names = await pair.putFlow(flow);
    await eventually(
      'records mirrored to B',
      async () => {
        const b = await endOffsets(adminB, mirrored).catch(() => []);
        return b.length === PARTITIONS && b.every((n) => n === RECORDS) ? true : undefined;
      },
      90_000,
    );
    await eventually(
      `checkpoints of ${ok} on B (and none of ${parked})`,
      async () => {
        const read = await readLatestCheckpoints(kafkaB, 'A', { groups: [ok, parked] });
        const ours = read.checkpoints.filter((c) => c.topic === mirrored);
        assert.ok(!ours.some((c) => c.consumerGroupId === parked), `no checkpoint for ${parked}`);
        return ours.filter((c) => c.consumerGroupId === ok && c.downstreamOffset === BigInt(RECORDS)).length === PARTITIONS
          ? true
          : undefined;
      },
      60_000,
      1000,
    );
    // The records the parked group would read next are gone from B (retention, a
    // deleteRecords): its next record on A has no verified copy there and it has no
    // checkpoint, so neither exact positions nor MM2 can place it.
    await adminB.deleteTopicRecords({
      topic: mirrored,
      partitions: [...Array(PARTITIONS).keys()].map((partition) => ({ partition, offset: String(Math.max(...PARKED_AT) + 10) })),
    });
  });

  it('a group named in the failover that the checkpoint connector never translates is refused at start, naming it; nothing stopped', async () => {
    const err = await withWorker(async (ctx) => {
      const h = await startPlaybook<typeof failover>(ctx, 'failover', `ug-refused-${id}`, input([ok, parked]), '2 minutes');
      return h.result().then(
        () => undefined,
        (e: unknown) => e,
      );
    });
    assert.ok(err instanceof WorkflowFailedError, String(err));
    const message = String((err.cause as Error).message);
    // check-scope (the flow's configs, read first) refuses it; check-groups would say the same.
    assert.match(message, new RegExp(`groups: '${parked}' is not checkpointed by the flow \\(groups=${ok};`));
    assert.ok(!message.includes(`'${ok}'`), 'the allowlisted group is not named');
    for (const n of names) assert.equal((await connect.status(n)).connector.state, 'RUNNING', `${n} untouched`);
  });

  it("a group with commits on A, no checkpoint and no copy of its next records on B: gate unplaced-groups lists it with its lag, B untouched before the decision; `end` sets B's end and the report counts the skipped records", async () => {
    const report = await withWorker(async (ctx) => {
      // A regex names both: the parked one is not refused at start (not named), it reaches the gate.
      const h = await startPlaybook<typeof failover>(ctx, 'failover', `ug-${id}`, input([`${prefix}-.*`]));
      const gateOpen = (gate: string) => e2eGateOpen(h, gate, 120_000);
      await gateOpen('stop-producers');
      await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
      await gateOpen('consumers-cutover');
      await h.signal(approveSignal, { gate: 'consumers-cutover', by: 'bob' });
      const atGate = await gateOpen('unplaced-groups');
      const g = atGate.openGate!;
      assert.deepEqual(g.choices, { options: ['earliest', 'end', 'leave-out'], keys: [parked] });
      assert.match(
        g.description,
        new RegExp(`${parked} ${topic}\\[0\\]: lag ${RECORDS - PARKED_AT[0]!} \\(committed ${PARKED_AT[0]} of ${RECORDS}\\)`),
      );
      assert.match(
        g.description,
        new RegExp(`${parked} ${topic}\\[1\\]: lag ${RECORDS - PARKED_AT[1]!} \\(committed ${PARKED_AT[1]} of ${RECORDS}\\)`),
      );
      // Nothing set for the parked group on B before the decision; the translated one is placed.
      assert.deepEqual(await committedOn(adminB, parked, mirrored), [-1, -1]);
      assert.deepEqual(await committedOn(adminB, ok, mirrored), [RECORDS, RECORDS]);
      assert.ok(!atGate.steps.some((x) => x.name.startsWith('hook:consumers-cutover:start')), 'consumers not started before the decision');

      await h.executeUpdate(decideUpdate, {
        args: [{ gate: 'unplaced-groups', decision: 'approve', by: 'carol', choices: { [parked]: 'end' } }],
      });
      await gateOpen('producers-cutover');
      await h.signal(approveSignal, { gate: 'producers-cutover', by: 'carol' });
      return (await h.result()) as PlaybookReport<FailoverFigures>;
    });
    assert.equal(report.outcome, 'completed', report.reason ?? '');
    assert.deepEqual(await committedOn(adminB, parked, mirrored), await endOffsets(adminB, mirrored), "the parked group at B's end");
    assert.deepEqual(await committedOn(adminB, ok, mirrored), [RECORDS, RECORDS]);
    const positions = report.figures.groupPositions!;
    const p = positions.find((x) => x.group === parked)!;
    const skipped = PARKED_AT.reduce((n, at) => n + RECORDS - at, 0);
    assert.equal(p.skipped, String(skipped), JSON.stringify(positions));
    assert.equal(p.end, PARTITIONS);
    assert.match(p.outcome, new RegExp(`^skipped ${skipped} \\(end on 2 partition`));
    const o = positions.find((x) => x.group === ok)!;
    assert.equal(o.leftOut + o.earliest + o.end, 0);
    assert.equal(o.exact + o.translated, PARTITIONS);
    assert.deepEqual(report.decisions.find((d) => d.gate === 'unplaced-groups')!.choices, { [parked]: 'end' });
    const steps = report.steps.map((s) => s.name);
    assert.deepEqual(steps.slice(steps.indexOf('translate-offsets'), steps.indexOf('translate-offsets') + 5), [
      'translate-offsets',
      'find-unplaced',
      'place-unplaced',
      // Default policy: B's local topic made sure of before the consumers start there.
      'prepare-local-topics',
      'hook:consumers-cutover:start-consumers',
    ]);
  });
});
