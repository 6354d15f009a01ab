import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { CancelledFailure, defaultPayloadConverter, WorkflowFailedError, type Client } from '@temporalio/client';
import type { ActivityOptions } from '@temporalio/workflow';
import type { Admin } from 'kafkajs';
import type { ConnectorOffsetEntry, ConnectorReport } from '../../activities/connect';
import { ConnectClient, ConnectRestError } from '../../src/connect/client';
import { FailureType } from '../../src/failures';
import { mirrorSourceConfig, remoteTopicName } from '../../src/mm2/connector-configs';
import { resolveRegistry, stackRegistryDocument } from '../../src/registry/load';
import { connectErrorBody, FaultProxy } from '../helpers/fault-proxy';
import { mirrorFlowAtoB } from '../helpers/mirror-pair';
import { closedPort } from '../helpers/ports';
import { eventually, kafka, readUntil, REPO_ROOT, stack, uniqueId } from '../helpers/stack';
import { runActivity, startSuiteWorker, type ActivityOutcome } from '../helpers/worker';

/**
 * The Connect activities against the real connect-b and its real MM2 connectors,
 * run by a real Temporal worker, so retries and non-retries are Temporal's own.
 * Faults the real Connect will not produce on demand (409, 500, a hang) come from a
 * proxy in front of it; the 400s, 404s and the FAILED task are the real thing.
 */

type Ctx = { client: Client; taskQueue: string };

const QUICK: ActivityOptions = {
  startToCloseTimeout: '20s',
  retry: { maximumAttempts: 4, initialInterval: '200ms', backoffCoefficient: 1.5 },
};
const WAITING: ActivityOptions = { ...QUICK, startToCloseTimeout: '60s', heartbeatTimeout: '10s' };

const RECORDS = 20;
const STALE_CONFIG_409 = connectErrorBody(
  409,
  'Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)',
);

/**
 * Direct Connect calls made by the test itself (setup, cleanup) retry a 409: connect-b is
 * shared with suites that create connectors concurrently, and each one triggers a rebalance.
 */
async function past409<T>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ConnectRestError && err.status === 409) || Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

function assertFailed(outcome: ActivityOutcome<unknown>, type: string, attempts: number, message?: RegExp): void {
  assert.ok(outcome.failure, `expected a ${type} failure, got result ${JSON.stringify(outcome.result)}`);
  assert.equal(outcome.failure.type, type, outcome.failure.message);
  assert.equal(outcome.attempts, attempts, `attempts for ${type}: ${outcome.failure.message}`);
  if (message) assert.match(outcome.failure.message, message);
}

