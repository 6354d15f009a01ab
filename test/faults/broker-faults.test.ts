import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import { createDeps } from '../../activities';
import type { DrainResult } from '../../activities/lag';
import type { DeleteTopicResult } from '../../activities/topics';
import { FailureType } from '../../src/failures';
import { stackRegistry } from '../../src/registry/load';
import { DESTRUCTIVE_OPTIONS } from '../../workflows/activity-options';
import {
  assertStackHealthy,
  drainRetried,
  faultTimeline,
  freezeComponent,
  LAGGED,
  startComponents,
  startDrain,
  stopComponent,
  useFaultHooks,
} from '../helpers/faults';
import { instrumentDeps } from '../helpers/instrumented-deps';
import { assertSeqsOnce, flowWithLag, useMirrorPair } from '../helpers/mirror-pair';
import { retrying } from '../helpers/mm2';
import { stack, uniqueId } from '../helpers/stack';
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

const FREEZE_MS = 12_000;

describe('broker B stopped or frozen mid-step', { timeout: 600_000 }, () => {
  const id = uniqueId();
  const topic = `bf-${id}`;
  // Mirrors of A topics on B under the default policy: the only kind deleteTopic accepts.
  const toDelete = `A.bf-del-${id}`;
  const toDeleteFrozen = `A.bf-frz-${id}`;
  const registry = stackRegistry(stack);
  const pair = useMirrorPair('broker-faults', {
    topics: [
      { topic, partitions: LAGGED.partitions, on: ['B'] },
      { topic: toDelete, partitions: 1, on: ['B'] },
      { topic: toDeleteFrozen, partitions: 1, on: ['B'] },
    ],
  });
  pair.leaves({ topics: { A: [`B.${topic}`] } });
  const { adminB } = pair;
  let thawTimer: NodeJS.Timeout | undefined;
  let frozen = false;

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

  pair.onCleanup(async () => thaw());
  useFaultHooks(pair);

  it('the drain completes after B is back (retried, every record once on A); a deletion fails after exactly 3 attempts deleting nothing, or completes after a freeze', async (t) => {
    // The reverse flow B→A on connect-a; some records copied, then the source stopped with 40 to go.
    const { source, mirrored } = await flowWithLag(pair, { ...LAGGED, topic, from: 'B', name: `bf-${id}` });

    const { timeline, mark } = faultTimeline();

    await withWorker(
      async (ctx: { client: Client; taskQueue: string }) => {
        const drain = await startDrain(ctx, `broker-faults-drain-${id}`, { connect: 'connect-a', source, from: 'B', topic });

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
        const retried = await drainRetried(drain);
        mark(
          `drain on attempt ${retried.attempt} after ${retried.lastFailure?.applicationFailureInfo?.type ?? retried.lastFailure?.message}`,
        );
        assert.ok(
          retried.lastFailure?.applicationFailureInfo?.type === FailureType.ClusterUnreachable || retried.lastFailure?.timeoutFailureInfo,
          `ClusterUnreachable or a heartbeat timeout: ${JSON.stringify(retried.lastFailure)}`,
        );

        await startComponents();
        mark('kafka-b healthy again');
        assert.ok(
          (await retrying('B topics', () => adminB.listTopics(), 90_000)).includes(toDelete),
          'the failed deletion deleted nothing',
        );
        await retrying('the source resumed', () => pair.connectA.resume(source), 90_000);
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
      !(await retrying('B topics', () => adminB.listTopics(), 90_000)).includes(toDeleteFrozen),
      'the deletion interrupted by the freeze is complete',
    );
    await assertSeqsOnce(pair, 'A', mirrored, LAGGED.total, 'no record copied twice across the outage');
    await assertStackHealthy();
  });
});
