import type { KafkaClients } from '../src/kafka/client';
import { groupMatcher, literalGroupNames } from '../src/mm2/checkpoints';
import { decodeOffsetSync } from '../src/mm2/codecs';
import { replicationPolicy } from '../src/mm2/policy';
import { mirroredTopic } from '../src/model/failover-input';
import { readRanges, type PartitionRange } from '../src/kafka/read-ranges';
import { readToEnd } from '../src/kafka/read-to-end';
import { fetchOffsetsOfTopics } from '../src/kafka/topic-offsets';
import { inBatches } from '../src/concurrency';
import {
  anchorOf,
  exactPosition,
  mergeRanges,
  PartitionRecords,
  printRecord,
  sourceRangeFor,
  SyncLine,
  targetRangeFor,
  type Range,
} from '../src/offsets/exact-positions';
import type { ExactPlacement } from '../src/offsets/translation';

/**
 * The reads behind exact positions (pure logic: src/offsets/exact-positions.ts): the
 * groups' commits on the source, the offset syncs (`mm2-offset-syncs.<target>.internal`
 * on the source), and the records around each group's offset on both clusters. Each is
 * read once per call; a call reads every partition's records in one pass per cluster
 * (the span of the groups' offsets on it, not the whole topic).
 */

export interface ExactReadInput {
  source: string;
  target: string;
  policy: 'default' | 'identity';
  /** The flow's separator (Default-policy mirror names); '.' when absent. */
  separator?: string;
  /** The group allowlist (regexes or names). */
  groups: string[];
  /** Groups known from the checkpoints: planned even if their source commits are elsewhere. */
  knownGroups: string[];
  /** Upstream topic names to consider (the flow's topics). */
  upstreamTopics: string[];
  /** Downstream topics that exist on the target. */
  targetTopics: ReadonlySet<string>;
  /** Offsets of the downstream topics on the target. */
  targetOffsets: ReadonlyMap<string, { low: bigint; high: bigint }>;
  beat: (details: unknown) => void;
}

export interface ExactReadResult {
  placements: ExactPlacement[];
  /** Groups with commits on the mirrored topics found on the source (beyond the named and checkpointed ones). */
  groups: string[];
  syncsRead: number;
  /** Passes over the offset-syncs topic: 1 (0 when it does not exist), whatever the number of groups and partitions. */
  syncPasses: number;
  sourceRecordsRead: number;
  targetRecordsRead: number;
}

/** Rounds of reading further on the source (each reads 4× the previous span). */
const SOURCE_READ_ROUNDS = 4;
const pk = (topic: string, partition: number) => `${topic}\u0000${partition}`;
/** Groups whose commits are fetched at once (one request each). */
const GROUPS_IN_FLIGHT = 16;

/** One range per partition: the span of the merged ranges (a reader reads each partition once, in order). */
function spans(byPartition: Map<string, { topic: string; partition: number; ranges: Range[] }>): PartitionRange[] {
  const out: PartitionRange[] = [];
  for (const { topic, partition, ranges } of byPartition.values()) {
    const merged = mergeRanges(ranges);
    if (merged.length === 0) continue;
    out.push({ topic, partition, from: merged[0]!.from, to: merged[merged.length - 1]!.to });
  }
  return out;
}

