import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { Admin, Kafka } from 'kafkajs';
import { createActivities, createDeps } from '../../activities';
import { ConnectClient, inState } from '../../src/connect/client';
import type { FailbackFigures, FailbackInput } from '../../src/model/failback-input';
import type { PlaybookReport } from '../../src/model/gates';
import type { ReplicationPlanInput } from '../../src/model/replication-plan';
import { committedMirrorOffsets } from '../../src/offsets/lag';
import { stackRegistry, stackRegistryDocument } from '../../src/registry/load';
import type { failback } from '../../workflows/failback';
import { ChildWorker, type ChildEvent, type PausePoint } from '../helpers/child-worker';
import { FaultProxy } from '../helpers/fault-proxy';
import { activityRuns, assertStackHealthy, autoApprove, failOrphanedAttempt } from '../helpers/faults';
import { eventually, kafka, readUntil, stack, uniqueId } from '../helpers/stack';

/**
 * Issue 6, item 1: the worker is SIGKILLed in each failback step that changes something
 * (connector create, offset PATCH, drain wait, group offset apply, forward resume), one
 * after the other in one failback run, and restarted each time. The worker runs as a
 * child process with the real activities on the real stack; it stops at an exact call
 * (child-worker-main.ts) and the test kills it there.
 *
 * Setup as test/integration/failback-e2e.test.ts (Identity, 50 records forward, 30 on B
 * during the DR period, the group consumed all 80 on B). The pass condition is that
 * run's end state: A holds each of the 80 records once, the group's offsets on A are its
 * position on B, the reverse flow is gone, the forward source resumes at A's end at
 * cutover; plus each reverse connector was created by exactly one POST, and every killed
 * activity shows attempt 2 in the history.
 *
 * Two child workers share the task queue: after each kill the other goes on and a
 * replacement starts. A killed worker's attempt stays "started" until its timeout: 30 s
 * of heartbeat for the drain (left to Temporal), a minute of start-to-close for the
 * destructive calls. Those the test fails through the async-completion API right after
 * the kill, as the timeout would (KDR_FAULTS_REAL_TIMEOUTS=1 waits for the real ones).
 */

const PARTITIONS = 2;
const FORWARD_RECORDS = 50;
const DR_RECORDS = 30;
const TOTAL = FORWARD_RECORDS + DR_RECORDS;
const REAL_TIMEOUTS = process.env.KDR_FAULTS_REAL_TIMEOUTS === '1';

