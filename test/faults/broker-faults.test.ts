import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { Admin } from 'kafkajs';
import { createActivities, createDeps } from '../../activities';
import type { DrainResult } from '../../activities/lag';
import type { DeleteTopicResult } from '../../activities/topics';
import { ConnectClient, inState } from '../../src/connect/client';
import { FailureType } from '../../src/failures';
import { stackRegistry } from '../../src/registry/load';
import { DESTRUCTIVE_OPTIONS, LONG_WAIT_OPTIONS } from '../../workflows/activity-options';
import { assertStackHealthy, quietSdkLogs, freezeComponent, pendingActivity, startComponents, stopComponent } from '../helpers/faults';
import { instrumentDeps } from '../helpers/instrumented-deps';
import { eventually, kafka, readUntil, stack, uniqueId } from '../helpers/stack';
import { runActivity, withWorker } from '../helpers/worker';

/**
 * Issue 6, item 5: broker B down in the middle of a step, with the playbooks' own retry
 * options. (1) B stopped (SIGTERM) while a drain of the reverse flow B→A waits: its
 * attempts fail ClusterUnreachable, it is retried and completes once B is back, and A
 * holds every record once. (2) In the same outage a topic deletion on B (destructive
 * options: 3 attempts) fails ClusterUnreachable after exactly 3 attempts and deletes
 * nothing; run again once B is back, it deletes. (3) B frozen (SIGSTOP, a broker that
 * hangs rather than refuses) right after the delete request of a deletion: the
 * deletion completes when B thaws and the topic is gone, not half-deleted.
 */

const PARTITIONS = 2;
const BEFORE = 10;
const TOTAL = 50;
const FREEZE_MS = 12_000;

