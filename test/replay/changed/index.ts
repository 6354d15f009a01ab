// NEGATIVE CONTROL for test/replay/replay.test.ts, never registered by a worker: the
// audit-drift playbook changed without `patched()` (one extra activity call first thing).
// Replaying a history recorded with the real workflow must fail with DeterminismViolationError.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../../activities';
import { auditDrift as released } from '../../../workflows/audit-drift';

export { failover } from '../../../workflows/failover';

const { clusterHealth } = proxyActivities<Activities>({ startToCloseTimeout: '30s' });

export async function auditDrift(raw: unknown): ReturnType<typeof released> {
  await clusterHealth({ cluster: 'B' });
  return released(raw);
}
