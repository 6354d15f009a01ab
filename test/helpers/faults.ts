import assert from 'node:assert/strict';
import { before } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { ComponentName } from '../../src/stack/config';
import { runningProcess, stopProcess } from '../../src/stack/processes';
import { status, up } from '../../src/stack/stack';
import { LONG_WAIT_OPTIONS } from '../../workflows/activity-options';
import { decideUpdate, statusQuery } from '../../workflows/framework';
import type { MirrorPair } from './mirror-pair';
import { eventually, stack } from './stack';

/**
 * What the fault tests share: stopping and restarting one component of the test's own
 * stack (only processes this stack dir started, by their recorded PID), and reading
 * activity attempts from workflow descriptions and histories.
 */

// The grace `stack down` gives each kind of process before SIGKILL.
const GRACE_MS: Record<ComponentName, number> = {
  'connect-a': 20_000,
  'connect-b': 20_000,
  'kafka-a': 30_000,
  'kafka-b': 30_000,
  'kafka-a-2': 30_000,
  'kafka-a-3': 30_000,
  'kafka-b-2': 30_000,
  'kafka-b-3': 30_000,
  'kafka-a-controller-1': 30_000,
  'kafka-a-controller-2': 30_000,
  'kafka-a-controller-3': 30_000,
  'kafka-b-controller-1': 30_000,
  'kafka-b-controller-2': 30_000,
  'kafka-b-controller-3': 30_000,
  temporal: 10_000,
};

/** Stops one component: SIGTERM then SIGKILL after its grace, or at once with `{ kill: true }` (a crash). */
export async function stopComponent(name: ComponentName, options: { kill?: boolean } = {}): Promise<string> {
  return stopProcess(stack, name, options.kill ? 0 : GRACE_MS[name]);
}

/** Starts whatever component is stopped (`stack up` reuses the running ones) and waits until it is healthy. */
export async function startComponents(): Promise<void> {
  await up(stack, () => undefined);
}

/**
 * Freezes (SIGSTOP) or thaws (SIGCONT) a component's process group: a broker that hangs
 * (a long GC pause, a frozen VM) rather than one that refuses connections.
 */
export function freezeComponent(name: ComponentName, frozen: boolean): void {
  const record = runningProcess(stack, name);
  if (!record) throw new Error(`${name} is not running`);
  process.kill(-record.pid, frozen ? 'SIGSTOP' : 'SIGCONT');
}

/**
 * An in-process worker logs every failed activity attempt at WARN; the fault tests cause
 * dozens on purpose. Call before the first worker or connection of the test file.
 */
export function quietSdkLogs(): void {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
}

/** Every fault test ends here: the stack it disturbed is whole again. */
export async function assertStackHealthy(): Promise<void> {
  const components = await eventually(
    'every stack component healthy',
    async () => {
      const all = await status(stack);
      return all.every((c) => c.state === 'healthy') ? all : undefined;
    },
    120_000,
    2_000,
  ).catch(async (err: unknown) => {
    const all = await status(stack);
    throw new Error(`${String(err)}: ${all.map((c) => `${c.component} ${c.state} (${c.detail})`).join('; ')}`);
  });
  assert.equal(components.length, 5);
}

type PendingActivity = temporal.api.workflow.v1.IPendingActivityInfo;

/** The workflow's pending activity of this type, if any (read from the server: works with no worker alive). */
export async function pendingActivity(handle: WorkflowHandle, activityType: string): Promise<PendingActivity | undefined> {
  const d = await handle.describe();
  return d.raw.pendingActivities?.find((a) => a.activityType?.name === activityType);
}

/**
 * Fails the attempt a killed worker left running, through the async-completion API, as
 * its start-to-close timeout would (a minute later for the playbooks' destructive calls).
 * The retry that follows is the one Temporal schedules by the activity's retry policy.
 */
export async function failOrphanedAttempt(client: Client, handle: WorkflowHandle, activityType: string, why: string): Promise<void> {
  const pending = await eventually(`pending ${activityType}`, () => pendingActivity(handle, activityType), 30_000, 200);
  await client.activity.fail({ workflowId: handle.workflowId, activityId: pending.activityId! }, new Error(why));
}

export interface ActivityRun {
  type: string;
  /** The attempt that ended the activity (ActivityTaskStarted.attempt). */
  attempt: number;
  /** The failure of the attempt before it, when attempt > 1. */
  lastFailure?: string;
  outcome: 'completed' | 'failed' | 'timed-out' | 'cancelled' | 'running';
  input?: unknown;
}

