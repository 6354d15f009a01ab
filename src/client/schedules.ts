import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptionsAction,
  type ScheduleSpec,
} from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { AuditInput } from '../model/audit-input';
import { describeIssues } from '../model/gates';
import { TASK_QUEUE } from '../model/task-queue';
import { playbookWorkflowId } from '../model/workflow-ids';

/**
 * Temporal Schedules for the audit-drift playbook. The input is validated here with the
 * workflow's own schema, so a bad schedule is refused now rather than failing every run.
 * A scheduled audit must not wait for a human: `repair: true` is refused.
 */

export interface AuditScheduleOptions {
  /** Stable ID: ensuring it twice updates the one schedule. */
  scheduleId: string;
  /** The auditDrift input (AuditInput). */
  input: AuditInput;
  /** Interval between runs, Temporal duration syntax (`'15m'`, `'1h'`) or ms. */
  every: Duration;
  taskQueue?: string;
  /** Base of the run IDs (Temporal appends the scheduled time); default kafka-dr-audit-drift-<scheduleId>. */
  workflowId?: string;
  /** Written on the schedule in the UI. */
  note?: string;
}

export interface EnsuredSchedule {
  scheduleId: string;
  created: boolean;
}

/**
 * Creates the schedule, or updates its interval and action when it exists (safe to
 * repeat). Overlap SKIP: a slow audit (a cluster down, retries) is not run twice at once.
 */
export async function ensureAuditSchedule(client: Client, options: AuditScheduleOptions): Promise<EnsuredSchedule> {
  const parsed = AuditInput.safeParse(options.input);
  if (!parsed.success) throw new Error(`audit schedule ${options.scheduleId}: bad input: ${describeIssues(parsed.error)}`);
  if (parsed.data.repair) {
    throw new Error(
      `audit schedule ${options.scheduleId}: repair must be false on a schedule (a scheduled run must not wait on an approval gate)`,
    );
  }
  const spec: ScheduleSpec = { intervals: [{ every: options.every }] };
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: 'auditDrift',
    args: [options.input],
    taskQueue: options.taskQueue ?? TASK_QUEUE,
    workflowId: options.workflowId ?? playbookWorkflowId('audit-drift', options.scheduleId),
    // An audit that cannot finish in an hour is stuck, not slow.
    workflowExecutionTimeout: '1h',
  };
  try {
    await client.schedule.create({
      scheduleId: options.scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10m' },
      ...(options.note ? { state: { note: options.note } } : {}),
    });
    return { scheduleId: options.scheduleId, created: true };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(options.scheduleId).update((prev) => ({
    ...prev,
    spec,
    action,
    policies: { ...prev.policies, overlap: ScheduleOverlapPolicy.SKIP },
  }));
  return { scheduleId: options.scheduleId, created: false };
}
