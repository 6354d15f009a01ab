import type { Client } from '@temporalio/client';
import type { Logger, MetricMeter } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { lagSamples } from './lag';
import { METRIC_PLAYBOOKS_RUNNING, METRIC_REPLICATION_LAG, PLAYBOOK_WORKFLOW_TYPES } from './names';

/**
 * The worker-side half of kafka-dr's metrics (the workflow half is in
 * workflows/framework/metrics.ts). Both go through the SDK runtime's meter, so they
 * come out of the same Prometheus endpoint as the SDK's own metrics.
 */

/**
 * Sets the replication lag gauge from every activity result that carries a lag report
 * (replicationLag, waitForDrain, …): whatever a playbook measured last is what the gauge shows.
 */
export function lagMetricsInterceptor(meter: MetricMeter): ActivityInterceptorsFactory {
  const gauge = meter.createGauge(
    METRIC_REPLICATION_LAG,
    'int',
    'records',
    'MM2 replication lag per source topic, as last measured by a playbook',
  );
  return () => ({
    inbound: {
      async execute(input, next) {
        const result = await next(input);
        for (const sample of lagSamples(result)) gauge.set(sample.value, sample.tags);
        return result;
      },
    },
  });
}

/**
 * Keeps the playbooks-running gauge current by asking Temporal's visibility (so it is
 * right after a worker restart, and counts runs other workers execute too). Returns stop().
 */
export function pollRunningPlaybooks(options: {
  client: () => Promise<Client>;
  meter: MetricMeter;
  taskQueue: string;
  intervalMs: number;
  log: Logger;
}): () => void {
  const gauge = options.meter.createGauge(
    METRIC_PLAYBOOKS_RUNNING,
    'int',
    '',
    'Playbook workflows running now, by playbook (Temporal visibility)',
  );
  let warned = false;
  let stopped = false;
  const poll = async () => {
    try {
      const client = await options.client();
      for (const type of PLAYBOOK_WORKFLOW_TYPES) {
        const { count } = await client.workflow.count(
          `TaskQueue = '${options.taskQueue}' AND WorkflowType = '${type}' AND ExecutionStatus = 'Running'`,
        );
        if (stopped) return;
        gauge.set(count, { playbook: type });
      }
      warned = false;
    } catch (err) {
      // Once per outage: the worker goes on; the gauge keeps its last values.
      if (!warned)
        options.log.warn('playbooks-running gauge: cannot count workflows', { error: err instanceof Error ? err.message : String(err) });
      warned = true;
    }
  };
  void poll();
  const timer = setInterval(() => void poll(), options.intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
