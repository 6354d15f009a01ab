import type { ClusterHealth } from '../kafka/probes';

/**
 * What a playbook's check step shows of a cluster health result: one line for the
 * status view and the report, the step details, and the figures. Pure and free of Node
 * built-ins: workflows call it.
 */

const percent = (f: number | null | undefined) => (f === null || f === undefined ? null : Math.round(f * 1000) / 10);

/** `quorum ok: 3 of 3 voters caught up (leader 1); lowest log dir 29.9 % usable (min 10 %)`, or '' for a result without either check. */
export function healthLine(health: ClusterHealth): string {
  const parts: string[] = [];
  if (health.quorum) parts.push(`quorum ${health.quorum.status}: ${health.quorum.summary}`);
  if (health.headroom) {
    const lowest = percent(health.headroom.lowestUsableFraction);
    parts.push(
      lowest === null
        ? `log dir headroom unknown (min ${health.headroom.minUsablePercent} %)`
        : `lowest log dir ${lowest} % usable of ${health.headroom.logDirs.length} (min ${health.headroom.minUsablePercent} %)`,
    );
  }
  return parts.join('; ');
}

/** Step details: the quorum's members and every log dir, compact. */
export function healthDetails(health: ClusterHealth): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const line = healthLine(health);
  if (line) out.why = line;
  if (health.quorum) {
    const q = health.quorum;
    out.quorum = {
      status: q.status,
      leaderId: q.leaderId,
      caughtUp: q.caughtUp,
      majority: q.majority,
      voters: q.voters.map((v) => ({ id: v.id, state: v.state, lag: v.lag, lastFetchAgoMs: v.lastFetchAgoMs })),
      observers: q.observers.map((o) => o.id),
    };
  }
  if (health.headroom) {
    out.headroom = {
      minUsablePercent: health.headroom.minUsablePercent,
      logDirs: health.headroom.logDirs.map((d) => ({
        broker: d.brokerId,
        logDir: d.logDir,
        totalBytes: d.totalBytes,
        usableBytes: d.usableBytes,
        usablePercent: percent(d.usableFraction),
      })),
      ...(health.headroom.unanswered.length > 0 ? { unanswered: health.headroom.unanswered } : {}),
    };
  }
  if (health.warnings && health.warnings.length > 0) out.warnings = health.warnings;
  return out;
}

/** The figures a playbook keeps (report table): quorum status and leader, voters caught up (and the ids of those behind), lowest usable %. */
export function healthFigures(health: ClusterHealth): Record<string, string | number> | null {
  if (!health.quorum && !health.headroom) return null;
  const out: Record<string, string | number> = {};
  if (health.quorum) {
    out.quorum = health.quorum.status;
    out.quorumLeader = health.quorum.leaderId;
    out.votersCaughtUp = `${health.quorum.caughtUp}/${health.quorum.voters.length}`;
    // Which controllers to look at, in the report table itself: `103` or `101,103`.
    const behind = health.quorum.voters.filter((v) => v.state === 'lagging' || v.state === 'unknown').map((v) => v.id);
    if (behind.length > 0) out.quorumVotersBehind = behind.join(',');
  }
  if (health.headroom) {
    const lowest = percent(health.headroom.lowestUsableFraction);
    if (lowest !== null) out.lowestUsableLogDirPercent = lowest;
    out.minUsableLogDirPercent = health.headroom.minUsablePercent;
  }
  return out;
}