/** Each activity of the history with the attempt that ended it, in schedule order. */
export async function activityRuns(handle: WorkflowHandle): Promise<ActivityRun[]> {
  const events = (await handle.fetchHistory()).events ?? [];
  const runs = new Map<string, ActivityRun>();
  for (const e of events) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) {
      const a = e.activityTaskScheduledEventAttributes;
      runs.set(id, { type: a.activityType?.name ?? '?', attempt: 0, outcome: 'running', input: decodeFirst(a.input?.payloads) });
      continue;
    }
    const byScheduled = (scheduledEventId: unknown) => runs.get(String(scheduledEventId));
    if (e.activityTaskStartedEventAttributes) {
      const a = e.activityTaskStartedEventAttributes;
      const run = byScheduled(a.scheduledEventId);
      if (run) {
        run.attempt = a.attempt ?? 0;
        if (a.lastFailure) run.lastFailure = `${a.lastFailure.message ?? ''}${a.lastFailure.timeoutFailureInfo ? ' (timeout)' : ''}`;
      }
    } else if (e.activityTaskCompletedEventAttributes) {
      setOutcome(byScheduled(e.activityTaskCompletedEventAttributes.scheduledEventId), 'completed');
    } else if (e.activityTaskFailedEventAttributes) {
      setOutcome(byScheduled(e.activityTaskFailedEventAttributes.scheduledEventId), 'failed');
    } else if (e.activityTaskTimedOutEventAttributes) {
      setOutcome(byScheduled(e.activityTaskTimedOutEventAttributes.scheduledEventId), 'timed-out');
    } else if (e.activityTaskCanceledEventAttributes) {
      setOutcome(byScheduled(e.activityTaskCanceledEventAttributes.scheduledEventId), 'cancelled');
    }
  }
  return [...runs.values()];
}

function setOutcome(run: ActivityRun | undefined, outcome: ActivityRun['outcome']): void {
  if (run) run.outcome = outcome;
}

function decodeFirst(payloads: temporal.api.common.v1.IPayload[] | null | undefined): unknown {
  const data = payloads?.[0]?.data;
  if (!data) return undefined;
  try {
    return JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Approves each gate of `gates` once it is open, until stopped, through the `decide`
 * update: its validator refuses a gate not open yet. With no worker alive a query or an
 * update fails or waits: simply tried again.
 */
export function autoApprove(
  handle: WorkflowHandle,
  gates: readonly string[],
  by = 'approver',
): { stop: () => Promise<void>; approved: string[] } {
  const approved: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running && approved.length < gates.length) {
      try {
        const s = await handle.query(statusQuery);
        if (s.state === 'finished') return;
        const gate = s.openGate?.name;
        // Only once no workflow task is pending: the gate's opening is then committed in
        // history. Answered by a worker replaying uncommitted events, a query can show the
        // gate open before that, and an approval landing in the same workflow task as the
        // completion that opened it makes the next replay fail (see the report, issue 6).
        const settled = gate ? !(await handle.describe()).raw.pendingWorkflowTask : false;
        if (gate && settled && gates.includes(gate) && !approved.includes(gate)) {
          await handle.executeUpdate(decideUpdate, { args: [{ gate, decision: 'approve', by }] });
          approved.push(gate);
        }
      } catch {
        // No worker to answer the query right now (killed, restarting): try again.
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return {
    approved,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/**
 * Starts a waitForDrain of `source` with the playbooks' long-wait options (a runActivity
 * workflow) and returns once it has heartbeated: the drain is waiting, the fault can come.
 */
export async function startDrain(
  ctx: { client: Client; taskQueue: string },
  workflowId: string,
  drain: { connect: string; source: string; from: string; topic: string },
): Promise<WorkflowHandle> {
  const h = await ctx.client.workflow.start('runActivity', {
    taskQueue: ctx.taskQueue,
    workflowId,
    args: [
      'waitForDrain',
      [{ connect: drain.connect, connectors: [drain.source], source: drain.from, topics: [drain.topic] }],
      LONG_WAIT_OPTIONS,
    ],
    workflowExecutionTimeout: '8 minutes',
  });
  await eventually(
    'the drain waiting (a heartbeat seen)',
    async () => ((await pendingActivity(h, 'waitForDrain'))?.lastHeartbeatTime ? true : undefined),
    60_000,
    250,
  );
  return h;
}

/** The drain's pending attempt once its first attempt failed and it was retried. */
export function drainRetried(drain: WorkflowHandle): Promise<PendingActivity> {
  return eventually(
    'the drain attempt failed and retried',
    async () => {
      const p = await pendingActivity(drain, 'waitForDrain');
      return p && (p.attempt ?? 0) >= 2 ? p : undefined;
    },
    120_000,
    500,
  );
}

/**
 * The fault tests' hooks around the pair's: SDK logs quieted in `before`; first in `after`,
 * the stack's components started again (a failed test must not leave one down).
 */
export function useFaultHooks(pair: MirrorPair): void {
  before(() => quietSdkLogs());
  pair.onCleanup(() => startComponents().catch((err: unknown) => console.error(`restarting the stack: ${String(err)}`)));
}

/** A fault test's timeline: `mark` notes what happened, in seconds since the call; `timeline` for the closing diagnostic. */
export function faultTimeline(): { timeline: string[]; mark: (what: string) => void } {
  const timeline: string[] = [];
  const t0 = Date.now();
  return { timeline, mark: (what) => void timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`) };
}

/** The drain fault tests' flow (flowWithLag): 2 partitions, 10 records copied, then the source stopped 40 behind. */
export const LAGGED = { partitions: 2, before: 10, total: 50 } as const;
