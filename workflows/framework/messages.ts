import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AbortArgs, ApproveArgs, DecideArgs, GateDecisionRecord, PlaybookStatus, RejectArgs } from '../../src/model/gates';

/**
 * The messages every playbook answers. One module the CLI and the client import
 * too (it pulls in nothing but the `define*` helpers), so names and payloads cannot
 * drift between sender and workflow. Payload schemas and the decision rule live in
 * src/model/gates.ts.
 */

export const MESSAGE_NAMES = {
  approve: 'approve',
  reject: 'reject',
  abort: 'abort',
  decide: 'decide',
  status: 'status',
} as const;

/** Approve the open gate `{gate, by, comment?}`. A refused approval is recorded in the status as ignored. */
export const approveSignal = defineSignal<[ApproveArgs]>(MESSAGE_NAMES.approve);

/** Reject the open gate `{gate, by, reason}`: the playbook compensates and stops. */
export const rejectSignal = defineSignal<[RejectArgs]>(MESSAGE_NAMES.reject);

/** Abort the playbook `{by, reason}`: wins over any open gate; the playbook compensates and stops. */
export const abortSignal = defineSignal<[AbortArgs]>(MESSAGE_NAMES.abort);

/**
 * Approve or reject the open gate, with an answer: the recorded decision, or a
 * refusal with the reason (unknown gate, gate not open, approver not allowed,
 * requester approving their own request under four-eyes, nobody named).
 * A refused update leaves no trace in the workflow history or state.
 */
export const decideUpdate = defineUpdate<GateDecisionRecord, [DecideArgs]>(MESSAGE_NAMES.decide);

/** Phase, step journal, open gate, decisions, ignored messages, figures, compensations. */
export const statusQuery = defineQuery<PlaybookStatus>(MESSAGE_NAMES.status);
