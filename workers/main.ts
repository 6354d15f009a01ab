import * as os from 'node:os';
import type { Logger } from '@temporalio/common';
import { NativeConnection, Runtime, Worker, type ActivityInterceptorsFactory } from '@temporalio/worker';
import { createActivities, createDeps, type ActivityDeps } from '../activities';
import { loadRegistry, stackRegistry, type Registry } from '../src/registry/load';
import { TASK_QUEUE } from '../src/model/task-queue';
import type { StackConfig } from '../src/stack/config';
import {
  explainConnectFailure,
  nativeConnectionOptions,
  type LoadedTemporalSettings,
  type TemporalSettings,
} from '../src/temporal/connection';
import { jsonLinesLogger } from '../src/logging/json-lines';
import { lagMetricsInterceptor, pollRunningPlaybooks } from '../src/metrics/worker-metrics';
import { workerSettings, type WorkerSettings } from '../src/metrics/worker-settings';
import { lazyTemporalClient } from './temporal-client';
import { bundleWorkflowsOutOfProcess } from './workflow-bundle';

/** Temporal address and namespace, with TLS and API key when the loader found them (src/temporal/connection.ts). */
export interface WorkerOptions extends TemporalSettings {
  registry: Registry;
  taskQueue?: string;
  identity?: string;
  /** Tests bundle extra workflows; production uses ../workflows. */
  workflowsPath?: string;
  /** Tests inject other clients (stubs, fault proxies); production builds them from the registry. */
  deps?: ActivityDeps;
  /** Activity interceptors (runWorker: the replication lag gauge). */
  activityInterceptors?: ActivityInterceptorsFactory[];
  /**
   * How long in-flight activity attempts may run on after shutdown starts (SDK default 0:
   * cancel at once). The worker gives up 15 s after that, whatever is still running.
   */
  shutdownGraceMs?: number;
}

/** The worker's connection; a TLS or credentials failure comes back as one TemporalConnectError line. */
async function connectNative(settings: TemporalSettings): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(nativeConnectionOptions(settings));
  } catch (err) {
    throw await explainConnectFailure(settings, err);
  }
}

/** A worker with every kafka-dr workflow and activity; the caller runs and shuts it down. */
export async function createWorker(options: WorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  // The bundle (a child process, about 2 s) and the connection do not depend on each other.
  const [workflowBundle, connection] = await Promise.all([
    bundleWorkflowsOutOfProcess(options.workflowsPath ?? require.resolve('../workflows')),
    connectNative(options),
  ]);
  // The native worker rejects an explicit `identity: undefined`; name it always, so the
  // UI's "worker" column says which host ran each step.
  const identity = options.identity ?? `kafka-dr-worker@${os.hostname()}:${process.pid}`;
  const worker = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    workflowBundle,
    activities: createActivities(options.deps ?? createDeps(options.registry, identity, { temporalClient: lazyTemporalClient(options) })),
    identity,
    ...(options.activityInterceptors ? { interceptors: { activity: options.activityInterceptors } } : {}),
    ...(options.shutdownGraceMs !== undefined
      ? { shutdownGraceTime: options.shutdownGraceMs, shutdownForceTime: options.shutdownGraceMs + 15_000 }
      : {}),
  });
  return { worker, connection };
}

/**
 * The SDK runtime, once per process: JSON-line logs (native core logs forwarded too),
 * every line through the registry's redaction, and the Prometheus endpoint. Signals
 * are ours (runWorker), not the runtime's, so the shutdown is logged and bounded.
 */
function installRuntime(settings: WorkerSettings, logger: Logger): void {
  Runtime.install({
    logger,
    shutdownSignals: [],
    telemetryOptions: {
      logging: { forward: {}, filter: { core: 'WARN', other: 'ERROR' } },
      ...(settings.metrics ? { metrics: { prometheus: { bindAddress: settings.metrics.bindAddress } } } : {}),
    },
  });
}

/**
 * Runs the worker until SIGTERM or SIGINT (README, "Worker"). On the first signal it
 * stops polling, lets in-flight activity attempts finish for up to
 * KDR_WORKER_SHUTDOWN_GRACE_SECONDS (then cancels them; Temporal retries them on
 * another worker) and returns, so the process exits 0. A second signal exits at once.
 */
export async function runWorker(config: StackConfig, temporal: LoadedTemporalSettings): Promise<void> {
  const settings = workerSettings(process.env);
  // KDR_REGISTRY names the cluster registry file; without it the worker serves the local stack.
  // A bad file stops the worker here, naming the file and the field.
  const registry = process.env.KDR_REGISTRY ? loadRegistry(process.env.KDR_REGISTRY) : stackRegistry(config);
  // Our own lines go straight out; the runtime's (buffered 100 ms to order native logs) are flushed before we return.
  const log = jsonLinesLogger({ level: settings.logLevel, redact: (text) => temporal.redact(registry.redact(text)) });
  try {
    installRuntime(settings, log);
  } catch (err) {
    // A prometheus port in use fails here: say which variable moves it.
    const reason = err instanceof Error ? err.message : String(err);
    if (settings.metrics && /prometheus|bind|address|in use/i.test(reason)) {
      throw new Error(
        `cannot serve metrics on ${settings.metrics.bindAddress} (${reason}): set KDR_WORKER_METRICS_PORT to a free port, or 0 for no metrics endpoint`,
      );
    }
    throw err;
  }
  const meter = Runtime.instance().metricMeter;
  const { worker, connection } = await createWorker({
    ...temporal,
    registry,
    activityInterceptors: [lagMetricsInterceptor(meter)],
    shutdownGraceMs: settings.shutdownGraceMs,
  });
  const stopPolling =
    settings.runningPollMs > 0
      ? pollRunningPlaybooks({
          client: lazyTemporalClient(temporal),
          meter,
          taskQueue: TASK_QUEUE,
          intervalMs: settings.runningPollMs,
          log,
        })
      : () => undefined;

  let stopping: NodeJS.Signals | null = null;
  let stopRequestedAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn('second signal: exiting now, in-flight activities are abandoned (Temporal retries them after their timeout)', { signal });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = signal;
    stopRequestedAt = Date.now();
    log.info('shutdown requested: no new tasks; in-flight activities may finish', {
      signal,
      graceSeconds: settings.shutdownGraceMs / 1000,
    });
    worker.shutdown();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  log.info('worker started', {
    taskQueue: TASK_QUEUE,
    temporal: temporal.address,
    namespace: temporal.namespace,
    // How, never with what: no key, no certificate.
    tls: temporal.summary.tls,
    apiKey: temporal.summary.apiKey,
    temporalProfile: temporal.summary.profile,
    registry: registry.source,
    clusters: registry.clusterAliases,
    connect: registry.connectNames,
    metrics: settings.metrics ? `http://${settings.metrics.bindAddress}/metrics` : null,
    // The local stack's UI, only when the worker talks to the local stack's server.
    ui: temporal.address === config.temporal.address ? `${config.temporal.uiUrl}/namespaces/${temporal.namespace}/workflows` : null,
  });
  try {
    await worker.run();
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    stopPolling();
    await connection.close();
  }
  Runtime.instance().flushLogs();
  log.info('worker stopped cleanly', { signal: stopping, shutdownMs: stopRequestedAt ? Date.now() - stopRequestedAt : null });
}
