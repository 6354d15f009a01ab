import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { ActivityOptions } from '@temporalio/workflow';
import type { DeployMirrorFlowResult } from '../../activities/mm2';
import type { DeleteTopicResult } from '../../activities/topics';
import { ConnectRestError } from '../../src/connect/client';
import { mirrorSourceConfig } from '../../src/mm2/connector-configs';
import { committedMirrorOffsets } from '../../src/offsets/lag';
import { stackRegistryDocument } from '../../src/registry/load';
import { ChildWorker, type PausePoint } from '../helpers/child-worker';
import { FaultProxy } from '../helpers/fault-proxy';
import { assertStackHealthy } from '../helpers/faults';
import { rawPlan } from '../helpers/inputs';
import { mirrorFlowAtoB, useMirrorPair } from '../helpers/mirror-pair';
import { eventually, stack, uniqueId } from '../helpers/stack';
import { runActivity, type ActivityOutcome } from '../helpers/worker';

/**
 * Issue 6, item 2: an activity's side effect happens, then the worker dies before it
 * reports completion. Five activities run at once in a child worker that stops right
 * after each side effect (a connector created, offsets PATCHed, a connector deleted or
 * stopped, a topic deleted); the test SIGKILLs it and starts another. Temporal times
 * each attempt out (start-to-close 15 s here) and retries it: the retry finds the state
 * already right, completes without an error, and changes nothing more.
 */

// Short start-to-close so Temporal's own timeout, not the test, notices the dead worker.
const OPTIONS: ActivityOptions = {
  startToCloseTimeout: '15s',
  retry: { maximumAttempts: 3, initialInterval: '1s', backoffCoefficient: 1 },
};

