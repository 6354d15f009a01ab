// Test-only workflows, bundled together with the production ones for test workers.
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';

export * from '../../workflows';

type AnyActivities = Record<string, (...args: unknown[]) => Promise<unknown>>;

/** Runs one activity by name with the given options, so tests see real retries, timeouts and failures. */
export async function runActivity(name: string, args: unknown[], options: ActivityOptions): Promise<unknown> {
  const activities = proxyActivities<AnyActivities>(options);
  return activities[name]!(...args);
}
export * from './framework-playbook';
