import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/client';
import type { ActivityOptions } from '@temporalio/workflow';
import type { Admin } from 'kafkajs';
import type { DrainResult, ReplicationLagInput, WaitForDrainInput } from '../../activities/lag';
import { createDeps } from '../../activities';
import { ConnectClient, ConnectRestError, inState, type ConnectorOffset } from '../../src/connect/client';
import { FailureType } from '../../src/failures';
import { stackRegistry } from '../../src/registry/load';
import { mirrorConnectors, remoteTopicName } from '../../src/mm2/connector-configs';
import type { DrainProgress, LagReport } from '../../src/offsets/lag';
import { eventually, stack, uniqueId } from '../helpers/stack';
import { mirrorFlowAtoB, useMirrorPair } from '../helpers/mirror-pair';
import { runActivity, startSuiteWorker, withWorker, type SuiteWorker } from '../helpers/worker';

/**
 * Replication lag and the drain wait against the real MirrorSourceConnector on
 * connect-b: lag from Connect's offsets API and A's end offsets, proven against what
 * actually landed on B, with a stopped connector as the negative control.
 */

const PARTITIONS = 3;
const RECORDS = 2000;
const MORE = 50;

/** connect-b, except that one chosen offsets read fails like a restarting worker (HTTP 503). */
class FlakyConnect extends ConnectClient {
  calls = 0;
  constructor(
    url: string,
    private readonly failOnCall: number,
    private readonly failStatus = 503,
  ) {
    super(url);
  }
  override async getOffsets(name: string): Promise<ConnectorOffset[]> {
    if (++this.calls === this.failOnCall) {
      throw new ConnectRestError(
        this.failStatus,
        this.failStatus === 404 ? `Connector ${name} not found` : 'injected: worker restarting',
        `GET /connectors/${name}/offsets`,
      );
    }
    return super.getOffsets(name);
  }
}

const sum = (xs: Array<string | null>) => xs.reduce((a, x) => a + BigInt(x ?? '0'), 0n);

