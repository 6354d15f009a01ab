import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { activitySummary } from '../src/model/activity-summaries';
import { NON_RETRYABLE_TYPES } from '../src/model/failure-types';

/**
 * One `proxyActivities` per kind of call (STYLE.md #2). Workflows import the
 * activity types only; the options live here so every playbook retries the same
 * way for the same kind of call.
 */
export const NON_RETRYABLE = NON_RETRYABLE_TYPES;

/** Reads and quick REST/admin calls: short timeout, bounded retries with backoff (a rebalance or a broker hiccup passes). */
export const QUICK_OPTIONS = {
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '15s',
    maximumAttempts: 6,
    nonRetryableErrorTypes: [...NON_RETRYABLE],
  },
} as const satisfies ActivityOptions;

/**
 * Short waits (a connector reaching STOPPED): heartbeat well below the timeout so a
 * dead worker is noticed in seconds, and a retry resumes the wait.
 */
export const SHORT_WAIT_OPTIONS = {
  startToCloseTimeout: '5m',
  heartbeatTimeout: '20s',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [...NON_RETRYABLE],
  },
} as const satisfies ActivityOptions;

/**
 * Long waits (drain to 0, producers quiet): one heartbeating activity instead of a poll
 * loop in the workflow (a one-hour drain adds a handful of events, not thousands). They
 * resume from their heartbeat after a retry.
 */
// A drain or quiet wait may legitimately take a day (producers that drain slowly): each
// attempt may run a week; a dead worker is still caught within the heartbeat timeout, and
// the operator can abort the step at any time. Retries back off to 15 s, not a minute, so a
// cluster that comes back is noticed within 15 s; 20 attempts still ride out about 4
// minutes of outage (an attempt only reads, so retrying often costs nothing).
export const LONG_WAIT_OPTIONS = {
  startToCloseTimeout: '7d',
  heartbeatTimeout: '30s',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '15s',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [...NON_RETRYABLE],
  },
} as const satisfies ActivityOptions;

/**
 * Destructive calls (stop/resume connectors, set group offsets): each idempotent (stop of
 * a stopped connector is a no-op, offsets are computed values), so a retry is safe. Six
 * attempts, about 34 s of backoff: a Connect worker or broker restart (12-30 s here) is
 * ridden out instead of failing the playbook into compensation; a longer outage is for a
 * human to look at, not for an hour of retries.
 */
export const DESTRUCTIVE_OPTIONS = {
  startToCloseTimeout: '1m',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '10s',
    maximumAttempts: 6,
    nonRetryableErrorTypes: [...NON_RETRYABLE],
  },
} as const satisfies ActivityOptions;

/**
 * `proxyActivities` whose calls carry a one-line summary (src/model/activity-summaries.ts),
 * so the Temporal UI's timeline reads "stop the forward MM2 connectors", not `stopConnectors`.
 * The summary is metadata on the command: it does not take part in replay.
 */
export function summarized(options: ActivityOptions): Activities {
  const plain = proxyActivities<Activities>(options);
  return new Proxy(plain, {
    get(target, name) {
      const fn = Reflect.get(target, name) as Activities[keyof Activities] | undefined;
      if (typeof name !== 'string' || typeof fn !== 'function') return fn;
      return (...args: unknown[]) =>
        (fn as unknown as { executeWithOptions(o: ActivityOptions, a: unknown[]): Promise<unknown> }).executeWithOptions(
          { ...options, summary: activitySummary(name) },
          args,
        );
    },
  });
}

/** Reads and quick REST/admin calls. */
export const quick = summarized(QUICK_OPTIONS);
/** Connector state waits. */
export const shortWaits = summarized(SHORT_WAIT_OPTIONS);
/** Drains and quiet-producer waits. */
export const longWaits = summarized(LONG_WAIT_OPTIONS);
/** Calls that change the clusters or Connect. */
export const destructive = summarized(DESTRUCTIVE_OPTIONS);

/**
 * Cutover hooks (a webhook that moves clients, the drill switch): each attempt is
 * bounded by the hook's own HTTP timeout (≤ 2 min); a receiver that is down gets 3-5
 * minutes of backoff (8 attempts, 2 s doubling up to 1 min) before the playbook
 * stops and compensates. 3xx/4xx end at once.
 */
export const HOOK_OPTIONS = {
  startToCloseTimeout: '3m',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '1m',
    maximumAttempts: 8,
    nonRetryableErrorTypes: [...NON_RETRYABLE],
  },
} as const satisfies ActivityOptions;

/** Escalation notifications: best effort while the gate keeps waiting (a failure shows in the status). */
export const NOTIFY_OPTIONS = {
  startToCloseTimeout: '3m',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '2m',
    maximumAttempts: 6,
    nonRetryableErrorTypes: [...NON_RETRYABLE],
  },
} as const satisfies ActivityOptions;

/** Cutover hooks, run by the playbook framework after an approved gate. */
export const hooks = summarized(HOOK_OPTIONS);
/** Escalation notifications, run by the playbook framework when a gate escalates. */
export const notifications = summarized(NOTIFY_OPTIONS);

/**
 * A probe of a cluster that may be down (unplanned failover): `attempts` tries, a
 * short timeout each, no long backoff. Its failure is the answer "unreachable",
 * so even normally non-retryable types end it at once.
 */
export function probeActivities(attempts: number) {
  return summarized({
    startToCloseTimeout: '15s',
    retry: {
      initialInterval: '2s',
      backoffCoefficient: 1.5,
      maximumInterval: '10s',
      maximumAttempts: attempts,
      nonRetryableErrorTypes: [...NON_RETRYABLE],
    },
  });
}
