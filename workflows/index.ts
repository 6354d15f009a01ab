// Every workflow the kafka-dr worker registers. Workflow code is deterministic:
// no I/O, clocks or randomness outside @temporalio/workflow (lint enforces it).
export * from './smoke';
export * from './failover';
export * from './audit-drift';
export * from './deploy-replication';
export * from './recreate-topic';
export * from './failback';
export * from './pair-lock';
