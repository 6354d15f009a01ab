import { z } from 'zod';
import type { ConnectorOffset } from '../connect/client';

/**
 * MM2 replication lag, per source partition:
 *   lag = source end offset − (committed MM2 offset + 1)
 * The committed offset is the upstream offset of the last record MirrorSourceConnector
 * replicated (Connect's offsets API); it only advances after the target acknowledged
 * the record and Connect flushed its offsets, so "lag 0 everywhere while producers are
 * stopped" means every record is on the target.
 *
 * Transactions: a transactional source partition holds offsets no read_committed consumer
 * (MM2's included) ever returns: commit/abort markers and aborted records. The raw
 * difference above counts them; `withTransactions` replaces it, for the partitions that
 * were scanned (src/kafka/committed-records.ts), by the committed data records left, and
 * keeps a partition with an open transaction in the range behind (its records are not
 * decided: a commit turns them into data to replicate).
 * Offsets are decimal strings at this module's edge (Temporal history is JSON).
 */

export type LagState =
  /** lag 0: everything up to the source end is replicated. */
  | 'caught-up'
  /** lag > 0. */
  | 'behind'
  /** No committed MM2 offset yet: lag counts the whole partition (end − log start). */
  | 'not-started'
  /** end < committed + 1: the source topic was recreated or truncated. Never counts as drained. */
  | 'anomaly'
  /** MM2 has a committed offset but the source partition no longer exists (topic deleted). Not counted. */
  | 'source-missing';

export interface PartitionLag {
  topic: string;
  partition: number;
  /** Source end offset (null when the partition is gone). */
  end: string | null;
  /** Last replicated upstream offset (null: none yet). */
  committed: string | null;
  lag: string | null;
  state: LagState;
  note?: string;
  /** Offsets of the raw lag that are transaction markers or aborted records (scanned partitions only). */
  markersOrAborted?: string;
  /** Set when a transaction is open inside the unreplicated range: its first offset (the last stable offset). */
  openTransactionAt?: string;
}

export interface LagReport {
  source: string;
  partitions: PartitionLag[];
  /** Sum of positive lags (anomalies and missing partitions excluded). */
  total: string;
  maxLag: string;
  /** Partitions in `anomaly`. */
  anomalies: number;
  /** Every partition at lag 0, none anomalous, at least one measured, no named topic missing. */
  drained: boolean;
  /** Topics asked for that the source cluster does not have. */
  missingTopics: string[];
  measuredAt: string;
}

export interface SourcePartitionOffsets {
  topic: string;
  partition: number;
  low: bigint;
  high: bigint;
}

const MirrorPartitionSchema = z.object({ cluster: z.string(), topic: z.string(), partition: z.number().int().nonnegative() });
const MirrorOffsetSchema = z.object({ offset: z.number().int() });

/**
 * MirrorSourceConnector offsets of `sourceAlias` from one or more connectors' offsets
 * (Connect's `GET /connectors/{name}/offsets`). Entries of other shapes (checkpoint or
 * heartbeat connectors, another source alias) are ignored. When two connectors hold the
 * same partition (a topic moved between topic groups) the higher offset wins: it is the
 * one the current owner resumed from, or the further progress.
 */
