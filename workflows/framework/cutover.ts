import { patched, workflowInfo } from '@temporalio/workflow';
import type { CutoverHookRequest, CutoverHookResult, EscalationNotice, EscalationResult } from '../../src/hooks/types';
import type { OpenGateStatus } from '../../src/model/gates';
import { hooks, notifications } from '../activity-options';

/**
 * What the framework runs around gates on the worker's side: the cutover hook after an
 * approval, the escalation notification when a gate waits too long. Both are behind
 * patch markers: a history recorded before them replays without the new commands.
 */

/** Patch id of the hook step after an approved gate. */
export const CUTOVER_HOOKS_PATCH = 'cutover-hooks';
/** Patch id of the escalation notification activity. */
export const ESCALATION_NOTIFY_PATCH = 'escalation-notifications';

/** The direction clients move in a cutover playbook: failover A→B moves them from A to B, failback the other way. */
export interface CutoverDirection {
  from: string;
  to: string;
}

/** Journal step name of a gate's hook: `hook:<gate>`, and `:<action>` when it asks other than the gate's own action. */
export const hookStepName = (gate: string, action?: string) => (action === undefined ? `hook:${gate}` : `hook:${gate}:${action}`);

/** True when this run executes hooks (new runs; false while replaying a history from before hooks). */
export function hooksEnabled(): boolean {
  return patched(CUTOVER_HOOKS_PATCH);
}

export function runCutoverHook(request: CutoverHookRequest): Promise<CutoverHookResult> {
  return hooks.runCutoverHook(request);
}

/** The notice for an escalated gate (all of it is already in the status: no secret). */
export function escalationNotice(playbook: string, gate: OpenGateStatus): EscalationNotice {
  const now = Date.now();
  return {
    event: 'gate-escalated',
    workflowId: workflowInfo().workflowId,
    playbook,
    gate: gate.name,
    description: gate.description,
    openedAt: gate.openedAt,
    escalatedAt: gate.escalatedAt ?? new Date(now).toISOString(),
    waitedMs: Math.max(0, now - Date.parse(gate.openedAt)),
    deadlineAt: gate.deadlineAt,
    approvers: gate.approvers,
    requestedBy: gate.requestedBy,
  };
}

/** The default escalation hook of every gate: the registry's notification (or a log line on the worker). */
export async function notifyEscalation(playbook: string, gate: OpenGateStatus): Promise<EscalationResult | null> {
  if (!patched(ESCALATION_NOTIFY_PATCH)) return null;
  return notifications.notifyEscalation(escalationNotice(playbook, gate));
}