describe('worker SIGKILLed in each failback step, then restarted', { timeout: 900_000 }, () => {
  const id = uniqueId();
  const topic = `wc-${id}`;
  const group = `wc-svc-${id}`;
  const forwardName = `wcf-${id}`;
  const reverseName = `wcr-${id}`;
  const forwardSource = `${forwardName}-source-main`;
  const reverseSource = `${reverseName}-source-failback`;
  const forwardConnectors = [forwardSource, `${forwardName}-checkpoint`, `${forwardName}-heartbeat`];
  const reverseConnectors = [reverseSource, `${reverseName}-checkpoint`, `${reverseName}-heartbeat`];
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
  const activities = createActivities(createDeps(stackRegistry(stack), 'test-worker-crash'));
  const connectA = new ConnectClient(stack.connect['connect-a'].url);
  const connectB = new ConnectClient(stack.connect['connect-b'].url);
  const kafkaA = kafka('A');
  const kafkaB = kafka('B');
  let adminA: Admin;
  let adminB: Admin;
  let proxyA: FaultProxy;
  let proxyB: FaultProxy;
  let connection: Connection;
  let client: Client;

  const ends = async (admin: Admin) =>
    (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition).map((o) => Number(o.high));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const seqOf = (v: Buffer | null) => Number(v!.toString().slice('seq='.length));
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
  /** Connect answers 409 while it rebalances: retry direct calls a while. */
  const retrying = async <T>(what: string, fn: () => Promise<T>): Promise<T> =>
    (await eventually(what, async () => ({ value: await fn() }), 60_000, 1000)).value;

  before(async () => {
    adminA = kafkaA.admin();
    adminB = kafkaB.admin();
    await Promise.all([adminA.connect(), adminB.connect()]);
    await adminA.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
    await adminB.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
    // Pass-through proxies: the child worker's Connect calls are logged, to count creations.
    proxyA = await FaultProxy.start(stack.connect['connect-a'].url);
    proxyB = await FaultProxy.start(stack.connect['connect-b'].url);
    connection = await Connection.connect({ address: stack.temporal.address });
    client = new Client({ connection, namespace: stack.temporal.namespace });
  });

  after(async () => {
    await ChildWorker.killAll();
    await Promise.all(forwardConnectors.map((n) => connectB.delete(n).catch(() => undefined)));
    await Promise.all(reverseConnectors.map((n) => connectA.delete(n).catch(() => undefined)));
    await adminA.deleteGroups([group]).catch(() => undefined);
    await adminB.deleteGroups([group]).catch(() => undefined);
    await adminA.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await adminB.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await Promise.all([adminA.disconnect(), adminB.disconnect()]);
    await proxyA?.close();
    await proxyB?.close();
    await connection?.close();
  });

  it('completes with the uninterrupted end state: A holds each record once, group and forward offsets exact, each connector created once', async (t) => {
    // The forward flow, the failover (simulated, as in failback-e2e) and the DR period.
    await retrying('the forward flow deployed', () => activities.deployMirrorFlow({ plan: forwardPlan }));
    await eventually(
      'the forward connectors RUNNING',
      async () => {
        const states = await Promise.all(
          forwardConnectors.map(async (n) => inState(await connectB.status(n), 'RUNNING', n.endsWith('-checkpoint'))),
        );
        return states.every(Boolean) ? true : undefined;
      },
      90_000,
    );
    await produce(kafkaA, 0, FORWARD_RECORDS);
    await eventually('B drained the forward records', async () => (sum(await ends(adminB)) === FORWARD_RECORDS ? true : undefined), 90_000);
    for (const n of forwardConnectors) await retrying(`${n} stopped`, () => connectB.stop(n));
    await eventually('the forward connectors STOPPED', async () => {
      const states = await Promise.all(forwardConnectors.map(async (n) => (await connectB.status(n)).connector.state));
      return states.every((s) => s === 'STOPPED') ? true : undefined;
    });
    const atFailover = await ends(adminB);
    const snapshot = { [topic]: Object.fromEntries(atFailover.map((o, p) => [String(p), String(o)])) };
    await produce(kafkaB, FORWARD_RECORDS, TOTAL);
    const consumedOnB = await ends(adminB);
    const consumerB = kafkaB.consumer({ groupId: group, maxWaitTimeInMs: 200 });
    await consumerB.connect();
    try {
      await consumerB.subscribe({ topic, fromBeginning: true });
      const seen = new Set<number>();
      await consumerB.run({ autoCommit: false, eachMessage: async ({ message }) => void seen.add(seqOf(message.value)) });
      await eventually('the group consumed the 80 records on B', async () => (seen.size === TOTAL ? true : undefined), 60_000, 200);
      await consumerB.commitOffsets(consumedOnB.map((o, partition) => ({ topic, partition, offset: String(o) })));
    } finally {
      await consumerB.disconnect();
    }

    // Where the worker dies, in runbook order. `after`: the side effect is done, its completion not reported.
    const kills: Array<{ step: string; point: PausePoint; orphan: 'fail' | 'heartbeat-timeout' }> = [
      // Mid-deploy: the first of the three reverse connectors exists, the other two do not.
      { step: 'deploy-reverse', point: { activity: 'deployMirrorFlow', call: 'connect.create', phase: 'after' }, orphan: 'fail' },
      {
        step: 'seed-reverse',
        point: { activity: 'alterConnectorOffsets', call: 'connect.alterOffsets', phase: 'after', argsContain: reverseSource },
        orphan: 'fail',
      },
      { step: 'translate-offsets', point: { activity: 'applyOffsetTranslation', call: 'kafka.commit', phase: 'after' }, orphan: 'fail' },
      // Mid-wait: after the drain's first poll (heartbeated), before its second.
      {
        step: 'drain',
        point: { activity: 'waitForDrain', call: 'connect.getOffsets', phase: 'before', nth: 2 },
        orphan: 'heartbeat-timeout',
      },
      {
        step: 'resume-forward',
        point: { activity: 'resumeConnector', call: 'connect.resume', phase: 'after', argsContain: forwardSource },
        orphan: 'fail',
      },
    ];
    const registry = stackRegistryDocument(stack);
    registry.connect['connect-a']!.url = proxyA.url;
    registry.connect['connect-b']!.url = proxyB.url;
    const taskQueue = `kafka-dr-faults-${id}`;
    // Every worker knows every point; a point used once is listed in `consumedFile`, so the
    // killed activity's retry on another worker runs through.
    const consumedFile = path.join(os.tmpdir(), `kafka-dr-faults-${id}.json`);
    const consumed: number[] = [];
    fs.writeFileSync(consumedFile, '[]');
    const startWorker = () => ChildWorker.start({ taskQueue, registry, pauseAt: kills.map((k) => k.point), consumedFile });

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
        'consumers-cutover': { deadline: '15 minutes' },
        'stop-producers': { deadline: '15 minutes' },
        'producers-cutover': { deadline: '15 minutes' },
      },
      lagThreshold: 0,
      catchUpTimeoutSeconds: 300,
      quietSeconds: 2,
    };
    // Two workers share the queue, as in production: when one is killed the other takes the
    // retry at once, and a replacement starts meanwhile (a restart without the wait).
    const workers = await Promise.all([startWorker(), startWorker()]);
    const replacements: Array<Promise<unknown>> = [];
    const handle = await client.workflow.start<typeof failback>('failback', {
      taskQueue,
      workflowId: `worker-crash-failback-${id}`,
      args: [input],
      workflowExecutionTimeout: '14 minutes',
    });
    const approver = autoApprove(handle, ['consumers-cutover', 'stop-producers', 'producers-cutover']);
    const timeline: string[] = [];
    const t0 = Date.now();
    try {
      for (const [i, kill] of kills.entries()) {
        const { worker, paused } = await nextPause(workers, consumed, 240_000);
        assert.equal(paused.point, i, `paused at ${JSON.stringify(paused)}, expected ${kill.step}`);
        assert.equal(paused.activity, kill.point.activity);
        consumed.push(i);
        fs.writeFileSync(consumedFile, JSON.stringify(consumed));
        await worker.kill();
        workers.splice(workers.indexOf(worker), 1);
        if (kill.orphan === 'fail' && !REAL_TIMEOUTS) {
          await failOrphanedAttempt(client, handle, kill.point.activity, `worker ${worker.pid} was SIGKILLed during ${kill.step} (test)`);
        }
        timeline.push(
          `${((Date.now() - t0) / 1000).toFixed(1)}s killed in ${kill.step} (${paused.call} ${paused.phase}, attempt ${paused.attempt})`,
        );
        replacements.push(startWorker().then((w) => workers.push(w)));
      }
      const report = (await handle.result()) as PlaybookReport<FailbackFigures>;
      timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${report.outcome}`);
      t.diagnostic(timeline.join('; '));
      assert.equal(report.outcome, 'completed', `${report.reason ?? ''} ${JSON.stringify(report.steps ?? report)}`);

      // Every killed activity was retried: attempt 2 ended it, after the kill's failure.
      const runs = await activityRuns(handle);
      for (const kill of kills) {
        const retried = runs.filter((r) => r.type === kill.point.activity && r.attempt >= 2);
        assert.ok(
          retried.length >= 1,
          `${kill.step}: ${kill.point.activity} retried after the kill: ${JSON.stringify(runs.filter((r) => r.type === kill.point.activity))}`,
        );
        assert.ok(retried.every((r) => r.outcome === 'completed'));
      }
      t.diagnostic(
        `retried: ${runs
          .filter((r) => r.attempt >= 2)
          .map((r) => `${r.type}#${r.attempt} after "${r.lastFailure}"`)
          .join('; ')}`,
      );

      // The uninterrupted run's end state (failback-e2e): each seq once on A.
      const onAEnds = await ends(adminA);
      assert.equal(sum(onAEnds), TOTAL, `A's end offsets ${onAEnds.join(',')}`);
      const onA = await readUntil(kafkaA, topic, (r) => r.length >= TOTAL);
      assert.deepEqual(
        onA.map((r) => seqOf(r.value)).sort((a, b) => a - b),
        [...Array(TOTAL).keys()],
        'each seq 0..79 exactly once on A',
      );
      assert.equal(sum(report.figures.seed.map((s) => Number(s.toCopy))), DR_RECORDS);

      // The group's offsets on A: its position on B.
      const [onAGroup] = await adminA.fetchOffsets({ groupId: group, topics: [topic] });
      assert.deepEqual(
        onAGroup!.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset)),
        consumedOnB,
      );
      t.diagnostic(
        `offsetsSet in the report: ${JSON.stringify(report.figures.offsetsSet)} (the retry after the kill finds them already set)`,
      );

      // Each reverse connector created by one POST, none refused as existing; all gone now.
      const creates = proxyA.requests({ method: 'POST', path: '/connectors' });
      // Exactly three 201s: Connect answers a create of an existing connector with 409, never 201.
      assert.equal(creates.filter((r) => r.status === 201).length, 3, `POST /connectors on connect-a: ${JSON.stringify(creates)}`);
      const onConnectA = await retrying('connect-a connectors', () => connectA.list());
      for (const n of reverseConnectors) assert.ok(!onConnectA.includes(n), `${n} deleted from connect-a`);

      // The forward source resumes at A's end at cutover; its connectors RUNNING.
      const cutover = report.figures.cutover.offsets[topic]!;
      assert.deepEqual(
        [...Array(PARTITIONS).keys()].map((p) => Number(cutover[String(p)])),
        onAEnds,
      );
      const committed = committedMirrorOffsets('A', await retrying('forward offsets', () => connectB.getOffsets(forwardSource)));
      assert.deepEqual(
        [...committed.values()]
          .filter((c) => c.topic === topic)
          .sort((a, b) => a.partition - b.partition)
          .map((c) => Number(c.offset)),
        onAEnds.map((e) => e - 1),
        'forward committed offsets = A end at cutover − 1',
      );
      for (const n of forwardConnectors) {
        const s = await retrying(`${n} status`, () => connectB.status(n));
        assert.ok(inState(s, 'RUNNING', n.endsWith('-checkpoint')), `${n} RUNNING: ${JSON.stringify(s)}`);
      }
      // Nothing replayed to B, and a new record on A is copied once.
      await produce(kafkaA, TOTAL, TOTAL + 1);
      const onB = await readUntil(kafkaB, topic, (r) => r.length >= TOTAL + 1);
      await new Promise((r) => setTimeout(r, 2_000));
      assert.equal(sum(await ends(adminB)), TOTAL + 1, 'B holds 81 records: no replay of the 30');
      assert.deepEqual(
        onB.map((r) => seqOf(r.value)).sort((a, b) => a - b),
        [...Array(TOTAL + 1).keys()],
      );
    } finally {
      await approver.stop();
      await Promise.allSettled(replacements);
      await Promise.all(workers.map((w) => w.stop()));
      fs.rmSync(consumedFile, { force: true });
    }
    await assertStackHealthy();
  });
});

type Paused = Extract<ChildEvent, { event: 'paused' }>;

/** The first pause, among the live workers, at a point not used yet. */
async function nextPause(workers: ChildWorker[], used: number[], timeoutMs: number): Promise<{ worker: ChildWorker; paused: Paused }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const worker of workers) {
      const paused = worker.events.find((e): e is Paused => e.event === 'paused' && !used.includes(e.point));
      if (paused) return { worker, paused };
    }
    if (Date.now() > deadline) {
      throw new Error(
        `no worker paused within ${timeoutMs} ms; stderr: ${workers.map((w) => w.stderrTail.slice(-5).join(' | ')).join(' || ')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
