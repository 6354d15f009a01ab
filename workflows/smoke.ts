import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';

const { describeWorker } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3 },
});

/**
 * Proves the worker wiring end to end (bundle, task queue, activity call) without
 * touching Kafka. Changes nothing; safe to run any number of times.
 */
export async function stackSmoke(caller: string): Promise<{ workflowId: string; caller: string; worker: string }> {
  const worker = await describeWorker();
  return { workflowId: workflowInfo().workflowId, caller, worker };
}
