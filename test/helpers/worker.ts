import {
  ActivityFailure,
  ApplicationFailure,
  Client,
  Connection,
  WorkflowFailedError,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type { ActivityOptions } from '@temporalio/workflow';
import assert from 'node:assert/strict';
import type { ActivityDeps } from '../../activities';
import type { PlaybookReport } from '../../src/model/gates';
import { stackRegistry, type Registry } from '../../src/registry/load';
import { createWorker } from '../../workers/main';
import { stack, uniqueId } from './stack';

/**
 * A real worker on the stack's Temporal server, on a task queue of its own, with
 * the test workflows bundled in. `fn` gets a client; the worker is shut down after.
 */
export async function withWorker<T>(
  fn: (ctx: { client: Client; taskQueue: string }) => Promise<T>,
  options: { registry?: Registry; deps?: ActivityDeps } = {},
): Promise<T> {
  const taskQueue = `kafka-dr-test-${uniqueId()}`;
  const { worker, connection: workerConnection } = await createWorker({
    registry: options.registry ?? stackRegistry(stack),
    deps: options.deps,
    address: stack.temporal.address,
    namespace: stack.temporal.namespace,
    taskQueue,
    identity: `test-worker-${taskQueue}`,
    workflowsPath: require.resolve('../fixtures/workflows'),
  });
  const connection = await Connection.connect({ address: stack.temporal.address });
  const client = new Client({ connection, namespace: stack.temporal.namespace });
  try {
    return await worker.runUntil(fn({ client, taskQueue }));
  } finally {
    await connection.close();
    await workerConnection.close();
  }
}

/** A worker a suite keeps (bundling the workflows is the slow part on 2 cores): its client, and stop. */
export interface SuiteWorker {
  ctx: { client: Client; taskQueue: string };
  stop: () => Promise<void>;
}

/** withWorker held open until `stop`: resolves once the worker runs, rejects if it ends before. */
export async function startSuiteWorker(options: { registry?: Registry; deps?: ActivityDeps } = {}): Promise<SuiteWorker> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let ready!: (ctx: SuiteWorker['ctx']) => void;
  const isReady = new Promise<SuiteWorker['ctx']>((resolve) => (ready = resolve));
  const running = withWorker(async (ctx) => {
    ready(ctx);
    await released;
  }, options);
  const ctx = await Promise.race([
    isReady,
    running.then(() => {
      throw new Error('the test worker ended before it was ready');
    }),
  ]);
  return {
    ctx,
    stop: async () => {
      release();
      await running;
    },
  };
}

export interface ActivityOutcome<T> {
  result?: T;
  /** The activity's final failure (type, message, nonRetryable), when it failed. */
  failure?: ApplicationFailure;
  /** How many attempts the activity took (from the workflow history). */
  attempts: number;
  workflowId: string;
}

/** Runs one activity through a real workflow + worker; reports result or failure and attempts. */
export async function runActivity<T>(
  ctx: { client: Client; taskQueue: string },
  name: string,
  args: unknown[],
  options: ActivityOptions,
): Promise<ActivityOutcome<T>> {
  const workflowId = `run-activity-${name}-${uniqueId()}`;
  let result: T | undefined;
  let failure: ApplicationFailure | undefined;
  try {
    result = (await ctx.client.workflow.execute('runActivity', {
      taskQueue: ctx.taskQueue,
      workflowId,
      args: [name, args, options],
      workflowExecutionTimeout: '5 minutes',
    })) as T;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const cause = err.cause instanceof ActivityFailure ? err.cause.cause : err.cause;
    if (!(cause instanceof ApplicationFailure)) throw err;
    failure = cause;
  }
  const history = await ctx.client.workflow.getHandle(workflowId).fetchHistory();
  const started = history.events?.find((e) => e.activityTaskStartedEventAttributes);
  const attempts = started?.activityTaskStartedEventAttributes?.attempt ?? 0;
  return { result, failure, attempts, workflowId };
}

/** Starts playbook `workflowType` on the test worker under `workflowId` (a unique one: the stack is shared). */
export function startPlaybook<W extends Workflow>(
  ctx: { client: Client; taskQueue: string },
  workflowType: string,
  workflowId: string,
  input: unknown,
  workflowExecutionTimeout = '4 minutes',
): Promise<WorkflowHandleWithFirstExecutionRunId<W>> {
  return ctx.client.workflow.start<W>(workflowType, {
    taskQueue: ctx.taskQueue,
    workflowId,
    args: [input],
    workflowExecutionTimeout,
  } as never);
}

/**
 * The three-flows-side-by-side e2e shape: prepares every flow at once, then runs each one's
 * playbook on one test worker at once; asserts every report completed (naming its last steps).
 */
export async function runSideBySide<F, P, R extends Pick<PlaybookReport, 'outcome' | 'reason' | 'steps'>>(
  flows: readonly F[],
  prepare: (f: F) => Promise<P>,
  run: (ctx: { client: Client; taskQueue: string }, f: F, prepared: P) => Promise<R>,
): Promise<R[]> {
  const prepared = await Promise.all(flows.map(prepare));
  const reports = await withWorker((ctx) => Promise.all(flows.map((f, i) => run(ctx, f, prepared[i]!))));
  for (const r of reports) assert.equal(r.outcome, 'completed', `${r.reason ?? ''} ${JSON.stringify(r.steps.slice(-3))}`);
  return reports;
}
