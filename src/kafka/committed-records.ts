import type { Kafka } from 'kafkajs';
import { withCluster, type InternalCluster } from './internal-cluster';

/**
 * Which offsets of a range hold committed data records, as a read_committed consumer (and
 * MirrorMaker 2's source consumer set to read_committed) sees them. A transactional
 * partition has offsets no consumer ever receives: one commit or abort marker per
 * transaction, and the records of aborted transactions. "end offset − next offset" counts
 * them as lag; only reading the range tells data from markers.
 *
 * Read with Fetch requests at isolation level READ_COMMITTED straight to the leaders, not
 * with a kafkajs consumer: the consumer never hands over a batch that holds only markers or
 * aborted records, so it cannot tell "nothing left" from "nothing fetched yet". A Fetch
 * answer carries every record batch (markers included), the aborted transactions of the
 * range and the partition's last stable offset (LSO): below the LSO every transaction is
 * decided; from the LSO on one is open, and its records are neither data nor markers yet.
 */

/** One record of a Fetch answer, as kafkajs decodes it. */
export interface FetchedRecord {
  offset: string;
  key?: Buffer | null;
  isControlRecord?: boolean;
  batchContext?: { producerId: string; inTransaction: boolean };
}

/**
 * Offsets of the committed data records among `records` (in offset order): control records
 * (markers) are left out, and so are transactional records of a producer inside one of
 * `aborted` (from its first offset up to that producer's abort marker). The same rule as
 * the Java consumer's and kafkajs' read_committed filter.
 */
export function committedDataOffsets(
  records: readonly FetchedRecord[],
  aborted: ReadonlyArray<{ producerId: string; firstOffset: string }>,
): bigint[] {
  const pending = [...aborted].sort((a, b) => cmp(BigInt(a.firstOffset), BigInt(b.firstOffset)));
  const abortedProducers = new Set<string>();
  const out: bigint[] = [];
  for (const r of records) {
    const offset = BigInt(r.offset);
    while (pending.length > 0 && BigInt(pending[0]!.firstOffset) <= offset) abortedProducers.add(pending.shift()!.producerId);
    const producerId = r.batchContext?.producerId ?? '-1';
    if (r.isControlRecord) {
      // Control key: int16 version, int16 type (0 = abort, 1 = commit). After its abort marker a producer's records count again.
      if (r.key && r.key.length >= 4 && r.key.readInt16BE(2) === 0) abortedProducers.delete(producerId);
      continue;
    }
    if (r.batchContext?.inTransaction && abortedProducers.has(producerId)) continue;
    out.push(offset);
  }
  return out;
}

const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

export interface RangeToScan {
  topic: string;
  partition: number;
  /** First offset to look at. */
  from: bigint;
  /** Exclusive: the end offset the caller measured. */
  to: bigint;
}

export interface RangeScan extends RangeToScan {
  /** Committed data records found in [from, to) (a lower bound when `complete` is false). */
  dataRecords: number;
  /** First and last such offset, when any. */
  firstData: string | null;
  lastData: string | null;
  /** Offsets in the range that are markers or aborted records (counted over what was read). */
  markersOrAborted: number;
  /** Last stable offset when read: below `to`, a transaction is open from there on. */
  lastStable: string;
  /** A transaction open inside the range: its records are not decided yet. */
  openTransaction: boolean;
  /** The whole range was read (false: stopped at the first data record, or at an open transaction). */
  complete: boolean;
}

export interface ScanOptions {
  /** Stop a partition at its first data record: enough to say "not drained". */
  firstOnly?: boolean;
  /** Bytes per partition per Fetch. */
  partitionMaxBytes?: number;
  /** Rounds of Fetch requests before giving up (a range that never advances is a bug, not a wait). */
  maxRounds?: number;
}

const READ_COMMITTED = 1;

/**
 * Scans each range with READ_COMMITTED Fetch requests (one per leader per round), counting
 * committed data records. Ranges with `from >= to` come back empty and complete.
 */
