import { findSync, type SyncPoint } from '../mm2/offset-syncs';
import { compileTopicPatterns, isCycle, KAFKA_DR_TOPICS_EXCLUDE, replicationPolicy, topicScope, type PolicySpec } from '../mm2/policy';

/**
 * Failback offset math: where the reverse MM2 flow (B→A) starts so only the DR-period
 * delta flows back, and where the forward flow resumes so nothing from B is replayed.
 * bigint inside, decimal strings in and out; see docs/mm2-internals.md#failback-offset-math
 */

/** topic → partition → end offset (decimal string). */
export type EndOffsets = Record<string, Record<string, string>>;

/** A committed MirrorSourceConnector offset: last replicated upstream offset. */
export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: string;
}

export interface SyncRecord {
  topic: string;
  partition: number;
  upstreamOffset: string;
  downstreamOffset: string;
}

export type SeedSource = 'snapshot' | 'derived' | 'earliest';

export interface SeedEntry {
  /** Topic on the reverse flow's source (B). */
  topic: string;
  partition: number;
  source: SeedSource;
  /** Connect offset for `{cluster: B, topic, partition}`: the last B offset not to copy; null = copy from the first record. */
  offset: string | null;
  /** First B offset the reverse flow copies ('earliest' when offset is null). */
  resumeAt: string;
  /** False when the boundary is a lower bound (derived from a sync below the last replicated record). */
  exact: boolean;
  /** When not exact: at most this many records that came from A are copied back (duplicates, never loss). */
  maxDuplicates?: string;
  /** Records the reverse flow will copy at most (from B's end offset now; fewer if retention removed some). */
  toCopy: string;
  note?: string;
}

export interface SkippedTopic {
  topic: string;
  reason: string;
}

export interface FailbackSeedPlan {
  /** `cluster` of every Connect source partition (the reverse flow's source alias). */
  sourceAlias: string;
  partitions: SeedEntry[];
  /** Topics matching the allowlist that the reverse flow will not copy, and why. */
  skippedTopics: SkippedTopic[];
  notes: string[];
}

export interface UnseedablePartition {
  topic: string;
  partition: number;
  reason: string;
}

export class FailbackSeedError extends Error {
  constructor(readonly partitions: UnseedablePartition[]) {
    super(
      `cannot seed the reverse flow for ${partitions.length} partition(s): ` +
        partitions.map((p) => `${p.topic}-${p.partition} (${p.reason})`).join('; ') +
        `. Pass the failover snapshot of B's end offsets, or choose seed 'earliest' to copy these partitions` +
        ` from their first record (records that came from A then come back as duplicates; nothing is lost).`,
    );
    this.name = 'FailbackSeedError';
  }
}

export interface FailbackSeedInput {
  policy: PolicySpec;
  /** The cluster failed over to, source of the reverse flow (B). */
  reverseSource: string;
  /** The cluster failed back to, target of the reverse flow (A). */
  reverseTarget: string;
  /** The reverse flow's allowlist (normally the forward plan's entries) and excludes (default: kafka-dr's). */
  include: string[];
  exclude?: string[];
  /** B's topics now, with each partition's end offset: what the reverse flow will see. */
  current: EndOffsets;
  /** B's end offsets at failover, when the failover took a snapshot (preferred: exact). */
  snapshot?: EndOffsets;
  /** Without a snapshot: the forward flow's committed offsets and its offset syncs. */
  forward?: {
    /** Forward MirrorSourceConnector offsets, partitions `{cluster: A, topic, partition}`. */
    committed: CommittedOffset[];
    /** From `mm2-offset-syncs.<B>.internal` on A: at least the latest sync at or below each committed offset. */
    syncs: SyncRecord[];
    /** Topics on A now; a B topic missing there was created on B during DR. */
    topicsOnA?: string[];
  };
  /**
   * 'auto' (default): a partition that can be seeded neither from the snapshot nor by
   * derivation fails the plan, naming it. 'earliest': such partitions are copied from
   * their first record instead (the operator accepts duplicates on A).
   */
  seed?: 'auto' | 'earliest';
}

