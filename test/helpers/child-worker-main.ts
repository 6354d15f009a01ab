import * as fs from 'node:fs';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { z } from 'zod';
import { createDeps } from '../../activities';
import { resolveRegistry, stackRegistryDocument } from '../../src/registry/load';
import { loadStackConfig } from '../../src/stack/config';
import { createWorker } from '../../workers/main';
import { PausePointsSchema, type ChildEvent, type PausePoint } from './child-worker-protocol';
import { instrumentDeps, type CallHook } from './instrumented-deps';

/**
 * A kafka-dr worker as a child process, for the fault tests: the real activities on the
 * real stack, through workers/main.ts's createWorker, on the task queue the parent names.
 * The parent SIGKILLs it to simulate a crashed worker.
 *
 * Test hook (this file only, never product code): KDR_CHILD_PAUSE_AT lists calls an
 * activity makes to Connect or a Kafka admin client. When one is reached, the child
 * reports `paused` on stdout and that call never returns, so the parent can SIGKILL the
 * worker at an exact point: before a side effect, or after it but before the activity
 * reports completion. Everything else runs unchanged.
 *
 * Env: the stack's KDR_* settings, KDR_CHILD_TASK_QUEUE, optional KDR_CHILD_REGISTRY (a
 * registry document as JSON; default: the stack's), optional KDR_CHILD_PAUSE_AT (JSON) and
 * KDR_CHILD_CONSUMED_FILE (a JSON array of pause point indexes not to pause at any more).
 * Stdout carries one JSON event per line (ChildEvent); logs go to stderr.
 */

// fs.writeSync: the line must be out before the parent's SIGKILL can land.
function emit(event: ChildEvent): void {
  fs.writeSync(1, `${JSON.stringify(event)}\n`);
}

const points: PausePoint[] = PausePointsSchema.parse(JSON.parse(process.env.KDR_CHILD_PAUSE_AT ?? '[]'));
const seen = new Map<number, number>();
// A paused call waits for the parent's SIGKILL; if the parent died, the child must not linger.
const PAUSE_LIMIT_MS = 5 * 60_000;

/**
 * Points already used by another child worker (the parent lists them in a file): two
 * workers can share the task queue, so a spare takes over the moment one is killed,
 * and the retry it runs must not stop at the same point again.
 */
function consumed(): number[] {
  const file = process.env.KDR_CHILD_CONSUMED_FILE;
  if (!file || !fs.existsSync(file)) return [];
  return z.array(z.number()).parse(JSON.parse(fs.readFileSync(file, 'utf8')));
}

const pauseAt: CallHook = async (at) => {
  const argsText = JSON.stringify(at.args);
  for (const [index, p] of points.entries()) {
    if (p.activity !== at.activity || p.call !== at.call || p.phase !== at.phase) continue;
    if (p.argsContain && !argsText.includes(p.argsContain)) continue;
    const n = (seen.get(index) ?? 0) + 1;
    seen.set(index, n);
    if (n !== (p.nth ?? 1) || consumed().includes(index)) continue;
    emit({
      event: 'paused',
      point: index,
      activity: at.activity,
      attempt: at.attempt,
      workflowId: at.workflowId,
      call: at.call,
      phase: at.phase,
    });
    await new Promise((resolve) => setTimeout(resolve, PAUSE_LIMIT_MS));
    process.exit(70);
  }
};

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: ['SIGTERM', 'SIGINT'] });
  const taskQueue = process.env.KDR_CHILD_TASK_QUEUE;
  if (!taskQueue) throw new Error('KDR_CHILD_TASK_QUEUE is not set');
  // Tests run from dist/test/helpers: the repo root is three levels up, as in helpers/stack.ts.
  const repoRoot = `${__dirname}/../../..`;
  const stack = loadStackConfig(process.env, repoRoot);
  const doc: unknown = process.env.KDR_CHILD_REGISTRY ? JSON.parse(process.env.KDR_CHILD_REGISTRY) : stackRegistryDocument(stack);
  const registry = resolveRegistry(doc, 'fault-test child worker', {}, repoRoot);
  const identity = `child-worker-${process.pid}`;
  const { worker, connection } = await createWorker({
    registry,
    deps: points.length > 0 ? instrumentDeps(createDeps(registry, identity), pauseAt) : undefined,
    address: stack.temporal.address,
    namespace: stack.temporal.namespace,
    taskQueue,
    identity,
    workflowsPath: require.resolve('../fixtures/workflows'),
  });
  emit({ event: 'ready', pid: process.pid });
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`child worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
