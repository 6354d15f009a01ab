import { asyncLocalStorage, type Context } from '@temporalio/activity';
import type { z } from 'zod';
import { describeZodError, invalidInput } from '../src/failures';

// What every activity module shares. (failback, offsets, exact-positions, rpo and flow still
// carry their own copies: they are being changed elsewhere; move them here when that lands.)

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

/** The running activity's Context; undefined outside a worker (a direct call from a script or test). */
export function activityContext(): Context | undefined {
  return asyncLocalStorage.getStore();
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
