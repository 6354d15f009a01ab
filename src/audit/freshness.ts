import type { Heartbeat } from '../mm2/codecs';

/**
 * Replication freshness: the age of the newest MM2 heartbeat on the target (in
 * `<source>.heartbeats`), the RPO estimate when the source is lost; two clocks, so skew
 * shifts it. See docs/mm2-internals.md#heartbeats-and-replication-freshness
 */

export const HEARTBEATS_TOPIC = 'heartbeats';

/** The topic on the target that carries the source's heartbeats (DefaultReplicationPolicy naming by default). */
export function remoteHeartbeatsTopic(sourceAlias: string, separator = '.'): string {
  return `${sourceAlias}${separator}${HEARTBEATS_TOPIC}`;
}

// Beyond this JavaScript dates are invalid (±8.64e15 ms); a heartbeat there is corrupt.
const MAX_DATE_MS = 8_640_000_000_000_000n;

/** Newest heartbeat per emitter (key), plus counts; fed one decoded record at a time. */
export class HeartbeatTracker {
  private readonly newestByKey = new Map<string, { source: string; target: string; timestamp: bigint; count: number }>();
  /** Records that were not heartbeats MM2 could have written (tombstones, unknown versions, absurd times). */
  unreadable = 0;
  records = 0;

  add(heartbeat: Heartbeat): void {
    this.records++;
    if (heartbeat.timestamp < 0n || heartbeat.timestamp > MAX_DATE_MS) {
      this.unreadable++;
      return;
    }
    // JSON of the pair: aliases may contain any character, a separator could collide.
    const key = JSON.stringify([heartbeat.sourceClusterAlias, heartbeat.targetClusterAlias]);
    const seen = this.newestByKey.get(key);
    if (!seen) {
      this.newestByKey.set(key, {
        source: heartbeat.sourceClusterAlias,
        target: heartbeat.targetClusterAlias,
        timestamp: heartbeat.timestamp,
        count: 1,
      });
      return;
    }
    seen.count++;
    if (heartbeat.timestamp > seen.timestamp) seen.timestamp = heartbeat.timestamp;
  }

  addUnreadable(): void {
    this.records++;
    this.unreadable++;
  }

  /** Emitters, newest first. */
  emitters(): Array<{ source: string; target: string; timestamp: bigint; count: number }> {
    return [...this.newestByKey.values()].sort((a, b) => (a.timestamp === b.timestamp ? 0 : a.timestamp > b.timestamp ? -1 : 1));
  }
}

export interface HeartbeatEmitter {
  /** The aliases in the record key: the heartbeat connector's flow. */
  source: string;
  target: string;
  lastHeartbeatAt: string;
  ageMs: number;
  records: number;
}

export interface HeartbeatReading {
  topic: string;
  /** Newest heartbeat by its own timestamp (not by offset): null when there is none. */
  lastHeartbeatAt: string | null;
  /** Activity clock minus lastHeartbeatAt, never negative; null when there is no heartbeat. */
  ageMs: number | null;
  /** Key aliases of the newest heartbeat. */
  from: { source: string; target: string } | null;
  recordsRead: number;
  unreadableRecords: number;
  /** Every emitter seen, newest first (several heartbeat connectors may feed one topic). */
  emitters: HeartbeatEmitter[];
  /** Why there is no figure, or what to be careful about (clock skew, unreadable records). */
  reason?: string;
}

export interface FreshnessReport extends HeartbeatReading {
  target: string;
  sourceAlias: string;
  checkedAt: string;
  /**
   * The newest record in the target's own `heartbeats`: written by a heartbeat connector on
   * the Connect cluster that writes to the target, so a fresh one proves that Connect
   * cluster is alive and can produce to the target. It says nothing about the source.
   */
  targetHeartbeats?: HeartbeatReading;
}

/** Turns what was read into the JSON reading; `topicExists` false means the topic was not there at all. */
export function summarizeHeartbeats(input: {
  topic: string;
  topicExists: boolean;
  tracker: HeartbeatTracker;
  nowMs: number;
  /** Says what to do when there is nothing to read (differs for the replicated and the own topic). */
  missingHint: string;
}): HeartbeatReading {
  const { topic, tracker, nowMs } = input;
  const base = { topic, recordsRead: tracker.records, unreadableRecords: tracker.unreadable };
  if (!input.topicExists) {
    return {
      ...base,
      lastHeartbeatAt: null,
      ageMs: null,
      from: null,
      emitters: [],
      reason: `topic ${topic} does not exist: ${input.missingHint}`,
    };
  }
  const emitters = tracker.emitters();
  const newest = emitters[0];
  if (!newest) {
    const why =
      tracker.records === 0
        ? `topic ${topic} holds no records`
        : `topic ${topic} holds ${tracker.records} records but none is a heartbeat this version of kafka-dr can read`;
    return { ...base, lastHeartbeatAt: null, ageMs: null, from: null, emitters: [], reason: `${why}: ${input.missingHint}` };
  }
  const age = (ts: bigint) => Math.max(0, nowMs - Number(ts));
  const reading: HeartbeatReading = {
    ...base,
    lastHeartbeatAt: new Date(Number(newest.timestamp)).toISOString(),
    ageMs: age(newest.timestamp),
    from: { source: newest.source, target: newest.target },
    emitters: emitters.map((e) => ({
      source: e.source,
      target: e.target,
      lastHeartbeatAt: new Date(Number(e.timestamp)).toISOString(),
      ageMs: age(e.timestamp),
      records: e.count,
    })),
  };
  const notes: string[] = [];
  const aheadMs = Number(newest.timestamp) - nowMs;
  // A second of scheduling jitter is normal; more means the clocks disagree.
  if (aheadMs > 1_000) {
    notes.push(
      `the newest heartbeat is ${aheadMs} ms in the future of this worker's clock: the emitting Connect worker's clock runs ahead, so the age is underestimated (check NTP)`,
    );
  }
  if (tracker.unreadable > 0) notes.push(`${tracker.unreadable} record(s) were skipped as unreadable`);
  if (notes.length > 0) reading.reason = notes.join('; ');
  return reading;
}

/** The hint for a replicated heartbeats topic that is missing or empty. */
export function remoteHeartbeatsHint(target: string, sourceAlias: string): string {
  return (
    `MM2 copies ${sourceAlias}'s \`${HEARTBEATS_TOPIC}\` topic to ${target} only if something writes \`${HEARTBEATS_TOPIC}\` on ${sourceAlias} ` +
    `(a MirrorHeartbeatConnector on the Connect cluster that writes to ${sourceAlias}, as in a bidirectional setup) ` +
    `and the ${sourceAlias}→${target} MirrorSourceConnector has run; without it there is no heartbeat-based RPO estimate ` +
    `(use replication lag from the connector's committed offsets instead)`
  );
}

export function targetHeartbeatsHint(target: string): string {
  return `no MirrorHeartbeatConnector writes to ${target} (deploy one on the Connect cluster that writes to ${target} to prove it is alive)`;
}
