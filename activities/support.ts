import { asyncLocalStorage, type Context } from '@temporalio/activity';
import { z } from 'zod';
import { classified, describeZodError, invalidInput } from '../src/failures';
import type { Registry } from '../src/registry/load';

// What every activity module shares: argument parsing, the Context, heartbeats, sleep.

/**
 * Parses an activity's argument with its zod schema. Bad input throws a non-retryable
 * InvalidInput naming each field and reason, after `what: ` when given (e.g. `measureLag input`).
 */
export function parseArgs<S extends z.ZodType>(schema: S, input: unknown, what?: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = describeZodError(parsed.error);
  throw invalidInput(what === undefined ? issues : `${what}: ${issues}`);
}

/** A cluster alias as the failback activities take it (the playbook's input checked the spelling). */
export const AliasArg = z.string().min(1);
/** A decimal offset string. */
export const OffsetArg = z.string().regex(/^\d+$/);
/** The forward flow a failback activity reads committed offsets of: its Connect cluster and MirrorSourceConnectors. */
export const ForwardSourcesArg = z.strictObject({ connect: z.string().min(1), sourceConnectors: z.array(z.string().min(1)).min(1) });

/**
 * The arguments of the failback activities that read both clusters for the reverse flow:
 * its clusters, the flow's replication policy and separator, and the forward flow (spread
 * into the activity's own schema).
 */
export const reverseFlowArgs = {
  primary: AliasArg,
  dr: AliasArg,
  policy: z.enum(['default', 'identity']),
  separator: z.string().min(1).optional(),
  /** Identity: A is read only after these connectors' committed offsets (what B already had). */
  forward: ForwardSourcesArg,
};

/** The running activity's Context; undefined outside a worker (a direct call from a script or test). */
export function activityContext(): Context | undefined {
  return asyncLocalStorage.getStore();
}

/** This activity's attempt; 1 when called directly (a script, the benchmarks). */
export function activityAttempt(): number {
  return activityContext()?.info.attempt ?? 1;
}

/** Heartbeats when running as an activity; a no-op when called directly. */
export function heartbeat(details?: unknown): void {
  activityContext()?.heartbeat(details);
}

/**
 * Waits `ms`. In an activity through Context.sleep, which ends early (throws) when the
 * activity is cancelled; called directly, a plain timer.
 */
export async function sleep(ms: number): Promise<void> {
  const ctx = activityContext();
  if (ctx) await ctx.sleep(ms);
  else await new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `fn`, heartbeating every `everyMs` while it runs (for reads that take seconds each,
 * such as joining a consumer group); called directly, just runs it.
 */
export async function heartbeatWhile<T>(fn: () => Promise<T>, everyMs = 5_000): Promise<T> {
  const ctx = activityContext();
  const timer = ctx ? setInterval(() => ctx.heartbeat(), everyMs) : undefined;
  try {
    return await fn();
  } finally {
    if (timer) clearInterval(timer);
  }
}

/**
 * Runs `fn` once every cluster named is known to the registry (UnknownCluster before
 * anything is read), its failures classified: against that cluster when there is one, so
 * the message names it.
 */
export function onClusters<T>(registry: Registry, clusters: readonly string[], fn: () => Promise<T>): Promise<T> {
  return classified(
    async () => {
      for (const cluster of clusters) registry.cluster(cluster);
      return fn();
    },
    { cluster: clusters.length === 1 ? clusters[0] : undefined, registry },
  );
}