/** Exact, verified positions for every group commit on the flow's topics (see the module comment). */
export async function readExactPlacements(kafka: KafkaClients, input: ExactReadInput): Promise<ExactReadResult> {
  const kafkaOf = (alias: string) => kafka.get(alias);
  const downstreamOf = new Map<string, string>();
  for (const t of input.upstreamTopics) {
    const d = mirroredTopic(input.policy, input.source, t, input.separator);
    if (input.targetTopics.has(d)) downstreamOf.set(t, d);
  }
  const empty: ExactReadResult = { placements: [], groups: [], syncsRead: 0, syncPasses: 0, sourceRecordsRead: 0, targetRecordsRead: 0 };
  if (downstreamOf.size === 0) return empty;
  const upstream = [...downstreamOf.keys()];

  // 1. The groups and their commits on the source.
  input.beat({ phase: 'exact: reading source commits' });
  const matches = groupMatcher(input.groups);
  const { commits, discovered, syncTopicExists } = await kafka.withAdmin(input.source, async (admin) => {
    const listed = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => matches(g) && !g.startsWith('__kafka-dr-'));
    const names = [...new Set([...literalGroupNames(input.groups), ...input.knownGroups, ...listed])].sort();
    const out: Array<{ group: string; topic: string; partition: number; committed: bigint }> = [];
    await inBatches(names, GROUPS_IN_FLIGHT, async (group) => {
      for (const t of await admin.fetchOffsets({ groupId: group, topics: upstream })) {
        for (const p of t.partitions) {
          const offset = BigInt(p.offset);
          if (offset >= 0n) out.push({ group, topic: t.topic, partition: p.partition, committed: offset });
        }
      }
    });
    const named = new Set([...literalGroupNames(input.groups), ...input.knownGroups]);
    const withCommits = new Set(out.map((c) => c.group));
    const syncTopic = replicationPolicy({ type: input.policy }).offsetSyncsTopic(input.target);
    return {
      commits: out,
      discovered: names.filter((g) => !named.has(g) && withCommits.has(g)),
      syncTopicExists: (await admin.listTopics()).includes(syncTopic),
    };
  });
  if (commits.length === 0) return empty;

  // 2. The offset syncs, in the order MM2 wrote them (one partition): one line per source partition.
  const lines = new Map<string, SyncLine>();
  let syncsRead = 0;
  let syncPasses = 0;
  if (syncTopicExists) {
    syncPasses++;
    const wanted = new Set(upstream);
    const syncTopic = replicationPolicy({ type: input.policy }).offsetSyncsTopic(input.target);
    input.beat({ phase: 'exact: reading offset syncs', read: 0 });
    ({ records: syncsRead } = await readToEnd(
      kafkaOf(input.source),
      syncTopic,
      (r) => {
        if (!r.key || !r.value) return;
        const s = decodeOffsetSync(r.key, r.value);
        if (!wanted.has(s.topic)) return;
        const k = pk(s.topic, s.partition);
        let line = lines.get(k);
        if (!line) lines.set(k, (line = new SyncLine()));
        line.add(s);
      },
      { onProgress: (n) => input.beat({ phase: 'exact: reading offset syncs', read: n }) },
    ));
  }

  // 3. The records around each commit on the source.
  const sourceOffsets = await fetchOffsetsOfTopics(kafkaOf(input.source), upstream);
  const sourceRange = new Map<string, { low: bigint; high: bigint }>();
  for (const [topic, ps] of sourceOffsets.offsets)
    for (const p of ps) sourceRange.set(pk(topic, p.partition), { low: p.low, high: p.high });
  const want = new Map<string, { topic: string; partition: number; ranges: Range[] }>();
  for (const c of commits) {
    const r = sourceRange.get(pk(c.topic, c.partition));
    const range = r && sourceRangeFor(c.committed, r.low, r.high);
    if (!range) continue;
    const k = pk(c.topic, c.partition);
    if (!want.has(k)) want.set(k, { topic: c.topic, partition: c.partition, ranges: [] });
    want.get(k)!.ranges.push(range);
  }
  const sourceRecords = new Map<string, PartitionRecords>();
  /** What was read per source partition (anchors further away are read in later rounds). */
  const extent = new Map<string, Range>();
  let sourceRecordsRead = 0;
  const readSource = async (ranges: PartitionRange[]) => {
    input.beat({ phase: 'exact: reading source records', read: sourceRecordsRead });
    const { records } = await readRanges(
      kafkaOf(input.source),
      ranges,
      (topic, r) => {
        const k = pk(topic, r.partition);
        if (!sourceRecords.has(k)) sourceRecords.set(k, new PartitionRecords());
        sourceRecords.get(k)!.add(printRecord(r));
      },
      { onProgress: (n) => input.beat({ phase: 'exact: reading source records', read: sourceRecordsRead + n }) },
    );
    sourceRecordsRead += records;
    for (const r of ranges) {
      const k = pk(r.topic, r.partition);
      const e = extent.get(k);
      extent.set(k, e ? { from: r.from < e.from ? r.from : e.from, to: r.to > e.to ? r.to : e.to } : { from: r.from, to: r.to });
    }
  };
  await readSource(spans(want));
  const sourceOf = (topic: string, partition: number) => {
    const k = pk(topic, partition);
    const r = sourceRange.get(k);
    if (!r) return undefined;
    const e = extent.get(k);
    return { ...r, records: sourceRecords.get(k) ?? new PartitionRecords(), ...(e ? { readFrom: e.from, readTo: e.to } : {}) };
  };
  // A commit inside a long run of compacted offsets or markers: read further, a few times.
  for (let round = 0; round < SOURCE_READ_ROUNDS; round++) {
    const more = new Map<string, PartitionRange>();
    for (const c of commits) {
      const src = sourceOf(c.topic, c.partition);
      if (!src) continue;
      const a = anchorOf({ committed: c.committed, source: src });
      if (!('readMore' in a) || !a.readMore) continue;
      const k = pk(c.topic, c.partition);
      const m = more.get(k);
      more.set(k, {
        topic: c.topic,
        partition: c.partition,
        from: m && m.from < a.readMore.from ? m.from : a.readMore.from,
        to: m && m.to > a.readMore.to ? m.to : a.readMore.to,
      });
    }
    if (more.size === 0) break;
    await readSource([...more.values()]);
  }

  // 4. The records around each guessed copy on the target.
  const facts = commits.map((c) => {
    const downstream = downstreamOf.get(c.topic)!;
    const src = sourceOf(c.topic, c.partition);
    const tgt = input.targetOffsets.get(pk(downstream, c.partition));
    return { c, downstream, src, tgt, syncs: lines.get(pk(c.topic, c.partition)) };
  });
  const targetWant = new Map<string, { topic: string; partition: number; ranges: Range[] }>();
  for (const f of facts) {
    if (!f.src || !f.tgt) continue;
    const range = targetRangeFor({ committed: f.c.committed, source: f.src, target: f.tgt, ...(f.syncs ? { syncs: f.syncs } : {}) });
    if (!range) continue;
    const k = pk(f.downstream, f.c.partition);
    if (!targetWant.has(k)) targetWant.set(k, { topic: f.downstream, partition: f.c.partition, ranges: [] });
    targetWant.get(k)!.ranges.push(range);
  }
  const targetRecords = new Map<string, PartitionRecords>();
  input.beat({ phase: 'exact: reading target records', read: 0 });
  const { records: targetRecordsRead } = await readRanges(
    kafkaOf(input.target),
    spans(targetWant),
    (topic, r) => {
      const k = pk(topic, r.partition);
      if (!targetRecords.has(k)) targetRecords.set(k, new PartitionRecords());
      targetRecords.get(k)!.add(printRecord(r));
    },
    { onProgress: (n) => input.beat({ phase: 'exact: reading target records', read: n }) },
  );

  // 5. Decide (pure).
  const placements: ExactPlacement[] = facts.map((f) => {
    const base = { group: f.c.group, topic: f.downstream, partition: f.c.partition, committed: f.c.committed };
    if (!f.src)
      return { ...base, outcome: { method: 'none', reason: `${f.c.topic} partition ${f.c.partition} not found on ${input.source}` } };
    if (!f.tgt)
      return { ...base, outcome: { method: 'none', reason: `${f.downstream} partition ${f.c.partition} not found on ${input.target}` } };
    return {
      ...base,
      outcome: exactPosition({
        committed: f.c.committed,
        source: f.src,
        target: { ...f.tgt, records: targetRecords.get(pk(f.downstream, f.c.partition)) ?? new PartitionRecords() },
        ...(f.syncs ? { syncs: f.syncs } : {}),
      }),
    };
  });
  return { placements, groups: discovered, syncsRead, syncPasses, sourceRecordsRead, targetRecordsRead };
}
