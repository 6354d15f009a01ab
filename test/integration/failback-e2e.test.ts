import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Admin, Kafka } from 'kafkajs';
import { createActivities, createDeps } from '../../activities';
import { ConnectClient, inState } from '../../src/connect/client';
import type { FailbackFigures, FailbackInput } from '../../src/model/failback-input';
import type { PlaybookReport } from '../../src/model/gates';
import type { ReplicationPlanInput } from '../../src/model/replication-plan';
import { committedMirrorOffsets } from '../../src/offsets/lag';
import { stackRegistry } from '../../src/registry/load';
import type { failback } from '../../workflows/failback';
import { approveSignal, decideUpdate, statusQuery } from '../../workflows/framework';
import { eventually, kafka, readUntil, stack, uniqueId } from '../helpers/stack';
import { withWorker } from '../helpers/worker';
import { captureHistory } from '../replay/capture';

/**
 * A failback B→A after a (simulated) failover, on the real stack, Identity policy:
 * the forward flow A→B copied 50 records, was stopped at the failover, B took 30
 * records of its own; the failback playbook copies exactly those 30 back to A, moves
 * the cutover and resumes the forward flow from A's end at cutover, so nothing
 * that came back from B is replayed to B.
 */

const PARTITIONS = 2;
const FORWARD_RECORDS = 50;
const DR_RECORDS = 30;
const TOTAL = FORWARD_RECORDS + DR_RECORDS;

