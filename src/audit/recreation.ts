import type { ConnectorOffset } from '../connect/client';
import type { PartitionRange } from '../kafka/topic-offsets';

/**
 * Detects a source topic that was deleted and recreated (or truncated) under MM2's feet.
 *
 * Evidence: a MirrorSourceConnector commits, per source partition {cluster, topic,
 * partition}, the upstream offset of the last record it replicated ({offset: N}) and
 * resumes at N+1. A partition whose end offset is now below N+1 cannot be the log MM2
 * copied from; a partition count that differs from the mirror's, or a committed offset
 * for a partition the source no longer has, says the same about the whole topic.
 *
 * Why it matters: resumed as is, MM2's consumer gets OFFSET_OUT_OF_RANGE, resets to the
 * earliest offset and appends the new topic's records after the old ones on the target,
 * so the mirror mixes two generations and its offsets stop matching the source's.
 *
 * Blind spot: a recreated topic that already received more records than MM2 had
 * replicated looks like ordinary lag here (offsets alone cannot tell; topic IDs could).
 */

export interface CommittedOffset {
  connector: string;
  topic: string;
  partition: number;
  /** Upstream offset of the last replicated record; null = reset (MM2 starts over). */
  offset: bigint | null;
}

/** A source partition's log start (`low`) and end (`high`) offsets, as the batched ListOffsets read returns them. */
export type SourcePartitionOffsets = PartitionRange;

export interface ParsedMirrorOffsets {
  committed: CommittedOffset[];
  /** Partitions of other source clusters (another alias): not this flow's. */
  otherClusters: number;
  /** Entries that do not look like a MirrorSourceConnector's. */
  unrecognized: number;
}

/** Reads Connect's offsets API answer for a MirrorSourceConnector, keeping `sourceAlias`'s partitions. */
export function parseMirrorSourceOffsets(connector: string, offsets: ConnectorOffset[], sourceAlias: string): ParsedMirrorOffsets {
  const out: ParsedMirrorOffsets = { committed: [], otherClusters: 0, unrecognized: 0 };
  for (const o of offsets) {
    const { cluster, topic, partition } = o.partition;
    if (typeof cluster !== 'string' || typeof topic !== 'string' || typeof partition !== 'number' || !Number.isInteger(partition)) {
      out.unrecognized++;
      continue;
    }
    if (cluster !== sourceAlias) {
      out.otherClusters++;
      continue;
    }
    if (o.offset === null) {
      out.committed.push({ connector, topic, partition, offset: null });
      continue;
    }
    const value = o.offset.offset;
    // Offsets past 2^53 would have lost digits in JSON.parse already: refuse to compare them.
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      out.unrecognized++;
      continue;
    }
    out.committed.push({ connector, topic, partition, offset: BigInt(value) });
  }
  return out;
}

export type RecreationFindingKind =
  /** end offset < last replicated + 1: recreated or truncated. */
  | 'end-below-committed'
  /** Source and mirror partition counts differ. */
  | 'partition-count-changed'
  /** A committed offset for a partition the source no longer has. */
  | 'committed-partition-missing'
  /** Committed offsets exist but the source topic is gone. */
  | 'topic-missing-on-source'
  /** The mirror is gone from the target. */
  | 'remote-topic-missing'
  /** log start > last replicated + 1: records expired before MM2 copied them (lost for the target). */
  | 'expired-before-replicated';

/** Kinds that mean "this is not the log MM2 was copying": the recreate-topic playbook's trigger. */
export const RECREATION_KINDS: ReadonlySet<RecreationFindingKind> = new Set([
  'end-below-committed',
  'partition-count-changed',
  'committed-partition-missing',
  'topic-missing-on-source',
]);

export interface RecreationFinding {
  kind: RecreationFindingKind;
  partition?: number;
  message: string;
}

export type PartitionStatus =
  'caught-up' | 'lagging' | 'end-below-committed' | 'expired-before-replicated' | 'no-committed-offset' | 'missing-on-source';

