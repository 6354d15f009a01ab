import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Client } from '@temporalio/client';
import type { DrainResult } from '../../activities/lag';
import { FailureType } from '../../src/failures';
import { DESTRUCTIVE_OPTIONS } from '../../workflows/activity-options';
import { assertStackHealthy, drainRetried, LAGGED, startComponents, startDrain, stopComponent, useFaultHooks } from '../helpers/faults';
import { assertSeqsOnce, flowWithLag, useMirrorPair } from '../helpers/mirror-pair';
import { retrying } from '../helpers/mm2';
import { uniqueId } from '../helpers/stack';
import { runActivity, withWorker } from '../helpers/worker';

/**
 * Issue 6, item 4, the case the proxy tests in test/integration/connect-activities.test.ts
 * cannot make: the real connect-b process stopped and restarted in the middle of a step.
 * (409 during a PUT, 500, request timeout, connection refused, 404 and 400 are there,
 * each with its exact attempt count.) Activities run with the playbooks' own retry
 * options (workflows/activity-options.ts), so the bounds tested are the production ones.
 */

describe('connect-b stopped and restarted mid-step', { timeout: 600_000 }, () => {
  const id = uniqueId();
  const topic = `cf-${id}`;
  const pair = useMirrorPair('connect-faults', { topics: [{ topic, partitions: LAGGED.partitions }] });
  pair.leaves({ topics: { B: [`A.${topic}`] } });
  useFaultHooks(pair);

  it('the drain wait survives it (retried, completes after the restart, every record once on B); a destructive call fails ConnectUnavailable after exactly 3 attempts', async (t) => {
    // Some records copied (committed offsets exist), then the source stopped with 40 to go: lag 40.
    const { source, mirrored } = await flowWithLag(pair, { ...LAGGED, topic, from: 'A', name: `cf-${id}` });

    const timeline: string[] = [];
    const t0 = Date.now();
    const mark = (what: string) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);

    const outcome = await withWorker(async (ctx: { client: Client; taskQueue: string }) => {
      const drain = await startDrain(ctx, `connect-faults-drain-${id}`, { connect: 'connect-b', source, from: 'A', topic });

      mark(`connect-b ${await stopComponent('connect-b')} mid-drain`);
      const pause = await runActivity(ctx, 'pauseConnector', [{ connect: 'connect-b', connector: source }], DESTRUCTIVE_OPTIONS);
      mark(`pauseConnector failed after ${pause.attempts} attempts`);
      assert.equal(pause.failure?.type, FailureType.ConnectUnavailable, pause.failure?.message);
      assert.equal(pause.failure?.nonRetryable, false);
      assert.equal(pause.attempts, DESTRUCTIVE_OPTIONS.retry.maximumAttempts, 'bounded: exactly maximumAttempts');
      assert.match(pause.failure?.message ?? '', /^connect-b: /, 'names the Connect cluster, not its URL');

      const retried = await drainRetried(drain).catch(async (err: unknown) => {
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
      await retrying('the source resumed', () => pair.connectB.resume(source), 90_000);
      const result = (await drain.result()) as DrainResult;
      mark('drained');
      const history = await drain.fetchHistory();
      const started = history.events?.find((e) => e.activityTaskStartedEventAttributes)?.activityTaskStartedEventAttributes;
      return { result, attempt: started?.attempt ?? 0 };
    });
    t.diagnostic(timeline.join('; '));

    assert.ok(outcome.attempt >= 2, `the drain completed on attempt ${outcome.attempt}`);
    assert.equal(outcome.result.total, '0');
    await assertSeqsOnce(pair, 'B', mirrored, LAGGED.total, 'no record copied twice across the restart');
    await assertStackHealthy();
  });
});
