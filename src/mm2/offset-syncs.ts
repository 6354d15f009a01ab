import type { Kafka } from 'kafkajs';
import { readToEnd } from '../kafka/read-to-end';
import { decodeOffsetSync, type OffsetSync } from './codecs';

/**
 * MM2's offset syncs: pairs (upstream offset on the source, downstream offset on the
 * target) that MirrorSourceConnector writes to `mm2-offset-syncs.<target>.internal`
 * (on the source cluster by default) as it replicates. They translate a source offset
 * into the target's offset space: checkpoints use them for consumer groups, kafka-dr
 * uses them to find where A's records end in B's topics when no failover snapshot
 * exists (the failback seed).
 */

export interface SyncPoint {
  upstreamOffset: bigint;
  downstreamOffset: bigint;
}

/** The sync that governs `upstream`: the one with the greatest upstream offset ≤ it (the last such on a tie). */
export function findSync<T extends SyncPoint>(syncs: readonly T[], upstream: bigint): T | undefined {
  let best: T | undefined;
  for (const s of syncs) {
    if (s.upstreamOffset <= upstream && (best === undefined || s.upstreamOffset >= best.upstreamOffset)) best = s;
  }
  return best;
}

/**
 * MM2's conservative translation (OffsetSyncStore, Kafka 3.5+): with the latest sync at
 * or below `upstream`, the translated offset is its downstream offset when it is for
 * exactly `upstream`, else one more (records between two syncs may have been filtered
 * or compacted away, so only "at least one record after the sync" is certain).
 * Undefined when `upstream` is older than every sync (MM2 answers -1 then).
 */
export function translateUpstream(syncs: readonly SyncPoint[], upstream: bigint): bigint | undefined {
  const sync = findSync(syncs, upstream);
  if (!sync) return undefined;
  return sync.downstreamOffset + (upstream === sync.upstreamOffset ? 0n : 1n);
}

const tpKey = (topic: string, partition: number) => `${partition}:${topic}`;

interface PartitionHistory {
  topic: string;
  partition: number;
  /** Most recent syncs, oldest first. */
  recent: OffsetSync[];
  /** Wanted: the best sync at or below this upstream offset (kept even when `recent` rolls past it). */
  upTo?: bigint;
  atOrBelow?: OffsetSync;
  resets: number;
}

/**
 * Syncs per topic-partition in the order MM2 wrote them. The topic is compacted per
 * partition but a read still sees the uncompacted tail (one sync per record with
 * `offset.lag.max=0`): only the last `keep` per partition are kept, plus, for the
 * offsets registered with `track`, the best sync at or below them.
 */
export class OffsetSyncHistory {
  private readonly parts = new Map<string, PartitionHistory>();

  constructor(private readonly keep = 64) {}

  private part(topic: string, partition: number): PartitionHistory {
    const key = tpKey(topic, partition);
    let p = this.parts.get(key);
    if (!p) {
      p = { topic, partition, recent: [], resets: 0 };
      this.parts.set(key, p);
    }
    return p;
  }

  /** Keeps the best sync at or below `upstream` for this partition while reading. */
  track(topic: string, partition: number, upstream: bigint): void {
    this.part(topic, partition).upTo = upstream;
  }

  add(sync: OffsetSync): void {
    const p = this.part(sync.topic, sync.partition);
    const last = p.recent[p.recent.length - 1];
    if (last && (sync.upstreamOffset < last.upstreamOffset || sync.downstreamOffset < last.downstreamOffset)) {
      // Offsets went backwards: the source or target topic was recreated (or MM2's offsets
      // reset). Older syncs describe a log that no longer exists; MM2's store drops them too.
      p.recent = [];
      p.atOrBelow = undefined;
      p.resets++;
    }
    p.recent.push(sync);
    if (p.recent.length > this.keep) p.recent.shift();
    if (p.upTo !== undefined && sync.upstreamOffset <= p.upTo) p.atOrBelow = sync;
  }

  latest(topic: string, partition: number): OffsetSync | undefined {
    const p = this.parts.get(tpKey(topic, partition));
    return p?.recent[p.recent.length - 1];
  }

  /** The kept syncs of a partition, oldest first (including the tracked one). */
  syncs(topic: string, partition: number): OffsetSync[] {
    const p = this.parts.get(tpKey(topic, partition));
    if (!p) return [];
    const out = [...p.recent];
    if (p.atOrBelow && !out.includes(p.atOrBelow)) out.unshift(p.atOrBelow);
    return out;
  }

  /** The best sync at or below `upstream` among those kept. */
  atOrBelow(topic: string, partition: number, upstream: bigint): OffsetSync | undefined {
    return findSync(this.syncs(topic, partition), upstream);
  }

  /** How often a partition's offsets went backwards while reading. */
  resets(topic: string, partition: number): number {
    return this.parts.get(tpKey(topic, partition))?.resets ?? 0;
  }

  partitions(): Array<{ topic: string; partition: number }> {
    return [...this.parts.values()]
      .filter((p) => p.recent.length > 0)
      .map(({ topic, partition }) => ({ topic, partition }))
      .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }
}

export interface ReadOffsetSyncsOptions {
  /** Only syncs of these upstream topics (default: all). */
  topics?: ReadonlySet<string>;
  /** Per partition, keep the best sync at or below this upstream offset. */
  track?: Array<{ topic: string; partition: number; upstream: bigint }>;
  keep?: number;
  onProgress?: (read: number) => void;
  timeoutMs?: number;
}

/**
 * Reads an offset-syncs topic from its start to the end offsets it had when the read
 * began. A record MM2 did not write in its format fails the read (Mm2DecodeError):
 * a misread sync would seed a failback at a wrong offset.
 */
export async function readOffsetSyncHistory(
  kafka: Kafka,
  syncTopic: string,
  options: ReadOffsetSyncsOptions = {},
): Promise<{ history: OffsetSyncHistory; records: number }> {
  const history = new OffsetSyncHistory(options.keep);
  for (const t of options.track ?? []) history.track(t.topic, t.partition, t.upstream);
  const { records } = await readToEnd(
    kafka,
    syncTopic,
    (r) => {
      // MM2 never writes tombstones here; a null is not one of its records.
      if (!r.key || !r.value) return;
      const sync = decodeOffsetSync(r.key, r.value);
      if (options.topics && !options.topics.has(sync.topic)) return;
      history.add(sync);
    },
    { onProgress: options.onProgress, timeoutMs: options.timeoutMs },
  );
  return { history, records };
}
