import * as os from 'node:os';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { TASK_QUEUE } from '../src/model/task-queue';
import type { StackConfig } from '../src/stack/config';

export interface WorkerOptions {
  address: string;
  namespace: string;
  taskQueue?: string;
  identity?: string;
}

/** A worker with every kafka-dr workflow and activity; the caller runs and shuts it down. */
export async function createWorker(options: WorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: options.address });
  // The native worker rejects an explicit `identity: undefined`; name it always, so the
  // UI's "worker" column says which host ran each step.
  const identity = options.identity ?? `kafka-dr-worker@${os.hostname()}:${process.pid}`;
  const worker = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities({ workerName: identity }),
    identity,
  });
  return { worker, connection };
}

/** Runs until SIGINT/SIGTERM; the SDK then lets running activities finish before exiting. */
export async function runWorker(config: StackConfig): Promise<void> {
  const { worker, connection } = await createWorker({
    address: config.temporal.address,
    namespace: config.temporal.namespace,
  });
  console.error(
    `kafka-dr worker: polling task queue '${TASK_QUEUE}' on ${config.temporal.address} (namespace ${config.temporal.namespace})`,
  );
  console.error(`kafka-dr worker: Temporal UI ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows`);
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}