export const COMPACTION_NOTE =
  'offsets are positions, not counts: on a compacted topic MM2 seeks to offset + 1 and reads the first record at or after it, so the boundary holds across compaction gaps';

function offsetOf(value: string, what: string): bigint {
  if (!/^\d+$/.test(value)) throw new Error(`${what}: '${value}' is not a decimal offset`);
  return BigInt(value);
}

const byTopicPartition = <T extends { topic: string; partition: number }>(a: T, b: T) =>
  a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1;

function partitionsOf(offsets: Record<string, string>): number[] {
  return Object.keys(offsets)
    .map((p) => {
      const n = Number(p);
      if (!Number.isInteger(n) || n < 0) throw new Error(`partition '${p}' is not a partition number`);
      return n;
    })
    .sort((a, b) => a - b);
}

/**
 * The topics of `current` the flow copies (as MM2 decides: allowlist, excludes, internal
 * topics, cycles; heartbeats left out: they are copied from the start and harmless),
 * and those the allowlist names but MM2 will skip.
 */
function scopeOf(
  policy: PolicySpec,
  source: string,
  target: string,
  include: string[],
  exclude: string[] | undefined,
  topics: string[],
): { inScope: string[]; skipped: SkippedTopic[] } {
  const p = replicationPolicy(policy, source);
  // kafka-dr deploys every flow with KAFKA_DR_TOPICS_EXCLUDE (see buildMirrorConnectors).
  const scope = topicScope(p, { include, exclude: exclude ?? KAFKA_DR_TOPICS_EXCLUDE }, target);
  const named = compileTopicPatterns(include) ?? (() => false);
  const inScope: string[] = [];
  const skipped: SkippedTopic[] = [];
  for (const topic of [...topics].sort()) {
    if (scope(topic)) inScope.push(topic);
    else if (named(topic) && !p.isHeartbeatsTopic(topic)) {
      skipped.push({
        topic,
        reason: isCycle(p, topic, target)
          ? `came from ${target} (MM2 skips it as a cycle)`
          : p.isInternalTopic(topic)
            ? 'internal topic (never mirrored)'
            : 'excluded by topics.exclude',
      });
    }
  }
  return { inScope, skipped };
}

