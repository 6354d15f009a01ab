import { partitionKey } from './lag';

/**
 * Unplanned failover RPO, from evidence that does not need the source:
 * - what the forward flow replicated: the MirrorSourceConnector's committed offsets, kept
 *   by the target-side Connect;
 * - what the source held, as last known: the source end offsets the worker recorded at
 *   every lag measurement (src/offsets/lag.ts callers), stored on the TARGET cluster in a
 *   small compacted topic (one record per source partition, see SOURCE_ENDS_TOPIC);
 * - when replication last made progress: the newest replicated record per partition and
 *   the newest replicated heartbeat of the flow's own emitter.
 *
 * records bound = last known source end − (committed + 1), per partition. It is a LOWER
 * bound of what was lost: records written after the end offsets were last recorded are
 * not in it (that is what `asOf` / `ageMs` say). Two things can make a partition's figure
 * too high: transaction markers in the range take offsets but are not records, and
 * records already on the target whose offsets Connect had not committed yet (the flush
 * interval). Pure: no I/O.
 */

/**
 * Compacted topic on the target cluster holding the newest known end offset of every
 * source partition a lag measurement read. On the target because that is the cluster an
 * unplanned failover can still read (a file on one worker's disk is lost with that worker
 * and invisible to the others). `.internal`: MM2 never mirrors it (MirrorSourceConnector's
 * internal-topic rule and kafka-dr's topics.exclude), so a reverse flow will not copy it back.
 */
export const SOURCE_ENDS_TOPIC = 'kafka-dr.source-end-offsets.internal';

/** Topic configs of SOURCE_ENDS_TOPIC: compacted, small segments so compaction keeps it at one record per partition. */
export const SOURCE_ENDS_TOPIC_CONFIGS: Record<string, string> = {
  'cleanup.policy': 'compact',
  'segment.ms': '3600000',
  'min.cleanable.dirty.ratio': '0.1',
};

/** One source partition's end offset as a lag measurement saw it. */
export interface KnownSourceEnd {
  source: string;
  topic: string;
  partition: number;
  /** Log start offset then (counts a partition nothing was replicated from). */
  low: bigint;
  /** End offset then. */
  end: bigint;
  observedAt: string;
  /** The worker that measured it. */
  by: string;
}

/** Key and value of a SOURCE_ENDS_TOPIC record (JSON: aliases and topic names may hold any separator). */
export function encodeSourceEnd(e: KnownSourceEnd): { key: string; value: string } {
  return {
    key: JSON.stringify([e.source, e.topic, e.partition]),
    value: JSON.stringify({
      v: 1,
      source: e.source,
      topic: e.topic,
      partition: e.partition,
      low: e.low.toString(),
      end: e.end.toString(),
      observedAt: e.observedAt,
      by: e.by,
    }),
  };
}

/** A record of SOURCE_ENDS_TOPIC, or undefined for a tombstone or a record this version cannot read. */
export function decodeSourceEnd(value: Buffer | string | null): KnownSourceEnd | undefined {
  if (value === null) return undefined;
  try {
    const v = JSON.parse(value.toString()) as Record<string, unknown>;
    if (v.v !== 1 || typeof v.source !== 'string' || typeof v.topic !== 'string' || typeof v.partition !== 'number') return undefined;
    if (typeof v.end !== 'string' || !/^\d+$/.test(v.end) || typeof v.low !== 'string' || !/^\d+$/.test(v.low)) return undefined;
    if (typeof v.observedAt !== 'string' || Number.isNaN(Date.parse(v.observedAt))) return undefined;
    return {
      source: v.source,
      topic: v.topic,
      partition: v.partition,
      low: BigInt(v.low),
      end: BigInt(v.end),
      observedAt: v.observedAt,
      by: typeof v.by === 'string' ? v.by : 'unknown',
    };
  } catch {
    return undefined;
  }
}

/** The newest entry per (source, topic, partition), by observation time (records may arrive out of order from several workers). */
export function newestSourceEnds(entries: Iterable<KnownSourceEnd>): Map<string, KnownSourceEnd> {
  const out = new Map<string, KnownSourceEnd>();
  for (const e of entries) {
    const k = JSON.stringify([e.source, e.topic, e.partition]);
    const seen = out.get(k);
    if (!seen || Date.parse(e.observedAt) >= Date.parse(seen.observedAt)) out.set(k, e);
  }
  return out;
}

export interface RpoPartitionEvidence {
  topic: string;
  partition: number;
  /** Upstream offset of the last replicated record (Connect's committed offset); null: none. */
  committedOffset: string | null;
  /** The last known source end offset; null: never recorded. */
  lastKnownSourceEnd: string | null;
  lastKnownSourceEndAt: string | null;
  /** lastKnownSourceEnd − (committed + 1), at least 0; null when the end was never recorded. */
  recordsNotReplicated: string | null;
  /** Timestamp of the newest record of the mirrored partition on the target; null: empty or absent. */
  newestReplicatedRecordAt: string | null;
  /** Why a figure is missing or odd (end below committed + 1: recreated topic or older knowledge). */
  note?: string;
}

export interface RpoEvidence {
  partitions: RpoPartitionEvidence[];
  records: {
    /** Sum over partitions with a known end; null when no end offset of these topics was ever recorded. */
    total: string | null;
    bound: 'lower';
    /** The oldest knowledge the total uses: records written to the source after it are not counted. */
    asOf: string | null;
    /** Age of that knowledge at `computedAt`. */
    ageMs: number | null;
    /** Partitions with committed offsets or replicated records but no recorded end offset (not in the total). */
    unknownPartitions: string[];
    why: string;
  };
  seconds: {
    bound: 'upper';
    /** Newest replicated heartbeat of this flow's emitter (key target→source) in `<source>.heartbeats` on the target. */
    lastReplicatedHeartbeatAt: string | null;
    heartbeatAgeMs: number | null;
    /** Newest replicated record over all partitions. */
    newestReplicatedRecordAt: string | null;
    newestReplicatedRecordAgeMs: number | null;
    why: string;
  };
  computedAt: string;
}