export interface PartitionEvidence {
  partition: number;
  /** Decimal strings: offsets are int64. */
  lastReplicated: string | null;
  sourceStart: string | null;
  sourceEnd: string | null;
  /** sourceEnd − (lastReplicated + 1), when both exist and it is not negative. */
  lag: string | null;
  connector: string | null;
  status: PartitionStatus;
}

export interface TopicRecreation {
  topic: string;
  remoteTopic: string;
  /** True when any finding says the source log is not the one MM2 replicated. */
  recreationSuspected: boolean;
  sourcePartitions: number | null;
  targetPartitions: number | null;
  findings: RecreationFinding[];
  partitions: PartitionEvidence[];
  /** One line for the operator. */
  summary: string;
}

export interface RecreationInput {
  topics: string[];
  remoteTopic: (topic: string) => string;
  /** Already filtered to this flow's source alias. */
  committed: CommittedOffset[];
  /** Per source topic; a topic absent from the map does not exist on the source. */
  source: Map<string, SourcePartitionOffsets[]>;
  /** Partition count per remote topic; absent = the mirror does not exist. */
  targetPartitions: Map<string, number>;
}

/** Highest committed offset per topic/partition (two connectors may have copied the same partition). */
function latestCommitted(committed: CommittedOffset[]): Map<string, Map<number, CommittedOffset>> {
  const byTopic = new Map<string, Map<number, CommittedOffset>>();
  for (const c of committed) {
    const parts = byTopic.get(c.topic) ?? new Map<number, CommittedOffset>();
    byTopic.set(c.topic, parts);
    const seen = parts.get(c.partition);
    if (!seen || seen.offset === null || (c.offset !== null && c.offset > seen.offset)) parts.set(c.partition, c);
  }
  return byTopic;
}

