import type { CutoverAction } from './actions';

/**
 * Cutover hooks: how producers and consumers actually move is outside Kafka. A gate's
 * hook runs after the gate is approved and before the playbook's next step, so
 * "approve stop-producers" means "stop them now (or: I have), then verify quiet".
 * Hooks are configured in the registry per gate, never in workflow input.
 */

/** What a hook is asked to do: the gate that was just approved, in its playbook. */
export interface CutoverHookRequest {
  workflowId: string;
  /** failover | failback | ... (the playbook that opened the gate). */
  playbook: string;
  /** stop-producers | consumers-cutover | producers-cutover | ... */
  gate: string;
  /** What the clients must do now (./actions: one per gate, two for the failback's consumers-cutover). */
  action: CutoverAction;
  /** Cluster alias the clients move away from (failover: A; failback: B). */
  from: string;
  /** Cluster alias the clients move to. */
  to: string;
  /** Who approved the gate. */
  approvedBy: string;
}

/** What the hook did, recorded in the step journal and the report (never a secret). */
export interface CutoverHookResult {
  kind: 'manual' | 'webhook' | 'drill';
  detail: Record<string, unknown>;
}

/**
 * The drill's built-in switch: the drill runs its worker in-process and passes this in
 * the activity deps; a gate whose hook is `{ kind: drill }` calls it. Its result is
 * recorded as the hook's detail.
 */
export type DrillSwitch = (request: CutoverHookRequest) => Promise<Record<string, unknown>>;

/**
 * What an escalation notification says: a gate has waited past its escalation time and
 * still waits (never a secret: all of it is in the workflow's status already).
 */
export interface EscalationNotice {
  event: 'gate-escalated';
  workflowId: string;
  playbook: string;
  gate: string;
  /** What approving the gate will do. */
  description: string;
  openedAt: string;
  escalatedAt: string;
  /** How long the gate has waited so far. */
  waitedMs: number;
  /** When the gate times out and the playbook aborts safely. */
  deadlineAt: string;
  /** Who may decide (null: anyone who names themselves). */
  approvers: string[] | null;
  requestedBy: string | null;
}

/** What the escalation activity did (recorded in the history: no secret). */
export interface EscalationResult {
  kind: 'webhook' | 'log';
  detail: Record<string, unknown>;
}
