/**
 * kafka-dr's own metric names (docs/operations.md, "Worker"). Pure: workflow code emits some of
 * them through the workflow metric meter, the worker the rest.
 */

/** Histogram, ms: how long a gate waited for its decision. Tags: playbook, gate, decision. */
export const METRIC_GATE_WAIT = 'kafka_dr_gate_wait_ms';
/** Counter: playbooks that finished. Tags: playbook, outcome. */
export const METRIC_PLAYBOOKS_FINISHED = 'kafka_dr_playbooks_finished';
/** Counter: cutover hooks run after an approved gate. Tags: playbook, gate, result. */
export const METRIC_HOOKS = 'kafka_dr_cutover_hooks';
/** Gauge: playbook workflows running now (from Temporal visibility). Tag: playbook. */
export const METRIC_PLAYBOOKS_RUNNING = 'kafka_dr_playbooks_running';
/** Gauge, records: MM2 lag per source topic at the last measurement. Tags: source, topic. */
export const METRIC_REPLICATION_LAG = 'kafka_dr_replication_lag_records';

/** The workflow types counted by METRIC_PLAYBOOKS_RUNNING (the playbooks' workflow function names). */
export const PLAYBOOK_WORKFLOW_TYPES = ['deployReplication', 'failover', 'failback', 'recreateTopic', 'auditDrift'] as const;