export async function scanCommittedRanges(kafka: Kafka, ranges: readonly RangeToScan[], options: ScanOptions = {}): Promise<RangeScan[]> {
  const states = ranges.map((r): RangeScan & { next: bigint } => ({
    ...r,
    next: r.from,
    dataRecords: 0,
    firstData: null,
    lastData: null,
    markersOrAborted: 0,
    lastStable: r.to.toString(),
    openTransaction: false,
    complete: r.from >= r.to,
  }));
  const open = () =>
    states.filter(
      (s) => !s.complete && !(s.openTransaction && s.next >= BigInt(s.lastStable)) && !(options.firstOnly && s.dataRecords > 0),
    );
  if (open().length === 0) return states.map(strip);
  await withCluster(kafka, async (cluster) => {
    const topics = [...new Set(states.map((s) => s.topic))];
    await cluster.addMultipleTargetTopics(topics);
    await cluster.refreshMetadataIfNecessary();
    const maxRounds = options.maxRounds ?? 100_000;
    let stalled = 0;
    for (let round = 0; ; round++) {
      const todo = open();
      if (todo.length === 0) return;
      if (round >= maxRounds)
        throw new Error(
          `scanning ${todo.length} partition range(s) did not finish in ${maxRounds} fetch rounds (first: ${todo[0]!.topic}-${todo[0]!.partition} at ${todo[0]!.next})`,
        );
      let progressed = false;
      for (const [leader, group] of byLeader(cluster, todo)) {
        const broker = await (cluster as unknown as FetchCluster).findBroker({ nodeId: leader });
        const byTopic = new Map<string, Array<(typeof group)[number]>>();
        for (const s of group) byTopic.set(s.topic, [...(byTopic.get(s.topic) ?? []), s]);
        const answer = await broker.fetch({
          replicaId: -1,
          isolationLevel: READ_COMMITTED,
          maxWaitTime: 100,
          minBytes: 1,
          maxBytes: 16 * 1024 * 1024,
          topics: [...byTopic].map(([topic, ss]) => ({
            topic,
            partitions: ss.map((s) => ({
              partition: s.partition,
              fetchOffset: s.next.toString(),
              maxBytes: options.partitionMaxBytes ?? 1024 * 1024,
            })),
          })),
        });
        for (const t of answer.responses) {
          for (const p of t.partitions) {
            const s = group.find((x) => x.topic === t.topicName && x.partition === p.partition);
            if (!s) continue;
            s.lastStable = p.lastStableOffset;
            const lso = BigInt(p.lastStableOffset);
            if (lso < s.to) s.openTransaction = true;
            const inRange = p.messages.filter((m) => BigInt(m.offset) >= s.next && BigInt(m.offset) < s.to);
            const data = committedDataOffsets(inRange, p.abortedTransactions ?? []);
            s.dataRecords += data.length;
            s.markersOrAborted += inRange.length - data.length;
            if (data.length > 0) {
              s.firstData ??= data[0]!.toString();
              s.lastData = data[data.length - 1]!.toString();
            }
            const last = p.messages.reduce((m, r) => (BigInt(r.offset) > m ? BigInt(r.offset) : m), s.next - 1n);
            if (last >= s.next) {
              s.next = last + 1n;
              progressed = true;
            }
            if (s.next >= s.to) s.complete = true;
          }
        }
      }
      // A Fetch below the LSO returns at least one batch; rounds without progress are a stuck read.
      stalled = progressed ? 0 : stalled + 1;
      if (stalled > 50) {
        const s = open()[0]!;
        throw new Error(
          `scanning ${s.topic}-${s.partition} makes no progress at offset ${s.next} (end ${s.to}, last stable ${s.lastStable})`,
        );
      }
    }
  });
  return states.map(strip);
}

function strip(s: RangeScan & { next: bigint }): RangeScan {
  const { next: _next, ...rest } = s;
  return rest;
}

interface FetchBroker {
  fetch(request: {
    replicaId: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
  }): Promise<{
    responses: Array<{
      topicName: string;
      partitions: Array<{
        partition: number;
        highWatermark: string;
        lastStableOffset: string;
        abortedTransactions?: Array<{ producerId: string; firstOffset: string }>;
        messages: FetchedRecord[];
      }>;
    }>;
  }>;
}

interface FetchCluster {
  findBroker(request: { nodeId: string }): Promise<FetchBroker>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
}

function byLeader<S extends { topic: string; partition: number }>(cluster: InternalCluster, todo: S[]): Map<string, S[]> {
  const out = new Map<string, S[]>();
  const c = cluster as unknown as FetchCluster;
  for (const topic of new Set(todo.map((s) => s.topic))) {
    const mine = todo.filter((s) => s.topic === topic);
    const leaders = c.findLeaderForPartitions(
      topic,
      mine.map((s) => s.partition),
    );
    for (const [leader, partitions] of Object.entries(leaders)) {
      out.set(leader, [...(out.get(leader) ?? []), ...mine.filter((s) => partitions.includes(s.partition))]);
    }
  }
  return out;
}
