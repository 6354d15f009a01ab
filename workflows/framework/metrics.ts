import { metricMeter } from '@temporalio/workflow';
import { METRIC_GATE_WAIT, METRIC_HOOKS, METRIC_PLAYBOOKS_FINISHED } from '../../src/metrics/names';

/**
 * Playbook metrics emitted from workflow code. They go through the SDK's workflow
 * metric meter (a sink), so they reach the worker's Prometheus endpoint once, from the
 * live run, and never again while a history replays. The SDK tags them with the
 * namespace, task queue and workflow type.
 */

/** How long a gate waited for its decision (approved, rejected, timed-out, aborted). */
export function recordGateWait(playbook: string, gate: string, decision: string, waitedMs: number): void {
  metricMeter
    .createHistogram(METRIC_GATE_WAIT, 'int', 'ms', 'How long a playbook gate waited for a decision')
    .record(Math.max(0, Math.round(waitedMs)), { playbook, gate, decision });
}

export function countPlaybookFinished(playbook: string, outcome: string): void {
  metricMeter.createCounter(METRIC_PLAYBOOKS_FINISHED, undefined, 'Playbooks that finished, by outcome').add(1, { playbook, outcome });
}

export function countHook(playbook: string, gate: string, result: 'ok' | 'failed'): void {
  metricMeter
    .createCounter(METRIC_HOOKS, undefined, 'Cutover hooks run after an approved gate, by result')
    .add(1, { playbook, gate, result });
}