/** Reverse-flow seed offsets (see the module comment); throws FailbackSeedError listing what cannot be seeded. */
export function planFailbackSeed(input: FailbackSeedInput): FailbackSeedPlan {
  const { policy, reverseSource: B, reverseTarget: A } = input;
  const { inScope, skipped } = scopeOf(policy, B, A, input.include, input.exclude, Object.keys(input.current));
  const identity = policy.type === 'identity';

  // Forward offsets and syncs, indexed once.
  const committed = new Map<string, bigint>();
  const committedTopics = new Set<string>();
  const syncs = new Map<string, Array<SyncPoint>>();
  const key = (t: string, p: number) => `${p}:${t}`;
  for (const c of input.forward?.committed ?? []) {
    committed.set(key(c.topic, c.partition), offsetOf(c.offset, `forward offset ${c.topic}-${c.partition}`));
    committedTopics.add(c.topic);
  }
  for (const s of input.forward?.syncs ?? []) {
    const list = syncs.get(key(s.topic, s.partition)) ?? [];
    list.push({
      upstreamOffset: offsetOf(s.upstreamOffset, `sync ${s.topic}-${s.partition}`),
      downstreamOffset: offsetOf(s.downstreamOffset, `sync ${s.topic}-${s.partition}`),
    });
    syncs.set(key(s.topic, s.partition), list);
  }
  const topicsOnA = input.forward?.topicsOnA ? new Set(input.forward.topicsOnA) : undefined;

  const entries: SeedEntry[] = [];
  const problems: UnseedablePartition[] = [];
  const fromStart = (topic: string, partition: number, end: bigint, source: SeedSource, note: string): SeedEntry => ({
    topic,
    partition,
    source,
    offset: null,
    resumeAt: 'earliest',
    exact: true,
    toCopy: end.toString(),
    note,
  });

  for (const topic of inScope) {
    const current = input.current[topic]!;
    for (const partition of partitionsOf(current)) {
      const end = offsetOf(current[String(partition)]!, `B end offset ${topic}-${partition}`);
      const fail = (reason: string) => problems.push({ topic, partition, reason });
      // Seeded from the partition's first record: everything in it is copied back.
      const copyAll = (source: SeedSource, note: string) => {
        entries.push(fromStart(topic, partition, end, source, note));
      };

      if (input.snapshot) {
        const snapTopic = input.snapshot[topic];
        const snapEnd = snapTopic?.[String(partition)];
        if (snapTopic === undefined) {
          copyAll('earliest', `not on ${B} at failover (created during DR): every record is DR-period data`);
        } else if (snapEnd === undefined) {
          copyAll('earliest', 'partition added during DR: every record is DR-period data');
        } else {
          const s = offsetOf(snapEnd, `snapshot ${topic}-${partition}`);
          if (end < s) {
            fail(
              `${B}'s end offset now (${end}) is below the snapshot's (${s}): the topic was recreated or truncated on ${B} after failover, so the snapshot no longer marks where DR-period data starts`,
            );
          } else if (s === 0n) {
            copyAll('snapshot', 'empty at failover: every record is DR-period data');
          } else {
            entries.push({
              topic,
              partition,
              source: 'snapshot',
              offset: (s - 1n).toString(),
              resumeAt: s.toString(),
              exact: true,
              toCopy: (end - s).toString(),
              note: end === s ? 'no DR-period writes' : undefined,
            });
          }
        }
        continue;
      }

      if (!input.forward) {
        fail('no failover snapshot and no forward-flow offsets to derive the boundary from');
        continue;
      }
      if (!identity) {
        // Default policy: A's records went to B's `<A>.<topic>`, never into B's local topic.
        copyAll(
          'derived',
          `${B}-local topic under DefaultReplicationPolicy: ${A}'s records were replicated to ${replicationPolicy(policy, A).formatRemoteTopic(A, topic)}, so every record here was written on ${B}`,
        );
        continue;
      }
      const n = committed.get(key(topic, partition));
      if (n !== undefined) {
        const sync = findSync(syncs.get(key(topic, partition)) ?? [], n);
        if (!sync) {
          fail(
            `no offset sync at or below ${A}'s offset ${n} (the forward flow's last replicated record): where it landed on ${B} is unknown`,
          );
          continue;
        }
        const exact = sync.upstreamOffset === n;
        const t = sync.downstreamOffset + (exact ? 0n : 1n);
        if (t >= end) {
          fail(
            `the offset syncs put ${A}'s last replicated record at ${B} offset ${t}, but the partition ends at ${end}: the topic was recreated or truncated on ${B} after failover`,
          );
          continue;
        }
        entries.push({
          topic,
          partition,
          source: 'derived',
          offset: t.toString(),
          resumeAt: (t + 1n).toString(),
          exact,
          maxDuplicates: exact ? undefined : (n - sync.upstreamOffset - 1n).toString(),
          toCopy: (end - t - 1n).toString(),
          note: exact
            ? undefined
            : `derived from the sync for ${A} offset ${sync.upstreamOffset} (the last replicated was ${n}): a lower bound, so up to ${n - sync.upstreamOffset - 1n} records from ${A} may come back as duplicates`,
        });
      } else if (committedTopics.has(topic)) {
        copyAll('derived', `the forward flow never replicated a record of this partition: every record here was written on ${B}`);
      } else if (topicsOnA && !topicsOnA.has(topic)) {
        copyAll('earliest', `not on ${A} (created on ${B} during DR): every record is DR-period data`);
      } else {
        fail(`the forward flow has no committed offsets for ${topic}: which of its records came from ${A} is unknown`);
      }
    }
  }

  if (problems.length > 0) {
    if (input.seed !== 'earliest') throw new FailbackSeedError(problems);
    for (const p of problems) {
      const end = offsetOf(input.current[p.topic]![String(p.partition)]!, 'B end offset');
      entries.push(
        fromStart(
          p.topic,
          p.partition,
          end,
          'earliest',
          `${p.reason}; copied from its first record as the operator chose (seed: earliest): records that came from ${A} come back as duplicates`,
        ),
      );
    }
  }

  const notes = [COMPACTION_NOTE];
  notes.push(
    identity
      ? `IdentityReplicationPolicy: ${B}'s topics are copied back into the same names on ${A}; the seed keeps what ${A} already had from coming back`
      : `DefaultReplicationPolicy: ${B}'s local topics are copied to ${B}${policy.separator ?? '.'}<topic> on ${A}; ${B}'s mirrored ${A}${policy.separator ?? '.'}<topic> topics are cycles MM2 skips`,
  );
  return { sourceAlias: B, partitions: entries.sort(byTopicPartition), skippedTopics: skipped, notes };
}

