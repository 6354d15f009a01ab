import { ApplicationFailure } from '@temporalio/workflow';
import type { GateOptions } from './gates';

/**
 * How a playbook guards its changes, shared by the playbooks: preconditions (refused
 * before anything changes, or listed as blockers by a dry run) and the gates' options
 * from the input's guard for each gate.
 */

/** Failure type of a playbook refused by a precondition (nothing was changed). */
export const PRECONDITION_FAILED = 'PreconditionFailed';

/** Refuses the run: a precondition does not hold. */
export function refuse(message: string): never {
  throw ApplicationFailure.create({ type: PRECONDITION_FAILED, message, nonRetryable: true });
}

/**
 * A precondition that does not hold: a dry run lists it with the others (its plan shows
 * every blocker at once); any other run is refused here.
 */
export function block(run: { dryRun: boolean; blockers: string[] }, message: string): void {
  if (!run.dryRun) refuse(message);
  run.blockers.push(message);
}

/** How the input guards one gate: who may approve, four-eyes, deadline, escalation. */
export type GateGuard = Pick<GateOptions, 'deadline' | 'approvers' | 'fourEyes' | 'escalateAfter'>;

/** A gate's options: what approving does, who asked, and the input's guard for it. */
export function gateOptions(description: string, requestedBy: string, guard: GateGuard): GateOptions {
  return {
    description,
    requestedBy,
    deadline: guard.deadline,
    ...(guard.approvers ? { approvers: guard.approvers } : {}),
    ...(guard.fourEyes !== undefined ? { fourEyes: guard.fourEyes } : {}),
    ...(guard.escalateAfter !== undefined ? { escalateAfter: guard.escalateAfter } : {}),
  };
}

/** A gate as a dry run's plan lists it. */
export function plannedGate<G extends string>(gate: G, o: GateOptions) {
  return {
    gate,
    description: o.description,
    approvers: o.approvers ? [...o.approvers] : null,
    fourEyes: o.fourEyes ?? false,
    deadline: o.deadline,
  };
}
