import * as os from 'node:os';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities, createDeps, type ActivityDeps } from '../activities';
import { loadRegistry, stackRegistry, type Registry } from '../src/registry/load';
import { TASK_QUEUE } from '../src/model/task-queue';
import type { StackConfig } from '../src/stack/config';

export interface WorkerOptions {
  registry: Registry;
  address: string;
  namespace: string;
  taskQueue?: string;
  identity?: string;
  /** Tests bundle extra workflows; production uses ../workflows. */
  workflowsPath?: string;
  /** Tests inject other clients (stubs, fault proxies); production builds them from the registry. */
  deps?: ActivityDeps;
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
    workflowsPath: options.workflowsPath ?? require.resolve('../workflows'),
    activities: createActivities(options.deps ?? createDeps(options.registry, identity)),
    identity,
  });
  return { worker, connection };
}

/** Runs until SIGINT/SIGTERM; the SDK then lets running activities finish before exiting. */
export async function runWorker(config: StackConfig): Promise<void> {
  // KDR_REGISTRY names the cluster registry file; without it the worker serves the local stack.
  // A bad file stops the worker here, naming the file and the field.
  const registry = process.env.KDR_REGISTRY ? loadRegistry(process.env.KDR_REGISTRY) : stackRegistry(config);
  const { worker, connection } = await createWorker({
    registry,
    address: config.temporal.address,
    namespace: config.temporal.namespace,
  });
  console.error(`kafka-dr worker: clusters ${registry.clusterAliases.join(', ')}, Connect ${registry.connectNames.join(', ')} (registry: ${registry.source})`);
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
