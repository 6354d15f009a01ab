import type { Kafka } from 'kafkajs';
import { readToEnd, topicExists, type RawRecord } from '../kafka/read-to-end';
import { remoteTopicName } from './connector-configs';
import { decodeCheckpoint, Mm2DecodeError, type Checkpoint } from './codecs';

/**
 * The latest MM2 checkpoint per (group, downstream topic, partition), read from
 * `<source>.checkpoints.internal` on the target cluster up to the end offsets it had
 * when the read began. The topic is compacted and MM2 re-emits a checkpoint every
 * interval, so older records for the same key are history, not state.
 */

/** `<source>.checkpoints.internal`; with a custom `replication.policy.separator` MM2 uses it here too (`A_checkpoints_internal`). */
export function checkpointsTopic(sourceAlias: string, separator = '.'): string {
  return `${sourceAlias}${separator}checkpoints${separator}internal`;
}

/** What to keep: groups by allowlist (MM2-style regexes, whole-name match) and, optionally, topics. */
export interface CheckpointFilter {
  /** Regexes or plain names; a group is kept when one matches its whole name. */
  groups: string[];
  /**
   * Topic names, upstream (`orders`) or downstream (`A.orders`); a checkpoint is kept when
   * its downstream topic is one of them or the DefaultReplicationPolicy name of one.
   * Absent: every topic.
   */
  topics?: string[];
  /** The flow's `replication.policy.separator` (default '.'): names the checkpoints topic and the mirrors. */
  separator?: string;
}

/** Compiles an allowlist; throws a SyntaxError naming the bad pattern (callers turn it into InvalidInput). */
export function groupMatcher(patterns: string[]): (group: string) => boolean {
  const regexes = patterns.map((p) => {
    try {
      // Anchored like MM2's own allowlists: `orders` must not match `orders-audit`.
      return new RegExp(`^(?:${p})$`);
    } catch (err) {
      throw new SyntaxError(`group pattern '${p}' is not a valid regular expression: ${(err as Error).message}`);
    }
  });
  return (group) => regexes.some((r) => r.test(group));
}

/** Allowlist entries that name exactly one group (no regex syntax beyond a literal dot). */
export function literalGroupNames(patterns: string[]): string[] {
  return patterns.filter((p) => /^[A-Za-z0-9._-]+$/.test(p));
}

function topicMatcher(sourceAlias: string, topics: string[] | undefined, separator = '.'): (downstream: string) => boolean {
  if (!topics) return () => true;
  const names = new Set<string>();
  for (const t of topics) {
    names.add(t);
    names.add(remoteTopicName('default', sourceAlias, t, separator));
  }
  return (downstream) => names.has(downstream);
}

const keyOf = (c: Pick<Checkpoint, 'consumerGroupId' | 'topic' | 'partition'>) => JSON.stringify([c.consumerGroupId, c.topic, c.partition]);

/**
 * Folds checkpoint records into the latest one per key. Pure, so the "latest wins"
 * rule is unit-tested without a broker. A key always hashes to the same partition of
 * the checkpoints topic, so record offsets of one key are comparable.
 */
export class LatestCheckpoints {
  private readonly latest = new Map<string, { offset: bigint; checkpoint: Checkpoint }>();
  private readonly keepGroup: (group: string) => boolean;
  private readonly keepTopic: (downstream: string) => boolean;
  /** Records seen (including ones filtered out). */
  recordsRead = 0;

  constructor(sourceAlias: string, filter: CheckpointFilter) {
    this.keepGroup = groupMatcher(filter.groups);
    this.keepTopic = topicMatcher(sourceAlias, filter.topics, filter.separator);
  }

  add(record: Pick<RawRecord, 'offset' | 'key' | 'value'>): void {
    this.recordsRead++;
    // MM2 never writes null keys; a tombstone (null value) would delete the key under compaction.
    if (!record.key) return;
    if (!record.value) {
      this.dropTombstone(record.key, record.offset);
      return;
    }
    let checkpoint: Checkpoint;
    try {
      checkpoint = decodeCheckpoint(record.key, record.value);
    } catch (err) {
      // Fail closed: a checkpoint we cannot read could be the one that moves a group.
      if (err instanceof Mm2DecodeError) throw new Mm2DecodeError(`checkpoint record at offset ${record.offset}: ${err.message}`);
      throw err;
    }
    if (!this.keepGroup(checkpoint.consumerGroupId) || !this.keepTopic(checkpoint.topic)) return;
    const key = keyOf(checkpoint);
    const previous = this.latest.get(key);
    if (!previous || record.offset > previous.offset) this.latest.set(key, { offset: record.offset, checkpoint });
  }

  private dropTombstone(key: Buffer, offset: bigint): void {
    // Decode only the key: a tombstone has no value to decode.
    for (const [k, v] of this.latest) {
      if (v.offset < offset && checkpointKeyEquals(v.checkpoint, key)) this.latest.delete(k);
    }
  }

  /** Sorted by group, topic, partition, so plans and reports are stable. */
  checkpoints(): Checkpoint[] {
    return [...this.latest.values()]
      .map((v) => v.checkpoint)
      .sort((a, b) => a.consumerGroupId.localeCompare(b.consumerGroupId) || a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }
}

function checkpointKeyEquals(c: Checkpoint, key: Buffer): boolean {
  const group = Buffer.from(c.consumerGroupId, 'utf8');
  const topic = Buffer.from(c.topic, 'utf8');
  const expected = Buffer.alloc(2 + group.length + 2 + topic.length + 4);
  let pos = expected.writeInt16BE(group.length, 0);
  pos += group.copy(expected, pos);
  pos = expected.writeInt16BE(topic.length, pos);
  pos += topic.copy(expected, pos);
  expected.writeInt32BE(c.partition, pos);
  return expected.equals(key);
}

export interface ReadCheckpointsResult {
  checkpoints: Checkpoint[];
  recordsRead: number;
  /** False when the checkpoints topic does not exist on the target. */
  topicExists: boolean;
}

/**
 * Reads `<sourceAlias>.checkpoints.internal` on `target` (a client for the target
 * cluster) to its current end and returns the latest checkpoint per key that passes
 * the filter. Read-only. A missing topic is reported, not created.
 */
export async function readLatestCheckpoints(
  target: Kafka,
  sourceAlias: string,
  filter: CheckpointFilter,
  options: { timeoutMs?: number; onProgress?: (read: number) => void } = {},
): Promise<ReadCheckpointsResult> {
  const topic = checkpointsTopic(sourceAlias, filter.separator);
  if (!(await topicExists(target, topic))) return { checkpoints: [], recordsRead: 0, topicExists: false };
  const latest = new LatestCheckpoints(sourceAlias, filter);
  await readToEnd(target, topic, (r) => latest.add(r), { timeoutMs: options.timeoutMs, onProgress: options.onProgress });
  return { checkpoints: latest.checkpoints(), recordsRead: latest.recordsRead, topicExists: true };
}
