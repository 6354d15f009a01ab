import { DefaultLogger, Runtime } from '@temporalio/worker';
import { stackRegistry } from '../../src/registry/load';
import { createWorker } from '../../workers/main';
import { stack } from './common';

/**
 * A kafka-dr worker in a process of its own (production activities, the bench workflows),
 * so its RSS is the worker's alone. argv[2]: the task queue. Prints `ready` once it polls;
 * SIGTERM shuts it down.
 */
async function main(): Promise<void> {
  const taskQueue = process.argv[2];
  if (!taskQueue) throw new Error('usage: worker-proc <task queue>');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const { worker, connection } = await createWorker({
    registry: stackRegistry(stack),
    address: stack.temporal.address,
    namespace: stack.temporal.namespace,
    taskQueue,
    identity: `kafka-dr-bench-worker-${process.pid}`,
    workflowsPath: require.resolve('../workflows'),
  });
  process.once('SIGTERM', () => worker.shutdown());
  const running = worker.run();
  console.log('ready');
  try {
    await running;
  } finally {
    await connection.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench worker failed: ${String(err)}`);
    process.exit(1);
  },
);
