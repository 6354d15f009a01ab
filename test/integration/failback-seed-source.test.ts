import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure, Client, Connection } from '@temporalio/client';
import { createDeps } from '../../activities';
import { createFailbackActivities } from '../../activities/failback';
import { stackRegistry } from '../../src/registry/load';
import { stack, uniqueId } from '../helpers/stack';

/**
 * failoverSnapshot (failback's seed from a failover workflow ID) against the stack's
 * Temporal server: the refusals an operator can run into, each non-retryable with what to
 * do next. Workflows are started on a task queue no worker polls, so they stay RUNNING
 * and nothing executes; they are terminated afterwards. The happy path (a completed
 * failover found under the failback's own workflow ID) runs in failover-failback-e2e.
 */

describe('failoverSnapshot: which failover workflows can seed a failback', { timeout: 120_000 }, () => {
  let connection: Connection;
  let client: Client;
  const started: string[] = [];
  const id = uniqueId();
  const taskQueue = `kafka-dr-test-no-worker-${id}`;
  let failoverSnapshot: ReturnType<typeof createFailbackActivities>['failoverSnapshot'];

  before(async () => {
    connection = await Connection.connect({ address: stack.temporal.address });
    client = new Client({ connection, namespace: stack.temporal.namespace });
    ({ failoverSnapshot } = createFailbackActivities(
      createDeps(stackRegistry(stack), 'test-seed-source', { temporalClient: async () => client }),
    ));
  });

  after(async () => {
    for (const wid of started)
      await client.workflow
        .getHandle(wid)
        .terminate('test over')
        .catch(() => undefined);
    await connection.close();
  });

  const refusal = async (input: Parameters<typeof failoverSnapshot>[0]): Promise<ApplicationFailure> => {
    const err = await failoverSnapshot(input).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplicationFailure, `refused, got ${String(err)}`);
    assert.equal(err.type, 'SeedUnavailable');
    assert.equal(err.nonRetryable, true);
    return err;
  };

  it('an unknown workflow ID', async () => {
    const err = await refusal({ workflowId: `no-such-failover-${id}`, primary: 'A', dr: 'B' });
    assert.match(err.message, /no workflow no-such-failover-\S+ on Temporal: check the failover's workflow ID/);
  });

  it('a failover still running', async () => {
    const wid = `seed-running-${id}`;
    await client.workflow.start('failover', { taskQueue, workflowId: wid, args: [{}] });
    started.push(wid);
    const err = await refusal({ workflowId: wid, primary: 'A', dr: 'B' });
    assert.match(err.message, /is RUNNING, not COMPLETED: wait for the failover to finish, or give seed\.snapshot/);
  });

  it('a workflow of another playbook under that ID, with no failover run before it', async () => {
    const wid = `seed-other-${id}`;
    await client.workflow.start('failback', { taskQueue, workflowId: wid, args: [{}] });
    started.push(wid);
    const err = await refusal({ workflowId: wid, primary: 'A', dr: 'B' });
    assert.match(err.message, /is a failback, and no failover ran under that ID: name the failover's workflow ID/);
  });

  it('a run ID that is not a failover', async () => {
    const wid = `seed-run-${id}`;
    const h = await client.workflow.start('auditDrift', { taskQueue, workflowId: wid, args: [{}] });
    started.push(wid);
    const err = await refusal({ workflowId: wid, runId: h.firstExecutionRunId, primary: 'A', dr: 'B' });
    assert.match(err.message, /is a auditDrift, not a failover/);
  });
});
