/**
 * Whether a cluster pair is in the middle of a cutover, from the runs of its cutover
 * workflow ID (`cutoverWorkflowId`): a failover or failback running, or a failover that
 * completed (outcome completed) with no completed failback after it. Playbooks that must
 * not run then (recreate-topic: it would delete the DR cluster's live topic and resume the
 * forward flow the failover stopped) refuse with `describePairState`. Pure.
 */

export interface CutoverRun {
  /** Workflow type: `failover`, `failback` (other types under the ID, e.g. the pair lock, are ignored). */
  type: string;
  runId: string;
  /** Temporal's status name: RUNNING, COMPLETED, FAILED, ... */
  status: string;
  startTime: string;
  /** The playbook report's outcome, for a COMPLETED run (completed, rejected, aborted, ...). */
  outcome?: string | null;
}

export type PairState =
  { state: 'idle' } | { state: 'cutover-running'; type: string; runId: string } | { state: 'failed-over'; runId: string; at: string };

export function pairCutoverState(runs: readonly CutoverRun[]): PairState {
  const cutovers = runs
    .filter((r) => r.type === 'failover' || r.type === 'failback')
    .sort((a, b) => Date.parse(b.startTime) - Date.parse(a.startTime));
  const running = cutovers.find((r) => r.status === 'RUNNING');
  if (running) return { state: 'cutover-running', type: running.type, runId: running.runId };
  // The newest cutover that changed something decides: a failover that failed or was
  // rejected/aborted compensated (resumed the forward flow), so it does not count.
  const effective = cutovers.find((r) => r.status === 'COMPLETED' && r.outcome === 'completed');
  if (effective?.type === 'failover') return { state: 'failed-over', runId: effective.runId, at: effective.startTime };
  return { state: 'idle' };
}

/** Why a playbook must wait, in the operator's terms, or undefined when the pair is idle. */
export function describePairState(s: PairState, pair: { source: string; target: string; workflowId: string }): string | undefined {
  if (s.state === 'cutover-running') {
    return `a ${s.type} of ${pair.source}~${pair.target} is running (${pair.workflowId}, run ${s.runId}): wait until it ends (or abort it)`;
  }
  if (s.state === 'failed-over') {
    return (
      `the pair is failed over (failover ${pair.workflowId} run ${s.runId} completed; no failback since): the forward flow is stopped on purpose ` +
      `and the DR cluster's topics are live; fail back first (kafka-dr failback), then recreate the topic`
    );
  }
  return undefined;
}