describe('broker B stopped or frozen mid-step', { timeout: 600_000 }, () => {
  const id = uniqueId();
  const topic = `bf-${id}`;
  const mirrored = `B.${topic}`;
  // Mirrors of A topics on B under the default policy: the only kind deleteTopic accepts.
  const toDelete = `A.bf-del-${id}`;
  const toDeleteFrozen = `A.bf-frz-${id}`;
  const name = `bf-${id}`;
  const source = `${name}-source-main`;
  const connectors = [source, `${name}-checkpoint`, `${name}-heartbeat`];
  const registry = stackRegistry(stack);
  const activities = createActivities(createDeps(registry, 'test-broker-faults'));
  const connectA = new ConnectClient(stack.connect['connect-a'].url);
  const kafkaA = kafka('A');
  const kafkaB = kafka('B');
  let adminA: Admin;
  let adminB: Admin;
  let thawTimer: NodeJS.Timeout | undefined;
  let frozen = false;

  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const ends = async (admin: Admin, t: string) => (await admin.fetchTopicOffsets(t)).map((o) => Number(o.high));
  const retrying = async <T>(what: string, fn: () => Promise<T>): Promise<T> =>
    (await eventually(what, async () => ({ value: await fn() }), 90_000, 1000)).value;
  const produce = async (from: number, to: number) => {
    const producer = kafkaB.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: to - from }, (_, i) => ({ value: `seq=${from + i}`, partition: (from + i) % PARTITIONS })),
    });
    await producer.disconnect();
  };
  const thaw = () => {
    clearTimeout(thawTimer);
    if (frozen) freezeComponent('kafka-b', false);
    frozen = false;
  };

  // The freeze is armed for one deletion: right after its delete request, B stops answering.
  let armFreeze = false;
  const deps = instrumentDeps(createDeps(registry, 'test-broker-faults-worker'), async (at) => {
    if (!armFreeze || at.activity !== 'deleteTopic' || at.call !== 'kafka.deleteTopics' || at.phase !== 'after') return;
    armFreeze = false;
    freezeComponent('kafka-b', true);
    frozen = true;
    thawTimer = setTimeout(thaw, FREEZE_MS);
  });

  before(async () => {
    quietSdkLogs();
    adminA = kafkaA.admin();
    adminB = kafkaB.admin();
    await Promise.all([adminA.connect(), adminB.connect()]);
    await adminB.createTopics({
      topics: [topic, toDelete, toDeleteFrozen].map((t) => ({
        topic: t,
        numPartitions: t === topic ? PARTITIONS : 1,
        replicationFactor: 1,
      })),
      waitForLeaders: true,
    });
  });

  after(async () => {
    thaw();
    await startComponents().catch((err: unknown) => console.error(`restarting the stack: ${String(err)}`));
    for (const n of connectors) await connectA.delete(n).catch(() => undefined);
    await adminB.deleteTopics({ topics: [topic, toDelete, toDeleteFrozen] }).catch(() => undefined);
    await adminA.deleteTopics({ topics: [mirrored] }).catch(() => undefined);
    await Promise.all([adminA.disconnect(), adminB.disconnect()]);
  });

  it('the drain completes after B is back (retried, every record once on A); a deletion fails after exactly 3 attempts deleting nothing, or completes after a freeze', async (t) => {
    // The reverse flow B→A on connect-a; some records copied, then the source stopped with 40 to go.
    await retrying('the flow deployed', () =>
      activities.deployMirrorFlow({
        plan: {
          source: 'B',
          target: 'A',
          connect: 'connect-a',
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
          connectors.map(async (n) => inState(await connectA.status(n), 'RUNNING', n.endsWith('-checkpoint'))),
        );
        return states.every(Boolean) ? true : undefined;
      },
      90_000,
    );
    await produce(0, BEFORE);
    await eventually(
      'the first records on A',
      async () => (sum(await ends(adminA, mirrored).catch(() => [0])) === BEFORE ? true : undefined),
      90_000,
    );
    await retrying('the source stopped', () => connectA.stop(source));
    await eventually('the source STOPPED', async () => ((await connectA.status(source)).connector.state === 'STOPPED' ? true : undefined));
    await produce(BEFORE, TOTAL);

    const timeline: string[] = [];
    const t0 = Date.now();
    const mark = (what: string) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);

    await withWorker(
      async (ctx: { client: Client; taskQueue: string }) => {
        const drain = await ctx.client.workflow.start('runActivity', {
          taskQueue: ctx.taskQueue,
          workflowId: `broker-faults-drain-${id}`,
          args: ['waitForDrain', [{ connect: 'connect-a', connectors: [source], source: 'B', topics: [topic] }], LONG_WAIT_OPTIONS],
          workflowExecutionTimeout: '8 minutes',
        });
        await eventually(
          'the drain waiting (a heartbeat seen)',
          async () => ((await pendingActivity(drain, 'waitForDrain'))?.lastHeartbeatTime ? true : undefined),
          60_000,
          250,
        );

        // (1) and (2): B stopped.
        mark(`kafka-b ${await stopComponent('kafka-b')} mid-drain`);
        const deletion = await runActivity<DeleteTopicResult>(
          ctx,
          'deleteTopic',
          [{ cluster: 'B', topic: toDelete, sourceAlias: 'A', policy: { type: 'default' } }],
          DESTRUCTIVE_OPTIONS,
        );
        mark(`deleteTopic failed after ${deletion.attempts} attempts`);
        assert.equal(deletion.failure?.type, FailureType.ClusterUnreachable, deletion.failure?.message);
        assert.equal(deletion.failure?.nonRetryable, false);
        assert.equal(deletion.attempts, DESTRUCTIVE_OPTIONS.retry.maximumAttempts, 'bounded: exactly maximumAttempts');
        const retried = await eventually(
          'the drain attempt failed and retried',
          async () => {
            const p = await pendingActivity(drain, 'waitForDrain');
            return p && (p.attempt ?? 0) >= 2 ? p : undefined;
          },
          120_000,
          500,
        );
        mark(
          `drain on attempt ${retried.attempt} after ${retried.lastFailure?.applicationFailureInfo?.type ?? retried.lastFailure?.message}`,
        );
        assert.ok(
          retried.lastFailure?.applicationFailureInfo?.type === FailureType.ClusterUnreachable || retried.lastFailure?.timeoutFailureInfo,
          `ClusterUnreachable or a heartbeat timeout: ${JSON.stringify(retried.lastFailure)}`,
        );

        await startComponents();
        mark('kafka-b healthy again');
        assert.ok((await retrying('B topics', () => adminB.listTopics())).includes(toDelete), 'the failed deletion deleted nothing');
        await retrying('the source resumed', () => connectA.resume(source));
        const result = (await drain.result()) as DrainResult;
        mark('drained');
        assert.equal(result.total, '0');
        const started = (await drain.fetchHistory()).events?.find(
          (e) => e.activityTaskStartedEventAttributes,
        )?.activityTaskStartedEventAttributes;
        assert.ok((started?.attempt ?? 0) >= 2, `the drain completed on attempt ${started?.attempt}`);

        const again = await runActivity<DeleteTopicResult>(
          ctx,
          'deleteTopic',
          [{ cluster: 'B', topic: toDelete, sourceAlias: 'A', policy: { type: 'default' } }],
          DESTRUCTIVE_OPTIONS,
        );
        assert.equal(again.result?.action, 'deleted', again.failure?.message);

        // (3): B frozen right after the delete request.
        armFreeze = true;
        const frozenDeletion = await runActivity<DeleteTopicResult>(
          ctx,
          'deleteTopic',
          [{ cluster: 'B', topic: toDeleteFrozen, sourceAlias: 'A', policy: { type: 'default' } }],
          DESTRUCTIVE_OPTIONS,
        );
        mark(
          `deletion with B frozen ${FREEZE_MS / 1000}s: ${frozenDeletion.result?.action ?? frozenDeletion.failure?.type} on attempt ${frozenDeletion.attempts}`,
        );
        assert.equal(armFreeze, false, 'B was frozen mid-deletion');
        assert.equal(frozenDeletion.failure, undefined, frozenDeletion.failure?.message);
        assert.ok(['deleted', 'absent'].includes(frozenDeletion.result!.action));
      },
      { deps },
    );
    thaw();
    t.diagnostic(timeline.join('; '));

    assert.ok(
      !(await retrying('B topics', () => adminB.listTopics())).includes(toDeleteFrozen),
      'the deletion interrupted by the freeze is complete',
    );
    const onA = await readUntil(kafkaA, mirrored, (r) => r.length >= TOTAL);
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal(sum(await ends(adminA, mirrored)), TOTAL, 'no record copied twice across the outage');
    assert.deepEqual(
      onA.map((r) => Number(r.value!.toString().slice('seq='.length))).sort((a, b) => a - b),
      [...Array(TOTAL).keys()],
    );
    await assertStackHealthy();
  });
});