export interface RpoEvidenceInput {
  source: string;
  topics: string[];
  /** committedMirrorOffsets(source, ...) of the forward source connectors. */
  committed: Map<string, { topic: string; partition: number; offset: bigint | null }>;
  /** newestSourceEnds(...) read from SOURCE_ENDS_TOPIC (other sources/topics are ignored). */
  knownEnds: Iterable<KnownSourceEnd>;
  /** Newest record timestamp (ms) per source topic-partition, read from its mirror on the target. */
  newestRecords: Array<{ topic: string; partition: number; timestampMs: number }>;
  /** Newest replicated heartbeat of the flow's emitter, or null. */
  lastHeartbeatAt: string | null;
  nowMs: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const age = (nowMs: number, at: string | null) => (at === null ? null : Math.max(0, nowMs - Date.parse(at)));

/** The per-partition evidence and the records/seconds bounds. */
export function computeRpoEvidence(input: RpoEvidenceInput): RpoEvidence {
  const topics = new Set(input.topics);
  const rows = new Map<string, RpoPartitionEvidence>();
  const row = (topic: string, partition: number) => {
    const k = partitionKey(topic, partition);
    let r = rows.get(k);
    if (!r) {
      r = {
        topic,
        partition,
        committedOffset: null,
        lastKnownSourceEnd: null,
        lastKnownSourceEndAt: null,
        recordsNotReplicated: null,
        newestReplicatedRecordAt: null,
      };
      rows.set(k, r);
    }
    return r;
  };
  const committed = new Map<string, bigint | null>();
  for (const c of input.committed.values()) {
    if (!topics.has(c.topic)) continue;
    row(c.topic, c.partition).committedOffset = c.offset === null ? null : c.offset.toString();
    committed.set(partitionKey(c.topic, c.partition), c.offset);
  }
  for (const n of input.newestRecords) {
    if (topics.has(n.topic)) row(n.topic, n.partition).newestReplicatedRecordAt = iso(n.timestampMs);
  }
  let total: bigint | null = null;
  let oldestKnowledge: string | null = null;
  for (const e of newestSourceEnds(input.knownEnds).values()) {
    if (e.source !== input.source || !topics.has(e.topic)) continue;
    const r = row(e.topic, e.partition);
    r.lastKnownSourceEnd = e.end.toString();
    r.lastKnownSourceEndAt = e.observedAt;
    const c = committed.get(partitionKey(e.topic, e.partition)) ?? null;
    // Nothing committed: everything the partition held then (from its log start) was not replicated.
    const from = c === null ? e.low : c + 1n;
    let missing = e.end - from;
    if (missing < 0n) {
      r.note = `the recorded end ${e.end} is below the next offset to replicate ${from}: replication went past what was recorded at ${e.observedAt} (or the topic was recreated)`;
      missing = 0n;
    }
    r.recordsNotReplicated = missing.toString();
    total = (total ?? 0n) + missing;
    if (oldestKnowledge === null || Date.parse(e.observedAt) < Date.parse(oldestKnowledge)) oldestKnowledge = e.observedAt;
  }
  const partitions = [...rows.values()].sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  const unknownPartitions = partitions.filter((p) => p.lastKnownSourceEnd === null).map((p) => `${p.topic}/${p.partition}`);
  for (const p of partitions)
    if (p.lastKnownSourceEnd === null) p.note = 'no source end offset recorded for this partition: not in the records bound';
  const newest = partitions.reduce<number | null>((m, p) => {
    if (p.newestReplicatedRecordAt === null) return m;
    const t = Date.parse(p.newestReplicatedRecordAt);
    return m === null || t > m ? t : m;
  }, null);
  const newestAt = newest === null ? null : iso(newest);
  return {
    partitions,
    records: {
      total: total === null ? null : (total as bigint).toString(),
      bound: 'lower',
      asOf: oldestKnowledge,
      ageMs: age(input.nowMs, oldestKnowledge),
      unknownPartitions,
      why:
        total === null
          ? `no end offset of ${input.topics.join(', ')} on ${input.source} was ever recorded (the worker records them at every lag measurement): the records lost cannot be bounded`
          : `records ${input.source} held at ${oldestKnowledge} that the forward flow had not replicated (last known end − (committed + 1)); ` +
            'records written after that are not counted; transaction markers and records on the target whose offsets were not committed yet count too',
    },
    seconds: {
      bound: 'upper',
      lastReplicatedHeartbeatAt: input.lastHeartbeatAt,
      heartbeatAgeMs: age(input.nowMs, input.lastHeartbeatAt),
      newestReplicatedRecordAt: newestAt,
      newestReplicatedRecordAgeMs: age(input.nowMs, newestAt),
      why:
        input.lastHeartbeatAt === null
          ? `no heartbeat of this flow's emitter replicated to the target: the replication stop time is known only from the newest replicated record (producers may have been idle)`
          : `replication had stopped at most heartbeatAgeMs before ${iso(input.nowMs)} (the emitter writes into ${input.source} every interval; clock skew between the Connect worker and this worker shifts it)`,
    },
    computedAt: iso(input.nowMs),
  };
}
