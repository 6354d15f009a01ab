import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { stackSmoke } from '../../workflows';
import { createWorker } from '../../workers/main';
import { stack, uniqueId } from '../helpers/stack';

describe('Temporal dev server on the local stack', { timeout: 120_000 }, () => {
  const taskQueue = `kafka-dr-test-${uniqueId()}`;
  let worker: Worker;
  let workerConnection: NativeConnection;
  let running: Promise<void>;
  let connection: Connection;

  before(async () => {
    ({ worker, connection: workerConnection } = await createWorker({
      address: stack.temporal.address,
      namespace: stack.temporal.namespace,
      taskQueue,
      identity: 'smoke-test-worker',
    }));
    running = worker.run();
    connection = await Connection.connect({ address: stack.temporal.address });
  });

  after(async () => {
    worker.shutdown();
    await running;
    await workerConnection.close();
    await connection.close();
  });

  it('runs a workflow and its activity through a real worker', async () => {
    const client = new Client({ connection, namespace: stack.temporal.namespace });
    const workflowId = `stack-smoke-${uniqueId()}`;
    const result = await client.workflow.execute(stackSmoke, { taskQueue, workflowId, args: ['smoke-test'] });
    assert.equal(result.workflowId, workflowId);
    assert.equal(result.caller, 'smoke-test');
    assert.match(result.worker, /^smoke-test-worker@/);

    // The history proves the activity ran on the worker, not in the workflow.
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = history.events?.filter((e) => e.activityTaskScheduledEventAttributes) ?? [];
    assert.equal(scheduled.length, 1);
    assert.equal(scheduled[0]!.activityTaskScheduledEventAttributes!.activityType!.name, 'describeWorker');
  });

  it('has the kafka-dr search attributes registered for the UI list view', async () => {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace: stack.temporal.namespace,
    });
    for (const name of ['KafkaDrPlaybook', 'KafkaDrPhase', 'KafkaDrClusterPair']) {
      assert.ok(customAttributes && name in customAttributes, `${name} registered`);
    }
  });
});