export interface ForwardResumeInput {
  policy: PolicySpec;
  /** The primary the producers moved back to (A): the forward flow's source. */
  forwardSource: string;
  forwardTarget: string;
  include: string[];
  exclude?: string[];
  /** A's end offsets at the producer cutover (B quiet, reverse lag drained, A's producers not started yet). */
  endOffsets: EndOffsets;
  /** The forward connector's committed offsets, to report what the resume skips. */
  committed?: CommittedOffset[];
}

export interface ResumeEntry {
  topic: string;
  partition: number;
  /** Connect offset for `{cluster: A, topic, partition}`; null: empty partition, start at its first record. */
  offset: string | null;
  resumeAt: string;
  /** A records between the forward flow's committed offset and the cutover that it will not copy. */
  skipped?: string;
  note?: string;
}

export interface ForwardResumePlan {
  sourceAlias: string;
  partitions: ResumeEntry[];
  skippedTopics: SkippedTopic[];
  notes: string[];
}

/**
 * Forward-resume offsets. Identity: every forward partition resumes at A's end offset at
 * cutover (A's topic now holds the DR-period records the reverse flow copied back, which
 * must not go to B again). Default: the reverse flow wrote B's records to A's `B.<topic>`,
 * so A's `<topic>` holds only A's own records: each partition resumes where the forward
 * flow stopped (its committed offset), so nothing is copied twice and records written on
 * A meanwhile are copied too; a partition it never committed starts from its first record.
 */
export function planForwardResume(input: ForwardResumeInput): ForwardResumePlan {
  const { policy, forwardSource: A, forwardTarget: B } = input;
  const { inScope, skipped } = scopeOf(policy, A, B, input.include, input.exclude, Object.keys(input.endOffsets));
  const committed = new Map<string, bigint>();
  for (const c of input.committed ?? [])
    committed.set(`${c.partition}:${c.topic}`, offsetOf(c.offset, `forward offset ${c.topic}-${c.partition}`));
  const entries: ResumeEntry[] = [];
  for (const topic of inScope) {
    const ends = input.endOffsets[topic]!;
    for (const partition of partitionsOf(ends)) {
      const end = offsetOf(ends[String(partition)]!, `A end offset ${topic}-${partition}`);
      const c = committed.get(`${partition}:${topic}`);
      if (policy.type !== 'identity' && (c === undefined || c + 1n <= end)) {
        entries.push(defaultResume(A, B, topic, partition, end, c));
        continue;
      }
      const entry: ResumeEntry = {
        topic,
        partition,
        offset: end === 0n ? null : (end - 1n).toString(),
        resumeAt: end === 0n ? 'earliest' : end.toString(),
      };
      if (c !== undefined) {
        const skip = end - (c + 1n);
        if (skip < 0n) {
          entry.note = `${A}'s end offset (${end}) is below the forward flow's committed offset + 1 (${c + 1n}): the topic was recreated or truncated on ${A}; resuming at its end`;
        } else {
          entry.skipped = skip.toString();
          if (skip > 0n) {
            entry.note =
              policy.type === 'identity'
                ? `${skip} records on ${A} since the forward flow stopped are not copied to ${B} by resuming here: the DR-period records that came back from ${B}; anything else written on ${A} meanwhile is counted by find-divergent (gate divergent-records)`
                : `${skip} records written on ${A} while the forward flow was stopped are not copied to ${B}`;
          }
        }
      }
      entries.push(entry);
    }
  }
  return {
    sourceAlias: A,
    partitions: entries.sort(byTopicPartition),
    skippedTopics: skipped,
    notes: [COMPACTION_NOTE],
  };
}

