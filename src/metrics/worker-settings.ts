import { z } from 'zod';

/**
 * The worker's own settings from the environment (docs/operations.md, "Worker"). Validated at
 * start: a bad value stops the worker with the variable's name and the reason.
 */

/** OpenTelemetry's Prometheus exporter port: free next to the stack's ports (7233, 8233, 18083, 19092, …). */
export const DEFAULT_METRICS_PORT = 9464;

const Int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const SettingsSchema = z.object({
  KDR_WORKER_METRICS_PORT: Int(0, 65_535).default(DEFAULT_METRICS_PORT),
  KDR_WORKER_METRICS_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.:-]+$/, 'must be a host name or IP address (127.0.0.1 keeps it on loopback; 0.0.0.0 for a scraper elsewhere)')
    .default('127.0.0.1'),
  KDR_WORKER_SHUTDOWN_GRACE_SECONDS: Int(0, 3_600).default(30),
  KDR_WORKER_LOG_LEVEL: z
    .enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'], { error: 'must be TRACE, DEBUG, INFO, WARN or ERROR' })
    .default('INFO'),
  KDR_WORKER_RUNNING_POLL_SECONDS: Int(0, 3_600).default(15),
});

export interface WorkerSettings {
  /** null: no metrics endpoint (KDR_WORKER_METRICS_PORT=0). */
  metrics: { host: string; port: number; bindAddress: string } | null;
  /** How long in-flight activity attempts may run on after SIGTERM/SIGINT before they are cancelled. */
  shutdownGraceMs: number;
  logLevel: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** How often the playbooks-running gauge asks Temporal; 0: never. */
  runningPollMs: number;
}

export class WorkerSettingsError extends Error {
  constructor(
    readonly variable: string,
    readonly reason: string,
  ) {
    super(`${variable}: ${reason}`);
    this.name = 'WorkerSettingsError';
  }
}

export function workerSettings(env: NodeJS.ProcessEnv): WorkerSettings {
  const picked = Object.fromEntries(
    Object.keys(SettingsSchema.shape)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => [k, env[k]]),
  );
  const parsed = SettingsSchema.safeParse(picked);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new WorkerSettingsError(issue.path.map(String).join('.'), issue.message);
  }
  const s = parsed.data;
  const host = s.KDR_WORKER_METRICS_HOST;
  const port = s.KDR_WORKER_METRICS_PORT;
  return {
    metrics: port === 0 ? null : { host, port, bindAddress: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` },
    shutdownGraceMs: s.KDR_WORKER_SHUTDOWN_GRACE_SECONDS * 1000,
    logLevel: s.KDR_WORKER_LOG_LEVEL,
    runningPollMs: s.KDR_WORKER_RUNNING_POLL_SECONDS * 1000,
  };
}
