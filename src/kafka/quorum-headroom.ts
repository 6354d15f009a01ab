import { DEFAULT_MIN_USABLE_LOG_DIR_PERCENT } from '../registry/schema';
import type { RawBrokerLogDirs, RawQuorum, RawReplicaState } from './raw-admin';

/**
 * Judging the KRaft controller quorum and the log dirs' disk headroom (pure; the reads
 * are in raw-admin.ts). A quorum that lost a voter but keeps a majority still elects and
 * commits: `degraded` is reported, not refused. A quorum without a leader or without a
 * caught-up majority cannot change metadata (no leader elections, no topic changes):
 * `lost` refuses. Why these rules and the thresholds: docs/operations.md, "Health checks".
 */

/** A follower voter counts as caught up when it reached the leader's end offset this recently (leader clock). */
export const DEFAULT_VOTER_CAUGHT_UP_MS = 10_000;

/** The start of RawQuorum.error when a broker took DescribeQuorum and no controller answered in time. */
export const QUORUM_NO_ANSWER = 'no answer in time';

export type VoterState = 'leader' | 'caught-up' | 'lagging' | 'unknown';

export interface QuorumMember {
  id: number;
  logEndOffset: string;
  /** Records behind the leader's log end offset; null when unknown. */
  lag: string | null;
  /** ms since the member last fetched / was last caught up, by the leader's clock; null when never seen. */
  lastFetchAgoMs: number | null;
  lastCaughtUpAgoMs: number | null;
}

export interface QuorumVoter extends QuorumMember {
  state: VoterState;
}

export interface QuorumHealth {
  status: 'ok' | 'degraded' | 'lost';
  /** -1 when there is none. */
  leaderId: number;
  leaderEpoch: number;
  highWatermark: string;
  voters: QuorumVoter[];
  observers: QuorumMember[];
  /** Voters caught up (the leader included) and how many a majority needs. */
  caughtUp: number;
  majority: number;
  /** The error DescribeQuorum answered with, if any. */
  error: string | null;
  /** One line for the report: `2 of 3 voters caught up (leader 1): voter 3 lagging ...`. */
  summary: string;
}

function agoMs(reference: number, ts: number): number | null {
  return ts < 0 || reference < 0 ? null : Math.max(0, reference - ts);
}

/**
 * The quorum as the operator needs it. `nowMs` is the activity clock, used only when
 * the leader did not report its own (its lastCaughtUpTimestamp is its current time).
 */
export function evaluateQuorum(raw: RawQuorum, nowMs: number, caughtUpWithinMs = DEFAULT_VOTER_CAUGHT_UP_MS): QuorumHealth {
  const leaderState = raw.voters.find((v) => v.replicaId === raw.leaderId);
  const reference = leaderState && leaderState.lastCaughtUpTimestamp > 0 ? leaderState.lastCaughtUpTimestamp : nowMs;
  const leaderEnd = leaderState ? BigInt(leaderState.logEndOffset) : null;
  const member = (r: RawReplicaState): QuorumMember => ({
    id: r.replicaId,
    logEndOffset: r.logEndOffset,
    lag:
      leaderEnd !== null && BigInt(r.logEndOffset) >= 0
        ? (leaderEnd > BigInt(r.logEndOffset) ? leaderEnd - BigInt(r.logEndOffset) : 0n).toString()
        : null,
    lastFetchAgoMs: agoMs(reference, r.lastFetchTimestamp),
    lastCaughtUpAgoMs: agoMs(reference, r.lastCaughtUpTimestamp),
  });
  const voters: QuorumVoter[] = [...raw.voters]
    .sort((a, b) => a.replicaId - b.replicaId)
    .map((r) => {
      const m = member(r);
      let state: VoterState;
      if (r.replicaId === raw.leaderId && raw.error === null) state = 'leader';
      else if (m.lastCaughtUpAgoMs === null) state = 'unknown';
      else state = m.lastCaughtUpAgoMs <= caughtUpWithinMs ? 'caught-up' : 'lagging';
      return { ...m, state };
    });
  const observers = [...raw.observers].sort((a, b) => a.replicaId - b.replicaId).map(member);
  const caughtUp = voters.filter((v) => v.state === 'leader' || v.state === 'caught-up').length;
  const majority = Math.floor(raw.voters.length / 2) + 1;

  let status: QuorumHealth['status'];
  let summary: string;
  const behind = voters.filter((v) => v.state === 'lagging' || v.state === 'unknown');
  const behindText = behind
    .map((v) =>
      v.state === 'unknown'
        ? `voter ${v.id} not fetching (leader ${raw.leaderId} has seen no fetch from it: stopped or unreachable)`
        : `voter ${v.id} lagging (last caught up ${Math.round(v.lastCaughtUpAgoMs! / 1000)} s ago, ${v.lag ?? '?'} records behind)`,
    )
    .join(', ');
  if (raw.error?.startsWith(QUORUM_NO_ANSWER)) {
    // What kafka-dr sees of a lost quorum: the brokers still answer (metadata, produce,
    // fetch on their last metadata) but nothing answers for the controllers.
    status = 'lost';
    summary =
      `no controller answered DescribeQuorum (${raw.error}): the brokers answer but cannot reach an active controller, ` +
      `so the quorum is most likely lost (a majority of controllers down or cut off). Brokers keep serving on their ` +
      `last metadata for a while, so clients may see no error, but no leader election, ISR, topic or config change can happen`;
  } else if (raw.error !== null || raw.leaderId < 0) {
    status = 'lost';
    summary = `no quorum leader (${raw.error ?? 'leader unknown'}): metadata changes and leader elections cannot happen`;
  } else if (caughtUp < majority) {
    status = 'lost';
    summary = `${caughtUp} of ${voters.length} voters caught up, a majority needs ${majority} (leader ${raw.leaderId}): ${behindText}`;
  } else if (behind.length > 0) {
    status = 'degraded';
    summary = `${caughtUp} of ${voters.length} voters caught up (leader ${raw.leaderId}, majority held): ${behindText}`;
  } else {
    status = 'ok';
    summary = `${caughtUp} of ${voters.length} voters caught up (leader ${raw.leaderId})`;
  }
  return {
    status,
    leaderId: raw.error === null ? raw.leaderId : -1,
    leaderEpoch: raw.leaderEpoch,
    highWatermark: raw.highWatermark,
    voters,
    observers,
    caughtUp,
    majority,
    error: raw.error,
    summary,
  };
}

