/**
 * The status and report shapes every playbook exposes: the `status` query and each
 * playbook's result (and the details of its failure). Types only, so workflow code, the
 * CLI, the UI and the client share them. src/model/gates.ts re-exports them.
 */

export type GateOutcome = 'approved' | 'rejected' | 'timed-out' | 'aborted';
export type GateState = 'pending' | 'open' | GateOutcome;

/** A decision on a gate, kept for the status and the final report. Times are ISO-8601 (UTC). */
export interface GateDecisionRecord {
  gate: string;
  decision: GateOutcome;
  /** Who decided; absent when the deadline decided. */
  by?: string;
  at: string;
  comment?: string;
  /** The approval's choice, for gates that offer some. */
  choice?: string;
  reason?: string;
  /** The approval's choice for every key of a gate that asks for choices (`*` resolved). */
  choices?: Record<string, string>;
  /** How the decision arrived. */
  via: 'signal' | 'update' | 'deadline' | 'abort';
}

/** What a gate asks the approval to choose: one of `options` for each of `keys`. */
export interface GateChoices {
  options: string[];
  keys: string[];
  /** What a key nobody chose for takes (the choice that loses nothing); absent: each key must be chosen. */
  default?: string;
}

/** The gate a playbook waits on, with what approving it will do. */
export interface OpenGateStatus {
  name: string;
  description: string;
  /** Who asked for the run (four-eyes: may not approve); null when the playbook does not say. */
  requestedBy: string | null;
  openedAt: string;
  /** When the notification hook is (or was) called; null without escalation. */
  escalateAt: string | null;
  escalatedAt: string | null;
  /** Set when the notification hook failed (the gate keeps waiting anyway). */
  escalationError: string | null;
  deadlineAt: string;
  /** Null: anyone who names themselves may decide. */
  approvers: string[] | null;
  fourEyes: boolean;
  /** Present when approving must choose (`--choice`): one of `options` per key. */
  choices?: GateChoices;
}

export interface GateSummary {
  name: string;
  state: GateState;
  openedAt?: string;
  closedAt?: string;
  escalatedAt?: string;
  /** The notification hook failed (the gate kept waiting). */
  escalationError?: string;
}

/** A message that changed nothing (signals cannot be refused), kept for the audit trail. */
export interface IgnoredMessageRecord {
  message: 'approve' | 'reject' | 'abort';
  at: string;
  gate?: string;
  by?: string;
  reason: string;
}

export interface AbortRecord {
  by: string;
  reason: string;
  at: string;
  via: 'signal' | 'cancellation';
}

export type StepState = 'running' | 'completed' | 'failed' | 'skipped' | 'compensated';

export interface StepRecord {
  name: string;
  state: StepState;
  startedAt: string;
  endedAt?: string;
  durationMs?: number;
  /** Free-form, small: lag per partition, connectors touched, offsets set. */
  details?: Record<string, unknown>;
  error?: string;
  /** For compensated steps: the undo that reverted it. */
  compensatedBy?: string;
}

export interface PhaseRecord {
  phase: string;
  at: string;
}

export interface CompensationResult {
  reason: string;
  /** Undo names, in the order they ran (reverse of registration). */
  undone: string[];
  failed: Array<{ name: string; error: string }>;
  /** Effects deliberately kept, and why. */
  leftAsIs: Array<{ name: string; why: string }>;
}

export interface CompensationStatus {
  /** Undos that would run on abort, in registration order. */
  registered: Array<{ name: string; step: string | null }>;
  leftAsIs: Array<{ name: string; why: string }>;
  result: CompensationResult | null;
}

export type PlaybookOutcome = 'completed' | 'rejected' | 'timed-out' | 'aborted' | 'failed' | 'cancelled';

/** The `status` query. */
export interface PlaybookStatus {
  playbook: string;
  workflowId: string;
  clusterPair: string | null;
  requestedBy: string | null;
  state: 'running' | 'compensating' | 'finished';
  outcome: PlaybookOutcome | null;
  phase: string;
  phases: PhaseRecord[];
  steps: StepRecord[];
  gates: GateSummary[];
  openGate: OpenGateStatus | null;
  decisions: GateDecisionRecord[];
  ignoredMessages: IgnoredMessageRecord[];
  /** Ignored messages beyond the kept ones (the list is capped to keep state small). */
  ignoredMessagesDropped: number;
  aborted: AbortRecord | null;
  figures: Record<string, unknown>;
  compensations: CompensationStatus;
}

/** What every playbook returns (and attaches to its failure when it fails). */
export interface PlaybookReport<F extends Record<string, unknown> = Record<string, unknown>> {
  playbook: string;
  workflowId: string;
  clusterPair: string | null;
  requestedBy: string | null;
  outcome: PlaybookOutcome;
  /** Why it stopped short (rejection reason, deadline, abort reason, error). */
  reason: string | null;
  /** The gate it stopped at, if any. */
  stoppedAtGate: string | null;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  phases: PhaseRecord[];
  steps: StepRecord[];
  decisions: GateDecisionRecord[];
  ignoredMessages: IgnoredMessageRecord[];
  /** The abort, if one arrived (also when it came too late to change anything). */
  aborted: AbortRecord | null;
  figures: F;
  compensation: CompensationResult | null;
}
