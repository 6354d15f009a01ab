import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import {
  ApplicationFailure,
  Client,
  Connection,
  WorkflowFailedError,
  type WorkflowHandle,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type RuntimeOptions,
  type WorkerInterceptors,
  type WorkflowBundle,
} from '@temporalio/worker';
import type { PlaybookStatus } from '../../src/model/gates';
import { approveSignal, statusQuery } from '../../workflows/framework';
import type { FrameworkToyInput, frameworkToyPlaybook } from '../fixtures/workflows/framework-playbook';
import { defaultHookStubs } from './hook-stubs';
import { eventually, stack, uniqueId } from './stack';

/**
 * The harness every playbook's control-flow test shares: one bundle and one worker with
 * stub activities per test file (bundling takes seconds on 2 cores), plus the waits and
 * checks those tests repeat.
 */

export interface StubWorker {
  client: Client;
  taskQueue: string;
  bundle: WorkflowBundle;
  close(): Promise<void>;
}

export async function startStubWorker(options: {
  name: string;
  activities: object;
  /** Default: test/fixtures/workflows (production workflows plus the test ones). */
  workflowsPath?: string;
  /** Runtime settings besides the ERROR logger (a Prometheus endpoint). */
  runtime?: Omit<RuntimeOptions, 'logger'>;
  /** Called once the Runtime is installed (an interceptor may need its meter). */
  interceptors?: () => WorkerInterceptors;
}): Promise<StubWorker> {
  Runtime.install({ logger: new DefaultLogger('ERROR'), ...options.runtime });
  const taskQueue = `kafka-dr-test-${options.name}-${uniqueId()}`;
  const bundle = await bundleWorkflowCode({
    workflowsPath: options.workflowsPath ?? require.resolve('../fixtures/workflows'),
    logger: new DefaultLogger('ERROR'),
  });
  const workerConnection = await NativeConnection.connect({ address: stack.temporal.address });
  const worker = await Worker.create({
    connection: workerConnection,
    namespace: stack.temporal.namespace,
    taskQueue,
    workflowBundle: bundle,
    // Playbooks run cutover hooks after approvals: manual unless the test's stubs say otherwise.
    activities: { ...defaultHookStubs, ...options.activities },
    identity: `${options.name}-test-${taskQueue}`,
    interceptors: options.interceptors?.(),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: stack.temporal.address });
  const client = new Client({ connection, namespace: stack.temporal.namespace });
  return {
    client,
    taskQueue,
    bundle,
    async close() {
      worker.shutdown();
      await running;
      await workerConnection.close();
      await connection.close();
    },
  };
}

/** One describe's stub worker and how its tests start the playbook under test. */
export interface PlaybookHarness<W extends Workflow, S> {
  /** The worker (once the describe's `before` has run). */
  readonly worker: StubWorker;
  /** Every run `start` started, for the closing replay check. */
  readonly started: WorkflowHandle<W>[];
  /** Starts `workflowType` with a fresh ID (`<name>-test-…`) and files `scenario` under that ID for the stubs. */
  start(args: unknown, scenario?: S): Promise<WorkflowHandle<W>>;
}

/**
 * Registers `before`/`after` in the calling describe: one stub worker for its tests (see
 * startStubWorker) that run `workflowType`. Each run gets a two-minute execution timeout.
 */
export function usePlaybookHarness<W extends Workflow, S extends object>(
  workflowType: string,
  options: { name: string; activities: object; workflowsPath?: string; scenarios?: Map<string, S> },
): PlaybookHarness<W, S> {
  let running: StubWorker | undefined;
  const started: WorkflowHandle<W>[] = [];
  const worker = (): StubWorker => {
    assert.ok(running, `the ${options.name} stub worker is not started`);
    return running;
  };
  before(async () => {
    running = await startStubWorker(options);
  });
  after(async () => {
    await running?.close();
  });
  return {
    get worker() {
      return worker();
    },
    started,
    async start(args, scenario = {} as S) {
      const workflowId = `${options.name}-test-${uniqueId()}`;
      options.scenarios?.set(workflowId, scenario);
      const startOptions = { taskQueue: worker().taskQueue, workflowId, args: [args], workflowExecutionTimeout: '2 minutes' };
      const handle = await worker().client.workflow.start<W>(workflowType, startOptions as unknown as WorkflowStartOptions<W>);
      started.push(handle);
      return handle;
    },
  };
}

