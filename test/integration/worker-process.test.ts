import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { METRIC_PLAYBOOKS_RUNNING } from '../../src/metrics/names';
import { TASK_QUEUE } from '../../src/model/task-queue';
import { freePort } from '../helpers/ports';
import { eventually, stack, uniqueId } from '../helpers/stack';

/**
 * The worker as operators run it: `kafka-dr worker` in its own process against the
 * stack. It logs JSON lines, serves Prometheus metrics (the SDK's and ours) on
 * loopback, and on SIGTERM stops polling, finishes and exits 0.
 */

// This file runs from <dist>/test/integration: the CLI of the same build.
const DIST = path.resolve(__dirname, '..', '..');
const CLI = path.join(DIST, 'src', 'cli', 'main.js');

interface LogLine {
  time: string;
  level: string;
  msg: string;
  [key: string]: unknown;
}

describe('kafka-dr worker process: JSON logs, metrics, graceful SIGTERM', { timeout: 420_000 }, () => {
  let child: ChildProcess;
  let port: number;
  const stderrLines: string[] = [];
  const stdout: string[] = [];
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let connection: Connection;

  const logs = (): LogLine[] => stderrLines.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as LogLine);
  const scrape = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    return res.text();
  };

  before(async () => {
    port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KDR_WORKER_METRICS_PORT: String(port),
      KDR_WORKER_RUNNING_POLL_SECONDS: '1',
      KDR_WORKER_SHUTDOWN_GRACE_SECONDS: '20',
    };
    delete env.KDR_REGISTRY; // the local stack's registry
    child = spawn(process.execPath, ['-e', `require(${JSON.stringify(CLI)}).run()`, '_', 'worker'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      stderrLines.push(...parts);
    });
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => stdout.push(chunk));
    exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    // Bundling the workflows takes a while on a loaded machine.
    await eventually(
      'worker started',
      async () => {
        if (child.exitCode !== null) throw new Error(`worker exited ${child.exitCode}: ${stderrLines.slice(-5).join('\n')}`);
        return logs().find((l) => l.msg === 'worker started');
      },
      240_000,
      500,
    );
    connection = await Connection.connect({ address: stack.temporal.address });
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await connection?.close();
  });

  it('logs one JSON object per line, the start line saying where metrics are', async () => {
    const started = logs().find((l) => l.msg === 'worker started')!;
    assert.equal(started.level, 'INFO');
    assert.equal(started.taskQueue, TASK_QUEUE);
    assert.equal(started.metrics, `http://127.0.0.1:${port}/metrics`);
    // How it connects to Temporal, never with what (src/temporal/connection.ts): the local stack's plaintext dev server.
    assert.deepEqual(
      [started.temporal, started.tls, started.apiKey, started.temporalProfile],
      [stack.temporal.address, 'off', false, null],
    );
    assert.ok(!Number.isNaN(Date.parse(started.time)));
    // The SDK's first line ("Worker state changed") comes once the worker runs, after our start
    // line: the workflows are bundled in a child process now, so no bundler line precedes it.
    const sdkLine = await eventually('an SDK log line', async () => logs().find((l) => l.sdkComponent === 'worker'), 30_000, 200);
    assert.ok(sdkLine, 'the SDK logs through the same JSON logger');
    assert.equal(stdout.join(''), '', 'nothing on stdout');
  });

  it('serves Temporal SDK metrics and kafka-dr metrics on loopback', async () => {
    // Give the worker something to do, so activity and workflow metrics exist.
    const client = new Client({ connection, namespace: stack.temporal.namespace });
    const result = await client.workflow.execute('stackSmoke', {
      taskQueue: TASK_QUEUE,
      workflowId: `worker-process-smoke-${uniqueId()}`,
      args: ['worker-process test'],
    });
    assert.match((result as { worker: string }).worker, /^kafka-dr-worker@/);
    const text = await eventually(
      'metrics',
      async () => {
        const t = await scrape();
        return /temporal_activity_execution_latency_count\{[^}]*activity_type="describeWorker"/.test(t) &&
          t.includes(`${METRIC_PLAYBOOKS_RUNNING}{`)
          ? t
          : undefined;
      },
      30_000,
      500,
    );
    assert.match(text, /^temporal_worker_start\{[^}]*task_queue="kafka-dr"[^}]*\} 1$/m);
    assert.match(text, new RegExp(`^${METRIC_PLAYBOOKS_RUNNING}\\{playbook="failover"\\} \\d+$`, 'm'));
  });

  it('SIGTERM: stops polling, logs the shutdown, exits 0 within the bound, frees the metrics port', async () => {
    const sent = Date.now();
    child.kill('SIGTERM');
    const bound = 45_000;
    const outcome = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), bound).unref())]);
    assert.notEqual(outcome, 'timeout', `still running ${bound} ms after SIGTERM`);
    assert.deepEqual(outcome, { code: 0, signal: null }, stderrLines.slice(-5).join('\n'));
    const elapsed = Date.now() - sent;
    const requested = logs().find((l) => l.msg.startsWith('shutdown requested'));
    assert.ok(requested, 'a shutdown line');
    assert.equal(requested.signal, 'SIGTERM');
    assert.equal(requested.graceSeconds, 20);
    const stopped = logs().find((l) => l.msg === 'worker stopped cleanly');
    assert.ok(stopped, `a final line (${elapsed} ms after SIGTERM)`);
    assert.equal(stopped.signal, 'SIGTERM');
    assert.ok(
      logs().every((l) => typeof l.time === 'string' && typeof l.level === 'string' && typeof l.msg === 'string'),
      'every stderr line is a JSON log object',
    );
    await assert.rejects(fetch(`http://127.0.0.1:${port}/metrics`), 'the metrics endpoint is gone with the process');
  });
});
