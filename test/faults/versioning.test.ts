import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DeterminismViolationError } from '@temporalio/workflow';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { approveSignal } from '../../workflows/framework';
import type { versionedCutover } from '../versioning/v1';
import type { VersionedActivities } from '../versioning/playbook';
import { gateOpen } from '../helpers/playbook';
import { stack, uniqueId } from '../helpers/stack';

/**
 * Issue 6, item 10: a workflow change behind `patched()`. A run starts on a worker
 * with bundle v1 and waits at its gate; that worker stops; a worker with bundle v2
 * (the change behind `patched()`) takes over, replays the v1 history, and after the
 * approval finishes it on the old path. The same change without `patched()` fails to
 * replay that history with DeterminismViolationError (the negative control).
 * Test-only playbook (test/versioning), so no production workflow changes.
 */

type Handle = WorkflowHandle<typeof versionedCutover>;

const calls: Array<{ workflowId: string; what: string }> = [];
const activities: VersionedActivities = {
  async effect(what) {
    calls.push({ workflowId: Context.current().info.workflowExecution?.workflowId ?? '', what });
    return what;
  },
};
const callsOf = (workflowId: string) => calls.filter((c) => c.workflowId === workflowId).map((c) => c.what);

describe('versioning: a patched() change is safe for runs in flight; without it replay fails (issue 6.10)', { timeout: 300_000 }, () => {
  const taskQueue = `kafka-dr-test-versioning-${uniqueId()}`;
  const bundles: Partial<Record<'v1' | 'v2' | 'v2-unpatched', WorkflowBundle>> = {};
  let connection: Connection;
  let client: Client;

  before(async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    for (const v of ['v1', 'v2', 'v2-unpatched'] as const) {
      bundles[v] = await bundleWorkflowCode({
        workflowsPath: require.resolve(`../versioning/${v}`),
        logger: new DefaultLogger('ERROR'),
      });
    }
    connection = await Connection.connect({ address: stack.temporal.address });
    client = new Client({ connection, namespace: stack.temporal.namespace });
  });
  after(async () => {
    await connection?.close();
  });

  /** Runs a worker on `bundle` until `body` resolves, then shuts it down. */
  async function withWorker<T>(version: 'v1' | 'v2', body: () => Promise<T>): Promise<T> {
    const nc = await NativeConnection.connect({ address: stack.temporal.address });
    const worker = await Worker.create({
      connection: nc,
      namespace: stack.temporal.namespace,
      taskQueue,
      workflowBundle: bundles[version]!,
      activities,
      identity: `versioning-${version}-${taskQueue}`,
      // A stopped worker's sticky queue hands the next task back to the shared queue after this.
      stickyQueueScheduleToStartTimeout: '1s',
    });
    const running = worker.run();
    try {
      return await body();
    } finally {
      worker.shutdown();
      await running;
      await nc.close();
    }
  }

  const start = (workflowId: string) =>
    client.workflow.start<typeof versionedCutover>('versionedCutover', {
      taskQueue,
      workflowId,
      args: [{ source: 'A', target: 'B', requestedBy: 'alice' }],
      workflowExecutionTimeout: '3 minutes',
    });

  let inFlight: Handle;
  let fresh: Handle;

  it('a run started on v1 and stopped at its gate finishes on the v2 worker, on the old path', async () => {
    inFlight = await withWorker('v1', async () => {
      const h = await start(`versioning-inflight-${uniqueId()}`);
      await gateOpen(h, 'go');
      return h;
    });
    assert.deepEqual(callsOf(inFlight.workflowId), ['stop-forward@v1']);

    const report = await withWorker('v2', async () => {
      await inFlight.signal(approveSignal, { gate: 'go', by: 'bob' });
      return inFlight.result();
    });
    assert.equal(report.outcome, 'completed');
    // Old path: no verify step, even though v2 ran the rest.
    assert.deepEqual(callsOf(inFlight.workflowId), ['stop-forward@v1', 'switch@v2']);
    assert.deepEqual(report.figures, { version: 'v2', verified: false });
    assert.deepEqual(
      report.steps.map((s) => s.name),
      ['stop forward connectors', 'switch producers'],
    );
    const history = await inFlight.fetchHistory();
    const identities = new Set(
      (history.events ?? []).map((e) => e.workflowTaskCompletedEventAttributes?.identity).filter((x): x is string => !!x),
    );
    assert.ok(
      [...identities].some((i) => i.startsWith('versioning-v1')) && [...identities].some((i) => i.startsWith('versioning-v2')),
      `both workers ran it: ${[...identities].join(', ')}`,
    );
    assert.equal((history.events ?? []).filter((e) => e.markerRecordedEventAttributes).length, 0, 'no patch marker in the old run');
  });

  it('a run started on v2 takes the new path and records the patch marker', async () => {
    fresh = await withWorker('v2', async () => {
      const h = await start(`versioning-fresh-${uniqueId()}`);
      await gateOpen(h, 'go');
      await h.signal(approveSignal, { gate: 'go', by: 'bob' });
      await h.result();
      return h;
    });
    assert.deepEqual(callsOf(fresh.workflowId), ['stop-forward@v2', 'verify@v2', 'switch@v2']);
    const markers = ((await fresh.fetchHistory()).events ?? []).filter((e) => e.markerRecordedEventAttributes);
    assert.equal(markers.length, 1);
  });

  it('replay: both histories replay on v2; v2 without patched() fails the v1 history with DeterminismViolationError', async () => {
    const v1History = await inFlight.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: bundles.v2!, replayName: 'v1 run on v2' }, v1History, inFlight.workflowId);
    await Worker.runReplayHistory(
      { workflowBundle: bundles.v2!, replayName: 'v2 run on v2' },
      await fresh.fetchHistory(),
      fresh.workflowId,
    );
    await assert.rejects(
      Worker.runReplayHistory(
        { workflowBundle: bundles['v2-unpatched']!, replayName: 'v1 run on v2-unpatched' },
        v1History,
        inFlight.workflowId,
      ),
      (err: unknown) => {
        assert.ok(err instanceof DeterminismViolationError, `expected DeterminismViolationError, got ${String(err)}`);
        return true;
      },
    );
    // And the v1 code cannot replay a run that took the new path (why a rollback needs care too).
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle: bundles.v1!, replayName: 'v2 run on v1' }, await fresh.fetchHistory(), fresh.workflowId),
      DeterminismViolationError,
    );
  });
});
