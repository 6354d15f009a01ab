import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { Admin } from 'kafkajs';
import { createActivities, createDeps } from '../../activities';
import type { DrainResult } from '../../activities/lag';
import { ConnectClient, inState } from '../../src/connect/client';
import { FailureType } from '../../src/failures';
import { stackRegistry } from '../../src/registry/load';
import { DESTRUCTIVE_OPTIONS, LONG_WAIT_OPTIONS } from '../../workflows/activity-options';
import { assertStackHealthy, quietSdkLogs, pendingActivity, startComponents, stopComponent } from '../helpers/faults';
import { eventually, kafka, readUntil, stack, uniqueId } from '../helpers/stack';
import { runActivity, withWorker } from '../helpers/worker';

/**
 * Issue 6, item 4, the case the proxy tests in test/integration/connect-activities.test.ts
 * cannot make: the real connect-b process stopped and restarted in the middle of a step.
 * (409 during a PUT, 500, request timeout, connection refused, 404 and 400 are there,
 * each with its exact attempt count.) Activities run with the playbooks' own retry
 * options (workflows/activity-options.ts), so the bounds tested are the production ones.
 */

const PARTITIONS = 2;
const BEFORE = 10;
const TOTAL = 50;

describe('connect-b stopped and restarted mid-step', { timeout: 600_000 }, () => {
  const id = uniqueId();
  const topic = `cf-${id}`;
  const mirrored = `A.${topic}`;
  const name = `cf-${id}`;
  const source = `${name}-source-main`;
  const connectors = [source, `${name}-checkpoint`, `${name}-heartbeat`];
  const activities = createActivities(createDeps(stackRegistry(stack), 'test-connect-faults'));
  const connectB = new ConnectClient(stack.connect['connect-b'].url);
  const kafkaA = kafka('A');
  const kafkaB = kafka('B');
  let adminA: Admin;
  let adminB: Admin;

  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const ends = async (admin: Admin, t: string) => (await admin.fetchTopicOffsets(t)).map((o) => Number(o.high));
  const retrying = async <T>(what: string, fn: () => Promise<T>): Promise<T> =>
    (await eventually(what, async () => ({ value: await fn() }), 90_000, 1000)).value;
  const produce = async (from: number, to: number) => {
    const producer = kafkaA.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: to - from }, (_, i) => ({ value: `seq=${from + i}`, partition: (from + i) % PARTITIONS })),
    });
    await producer.disconnect();
  };

  before(async () => {
    quietSdkLogs();
    adminA = kafkaA.admin();
    adminB = kafkaB.admin();
    await Promise.all([adminA.connect(), adminB.connect()]);
    await adminA.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
  });

  after(async () => {
    await startComponents().catch((err: unknown) => console.error(`restarting the stack: ${String(err)}`));
    for (const n of connectors) await connectB.delete(n).catch(() => undefined);
    await adminA.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await adminB.deleteTopics({ topics: [mirrored] }).catch(() => undefined);
    await Promise.all([adminA.disconnect(), adminB.disconnect()]);
  });

  it('the drain wait survives it (retried, completes after the restart, every record once on B); a destructive call fails ConnectUnavailable after exactly 3 attempts', async (t) => {
    await retrying('the flow deployed', () =>
      activities.deployMirrorFlow({
        plan: {
          source: 'A',
          target: 'B',
          connect: 'connect-b',
          name,
          policy: { type: 'default' },
          topicGroups: [{ name: 'main', topics: [topic] }],
          replicationFactor: 1,
        },
      }),
    );
    await eventually(
      'the connectors RUNNING',
      async () => {
        const states = await Promise.all(
          connectors.map(async (n) => inState(await connectB.status(n), 'RUNNING', n.endsWith('-checkpoint'))),
        );
        return states.every(Boolean) ? true : undefined;
      },
      90_000,
    );
    // Some records copied (committed offsets exist), then the source stopped with 40 to go: lag 40.
    await produce(0, BEFORE);
    await eventually(
      'the first records on B',
      async () => (sum(await ends(adminB, mirrored).catch(() => [0])) === BEFORE ? true : undefined),
      90_000,
    );
    await retrying('the source stopped', () => connectB.stop(source));
    await eventually('the source STOPPED', async () => ((await connectB.status(source)).connector.state === 'STOPPED' ? true : undefined));
    await produce(BEFORE, TOTAL);

    const timeline: string[] = [];
    const t0 = Date.now();
    const mark = (what: string) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);

    const outcome = await withWorker(async (ctx: { client: Client; taskQueue: string }) => {
      const drain = await ctx.client.workflow.start('runActivity', {
        taskQueue: ctx.taskQueue,
        workflowId: `connect-faults-drain-${id}`,
        args: ['waitForDrain', [{ connect: 'connect-b', connectors: [source], source: 'A', topics: [topic] }], LONG_WAIT_OPTIONS],
        workflowExecutionTimeout: '8 minutes',
      });
      await eventually(
        'the drain waiting (a heartbeat seen)',
        async () => ((await pendingActivity(drain, 'waitForDrain'))?.lastHeartbeatTime ? true : undefined),
        60_000,
        250,
      );

      mark(`connect-b ${await stopComponent('connect-b')} mid-drain`);
      const pause = await runActivity(ctx, 'pauseConnector', [{ connect: 'connect-b', connector: source }], DESTRUCTIVE_OPTIONS);
      mark(`pauseConnector failed after ${pause.attempts} attempts`);
      assert.equal(pause.failure?.type, FailureType.ConnectUnavailable, pause.failure?.message);
      assert.equal(pause.failure?.nonRetryable, false);
      assert.equal(pause.attempts, DESTRUCTIVE_OPTIONS.retry.maximumAttempts, 'bounded: exactly maximumAttempts');
      assert.match(pause.failure?.message ?? '', /^connect-b: /, 'names the Connect cluster, not its URL');

      const retried = await eventually(
        'the drain attempt failed and retried',
        async () => {
          const p = await pendingActivity(drain, 'waitForDrain');
          return p && (p.attempt ?? 0) >= 2 ? p : undefined;
        },
        120_000,
        500,
      ).catch(async (err: unknown) => {
        // Say why: a drain that is no longer pending has ended (how is in its result).
        const causes = (e: unknown): string => (e instanceof Error ? `${e.message}${e.cause ? ` <- ${causes(e.cause)}` : ''}` : String(e));
        const d = await drain.describe();
        const ended =
          d.status.name === 'RUNNING'
            ? 'still running'
            : await drain.result().then(
                (r) => `completed: ${JSON.stringify(r)}`,
                (e: unknown) => `failed: ${causes(e)}`,
              );
        throw new Error(
          `${String(err)}; the drain workflow is ${d.status.name}, ${ended}; pending ${JSON.stringify(d.raw.pendingActivities?.map((a) => ({ attempt: a.attempt, state: a.state })))}`,
        );
      });
      assert.equal(retried.lastFailure?.applicationFailureInfo?.type, FailureType.ConnectUnavailable, retried.lastFailure?.message ?? '');
      mark(`drain on attempt ${retried.attempt} after ${retried.lastFailure?.applicationFailureInfo?.type}`);

      await startComponents();
      mark('connect-b healthy again');
      await retrying('the source resumed', () => connectB.resume(source));
      const result = (await drain.result()) as DrainResult;
      mark('drained');
      const history = await drain.fetchHistory();
      const started = history.events?.find((e) => e.activityTaskStartedEventAttributes)?.activityTaskStartedEventAttributes;
      return { result, attempt: started?.attempt ?? 0 };
    });
    t.diagnostic(timeline.join('; '));

    assert.ok(outcome.attempt >= 2, `the drain completed on attempt ${outcome.attempt}`);
    assert.equal(outcome.result.total, '0');
    const onB = await readUntil(kafkaB, mirrored, (r) => r.length >= TOTAL);
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(sum(await ends(adminB, mirrored)), TOTAL, 'no record copied twice across the restart');
    assert.deepEqual(
      onB.map((r) => Number(r.value!.toString().slice('seq='.length))).sort((a, b) => a - b),
      [...Array(TOTAL).keys()],
    );
    await assertStackHealthy();
  });
});