/** Default policy: resume at the forward flow's own committed offset (A's own records, none copied twice, none skipped). */
function defaultResume(A: string, B: string, topic: string, partition: number, end: bigint, c: bigint | undefined): ResumeEntry {
  if (c === undefined) {
    return {
      topic,
      partition,
      offset: null,
      resumeAt: 'earliest',
      skipped: '0',
      ...(end > 0n
        ? {
            note: `the forward flow never replicated this partition: its ${end} record(s), all written on ${A}, are copied to ${B} from the first`,
          }
        : {}),
    };
  }
  const behind = end - (c + 1n);
  return {
    topic,
    partition,
    offset: c.toString(),
    resumeAt: (c + 1n).toString(),
    skipped: '0',
    ...(behind > 0n ? { note: `${behind} record(s) written on ${A} while the forward flow was stopped are copied to ${B} now` } : {}),
  };
}

/** What `PATCH /connectors/{name}/offsets` takes, for seed or resume entries. */
export interface ConnectOffsetEntry {
  partition: { cluster: string; topic: string; partition: number };
  offset: { offset: number } | null;
}

/**
 * Entries as Connect offsets (JS numbers). Offsets beyond 2^53 cannot be JS numbers
 * without rounding: those throw; send connectOffsetsBody's text instead.
 */
export function toConnectOffsets(
  sourceAlias: string,
  entries: ReadonlyArray<{ topic: string; partition: number; offset: string | null }>,
): ConnectOffsetEntry[] {
  return entries.map((e) => {
    let offset: { offset: number } | null = null;
    if (e.offset !== null) {
      const n = Number(e.offset);
      if (!Number.isSafeInteger(n) || String(n) !== e.offset) {
        throw new Error(
          `offset ${e.offset} of ${e.topic}-${e.partition} is beyond 2^53 and would be rounded as a JavaScript number: send connectOffsetsBody() as the raw request body`,
        );
      }
      offset = { offset: n };
    }
    return { partition: { cluster: sourceAlias, topic: e.topic, partition: e.partition }, offset };
  });
}

/**
 * The PATCH body as JSON text with every offset written as an exact integer literal
 * (Connect parses it as a Java long; verified with 9007199254740993 on Kafka 4.1.1).
 */
export function connectOffsetsBody(
  sourceAlias: string,
  entries: ReadonlyArray<{ topic: string; partition: number; offset: string | null }>,
): string {
  const items = entries.map((e) => {
    if (e.offset !== null && !/^\d+$/.test(e.offset))
      throw new Error(`offset '${e.offset}' of ${e.topic}-${e.partition} is not a decimal offset`);
    const partition = JSON.stringify({ cluster: sourceAlias, topic: e.topic, partition: e.partition });
    return `{"partition":${partition},"offset":${e.offset === null ? 'null' : `{"offset":${e.offset}}`}}`;
  });
  return `{"offsets":[${items.join(',')}]}`;
}