describe('Connect activities on the real connect-b', { timeout: 150_000 }, () => {
  const id = uniqueId();
  const topic = `h1-offsets-${id}`;
  const failTopic = `h1-fail-${id}`;
  const mm2 = `h1-offsets-${id}`;
  // An MM2 source whose allowlist matches no topic: copies none of this test's records (at
  // most A's `heartbeats`, which MM2 always mirrors once another suite has created it).
  const scratch = `h1-scratch-${id}`;
  const failing = `h1-failing-${id}`;
  const doomed = `h1-delete-${id}`;
  const flow = (name: string, topics: string[]) => mirrorFlowAtoB(name, topics, []);
  const connectB = new ConnectClient(stack.connect['connect-b'].url);
  const kafkaA = kafka('A');
  const kafkaB = kafka('B');
  let adminA: Admin;
  let adminB: Admin;
  let proxy: FaultProxy;
  let ctx: Ctx;
  let stopWorker: (() => Promise<void>) | undefined;

  const run = <T>(name: string, input: unknown, options: ActivityOptions = QUICK) => runActivity<T>(ctx, name, [input], options);

  /**
   * Runs an activity against connect-b through the proxy and counts Connect's 409s. Any
   * request Connect routes through its herder answers 409 while the group rebalances, and
   * other suites create connectors on connect-b concurrently: a real 409 may end an attempt
   * before the answer under test. Each 409 ends exactly one attempt, and so does a 5xx or a
   * request Connect did not answer (a loaded machine); a non-retried answer therefore means
   * attempts === 1 + those (1 on a quiet cluster).
   */
  const runCounted = async <T>(name: string, input: Record<string, unknown>, options: ActivityOptions = QUICK) => {
    const from = proxy.log.length;
    const outcome = await run<T>(name, { ...input, connect: 'connect-b-faulty' }, options);
    const conflicts = proxy.log.slice(from).filter((r) => r.status === 409 || r.status === 0 || r.status >= 500).length;
    return { outcome, conflicts, expectedAttempts: 1 + conflicts };
  };

  before(async () => {
    adminA = kafkaA.admin();
    adminB = kafkaB.admin();
    await Promise.all([adminA.connect(), adminB.connect()]);
    await adminA.createTopics({
      topics: [
        { topic, numPartitions: 1, replicationFactor: 1 },
        { topic: failTopic, numPartitions: 1, replicationFactor: 1 },
      ],
      waitForLeaders: true,
    });
    const producer = kafkaA.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: Array.from({ length: RECORDS }, (_, i) => ({ value: `seq=${i}` })) });
    await producer.disconnect();

    proxy = await FaultProxy.start(stack.connect['connect-b'].url);
    const doc = stackRegistryDocument(stack);
    doc.connect['connect-b-faulty'] = { url: proxy.url, writesTo: 'B', requestTimeoutMs: 10_000 };
    doc.connect['connect-b-slow'] = { url: proxy.url, writesTo: 'B', requestTimeoutMs: 300 };
    doc.connect['connect-b-down'] = { url: `http://127.0.0.1:${await closedPort()}`, writesTo: 'B', requestTimeoutMs: 2_000 };
    const registry = resolveRegistry(doc, 'connect-activities test', {}, REPO_ROOT);

    await past409(() => connectB.create(mm2, mirrorSourceConfig(flow(mm2, [topic])), 'STOPPED'));
    await past409(() => connectB.create(scratch, mirrorSourceConfig(flow(scratch, [`h1-no-such-topic-${id}`])), 'RUNNING'));
    await past409(() => connectB.create(doomed, mirrorSourceConfig(flow(doomed, [`h1-no-such-topic-${id}`])), 'STOPPED'));
    ({ ctx, stop: stopWorker } = await startSuiteWorker({ registry }));
  });

  after(async () => {
    for (const name of [mm2, scratch, failing, doomed]) {
      await past409(() => connectB.delete(name)).catch((err: unknown) =>
        console.error(`cleanup: connector ${name} left on connect-b: ${String(err)}`),
      );
    }
    await stopWorker?.();
    await proxy?.close();
    await adminA?.deleteTopics({ topics: [topic, failTopic] }).catch(() => undefined);
    await adminB
      ?.deleteTopics({ topics: [remoteTopicName('default', 'A', topic), remoteTopicName('default', 'A', failTopic)] })
      .catch(() => undefined);
    await Promise.all([adminA?.disconnect(), adminB?.disconnect()]);
  });

  it('refuses offsets MM2 would mishandle before Connect sees them (MM2 itself answers 500 to a partition without `cluster`)', async () => {
    const stopped = await run<ConnectorReport>(
      'waitForConnectorState',
      { connect: 'connect-b', connector: mm2, state: 'STOPPED', pollMs: 250 },
      WAITING,
    );
    assert.equal(stopped.result?.state, 'STOPPED');

    // Pinned fact (Kafka 4.1.1): MM2's offset validation throws a ConnectException, which
    // Connect answers with 500, a status our classification retries. Hence the checks below.
    const answer = await eventually('an answer other than 409 to a PATCH without `cluster`', async () => {
      try {
        await connectB.alterOffsets(mm2, [{ partition: { topic, partition: 0 }, offset: { offset: 5 } }]);
        return 'accepted';
      } catch (err) {
        return err instanceof ConnectRestError && err.status === 409 ? undefined : err;
      }
    });
    assert.ok(answer instanceof ConnectRestError, `MM2 accepted or failed otherwise: ${String(answer)}`);
    assert.equal(answer.status, 500);
    assert.match(answer.connectMessage, /Source partition \{.*\} is missing the 'cluster' key, which is required/);

    const alter = (offsets: unknown) => run('alterConnectorOffsets', { connect: 'connect-b', connector: mm2, offsets });
    assertFailed(
      await alter([{ partition: { topic, partition: 0 }, offset: '5' }]),
      FailureType.InvalidInput,
      1,
      /offsets\.0\.partition\.cluster/,
    );
    assertFailed(
      await alter([{ partition: { cluster: 'A', topic, partition: 0 }, offset: '-1' }]),
      FailureType.InvalidInput,
      1,
      /offsets\.0\.offset/,
    );
    assertFailed(
      await alter([{ partition: { cluster: 'A', topic, partition: 0 }, offset: '9007199254740993' }]),
      FailureType.InvalidInput,
      1,
      /above 2\^53/,
    );
    // MM2 would store this one (200) and never read it: its tasks only read their source alias.
    const foreign = await runCounted('alterConnectorOffsets', {
      connector: mm2,
      offsets: [{ partition: { cluster: 'Z', topic, partition: 0 }, offset: '5' }],
    });
    assertFailed(foreign.outcome, FailureType.InvalidInput, foreign.expectedAttempts, /'Z' is not the source alias 'A'/);
    const offsets = await run<ConnectorOffsetEntry[]>('getConnectorOffsets', { connect: 'connect-b', connector: mm2 });
    assert.deepEqual(offsets.result, [], 'nothing was stored by the refused requests');
  });

  it('alter an MM2 source offset via PATCH on a stopped connector and see replication resume exactly at offset+1', async () => {
    const ref = { connect: 'connect-b', connector: mm2 };
    const altered = await run<{ altered: number; message: string }>('alterConnectorOffsets', {
      ...ref,
      offsets: [{ partition: { cluster: 'A', topic, partition: 0 }, offset: '9' }],
    });
    assert.equal(altered.failure, undefined, altered.failure?.message);
    assert.equal(altered.result?.altered, 1);
    assert.match(altered.result?.message ?? '', /altered successfully/);

    const read = await run<ConnectorOffsetEntry[]>('getConnectorOffsets', ref);
    assert.deepEqual(read.result, [{ partition: { cluster: 'A', topic, partition: 0 }, offset: '9' }]);

    assert.equal((await run('resumeConnector', ref)).failure, undefined);
    const running = await run<ConnectorReport>('waitForConnectorState', { ...ref, state: 'RUNNING', pollMs: 250 }, WAITING);
    assert.equal(running.failure, undefined, running.failure?.message);
    assert.equal(running.result?.state, 'RUNNING');
    assert.deepEqual(
      running.result?.tasks.map((t) => t.state),
      ['RUNNING'],
    );

    const mirrored = remoteTopicName('default', 'A', topic);
    const records = await readUntil(kafkaB, mirrored, (r) => r.length >= RECORDS - 10, 60_000);
    // Committed 19 = the last source record is acknowledged by B; after that, B's end offset
    // says whether anything beyond the 10 expected records was written.
    // Looked up by partition, not by position: MM2 always mirrors A's `heartbeats` too, and
    // once another suite's reverse flow has created it on A, its offsets join this list.
    await eventually('MM2 to commit upstream offset 19', async () => {
      const o = await connectB.getOffsets(mm2);
      const ours = o.find((e) => e.partition.topic === topic && e.partition.partition === 0);
      return ours?.offset?.offset === 19 ? true : undefined;
    });
    const [end] = await adminB.fetchTopicOffsets(mirrored);
    assert.equal(end?.high, '10', 'exactly 10 records on B: seq=10..19, nothing before offset+1');
    const values = records.map((r) => r.value?.toString());
    assert.deepEqual(
      values,
      Array.from({ length: 10 }, (_, i) => `seq=${i + 10}`),
    );
  });

  it('refuses to alter or reset offsets of a RUNNING connector: PreconditionFailed, one attempt, no write sent', async () => {
    const ref = { connect: 'connect-b-faulty', connector: mm2 };
    const alter = await run('alterConnectorOffsets', {
      ...ref,
      offsets: [{ partition: { cluster: 'A', topic, partition: 0 }, offset: '0' }],
    });
    assertFailed(alter, FailureType.PreconditionFailed, 1, /is RUNNING.*stop it first/);
    assert.equal(alter.failure?.nonRetryable, true);
    const reset = await run('resetConnectorOffsets', ref);
    assertFailed(reset, FailureType.PreconditionFailed, 1, /stop it first/);
    assert.deepEqual(proxy.requests({ path: `/connectors/${mm2}/offsets` }), [], 'neither PATCH nor DELETE reached Connect');
    // Repeating resume on a RUNNING connector is harmless.
    assert.equal((await run('resumeConnector', { connect: 'connect-b', connector: mm2 })).failure, undefined);
  });

  it('a 409 from Connect during a rebalance is retried', async () => {
    const pausePath = `/connectors/${scratch}/pause`;
    proxy.failNext(2, 409, STALE_CONFIG_409, { method: 'PUT', path: pausePath });
    const { outcome: paused, expectedAttempts } = await runCounted('pauseConnector', { connector: scratch });
    assert.equal(paused.failure, undefined, paused.failure?.message);
    // 3 = two injected 409s + the real 202 (more only if the real Connect also answered 409).
    assert.equal(paused.attempts, expectedAttempts);
    assert.ok(paused.attempts >= 3);
    const answers = proxy.requests({ path: pausePath }).map((r) => `${r.status} ${r.by}`);
    assert.deepEqual(answers.slice(0, 2), ['409 injected', '409 injected']);
    assert.equal(answers.at(-1), '202 forwarded');
    const state = await run<ConnectorReport>(
      'waitForConnectorState',
      { connect: 'connect-b', connector: scratch, state: 'PAUSED', allowNoTasks: true, pollMs: 250 },
      WAITING,
    );
    assert.equal(state.result?.state, 'PAUSED');
    assert.equal((await connectB.status(scratch)).connector.state, 'PAUSED', 'really paused on connect-b');
    // Pausing a paused connector is fine.
    assert.equal((await run('pauseConnector', { connect: 'connect-b', connector: scratch })).failure, undefined);
  });

  it('a 400 is not retried', async () => {
    // A status read that lags the target state (the check passes, then Connect refuses):
    // the proxy answers the one status read; the PATCH itself goes to the real Connect.
    const statusPath = `/connectors/${scratch}/status`;
    const stale = { name: scratch, connector: { state: 'STOPPED', worker_id: 'w' }, tasks: [], type: 'source' };
    proxy.failNext(1, 200, stale, { method: 'GET', path: statusPath });
    const { outcome: raced, expectedAttempts } = await runCounted('alterConnectorOffsets', {
      connector: scratch,
      offsets: [{ partition: { cluster: 'A', topic: 'x', partition: 0 }, offset: '1' }],
    });
    assertFailed(
      raced,
      FailureType.ConnectRejected,
      expectedAttempts,
      /HTTP 400: Connectors must be in the STOPPED state before their offsets can be modified/,
    );
    assert.equal(raced.failure?.nonRetryable, true);
    assert.deepEqual(
      proxy.requests({ method: 'PATCH', path: `/connectors/${scratch}/offsets` }).map((r) => `${r.status} ${r.by}`),
      ['400 forwarded'],
      'the real Connect answered 400, once',
    );

    // Stopping twice is fine; then an empty alter request is Connect's own 400.
    for (let i = 0; i < 2; i++) assert.equal((await run('stopConnector', { connect: 'connect-b', connector: scratch })).failure, undefined);
    const stopped = await run<ConnectorReport>(
      'waitForConnectorState',
      { connect: 'connect-b', connector: scratch, state: 'STOPPED', pollMs: 250 },
      WAITING,
    );
    assert.equal(stopped.result?.state, 'STOPPED');
    const counted = await runCounted('alterConnectorOffsets', { connector: scratch, offsets: [] });
    const empty = counted.outcome;
    assertFailed(
      empty,
      FailureType.ConnectRejected,
      counted.expectedAttempts,
      /HTTP 400: Partitions \/ offsets need to be provided for an alter offsets request/,
    );
    assert.equal(empty.failure?.nonRetryable, true);
    assert.match(empty.failure?.message ?? '', /^connect-b-faulty: PATCH/, 'names the Connect cluster, not its URL');
    assert.ok(!empty.failure?.message.includes(proxy.url));

    const reset = await run<{ message: string }>('resetConnectorOffsets', { connect: 'connect-b', connector: scratch });
    assert.match(reset.result?.message ?? '', /reset successfully/);
  });

  it('a 404 for an unknown connector is ConnectorNotFound, and an unknown Connect cluster UnknownCluster: one attempt each', async () => {
    const unknown = `h1-no-such-connector-${id}`;
    for (const name of ['connectorStatus', 'pauseConnector', 'getConnectorOffsets']) {
      const { outcome, expectedAttempts } = await runCounted(name, { connector: unknown });
      assertFailed(outcome, FailureType.ConnectorNotFound, expectedAttempts, new RegExp(`HTTP 404: .*${unknown}`));
      assert.equal(outcome.failure?.nonRetryable, true);
    }
    // waitForConnectorState tolerates a 404 only while the config exists (a brand-new connector).
    const waited = await runCounted('waitForConnectorState', { connector: unknown, state: 'RUNNING' }, WAITING);
    assertFailed(waited.outcome, FailureType.ConnectorNotFound, waited.expectedAttempts);
    assertFailed(
      await run('connectorStatus', { connect: 'connect-z', connector: mm2 }),
      FailureType.UnknownCluster,
      1,
      /connect-z.*connect-b-faulty/,
    );
    assertFailed(await run('connectorStatus', { connect: 'connect-b' }), FailureType.InvalidInput, 1, /connector: /);
  });

  it('a 500 on every attempt is ConnectUnavailable after exactly maximumAttempts', async () => {
    const statusPath = `/connectors/${scratch}/status`;
    const before = proxy.requests({ path: statusPath }).length;
    proxy.alwaysFail(500, connectErrorBody(500, 'Request timed out'), { path: statusPath });
    try {
      const outcome = await run('connectorStatus', { connect: 'connect-b-faulty', connector: scratch });
      assertFailed(outcome, FailureType.ConnectUnavailable, 4, /HTTP 500: Request timed out/);
      assert.equal(outcome.failure?.nonRetryable, false);
      assert.equal(proxy.requests({ path: statusPath }).length - before, 4, 'one request per attempt, no hidden retry layer');
    } finally {
      proxy.reset();
    }
  });

  it('a request timeout is retried, then ConnectUnavailable', async () => {
    const statusPath = `/connectors/${scratch}/status`;
    proxy.delay(3_000, { path: statusPath });
    try {
      const started = Date.now();
      const outcome = await run('connectorStatus', { connect: 'connect-b-slow', connector: scratch });
      assertFailed(outcome, FailureType.ConnectUnavailable, 4, /no response/);
      // Four 300 ms client timeouts plus backoff, far below the proxy's 3 s delay per request.
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    } finally {
      proxy.reset();
    }
  });

  it('connection refused is retried, then ConnectUnavailable', async () => {
    const outcome = await run('connectorStatus', { connect: 'connect-b-down', connector: scratch });
    assertFailed(outcome, FailureType.ConnectUnavailable, 4, /ECONNREFUSED/);
    assert.equal(outcome.failure?.nonRetryable, false);
  });

  it('waitForConnectorState heartbeats the state it sees, and stops polling when cancelled', async () => {
    // `doomed` is STOPPED with no tasks: waiting for RUNNING never ends by itself.
    // Through the proxy, whose log shows whether the activity still polls after the cancel.
    const statusPath = `/connectors/${doomed}/status`;
    const polls = () => proxy.requests({ path: statusPath }).length;
    const options: ActivityOptions = { ...WAITING, heartbeatTimeout: '2s' };
    const handle = await ctx.client.workflow.start('runActivity', {
      taskQueue: ctx.taskQueue,
      workflowId: `h1-wait-heartbeat-${uniqueId()}`,
      args: ['waitForConnectorState', [{ connect: 'connect-b-faulty', connector: doomed, state: 'RUNNING', pollMs: 200 }], options],
    });
    try {
      const details = await eventually(
        'a heartbeat from waitForConnectorState',
        async () => {
          const payloads = (await handle.describe()).raw.pendingActivities?.[0]?.heartbeatDetails?.payloads;
          return payloads?.length ? defaultPayloadConverter.fromPayload<unknown>(payloads[0]!) : undefined;
        },
        15_000,
        250,
      );
      assert.deepEqual(details, { state: 'STOPPED', tasks: [] });
      await handle.cancel();
      await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure);
      // The cancel reaches the activity with its next (throttled) heartbeat; Context.sleep then throws.
      await eventually(
        'the cancelled activity to stop polling Connect',
        async () => {
          const seen = polls();
          await sleep(1_000);
          return polls() === seen ? true : undefined;
        },
        10_000,
        0,
      );
    } finally {
      await handle.terminate().catch(() => undefined);
    }
  });

  it('deleteConnector twice: deleted, then absent', async () => {
    const ref = { connect: 'connect-b', connector: doomed };
    assert.equal((await run<string>('deleteConnector', ref)).result, 'deleted');
    assert.equal((await run<string>('deleteConnector', ref)).result, 'absent');
    assert.equal(await past409(() => connectB.getConfig(doomed)), undefined, 'gone from connect-b');
  });

  it('waitForConnectorState reports ConnectorFailed, with the first trace line, for a task that really fails', async () => {
    // The task's consumer gets an invalid setting: the connector itself starts (it only uses
    // admin clients), the task's KafkaConsumer constructor throws, and Connect marks it FAILED.
    const config = { ...mirrorSourceConfig(flow(failing, [failTopic])), 'source.consumer.auto.offset.reset': 'bogus' };
    await past409(() => connectB.putConfig(failing, config));
    const ref = { connect: 'connect-b', connector: failing };
    const { outcome, expectedAttempts } = await runCounted(
      'waitForConnectorState',
      { connector: failing, state: 'RUNNING', pollMs: 250 },
      WAITING,
    );
    assertFailed(
      outcome,
      FailureType.ConnectorFailed,
      expectedAttempts,
      /task 0 of connector h1-failing-.* on connect-b-faulty is FAILED: org\.apache\.kafka\.common\.config\.ConfigException: Invalid value bogus for configuration auto\.offset\.reset/,
    );
    assert.equal(outcome.failure?.nonRetryable, true);
    assert.ok(!outcome.failure?.message.includes('\n\tat '), 'only the first line of the Java trace');

    const status = await run<ConnectorReport>('connectorStatus', ref);
    assert.equal(status.result?.state, 'RUNNING');
    assert.equal(status.result?.tasks[0]?.state, 'FAILED');
    assert.match(status.result?.tasks[0]?.trace ?? '', /^org\.apache\.kafka\.common\.config\.ConfigException: [^\n]+$/);

    // The real Connect accepts the restart (the task fails again: its config is still wrong).
    const restart = await run('restartConnector', { ...ref, includeTasks: true, onlyFailed: true });
    assert.equal(restart.failure, undefined, restart.failure?.message);

    // Stopping is how a FAILED connector is taken out of service: waiting for STOPPED succeeds.
    assert.equal((await run('stopConnector', ref)).failure, undefined);
    const stopped = await run<ConnectorReport>('waitForConnectorState', { ...ref, state: 'STOPPED', pollMs: 250 }, WAITING);
    assert.equal(stopped.failure, undefined, stopped.failure?.message);
    assert.deepEqual(stopped.result?.tasks, []);
  });
});
