import { Client, Connection, isGrpcServiceError, NamespaceNotFoundError } from '@temporalio/client';
import { TASK_QUEUE } from '../model/task-queue';
import { loadStackConfig } from '../stack/config';
import {
  clientConnectionOptions,
  explainConnectFailure,
  loadTemporalSettings,
  TemporalConfigError,
  type LoadedTemporalSettings,
} from '../temporal/connection';
import { CliError, EXIT } from './exit-codes';

/**
 * Which Temporal the CLI talks to, and the connection. Defaults are the local stack's
 * (KDR_* settings), so `kafka-dr status <id>` works next to `kafka-dr stack up`; a
 * Temporal config profile, the TEMPORAL_* variables (the Temporal CLI's own: address,
 * namespace, TLS, API key) and the flags point it elsewhere (src/temporal/connection.ts).
 */

export interface GlobalOptions {
  address?: string;
  namespace?: string;
  profile?: string;
  taskQueue?: string;
}

export interface TemporalTarget extends LoadedTemporalSettings {
  taskQueue: string;
}

/** Flags, then TEMPORAL_* variables, then the Temporal config profile, then the local stack's settings. */
export function temporalTarget(globals: GlobalOptions, env: NodeJS.ProcessEnv, repoRoot: string): TemporalTarget {
  try {
    const settings = loadTemporalSettings(env, { address: globals.address, namespace: globals.namespace, profile: globals.profile }, () => {
      // Only read (and check) KDR_* when a default is needed from it.
      const stack = loadStackConfig(env, repoRoot);
      return { address: stack.temporal.address, namespace: stack.temporal.namespace };
    });
    return { ...settings, taskQueue: globals.taskQueue ?? TASK_QUEUE };
  } catch (err) {
    if (err instanceof TemporalConfigError) throw new CliError(err.message, EXIT.usage);
    throw err;
  }
}

const UNAVAILABLE = 14;

/** Whether an error means the server could not be reached (gRPC UNAVAILABLE, connect failure). */
export function isUnreachable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e) && e.code === UNAVAILABLE) return true;
    if (
      e instanceof Error &&
      /failed to connect|ECONNREFUSED|UNAVAILABLE|connect timed out|Failed to connect before the deadline/i.test(e.message)
    )
      return true;
  }
  return false;
}

export function unreachableError(target: TemporalTarget, err: unknown): CliError {
  const why = target.redact(err instanceof Error ? err.message.split('\n')[0]! : String(err));
  return new CliError(
    `Temporal is unreachable at ${target.address} (namespace ${target.namespace}): ${why}. ` +
      'Start the local stack with `kafka-dr stack up`, or point the CLI at your server with --address (or TEMPORAL_ADDRESS)',
    EXIT.unreachable,
  );
}

/** Exit 5 either way; an unreachable server keeps the local-stack hint, a TLS or credentials refusal says what to fix. */
async function connectError(target: TemporalTarget, err: unknown): Promise<CliError> {
  const why = await explainConnectFailure(target, err);
  return why.kind === 'unreachable' ? unreachableError(target, err) : new CliError(why.message, EXIT.unreachable);
}

/** Connects, runs `fn` with a client, closes. Maps an unreachable or refusing server to exit 5 and an unknown namespace to exit 2. */
export async function withTemporal<T>(target: TemporalTarget, fn: (client: Client) => Promise<T>): Promise<T> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...clientConnectionOptions(target), connectTimeout: '5s' });
  } catch (err) {
    throw await connectError(target, err);
  }
  try {
    return await fn(new Client({ connection, namespace: target.namespace }));
  } catch (err) {
    if (err instanceof NamespaceNotFoundError) {
      throw new CliError(`--namespace ${target.namespace}: no such namespace on ${target.address}`, EXIT.usage);
    }
    if (isUnreachable(err)) throw unreachableError(target, err);
    throw err;
  } finally {
    await connection.close();
  }
}
