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