export function evaluateTopic(
  topic: string,
  remoteTopic: string,
  committed: Map<number, CommittedOffset> | undefined,
  source: SourcePartitionOffsets[] | undefined,
  targetPartitions: number | undefined,
): TopicRecreation {
  const findings: RecreationFinding[] = [];
  const evidence = new Map<number, PartitionEvidence>();
  const known = [...(committed?.values() ?? [])].filter((c) => c.offset !== null);

  if (!source) {
    if (known.length > 0) {
      findings.push({
        kind: 'topic-missing-on-source',
        message: `${topic} no longer exists on the source, yet MM2 replicated ${known.length} partition(s) of it: it was deleted (if it comes back, it is a new topic, not the one on the target)`,
      });
    }
    for (const c of committed?.values() ?? []) {
      evidence.set(c.partition, {
        partition: c.partition,
        lastReplicated: c.offset?.toString() ?? null,
        sourceStart: null,
        sourceEnd: null,
        lag: null,
        connector: c.connector,
        status: 'missing-on-source',
      });
    }
  } else {
    const sourceByPartition = new Map(source.map((p) => [p.partition, p]));
    for (const p of source) {
      const c = committed?.get(p.partition);
      const base = {
        partition: p.partition,
        sourceStart: p.low.toString(),
        sourceEnd: p.high.toString(),
        connector: c?.connector ?? null,
      };
      if (!c || c.offset === null) {
        // A new partition, or one MM2 has not flushed an offset for yet: nothing to compare.
        evidence.set(p.partition, { ...base, lastReplicated: null, lag: null, status: 'no-committed-offset' });
        continue;
      }
      const next = c.offset + 1n;
      if (p.high < next) {
        findings.push({
          kind: 'end-below-committed',
          partition: p.partition,
          message: `partition ${p.partition}: recreated or truncated on the source: end ${p.high} < last replicated ${c.offset} + 1`,
        });
        evidence.set(p.partition, { ...base, lastReplicated: c.offset.toString(), lag: null, status: 'end-below-committed' });
        continue;
      }
      if (p.low > next) {
        findings.push({
          kind: 'expired-before-replicated',
          partition: p.partition,
          message: `partition ${p.partition}: records ${next}..${p.low - 1n} were deleted on the source (retention) before MM2 copied them: they are missing on the target`,
        });
        evidence.set(p.partition, {
          ...base,
          lastReplicated: c.offset.toString(),
          lag: (p.high - next).toString(),
          status: 'expired-before-replicated',
        });
        continue;
      }
      evidence.set(p.partition, {
        ...base,
        lastReplicated: c.offset.toString(),
        lag: (p.high - next).toString(),
        status: p.high === next ? 'caught-up' : 'lagging',
      });
    }
    for (const c of committed?.values() ?? []) {
      if (sourceByPartition.has(c.partition) || c.offset === null) continue;
      findings.push({
        kind: 'committed-partition-missing',
        partition: c.partition,
        message: `partition ${c.partition}: MM2 replicated it up to offset ${c.offset}, but the source now has only ${source.length} partition(s): the topic was recreated with fewer partitions`,
      });
      evidence.set(c.partition, {
        partition: c.partition,
        lastReplicated: c.offset.toString(),
        sourceStart: null,
        sourceEnd: null,
        lag: null,
        connector: c.connector,
        status: 'missing-on-source',
      });
    }
  }

  const sourcePartitions = source ? source.length : null;
  if (targetPartitions === undefined) {
    if (known.length > 0) {
      findings.push({
        kind: 'remote-topic-missing',
        message: `the mirror ${remoteTopic} does not exist on the target although MM2 replicated ${topic} (deleted on the target?)`,
      });
    }
  } else if (sourcePartitions !== null && sourcePartitions !== targetPartitions) {
    findings.push({
      kind: 'partition-count-changed',
      message:
        `partition count changed: source ${sourcePartitions}, target ${targetPartitions}` +
        (sourcePartitions < targetPartitions
          ? ' (Kafka cannot remove partitions: the source topic was recreated)'
          : ' (the source was recreated with more partitions, or partitions were added and MM2 has not created them on the target yet)'),
    });
  }

  const recreationSuspected = findings.some((f) => RECREATION_KINDS.has(f.kind));
  let summary: string;
  if (recreationSuspected) {
    summary = `${topic}: the source log is not the one MM2 replicated (${findings
      .filter((f) => RECREATION_KINDS.has(f.kind))
      .map((f) => f.kind)
      .join(', ')}): run the recreate-topic playbook (stop, delete ${remoteTopic}, reset offsets, resume) before resuming replication`;
  } else if (!source) {
    summary = `${topic} does not exist on the source and MM2 has no committed offset for it: nothing to compare`;
  } else if (known.length === 0) {
    summary = `${topic}: MM2 has not committed an offset for it yet (new topic, not yet flushed, or offsets reset): nothing to compare`;
  } else if (findings.length > 0) {
    summary = `${topic}: not recreated, but ${findings.map((f) => f.kind).join(', ')}`;
  } else {
    summary = `${topic}: consistent with what MM2 replicated`;
  }
  return {
    topic,
    remoteTopic,
    recreationSuspected,
    sourcePartitions,
    targetPartitions: targetPartitions ?? null,
    findings,
    partitions: [...evidence.values()].sort((a, b) => a.partition - b.partition),
    summary,
  };
}

/** Evaluates each topic (in the given order) against the committed offsets and the clusters' state. */
export function detectRecreation(input: RecreationInput): TopicRecreation[] {
  const committed = latestCommitted(input.committed);
  return input.topics.map((topic) => {
    const remote = input.remoteTopic(topic);
    return evaluateTopic(topic, remote, committed.get(topic), input.source.get(topic), input.targetPartitions.get(remote));
  });
}

/** The topics a set of committed offsets covers, sorted: the default when no topic list is given. */
export function committedTopics(committed: CommittedOffset[]): string[] {
  return [...new Set(committed.map((c) => c.topic))].sort();
}