type ToyHandle = WorkflowHandle<typeof frameworkToyPlaybook>;

/** The toy playbook's input (test/fixtures/workflows/framework-playbook.ts): A → B requested by alice, with `gates`. */
export const toyInput = (gates: FrameworkToyInput['gates'], overrides: Partial<FrameworkToyInput> = {}): FrameworkToyInput => ({
  source: 'A',
  target: 'B',
  requestedBy: 'alice',
  gates,
  ...overrides,
});

/** Starts the toy playbook on `w` as `workflowId`, filed in `started` for the closing replay. */
export async function startToy(
  w: StubWorker,
  args: unknown,
  workflowId: string,
  started: ToyHandle[],
  workflowExecutionTimeout = '3 minutes',
): Promise<ToyHandle> {
  const h = await w.client.workflow.start<typeof frameworkToyPlaybook>('frameworkToyPlaybook', {
    taskQueue: w.taskQueue,
    workflowId,
    args: [args],
    workflowExecutionTimeout,
  });
  started.push(h);
  return h;
}

/**
 * Waits until `gate` is the playbook's open gate; returns the status at that moment.
 * `failIfFinished`: fail at once when the playbook has finished instead (it never opens).
 * On a timeout the error carries the playbook's steps.
 */
export function gateOpen(
  h: WorkflowHandle,
  gate: string,
  timeoutMs = 30_000,
  options: { intervalMs?: number; failIfFinished?: boolean } = {},
): Promise<PlaybookStatus> {
  return eventually(
    `gate ${gate} open`,
    async () => {
      const s = await h.query(statusQuery);
      if (options.failIfFinished && s.state === 'finished') throw new Error(`workflow finished: ${s.outcome}`);
      return s.openGate?.name === gate ? s : undefined;
    },
    timeoutMs,
    options.intervalMs ?? 100,
  ).catch(async (err: unknown) => {
    const s = await h.query(statusQuery).catch(() => undefined);
    throw new Error(`${String(err)}; steps: ${JSON.stringify(s?.steps)}`);
  });
}

/** gateOpen as the end-to-end tests wait on the real stack: minutes, polling every 200 ms, failing once the playbook ends. */
export const e2eGateOpen = (h: WorkflowHandle, gate: string, timeoutMs = 150_000) =>
  gateOpen(h, gate, timeoutMs, { intervalMs: 200, failIfFinished: true });

/**
 * Waits for each gate in turn (with `wait`: gateOpen, or e2eGateOpen on the real stack) and
 * approves it; a bare gate name is approved by bob, a pair names the approver.
 */
export async function approveGates(
  h: WorkflowHandle,
  gates: Array<string | [gate: string, by: string]>,
  wait: (h: WorkflowHandle, gate: string) => Promise<unknown> = gateOpen,
): Promise<void> {
  for (const g of gates) {
    const [gate, by] = typeof g === 'string' ? [g, 'bob'] : g;
    await wait(h, gate);
    await h.signal(approveSignal, { gate, by });
  }
}

/** The ApplicationFailure a workflow failed with (asserts that it failed). */
export async function workflowFailure(h: WorkflowHandle): Promise<ApplicationFailure> {
  const err = await h.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError, `workflow failed, got ${String(err)}`);
  assert.ok(err.cause instanceof ApplicationFailure);
  return err.cause;
}

/** Replays every started workflow's history against `bundle`; asserts none diverges. */
export async function replayAll(bundle: WorkflowBundle, started: WorkflowHandle[]): Promise<number> {
  const histories = await Promise.all(started.map(async (h) => ({ workflowId: h.workflowId, history: await h.fetchHistory() })));
  let replayed = 0;
  for await (const result of Worker.runReplayHistories({ workflowBundle: bundle }, histories)) {
    assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
    replayed++;
  }
  return replayed;
}
