import { asyncLocalStorage, type Context } from '@temporalio/activity';
import type { z } from 'zod';
import { describeZodError, invalidInput } from '../src/failures';

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