describe('replication lag and drain on the real MM2 A→B', { timeout: 150_000 }, () => {
  const id = uniqueId();
  const topic = `drain-${id}`;
  const mirrored = remoteTopicName('default', 'A', topic);
  const flow = mirrorFlowAtoB(`drain-${id}`, [topic], []);
  // Lag needs only the MirrorSourceConnector; the other two would only cost CPU here.
  const sourceName = `${flow.name}-source`;
  const sourceConfig = mirrorConnectors(flow)[sourceName]!;
  const pair = useMirrorPair('lag-drain', { topics: [{ topic, partitions: PARTITIONS }] });
  pair.leaves({ connectors: { 'connect-b': [sourceName] }, topics: { B: [mirrored] } });
  const { kafkaA, adminA, adminB, connectB: connect } = pair;
  let worker: SuiteWorker;
  const lagInput: ReplicationLagInput = { connect: 'connect-b', connectors: [sourceName], source: 'A', topics: [topic] };
  const drainInput: WaitForDrainInput = { ...lagInput, consecutiveZeroPolls: 3, pollMs: 1000 };
  const drainOptions: ActivityOptions = { startToCloseTimeout: '2m', heartbeatTimeout: '10s', retry: { maximumAttempts: 2 } };
  let stoppedCommitted: Array<string | null> = [];

  const produce = async (count: number, offset: number) => {
    const producer = kafkaA.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      for (let i = 0; i < count; i += 500) {
        const messages = [];
        for (let j = i; j < Math.min(count, i + 500); j++) messages.push({ key: `k-${offset + j}`, value: `seq=${offset + j}` });
        await producer.send({ topic, acks: -1, messages });
      }
    } finally {
      await producer.disconnect();
    }
  };
  const records = async (admin: Admin, t: string) =>
    (await admin.fetchTopicOffsets(t)).reduce((a, o) => a + Number(o.high) - Number(o.low), 0);
  const lag = async () => {
    const out = await runActivity<LagReport>(worker.ctx, 'replicationLag', [lagInput], {
      startToCloseTimeout: '30s',
      retry: { maximumAttempts: 2 },
    });
    assert.equal(out.failure, undefined, out.failure?.message);
    return out.result!;
  };
  const connectorIn = (state: 'RUNNING' | 'STOPPED') =>
    eventually(
      `${sourceName} ${state}`,
      async () => (inState(await connect.status(sourceName), state, state === 'STOPPED') ? true : undefined),
      60_000,
    );

  before(async () => {
    await connect.putConfig(sourceName, sourceConfig);
    worker = await startSuiteWorker();
    pair.onCleanup(() => worker.stop());
    await connectorIn('RUNNING');
  });

  it('waitForDrain returns once 2,000 records are replicated; lag is then 0 everywhere and B holds every record', async () => {
    await produce(RECORDS, 0);
    const out = await runActivity<DrainResult>(worker.ctx, 'waitForDrain', [drainInput], drainOptions);
    assert.equal(out.failure, undefined, out.failure?.message);
    const drained = out.result!;
    assert.equal(drained.consecutiveZero, 3);
    assert.ok(drained.polls >= 3);
    assert.deepEqual([drained.total, drained.maxLag, drained.report.drained], ['0', '0', true]);

    const report = await lag();
    assert.equal(report.partitions.length, PARTITIONS);
    for (const p of report.partitions) {
      assert.deepEqual([p.topic, p.lag, p.state], [topic, '0', 'caught-up'], `partition ${p.partition}`);
      assert.equal(BigInt(p.committed!) + 1n, BigInt(p.end!), 'committed is the last offset');
    }
    assert.equal(report.total, '0');
    assert.equal(sum(report.partitions.map((p) => p.end)), BigInt(RECORDS), 'every partition of A measured');
    // The drain signal is about B: everything A has is there, no more, no less.
    assert.equal(await records(adminA, topic), RECORDS);
    assert.equal(await records(adminB, mirrored), RECORDS);
  });

  it('with the source connector stopped, 50 new records show as lag 50 (committed offsets frozen)', async () => {
    const beforeStop = await lag();
    await connect.stop(sourceName);
    await connectorIn('STOPPED');
    await produce(MORE, RECORDS);
    const report = await lag();
    assert.equal(report.total, String(MORE));
    assert.equal(report.drained, false);
    assert.ok(report.partitions.some((p) => p.state === 'behind'));
    assert.deepEqual(
      report.partitions.map((p) => p.committed),
      beforeStop.partitions.map((p) => p.committed),
      'MM2 committed nothing while stopped',
    );
    stoppedCommitted = report.partitions.map((p) => p.committed);
    assert.equal(await records(adminB, mirrored), RECORDS, 'and B really lacks the 50');
  });

  it('waitForDrain keeps waiting while lag is not 0, shows it in its heartbeat, and stops when cancelled', async () => {
    assert.equal(stoppedCommitted.length, PARTITIONS, 'needs the stopped connector of the previous test');
    const handle = await worker.ctx.client.workflow.start('runActivity', {
      taskQueue: worker.ctx.taskQueue,
      workflowId: `drain-cancel-${id}`,
      // A short heartbeat timeout so the SDK sends details often (it throttles to 80% of it);
      // waiting for the cancellation to complete puts the activity's own answer in the history.
      args: ['waitForDrain', [drainInput], { ...drainOptions, heartbeatTimeout: '3s', cancellationType: 'WAIT_CANCELLATION_COMPLETED' }],
    });
    const details = await eventually(
      'waitForDrain heartbeat details with the lag',
      async () => {
        const d = await handle.describe();
        const payload = d.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
        if (!payload) return undefined;
        const progress = defaultPayloadConverter.fromPayload<DrainProgress>(payload);
        return progress.polls >= 3 ? progress : undefined;
      },
      30_000,
    );
    assert.equal(details.total, String(MORE));
    assert.equal(details.consecutiveZero, 0);
    assert.equal(sum(details.nonZero.map((p) => p.lag)), BigInt(MORE), 'nonZero lists every lagging partition with its lag');

    await handle.cancel();
    await assert.rejects(handle.result());
    const history = await handle.fetchHistory();
    assert.ok(
      history.events?.some((e) => e.activityTaskCanceledEventAttributes),
      'the activity reported itself cancelled (not failed, not timed out)',
    );
  });

  it('after the connector resumes, waitForDrain returns and B holds all 2,050 records', async () => {
    const running = runActivity<DrainResult>(worker.ctx, 'waitForDrain', [drainInput], drainOptions);
    await connect.resume(sourceName);
    const out = await running;
    assert.equal(out.failure, undefined, out.failure?.message);
    assert.equal(out.result!.report.drained, true);
    const report = await lag();
    assert.equal(report.total, '0');
    assert.notDeepEqual(
      report.partitions.map((p) => p.committed),
      stoppedCommitted,
      'the committed offsets moved once the connector ran again',
    );
    assert.equal(await records(adminA, topic), RECORDS + MORE);
    assert.equal(await records(adminB, mirrored), RECORDS + MORE);
  });

  /** waitForDrain on a worker of its own whose connect-b is `flaky`; up to three attempts. */
  const drainThrough = (flaky: FlakyConnect) => {
    const base = createDeps(stackRegistry(stack), 'flaky-connect-worker');
    const deps = { ...base, connect: (name: string) => (name === 'connect-b' ? flaky : base.connect(name)) };
    return withWorker(
      (ctx) =>
        runActivity<DrainResult>(ctx, 'waitForDrain', [drainInput], {
          startToCloseTimeout: '1m',
          heartbeatTimeout: '3s',
          retry: { initialInterval: '200ms', maximumAttempts: 3 },
        }),
      { deps },
    );
  };

  it('after a failed attempt, waitForDrain resumes its poll count from the heartbeat and demands fresh zero polls', async () => {
    // Polls 1 and 2 are zero, poll 3 fails (retryable). Had the retry kept consecutiveZero=2,
    // it would return after one poll; it must take three.
    const flaky = new FlakyConnect(stack.connect['connect-b'].url, 3);
    const out = await drainThrough(flaky);
    assert.equal(out.failure, undefined, out.failure?.message);
    assert.equal(out.attempts, 2, 'one failed attempt, then the one that returned');
    const r = out.result!;
    assert.ok((r.resumedFromPolls ?? 0) >= 1, `resumed from the heartbeat (resumedFromPolls=${r.resumedFromPolls})`);
    assert.equal(r.polls - r.resumedFromPolls!, 3, 'three fresh zero polls in the second attempt');
    assert.equal(r.consecutiveZero, 3);
    assert.equal(flaky.calls, 2 + 1 + 3);
  });

  it('a 404 for a connector the drain already read (a Connect worker starting) is retried; on the first read it is ConnectorNotFound', async () => {
    const run = (failOnCall: number) => drainThrough(new FlakyConnect(stack.connect['connect-b'].url, failOnCall, 404));
    const later = await run(2);
    assert.equal(later.failure, undefined, later.failure?.message);
    assert.equal(later.attempts, 2, 'the 404 ended one attempt, the retry drained');
    const first = await run(1);
    assert.equal(first.failure?.type, FailureType.ConnectorNotFound, first.failure?.message);
    assert.equal(first.attempts, 1, 'not retried: nothing says the connector ever existed');
  });
});
