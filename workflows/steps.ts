import type { AppliedOffsetPlan } from '../activities/offsets';
import type { LagReport } from '../src/offsets/lag';
import { longWaits } from './activity-options';
import type { Playbook } from './framework';

/**
 * Runbook steps that failover and failback share, with the clusters and connectors
 * of each direction as parameters. Both waits are abortable: an operator can stop a
 * playbook whose producers never go quiet or whose lag never reaches zero.
 */

/** Producers on `cluster` wrote nothing for `quietSeconds` (end offsets unchanged). */
export async function verifyQuietStep(pb: Playbook, args: { cluster: string; topics: string[]; quietSeconds: number }): Promise<void> {
  await pb.step('verify-quiet', () => longWaits.waitForQuietProducers(args), {
    abortable: true,
    details: { cluster: args.cluster, quietSeconds: args.quietSeconds },
    summarize: (r) => ({ quietSince: r.quietSince, polls: r.polls }),
  });
}

/** Replication lag of the given MirrorSourceConnectors drained to exactly 0; returns the time it took. */
export async function drainStep(
  pb: Playbook,
  args: { connect: string; connectors: string[]; source: string; topics: string[] },
  /** Receives the last poll's report (the source end offsets at the drain's end). */
  onDrained?: (report: LagReport) => void,
  stepName = 'drain',
): Promise<number> {
  const started = Date.now();
  const result = await pb.step(stepName, () => longWaits.waitForDrain(args), {
    abortable: true,
    summarize: (r) => ({ polls: r.polls, total: r.total, maxLag: r.maxLag, partitions: r.report.partitions.length }),
  });
  onDrained?.(result.report);
  return Date.now() - started;
}

/** Stale partitions listed in a step's details, at most this many (the count is always there). */
const MAX_STALE_LISTED = 20;

/**
 * translate-offsets' step details about checkpoint freshness: whether the checkpoints
 * covered every group's last commit on the source, and if not, which partitions will
 * re-deliver how many records (duplicates, never loss).
 */
export function checkpointFreshness(f: AppliedOffsetPlan['freshness']): Record<string, unknown> {
  if (!f) return {};
  return {
    checkpointFreshness: {
      decision: f.decision,
      checked: f.checked,
      stale: f.stale.length,
      behindTotal: f.behindTotal,
      waitedMs: f.waitedMs,
      ...(f.stale.length > 0 ? { stalePartitions: f.stale.slice(0, MAX_STALE_LISTED) } : {}),
    },
  };
}