export function committedMirrorOffsets(
  sourceAlias: string,
  offsets: ConnectorOffset[],
): Map<string, { topic: string; partition: number; offset: bigint | null }> {
  const out = new Map<string, { topic: string; partition: number; offset: bigint | null }>();
  for (const o of offsets) {
    const p = MirrorPartitionSchema.safeParse(o.partition);
    if (!p.success || p.data.cluster !== sourceAlias) continue;
    const parsed = o.offset === null ? null : MirrorOffsetSchema.safeParse(o.offset);
    // A null offset is a reset partition: nothing replicated as far as the task is concerned.
    const offset = parsed && parsed.success ? BigInt(parsed.data.offset) : null;
    const k = partitionKey(p.data.topic, p.data.partition);
    const prev = out.get(k);
    if (!prev || (offset !== null && (prev.offset === null || offset > prev.offset))) {
      out.set(k, { topic: p.data.topic, partition: p.data.partition, offset });
    }
  }
  return out;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Lag of one partition. `committed` null: MM2 has not replicated anything from it. */
export function partitionLag(
  topic: string,
  partition: number,
  source: { low: bigint; high: bigint } | undefined,
  committed: bigint | null,
): PartitionLag {
  const c = committed === null ? null : committed.toString();
  if (!source) {
    return {
      topic,
      partition,
      end: null,
      committed: c,
      lag: null,
      state: 'source-missing',
      note: 'MM2 has a committed offset for this partition but the source has no such partition (topic deleted?): not counted',
    };
  }
  const end = source.high.toString();
  if (committed === null) {
    const lag = source.high - source.low;
    return { topic, partition, end, committed: null, lag: lag.toString(), state: 'not-started' };
  }
  const lag = source.high - (committed + 1n);
  if (lag < 0n) {
    return {
      topic,
      partition,
      end,
      committed: c,
      lag: lag.toString(),
      state: 'anomaly',
      note:
        `source end offset ${source.high} is below MM2's next offset ${committed + 1n}: the source topic was recreated or ` +
        'truncated; MM2 will re-copy from the start (duplicates on the target). Never counted as drained: run recreate-topic',
    };
  }
  return { topic, partition, end, committed: c, lag: lag.toString(), state: lag === 0n ? 'caught-up' : 'behind' };
}

/**
 * The lag report. Partitions measured: every partition of `source` offsets given (the
 * topics asked for, or those MM2 has committed offsets for), plus committed partitions
 * whose topic or partition is gone from the source.
 */
export function computeLag(
  sourceAlias: string,
  sourceOffsets: SourcePartitionOffsets[],
  committed: Map<string, { topic: string; partition: number; offset: bigint | null }>,
  measuredAt: string,
  /** Only these topics (committed offsets of other topics are ignored). */
  topics?: string[],
  missingTopics: string[] = [],
): LagReport {
  const wanted = topics ? new Set(topics) : undefined;
  const partitions: PartitionLag[] = [];
  const seen = new Set<string>();
  for (const s of sourceOffsets) {
    if (wanted && !wanted.has(s.topic)) continue;
    const k = partitionKey(s.topic, s.partition);
    seen.add(k);
    partitions.push(partitionLag(s.topic, s.partition, s, committed.get(k)?.offset ?? null));
  }
  for (const [k, c] of committed) {
    if (seen.has(k) || (wanted && !wanted.has(c.topic))) continue;
    partitions.push(partitionLag(c.topic, c.partition, undefined, c.offset));
  }
  partitions.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return summarizeLag(sourceAlias, partitions, measuredAt, missingTopics);
}

/** Totals and the drained verdict over measured partitions. */
function summarizeLag(sourceAlias: string, partitions: PartitionLag[], measuredAt: string, missingTopics: string[]): LagReport {
  let total = 0n;
  let maxLag = 0n;
  let anomalies = 0;
  let counted = 0;
  for (const p of partitions) {
    if (p.state === 'anomaly') anomalies++;
    if (p.lag === null || p.state === 'anomaly') continue;
    counted++;
    const lag = BigInt(p.lag);
    total += lag;
    if (lag > maxLag) maxLag = lag;
  }
  return {
    source: sourceAlias,
    partitions,
    total: total.toString(),
    maxLag: maxLag.toString(),
    anomalies,
    // Nothing measured is not evidence of a drain (a wrong topic list looks like that).
    // A named topic missing from the source is more likely a typo than a drained topic.
    drained: counted > 0 && anomalies === 0 && total === 0n && missingTopics.length === 0,
    missingTopics,
    measuredAt,
  };
}

/** The unreplicated range of a partition with a positive raw lag: [end − lag, end). */
export function unreplicatedRange(p: PartitionLag): { topic: string; partition: number; from: bigint; to: bigint } | null {
  if (p.end === null || p.lag === null || (p.state !== 'behind' && p.state !== 'not-started')) return null;
  const lag = BigInt(p.lag);
  if (lag <= 0n) return null;
  const end = BigInt(p.end);
  return { topic: p.topic, partition: p.partition, from: end - lag, to: end };
}

/** What a read_committed scan of one unreplicated range found (see src/kafka/committed-records.ts). */
export interface TransactionScan {
  topic: string;
  partition: number;
  dataRecords: number;
  markersOrAborted: number;
  lastStable: string;
  openTransaction: boolean;
  /** The whole range was read; false: stopped at the first data record or at an open transaction. */
  complete: boolean;
}

/**
 * The report with transaction markers accounted: a scanned partition whose range was read
 * completely, without an open transaction, has as lag its committed data records (0 when
 * only markers and aborted records are left: caught up). An open transaction keeps the
 * raw lag (never drained). A scan stopped at the first data record keeps the raw lag too
 * (an upper bound: "behind" is all a drain needs to know).
 */
export function withTransactions(report: LagReport, scans: readonly TransactionScan[]): LagReport {
  const byKey = new Map(scans.map((s) => [partitionKey(s.topic, s.partition), s]));
  const partitions = report.partitions.map((p): PartitionLag => {
    const scan = byKey.get(partitionKey(p.topic, p.partition));
    if (!scan || p.lag === null || (p.state !== 'behind' && p.state !== 'not-started')) return p;
    if (scan.openTransaction) {
      return {
        ...p,
        state: 'behind',
        openTransactionAt: scan.lastStable,
        note: `a transaction is open from offset ${scan.lastStable}: not drained until its producer commits or aborts it (or it times out)`,
      };
    }
    if (!scan.complete) return p;
    const lag = BigInt(scan.dataRecords);
    const out: PartitionLag = { ...p, lag: lag.toString(), markersOrAborted: String(scan.markersOrAborted) };
    if (lag === 0n) {
      out.state = 'caught-up';
      out.note = `the ${p.lag} unreplicated offset(s) are transaction markers or aborted records: nothing to replicate`;
    }
    return out;
  });
  return summarizeLag(report.source, partitions, report.measuredAt, report.missingTopics);
}

/** Progress of waitForDrain, also its heartbeat details (so the Temporal UI shows the lag). */
export interface DrainProgress {
  polls: number;
  consecutiveZero: number;
  total: string;
  maxLag: string;
  anomalies: number;
  /** Up to NON_ZERO_SHOWN partitions not at 0, largest lag first. */
  nonZero: Array<{ topic: string; partition: number; lag: string | null; state: LagState }>;
  /** Set when this attempt resumed from an earlier attempt's heartbeat: the polls counted before it. */
  resumedFromPolls?: number;
  note?: string;
}

export const NON_ZERO_SHOWN = 20;

const DrainProgressSchema = z.object({ polls: z.number().int().nonnegative() }).passthrough();

/**
 * Where a (re)started waitForDrain begins. `polls` carries over from the last heartbeat
 * so the UI keeps counting; `consecutiveZero` restarts at 0 on purpose: a crash or a
 * timeout is exactly when the evidence must be fresh, so K zero polls are required again
 * within this attempt.
 */
export function resumeDrain(heartbeatDetails: unknown): DrainProgress {
  const parsed = DrainProgressSchema.safeParse(heartbeatDetails);
  const polls = parsed.success ? parsed.data.polls : 0;
  return {
    polls,
    consecutiveZero: 0,
    total: '0',
    maxLag: '0',
    anomalies: 0,
    nonZero: [],
    ...(parsed.success ? { resumedFromPolls: polls } : {}),
  };
}

/** Folds one poll's report into the progress. */
export function nextDrainProgress(prev: DrainProgress, report: LagReport): DrainProgress {
  const nonZero = report.partitions
    .filter((p) => p.state === 'anomaly' || (p.lag !== null && p.lag !== '0'))
    .sort((a, b) => {
      // Anomalies first (they block the drain for good), then the largest lag.
      if ((a.state === 'anomaly') !== (b.state === 'anomaly')) return a.state === 'anomaly' ? -1 : 1;
      const d = BigInt(b.lag ?? '0') - BigInt(a.lag ?? '0');
      return d > 0n ? 1 : d < 0n ? -1 : 0;
    })
    .slice(0, NON_ZERO_SHOWN)
    .map((p) => ({ topic: p.topic, partition: p.partition, lag: p.lag, state: p.state }));
  const next: DrainProgress = {
    polls: prev.polls + 1,
    consecutiveZero: report.drained ? prev.consecutiveZero + 1 : 0,
    total: report.total,
    maxLag: report.maxLag,
    anomalies: report.anomalies,
    nonZero,
  };
  if (prev.resumedFromPolls !== undefined) next.resumedFromPolls = prev.resumedFromPolls;
  if (report.missingTopics.length > 0) {
    next.note = `not on the source: ${report.missingTopics.join(', ')}; check the topic names`;
  } else if (report.partitions.every((p) => p.lag === null)) {
    next.note = 'no partition measured: check the connector names, the source alias and the topics';
  } else if (report.anomalies > 0) {
    next.note = `${report.anomalies} partition(s) with negative lag (source recreated or truncated): not drained`;
  } else {
    const open = report.partitions.filter((p) => p.openTransactionAt !== undefined);
    if (open.length > 0) {
      next.note =
        `a transaction is open on ${open
          .slice(0, 5)
          .map((p) => `${p.topic}-${p.partition} (from offset ${p.openTransactionAt})`)
          .join(', ')}` +
        `${open.length > 5 ? ` and ${open.length - 5} more` : ''}: its producer must commit or abort it (or it times out) before the drain can finish`;
    }
  }
  return next;
}

export function isDrained(progress: DrainProgress, consecutiveZeroPolls: number): boolean {
  return progress.consecutiveZero >= consecutiveZeroPolls;
}
