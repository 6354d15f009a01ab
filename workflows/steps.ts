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
): Promise<number> {
  const started = Date.now();
  await pb.step('drain', () => longWaits.waitForDrain(args), {
    abortable: true,
    summarize: (r) => ({ polls: r.polls, total: r.total, maxLag: r.maxLag, partitions: r.report.partitions.length }),
  });
  return Date.now() - started;
}