// ---------------------------------------------------------------------------
// Disk headroom
// ---------------------------------------------------------------------------

export { DEFAULT_MIN_USABLE_LOG_DIR_PERCENT };

export interface LogDirHeadroom {
  brokerId: number;
  logDir: string;
  totalBytes: number;
  usableBytes: number;
  /** usable / total, 0..1; null when the broker did not know its sizes. */
  usableFraction: number | null;
  /** Offline dir (KAFKA_STORAGE_ERROR), or null. */
  error: string | null;
  ok: boolean;
}

export interface HeadroomHealth {
  minUsablePercent: number;
  logDirs: LogDirHeadroom[];
  /** Brokers that did not answer DescribeLogDirs, with why. */
  unanswered: Array<{ brokerId: number; reason: string }>;
  /** The smallest usable fraction seen (null when none known). */
  lowestUsableFraction: number | null;
  /** One human line per problem (refusals). */
  problems: string[];
}

const pct = (f: number) => `${(f * 100).toFixed(1)} %`;
const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

/**
 * Every log dir of every broker against `minUsablePercent` (usable / total). An offline
 * dir, a dir below the threshold and a broker that did not answer are problems; a dir
 * whose sizes are unknown (-1) is listed without judging it.
 */
export function evaluateHeadroom(raw: RawBrokerLogDirs[], minUsablePercent = DEFAULT_MIN_USABLE_LOG_DIR_PERCENT): HeadroomHealth {
  const logDirs: LogDirHeadroom[] = [];
  const unanswered: HeadroomHealth['unanswered'] = [];
  const problems: string[] = [];
  for (const b of [...raw].sort((x, y) => x.brokerId - y.brokerId)) {
    if (!b.ok) {
      unanswered.push({ brokerId: b.brokerId, reason: b.reason });
      problems.push(`broker ${b.brokerId} did not report its log dirs (${b.reason}): disk headroom unknown`);
      continue;
    }
    for (const d of [...b.logDirs].sort((x, y) => (x.logDir < y.logDir ? -1 : x.logDir > y.logDir ? 1 : 0))) {
      const known = d.totalBytes > 0 && d.usableBytes >= 0;
      const usableFraction = known ? d.usableBytes / d.totalBytes : null;
      let ok = true;
      if (d.error !== null) {
        ok = false;
        problems.push(`broker ${b.brokerId} log dir ${d.logDir} is offline (${d.error})`);
      } else if (usableFraction !== null && usableFraction * 100 < minUsablePercent) {
        ok = false;
        problems.push(
          `broker ${b.brokerId} log dir ${d.logDir}: ${pct(usableFraction)} usable (${gib(d.usableBytes)} of ${gib(d.totalBytes)}), ` +
            `below minUsableLogDirPercent ${minUsablePercent} %: free disk or add capacity before moving traffic here`,
        );
      }
      logDirs.push({
        brokerId: b.brokerId,
        logDir: d.logDir,
        totalBytes: d.totalBytes,
        usableBytes: d.usableBytes,
        usableFraction,
        error: d.error,
        ok,
      });
    }
  }
  const fractions = logDirs.map((d) => d.usableFraction).filter((f): f is number => f !== null);
  return {
    minUsablePercent,
    logDirs,
    unanswered,
    lowestUsableFraction: fractions.length > 0 ? Math.min(...fractions) : null,
    problems,
  };
}
