/**
 * Are the checkpoints recent enough to translate a group's position? MM2 writes a
 * checkpoint every `emit.checkpoints.interval.seconds`, from the group's commit on the
 * source at that moment. A group that committed on the source after the last checkpoint
 * would be set on the target to the older position: its consumers re-read what they
 * consumed since (duplicates, never loss). Pure: the activity reads the checkpoints and
 * the groups' committed offsets on the source, this compares them and decides.
 */

/** A group's committed offset on the source cluster (upstream topic name). */
export interface SourceCommit {
  group: string;
  topic: string;
  partition: number;
  /** null: no committed offset. */
  offset: bigint | null;
}

/** The part of a checkpoint this check needs (downstream topic name, as MM2 keys it). */
export interface CheckpointPosition {
  consumerGroupId: string;
  topic: string;
  partition: number;
  upstreamOffset: bigint;
}

export interface StalePartition {
  group: string;
  /** Downstream topic (on the target). */
  topic: string;
  partition: number;
  /** The upstream offset the newest checkpoint translated (null: no checkpoint at all). */
  checkpointUpstream: string | null;
  committedOnSource: string;
  /** Records the group consumed on the source after the checkpoint: re-delivered on the target. */
  behind: string;
}

export interface StalenessReport {
  /** Partitions with a commit on the source that were compared. */
  checked: number;
  /** Partitions with a commit on the source placed exactly (by record content): no checkpoint needed, not compared. */
  exact?: number;
  stale: StalePartition[];
  /** Sum of `behind` over the stale partitions that have a checkpoint. */
  behindTotal: string;
}

/**
 * Compares each source commit with the newest checkpoint of the same group and partition.
 * Stale: no checkpoint yet, or one that translated an older commit. A checkpoint ahead of
 * the commit (the group was reset backwards on the source) is not stale: the translation
 * step's own no-rewind rule handles it.
 */
export function checkpointStaleness(args: {
  checkpoints: CheckpointPosition[];
  committed: SourceCommit[];
  /** The downstream name of an upstream topic (the flow's replication policy). */
  downstreamTopic: (upstream: string) => string;
  /**
   * Partitions placed exactly (group, downstream topic, partition): their position comes from
   * the records, not a checkpoint, so a missing or older checkpoint there is neither stale nor
   * worth waiting for. Only the partitions that fall back to checkpoints are compared.
   */
  exact?: ReadonlyArray<{ group: string; topic: string; partition: number }>;
}): StalenessReport {
  const exact = new Set((args.exact ?? []).map((e) => key(e.group, e.topic, e.partition)));
  let exactCount = 0;
  const newest = new Map<string, bigint>();
  for (const c of args.checkpoints) newest.set(key(c.consumerGroupId, c.topic, c.partition), c.upstreamOffset);
  const stale: StalePartition[] = [];
  let checked = 0;
  let behindTotal = 0n;
  for (const commit of args.committed) {
    if (commit.offset === null) continue;
    const topic = args.downstreamTopic(commit.topic);
    if (exact.has(key(commit.group, topic, commit.partition))) {
      exactCount++;
      continue;
    }
    checked++;
    const at = newest.get(key(commit.group, topic, commit.partition));
    if (at !== undefined && at >= commit.offset) continue;
    const behind = at === undefined ? commit.offset : commit.offset - at;
    if (at !== undefined) behindTotal += behind;
    stale.push({
      group: commit.group,
      topic,
      partition: commit.partition,
      checkpointUpstream: at === undefined ? null : at.toString(),
      committedOnSource: commit.offset.toString(),
      behind: behind.toString(),
    });
  }
  stale.sort((a, b) => a.group.localeCompare(b.group) || a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return { checked, stale, behindTotal: behindTotal.toString(), ...(args.exact ? { exact: exactCount } : {}) };
}

export type StalenessDecision =
  /** Every checkpoint covers the group's last commit: translate now. */
  | 'apply'
  /** Stale, and time is left: read the checkpoints again after a poll interval. */
  | 'wait'
  /** Stale and out of time (or not allowed to wait): translate anyway and report it. */
  | 'apply-stale';

/** How long the activity has waited, and how long the stale checkpoints have not moved. */
export interface StalenessClock {
  waitedMs: number;
  maxWaitMs: number;
  /** Time since the stale partitions' checkpoints last changed (or since the wait began). */
  unchangedMs: number;
  /** Give up once they have not moved for this long (a couple of checkpoint intervals); absent: wait until maxWaitMs. */
  settleMs?: number;
}

/**
 * Whether to translate now. Waiting only helps while the checkpoint connector runs (the
 * failback's reverse flow); after a failover stopped the forward flow, `maxWaitMs` is 0 and
 * staleness is reported, not waited out. It also ends once the checkpoints have settled:
 * MM2 emits a checkpoint only when the translated downstream offset moves forward, so a
 * last commit that its (sparse) offset syncs translate to the same place as the previous
 * one never gets a newer checkpoint, and the translation is the same anyway.
 */
export function decideOnStaleness(report: StalenessReport, clock: StalenessClock): StalenessDecision {
  if (report.stale.length === 0) return 'apply';
  if (clock.waitedMs >= clock.maxWaitMs) return 'apply-stale';
  if (clock.settleMs !== undefined && clock.unchangedMs >= clock.settleMs) return 'apply-stale';
  return 'wait';
}

/** What identifies the stale partitions' checkpoints: when it changes, the checkpoints moved. */
export function staleFingerprint(report: StalenessReport): string {
  return JSON.stringify(report.stale.map((s) => [s.group, s.topic, s.partition, s.checkpointUpstream]));
}

function key(group: string, topic: string, partition: number): string {
  return JSON.stringify([group, topic, partition]);
}
