import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { stackRegistry } from '../../src/registry/load';
import { stackSmoke } from '../../workflows';
import { createWorker } from '../../workers/main';
import { TASK_QUEUE } from '../../src/model/task-queue';
import { REPO_ROOT, stack, uniqueId } from '../helpers/stack';
import { runActivity, withWorker } from '../helpers/worker';

describe('Temporal dev server on the local stack', { timeout: 120_000 }, () => {
  const taskQueue = `kafka-dr-test-${uniqueId()}`;
  let worker: Worker;
  let workerConnection: NativeConnection;
  let running: Promise<void>;
  let connection: Connection;

  before(async () => {
    ({ worker, connection: workerConnection } = await createWorker({
      registry: stackRegistry(stack),
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
    assert.equal(result.worker, 'smoke-test-worker');

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

describe('kafka-dr worker (the process `npm start` runs)', { timeout: 120_000 }, () => {
  it('serves the kafka-dr task queue until SIGTERM, then exits 0', async () => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'kafka-dr'), 'worker'], {
      env: process.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const connection = await Connection.connect({ address: stack.temporal.address });
    try {
      const client = new Client({ connection, namespace: stack.temporal.namespace });
      const result = await client.workflow.execute(stackSmoke, {
        taskQueue: TASK_QUEUE,
        workflowId: `worker-cli-${uniqueId()}`,
        args: ['cli-test'],
        workflowExecutionTimeout: '60s',
      });
      assert.equal(result.caller, 'cli-test');
      // The worker logs JSON lines; its start line says where the UI is.
      assert.match(stderr, /"ui":"http:\/\/127\.0\.0\.1:\d+\/namespaces\//, 'prints where the UI is');
    } finally {
      await connection.close();
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
  });
});

describe('kafka-dr worker refuses a bad registry at start', { timeout: 60_000 }, () => {
  it('names the file, the field and the reason, exits 2, and never prints the secret', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-reg-'));
    const file = path.join(dir, 'registry.yaml');
    fs.writeFileSync(
      file,
      [
        'clusters:',
        '  A: { bootstrapServers: ["127.0.0.1:19092"], sasl: { mechanism: plain, username: dr, password: { env: KDR_TEST_A_PASSWORD } } }',
        '  B: { bootstrapServers: ["127.0.0.1:29092"], sasl: { mechanism: plain, username: dr, password: { env: KDR_TEST_B_PASSWORD } } }',
        '',
      ].join('\n'),
    );
    const run = (env: NodeJS.ProcessEnv) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'kafka-dr'), 'worker'], {
          env: { ...process.env, KDR_REGISTRY: file, ...env },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('exit', (code) => resolve({ code, stderr }));
      });
    try {
      const result = await run({ KDR_TEST_A_PASSWORD: 'a-secret-value-123' });
      assert.equal(result.code, 2);
      assert.equal(
        result.stderr.trim(),
        `kafka-dr: registry ${file}: clusters.B.sasl.password.env: environment variable KDR_TEST_B_PASSWORD is not set or empty`,
      );
      assert.ok(!result.stderr.includes('a-secret-value-123'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('test harness: one activity through a real worker', { timeout: 120_000 }, () => {
  it('reports the result and the attempt count from the history', async () => {
    const outcome = await withWorker((ctx) =>
      runActivity<string>(ctx, 'describeWorker', [], { startToCloseTimeout: '10s', retry: { maximumAttempts: 2 } }),
    );
    assert.match(outcome.result ?? '', /^test-worker-kafka-dr-test-/);
    assert.equal(outcome.attempts, 1);
    assert.equal(outcome.failure, undefined);
  });
});