describe('crash after the side effect, before completion is reported', { timeout: 300_000 }, () => {
  const id = uniqueId();
  const topic = `cae-${id}`;
  const mirrorToDelete = `A.cae-del-${id}`;
  const flowName = `cae-dep-${id}`;
  const altered = `cae-alt-${id}`;
  const doomed = `cae-del-${id}`;
  const running = `cae-stop-${id}`;
  const deployed = [`${flowName}-source-main`, `${flowName}-checkpoint`, `${flowName}-heartbeat`];
  const flow = (name: string, topics: string[]) => mirrorFlowAtoB(name, topics, []);
  const pair = useMirrorPair('crash-after-effect', {
    topics: [
      { topic, partitions: 1 },
      { topic: mirrorToDelete, partitions: 1, on: ['B'] },
    ],
    connectors: { 'connect-b': [altered, doomed, running, ...deployed] },
  });
  const { connectB, adminB } = pair;
  let proxy: FaultProxy;
  let connection: Connection;
  let client: Client;

  /** Direct Connect calls of the test itself retry a rebalance's 409. */
  const past409 = async <T>(fn: () => Promise<T>): Promise<T> =>
    (await eventually('Connect past a rebalance', async () => ({ value: await fn() }), 60_000, 500)).value;

  before(async () => {
    await past409(() => connectB.create(altered, mirrorSourceConfig(flow(altered, [topic])), 'STOPPED'));
    await past409(() => connectB.create(doomed, mirrorSourceConfig(flow(doomed, [`cae-none-${id}`])), 'STOPPED'));
    await past409(() => connectB.create(running, mirrorSourceConfig(flow(running, [`cae-none-${id}`])), 'RUNNING'));
    proxy = await FaultProxy.start(stack.connect['connect-b'].url);
    connection = await Connection.connect({ address: stack.temporal.address });
    client = new Client({ connection, namespace: stack.temporal.namespace });
  });

  pair.onCleanup(() => ChildWorker.killAll());
  after(async () => {
    await proxy?.close();
    await connection?.close();
  });

  it('each retry (the next attempt, per the history) finds the effect in place and completes: created once, offsets as set, deleted/stopped stays so', async (t) => {
    const registry = stackRegistryDocument(stack);
    registry.connect['connect-b']!.url = proxy.url;
    const taskQueue = `kafka-dr-faults-cae-${id}`;
    const calls: Array<{ activity: string; input: unknown; pause: PausePoint }> = [
      {
        activity: 'deployMirrorFlow',
        input: {
          plan: rawPlan({ name: flowName, topicGroups: [{ name: 'main', topics: [topic] }] }),
          initialState: 'STOPPED',
        },
        // All three connectors exist: the whole effect is done.
        pause: { activity: 'deployMirrorFlow', call: 'connect.create', phase: 'after', nth: 3 },
      },
      {
        activity: 'alterConnectorOffsets',
        input: { connect: 'connect-b', connector: altered, offsets: [{ partition: { cluster: 'A', topic, partition: 0 }, offset: '4' }] },
        pause: { activity: 'alterConnectorOffsets', call: 'connect.alterOffsets', phase: 'after' },
      },
      {
        activity: 'deleteConnector',
        input: { connect: 'connect-b', connector: doomed },
        pause: { activity: 'deleteConnector', call: 'connect.delete', phase: 'after' },
      },
      {
        activity: 'stopConnector',
        input: { connect: 'connect-b', connector: running },
        pause: { activity: 'stopConnector', call: 'connect.stop', phase: 'after' },
      },
      {
        activity: 'deleteTopic',
        input: { cluster: 'B', topic: mirrorToDelete, sourceAlias: 'A', policy: { type: 'default' } },
        pause: { activity: 'deleteTopic', call: 'kafka.deleteTopics', phase: 'after' },
      },
    ];

    const first = await ChildWorker.start({ taskQueue, registry, pauseAt: calls.map((c) => c.pause) });
    const ctx = { client, taskQueue };
    const outcomes = calls.map((c) => runActivity<unknown>(ctx, c.activity, [c.input], OPTIONS));
    // runActivity's promises settle only after the restart: keep a rejection from going unhandled meanwhile.
    const settled = Promise.allSettled(outcomes);
    let second: ChildWorker | undefined;
    try {
      // Usually attempt 1; a rebalance 409 from Connect (a previous test restarted it) can end one earlier.
      const pausedAttempt = new Map<string, number>();
      for (const [i, c] of calls.entries()) pausedAttempt.set(c.activity, (await first.waitForPause(i, 120_000)).attempt);
      const postsBeforeKill = proxy.requests({ method: 'POST', path: '/connectors' }).length;
      await first.kill();
      second = await ChildWorker.start({ taskQueue, registry });
      const results = await settled;
      const byName = new Map<string, ActivityOutcome<unknown>>();
      for (const [i, r] of results.entries()) {
        assert.equal(r.status, 'fulfilled', `${calls[i]!.activity}: ${r.status === 'rejected' ? String(r.reason) : ''}`);
        const outcome = (r as PromiseFulfilledResult<ActivityOutcome<unknown>>).value;
        assert.equal(outcome.failure, undefined, `${calls[i]!.activity} failed: ${outcome.failure?.type} ${outcome.failure?.message}`);
        const killed = pausedAttempt.get(calls[i]!.activity)!;
        assert.equal(
          outcome.attempts,
          killed + 1,
          `${calls[i]!.activity} completed on the attempt after the killed one (${killed}), per the history`,
        );
        byName.set(calls[i]!.activity, outcome);
      }
      const shown = (c: (typeof calls)[number]) => {
        const r = byName.get(c.activity)!.result;
        return c.activity === 'deployMirrorFlow'
          ? (r as DeployMirrorFlowResult).connectors.map((x) => x.action).join('/')
          : JSON.stringify(r ?? null).slice(0, 80);
      };
      t.diagnostic(`retry results: ${calls.map((c) => `${c.activity} ${shown(c)}`).join('; ')}`);

      // deployMirrorFlow: three connectors, each created by one POST; the retry created none and left them STOPPED.
      const creates = proxy.requests({ method: 'POST', path: '/connectors' });
      assert.equal(creates.filter((r) => r.status === 201).length, 3, JSON.stringify(creates));
      assert.equal(creates.length, postsBeforeKill, 'the retry sent no create');
      const deploy = byName.get('deployMirrorFlow')!.result as DeployMirrorFlowResult;
      assert.deepEqual(
        deploy.connectors.map((c) => c.name),
        deployed,
      );
      // The retry counts all three as created by this run (so a compensation would delete
      // them), though the killed attempt's last heartbeat may never have reached the server:
      // each connector's config names the run that created it.
      assert.deepEqual(
        deploy.connectors.map((c) => c.action),
        ['created', 'created', 'created'],
      );
      for (const n of deployed)
        assert.match((await past409(() => connectB.getConfig(n)))?.['kafka-dr.created-by'] ?? '', /^.+\/.+$/, `${n}: creator run`);
      for (const n of deployed) assert.equal((await past409(() => connectB.status(n))).connector.state, 'STOPPED', n);

      // alterConnectorOffsets: the offset is the one set, PATCHed twice with the same value.
      const offsets = committedMirrorOffsets('A', await past409(() => connectB.getOffsets(altered)));
      assert.deepEqual(
        [...offsets.values()].map((o) => [o.topic, o.partition, Number(o.offset)]),
        [[topic, 0, 4]],
      );
      assert.equal(proxy.requests({ method: 'PATCH', path: `/connectors/${altered}/offsets` }).filter((r) => r.status === 200).length, 2);

      // deleteConnector: the retry answers `absent`; the connector is gone.
      assert.equal(byName.get('deleteConnector')!.result, 'absent');
      await assert.rejects(connectB.status(doomed), (err: unknown) => err instanceof ConnectRestError && err.status === 404);

      // stopConnector: stopping a stopped connector is a no-op.
      assert.equal((await past409(() => connectB.status(running))).connector.state, 'STOPPED');

      // deleteTopic: the retry finds the topic gone, reports `absent`.
      assert.equal((byName.get('deleteTopic')!.result as DeleteTopicResult).action, 'absent');
      assert.ok(!(await adminB.listTopics()).includes(mirrorToDelete));
    } finally {
      await first.kill();
      await second?.stop();
    }
    await assertStackHealthy();
  });
});