describe('failback B→A end to end on the real stack (Identity)', { timeout: 300_000 }, () => {
  const id = uniqueId();
  const topic = `fb-${id}`;
  const group = `fb-svc-${id}`;
  const forwardName = `fbf-${id}`;
  const reverseName = `fbr-${id}`;
  const forwardSource = `${forwardName}-source-main`;
  const forwardConnectors = [forwardSource, `${forwardName}-checkpoint`, `${forwardName}-heartbeat`];
  const reverseConnectors = [`${reverseName}-source-failback`, `${reverseName}-checkpoint`, `${reverseName}-heartbeat`];
  const intervals = { refreshTopicsSeconds: 1, refreshGroupsSeconds: 1, emitCheckpointsSeconds: 1, emitHeartbeatsSeconds: 1 };
  const forwardPlan: ReplicationPlanInput = {
    source: 'A',
    target: 'B',
    connect: 'connect-b',
    name: forwardName,
    policy: { type: 'identity' },
    topicGroups: [{ name: 'main', topics: [topic] }],
    groups: [group],
    replicationFactor: 1,
    intervals,
  };
  const activities = createActivities(createDeps(stackRegistry(stack), 'test-failback-e2e'));
  const connectB = new ConnectClient(stack.connect['connect-b'].url);
  const connectA = new ConnectClient(stack.connect['connect-a'].url);
  const kafkaA = kafka('A');
  const kafkaB = kafka('B');
  let adminA: Admin;
  let adminB: Admin;

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const ends = async (admin: Admin) =>
    (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition).map((o) => Number(o.high));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const produce = async (client: Kafka, from: number, to: number) => {
    const producer = client.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const messages = [];
      for (let seq = from; seq < to; seq++) messages.push({ key: `k-${seq}`, value: `seq=${seq}`, partition: seq % PARTITIONS });
      await producer.send({ topic, acks: -1, messages });
    } finally {
      await producer.disconnect();
    }
  };
  const seqOf = (v: Buffer | null) => Number(v!.toString().slice('seq='.length));
  /** Connect answers 500/409 while it rebalances (other tests share the workers): retry a while. */
  const retrying = async <T>(what: string, fn: () => Promise<T>): Promise<T> =>
    (await eventually(what, async () => ({ value: await fn() }), 60_000, 1000)).value;

  before(async () => {
    adminA = kafkaA.admin();
    adminB = kafkaB.admin();
    await Promise.all([adminA.connect(), adminB.connect()]);
    await adminA.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
    await adminB.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
  });

  after(async () => {
    await Promise.all(forwardConnectors.map((n) => connectB.delete(n).catch(() => undefined)));
    await Promise.all(reverseConnectors.map((n) => connectA.delete(n).catch(() => undefined)));
    await adminA.deleteGroups([group]).catch(() => undefined);
    await adminB.deleteGroups([group]).catch(() => undefined);
    await adminA.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await adminB.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await Promise.all([adminA.disconnect(), adminB.disconnect()]);
  });

  it('copies back only the DR-period records, cuts over and resumes the forward flow from the cutover boundary', async (t) => {
    // 1. The forward flow A→B, deployed by kafka-dr.
    const deployed = await retrying('the forward flow deployed', () => activities.deployMirrorFlow({ plan: forwardPlan }));
    assert.deepEqual(
      deployed.connectors.map((c) => c.name),
      forwardConnectors,
    );
    await eventually(
      'the forward connectors RUNNING on connect-b',
      async () => {
        const states = await Promise.all(
          forwardConnectors.map(async (n) => inState(await connectB.status(n), 'RUNNING', n.endsWith('-checkpoint'))),
        );
        return states.every(Boolean) ? true : undefined;
      },
      90_000,
    );

    // 2. 50 records on A, drained to B.
    await produce(kafkaA, 0, FORWARD_RECORDS);
    await eventually(
      'B drained the 50 forward records',
      async () => (sum(await ends(adminB)) === FORWARD_RECORDS ? true : undefined),
      90_000,
    );

    // 3. The failover, simulated: forward flow stopped, B's end offsets snapshot.
    for (const n of forwardConnectors) await retrying(`${n} stopped`, () => connectB.stop(n));
    await eventually('the forward connectors STOPPED', async () => {
      const states = await Promise.all(forwardConnectors.map(async (n) => (await connectB.status(n)).connector.state));
      return states.every((s) => s === 'STOPPED') ? true : undefined;
    });
    const atFailover = await ends(adminB);
    assert.equal(sum(atFailover), FORWARD_RECORDS);
    const snapshot = { [topic]: Object.fromEntries(atFailover.map((o, p) => [String(p), String(o)])) };

    // 4. The DR period: producers write to B.
    await produce(kafkaB, FORWARD_RECORDS, TOTAL);
    assert.equal(sum(await ends(adminB)), TOTAL);
    // G consumed everything on B during the DR period and committed; it stops before the failback.
    const consumedOnB = await ends(adminB);
    const consumerB = kafkaB.consumer({ groupId: group, maxWaitTimeInMs: 200 });
    await consumerB.connect();
    try {
      await consumerB.subscribe({ topic, fromBeginning: true });
      const seen = new Set<number>();
      await consumerB.run({ autoCommit: false, eachMessage: async ({ message }) => void seen.add(seqOf(message.value)) });
      await eventually('G consumed the 80 records on B', async () => (seen.size === TOTAL ? true : undefined), 60_000, 200);
      await consumerB.commitOffsets(consumedOnB.map((o, partition) => ({ topic, partition, offset: String(o) })));
    } finally {
      await consumerB.disconnect();
    }

    // 5. The failback playbook on a real worker; the test answers its gates.
    const input: FailbackInput = {
      primary: 'A',
      dr: 'B',
      forward: { connect: 'connect-b', connectors: forwardConnectors, sourceConnectors: [forwardSource] },
      reverse: { connect: 'connect-a', name: reverseName, replicationFactor: 1, intervals },
      topics: [topic],
      groups: [group],
      policy: 'identity',
      seed: { mode: 'auto', snapshot },
      requestedBy: 'tester',
      gates: {
        'consumers-cutover': { deadline: '5 minutes' },
        'stop-producers': { deadline: '5 minutes' },
        'producers-cutover': { deadline: '5 minutes' },
      },
      lagThreshold: 0,
      catchUpTimeoutSeconds: 120,
      quietSeconds: 2,
    };
    const report = await withWorker(async ({ client, taskQueue }) => {
      const h = await client.workflow.start<typeof failback>('failback', {
        taskQueue,
        workflowId: `failback-e2e-${id}`,
        args: [input],
        workflowExecutionTimeout: '4 minutes',
      });
      const gateOpen = (gate: string) =>
        eventually(
          `gate ${gate} open`,
          async () => {
            const s = await h.query(statusQuery);
            if (s.state === 'finished') throw new Error(`workflow finished: ${s.outcome}`);
            return s.openGate?.name === gate ? s : undefined;
          },
          120_000,
          200,
        ).catch(async (err: unknown) => {
          const s = await h.query(statusQuery).catch(() => undefined);
          throw new Error(`${String(err)}; status: ${JSON.stringify(s)}`);
        });

      await gateOpen('consumers-cutover');
      await h.executeUpdate(decideUpdate, {
        args: [{ gate: 'consumers-cutover', decision: 'approve', by: 'approver', comment: 'consumers stopped on B' }],
      });
      await gateOpen('stop-producers');
      await h.signal(approveSignal, { gate: 'stop-producers', by: 'approver' });
      await gateOpen('producers-cutover');
      await h.signal(approveSignal, { gate: 'producers-cutover', by: 'approver' });
      const result = (await h.result()) as PlaybookReport<FailbackFigures>;
      await captureHistory(h, 'failback-snapshot-seed-identity');
      return result;
    });

    // 6. The outcome.
    assert.equal(report.outcome, 'completed', `${report.reason ?? ''} ${JSON.stringify(report.steps ?? report)}`);

    // A holds every seq exactly once: the 50 forward records were not copied back, the 30 DR ones arrived.
    const onAEnds = await ends(adminA);
    assert.equal(sum(onAEnds), TOTAL, `A's end offsets ${onAEnds.join(',')}`);
    const onA = await readUntil(kafkaA, topic, (r) => r.length >= TOTAL);
    const seqsA = onA.map((r) => seqOf(r.value)).sort((a, b) => a - b);
    assert.deepEqual(seqsA, [...Array(TOTAL).keys()], 'each seq 0..79 exactly once on A');

    // The seed came from the snapshot, per partition.
    assert.equal(report.figures.seedFrom, 'snapshot');
    assert.deepEqual(
      report.figures.seed.map((s) => [s.topic, s.partition, s.source]).sort(),
      [...Array(PARTITIONS).keys()].map((p) => [topic, p, 'snapshot']),
    );
    assert.equal(sum(report.figures.seed.map((s) => Number(s.toCopy))), DR_RECORDS, JSON.stringify(report.figures.seed));

    // G's position moved to A through the reverse checkpoints: right after the last record it consumed on B.
    assert.deepEqual(
      report.figures.offsetsSet.map((o) => [o.group, o.topic, o.partition, Number(o.offset)]).sort(),
      consumedOnB.map((o, p) => [group, topic, p, o]),
      `offsets set: ${JSON.stringify(report.figures.offsetsSet)}, skipped: ${JSON.stringify(report.figures.groupsSkipped)}`,
    );
    const [onAGroup] = await adminA.fetchOffsets({ groupId: group, topics: [topic] });
    assert.deepEqual(
      onAGroup!.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset)),
      consumedOnB,
    );

    // The reverse flow is gone from connect-a.
    const onConnectA = await retrying('connect-a connectors', () => connectA.list());
    for (const n of reverseConnectors) assert.ok(!onConnectA.includes(n), `${n} deleted from connect-a`);

    // The cutover boundary is A's end, and the forward source resumes right after it.
    const cutover = report.figures.cutover.offsets[topic]!;
    assert.deepEqual(
      [...Array(PARTITIONS).keys()].map((p) => Number(cutover[String(p)])),
      onAEnds,
    );
    assert.deepEqual(
      report.figures.forwardOffsets.map((o) => [o.connector, o.topic, o.partition, o.offset]).sort(),
      onAEnds.map((e, p) => [forwardSource, topic, p, String(e - 1)]),
    );
    for (const n of forwardConnectors) {
      const status = await retrying(`${n} status`, () => connectB.status(n));
      assert.ok(inState(status, 'RUNNING', n.endsWith('-checkpoint')), `${n} RUNNING: ${JSON.stringify(status)}`);
    }
    const committed = committedMirrorOffsets('A', await retrying('forward offsets', () => connectB.getOffsets(forwardSource)));
    assert.deepEqual(
      [...committed.values()]
        .filter((c) => c.topic === topic) // MM2 also mirrors the shared `heartbeats` topic
        .sort((a, b) => a.partition - b.partition)
        .map((c) => [c.topic, c.partition, Number(c.offset)]),
      onAEnds.map((e, p) => [topic, p, e - 1]),
      'forward committed offsets = A end at cutover − 1',
    );

    // Nothing replayed to B: it still holds 80 records a few seconds after the resume.
    await sleep(5_000);
    assert.deepEqual(await ends(adminB), await ends(adminA), 'B holds what A holds (80): no replay of the 30');
    assert.equal(sum(await ends(adminB)), TOTAL);

    // And the forward flow copies what producers write to A now.
    await produce(kafkaA, TOTAL, TOTAL + 1);
    await eventually('the new record on A copied to B', async () => (sum(await ends(adminB)) === TOTAL + 1 ? true : undefined), 60_000);
    const onB = await readUntil(kafkaB, topic, (r) => r.length >= TOTAL + 1);
    const seqsB = onB.map((r) => seqOf(r.value)).sort((a, b) => a - b);
    assert.deepEqual(seqsB, [...Array(TOTAL + 1).keys()], 'each seq 0..80 exactly once on B');

    const f = report.figures;
    t.diagnostic(
      `seed toCopy ${f.seed.map((s) => `${s.partition}:${s.toCopy}`).join(',')}; lagAtConsumersGate ${f.lagAtConsumersGate}; catchUpMs ${f.catchUpMs}; ` +
        `offsetsSet ${f.offsetsSet.length}; drainMs ${f.drainMs}; cutover ${JSON.stringify(f.cutover.offsets)}; rtoMs ${f.rtoMs}; durationMs ${report.durationMs}`,
    );
    assert.deepEqual(
      report.decisions.map((d) => [d.gate, d.decision, d.by]),
      [
        ['consumers-cutover', 'approved', 'approver'],
        ['stop-producers', 'approved', 'approver'],
        ['producers-cutover', 'approved', 'approver'],
      ],
    );
  });
});
