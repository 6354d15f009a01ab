import { runMain } from './lib/common';
import { main } from './orchestration';

/**
 * Benchmark 6 alone: the worker's RSS idle and during a real failback (the kafka-dr side
 * of bench/orchestration.ts, without the scripted runbook). Writes worker-footprint.json.
 */
runMain(() => main({ only: 'kafka-dr' }));
