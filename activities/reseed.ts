import { z } from 'zod';
import { classified } from '../src/failures';
import { readRanges, type PartitionRange } from '../src/kafka/read-ranges';
import { mirroredTopic } from '../src/model/failover-input';
import type { Fingerprinted } from '../src/offsets/divergent';
import { lastCopiedIdentity, locateCopy, newestWindow, type CopySearch, type LastCopied } from '../src/offsets/reseed';
import type { ActivityDeps } from './deps';
import { fingerprint, forwardCommitted } from './divergent';
import { heartbeatWhile, OffsetArg as Offset, parseArgs, reverseFlowArgs } from './support';

/**
 * What a previous failback attempt's reverse flow already copied to the primary, found
 * by record content when its committed offsets are gone (pure logic: src/offsets/reseed.ts).
 * Reads only, in bounded ranges; safe to repeat.
 */

const FindInput = z.strictObject({
  ...reverseFlowArgs,
  /** The reverse flow's partitions on B, and the seed's first B offset (null: B's log start). */
  partitions: z.array(z.strictObject({ topic: z.string().min(1), partition: z.number().int().min(0), from: Offset.nullable() })).min(1),
  /** Identity: at most this many offsets read per partition on the primary (held in memory); more is refused as ambiguous. */
  maxRecords: z.number().int().min(1).default(500_000),
});
export type FindCopiedInput = z.input<typeof FindInput>;

export interface FindCopiedResult {
  checkedAt: string;
  partitions: CopySearch[];
  /** What was read, in words (the step details say it). */
  bound: string;
}

/** Identity streams B's whole DR period (one read per re-run, or per first run with records on A after the forward flow). */
const B_READ_TIMEOUT_MS = 30 * 60_000;

/** Offsets Default's tail read goes back on A's `<dr>.<topic>` to find its last data record (markers, aborted records). */
const TAIL_OFFSETS = 100n;

type Stamped = Fingerprinted & { timestamp: number };

const pkey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export function createReseedActivities(deps: ActivityDeps) {
  async function lowAndHigh(cluster: string, topics: string[]): Promise<Map<string, { low: bigint; high: bigint }>> {
    const out = new Map<string, { low: bigint; high: bigint }>();
    await classified(
      () =>
        deps.kafka.withAdmin(cluster, async (admin) => {
          const existing = new Set(await admin.listTopics());
          for (const topic of [...new Set(topics)].filter((t) => existing.has(t))) {
            for (const o of await admin.fetchTopicOffsets(topic))
              out.set(pkey(topic, o.partition), { low: BigInt(o.low), high: BigInt(o.high) });
          }
        }),
      { cluster, registry: deps.registry },
    );
    return out;
  }

  /** Fingerprints of the ranges' records, per partition in offset order; `keep` filters before storing. */
  async function fingerprints(
    cluster: string,
    ranges: PartitionRange[],
    keep: (k: string, f: Fingerprinted) => boolean = () => true,
    timeoutMs?: number,
  ): Promise<{ byPartition: Map<string, Stamped[]>; read: Map<string, number> }> {
    const byPartition = new Map<string, Stamped[]>();
    const read = new Map<string, number>();
    await classified(
      () =>
        readRanges(
          deps.kafka.get(cluster),
          ranges,
          (topic, r) => {
            const k = pkey(topic, r.partition);
            read.set(k, (read.get(k) ?? 0) + 1);
            const f = { offset: r.offset, fingerprint: fingerprint(r), timestamp: r.timestamp };
            if (!keep(k, f)) return;
            const list = byPartition.get(k) ?? [];
            list.push(f);
            byPartition.set(k, list);
          },
          timeoutMs ? { timeoutMs } : {},
        ),
      { cluster, registry: deps.registry },
    );
    for (const list of byPartition.values()) list.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
    return { byPartition, read };
  }

  const result = (
    p: { topic: string; partition: number },
    found: LastCopied,
    read: Pick<CopySearch, 'readOnPrimary' | 'readOnDr' | 'skippedOnPrimary'>,
    copyTopic: string,
  ): CopySearch => ({
    topic: p.topic,
    partition: p.partition,
    status: found.status,
    ...(found.status === 'found'
      ? { lastCopied: found.drOffset.toString(), copyOnPrimary: { topic: copyTopic, offset: found.primaryOffset.toString() } }
      : {}),
    ...(found.status === 'ambiguous' ? { reason: found.reason } : {}),
    ...read,
  });

  /** Identity: A after the forward flow's committed offsets (the newest maxRecords at most) against B after the seed, by content. */
  async function identity(args: z.output<typeof FindInput>): Promise<CopySearch[]> {
    const committed = await forwardCommitted(deps, args.primary, args.forward);
    const topics = args.partitions.map((p) => p.topic);
    const [onA, onB] = await Promise.all([lowAndHigh(args.primary, topics), lowAndHigh(args.dr, topics)]);
    const out: CopySearch[] = [];
    const aRanges: PartitionRange[] = [];
    const bRanges: PartitionRange[] = [];
    const skipped = new Map<string, number>();
    for (const p of args.partitions) {
      const k = pkey(p.topic, p.partition);
      const a = onA.get(k);
      const b = onB.get(k);
      const c = committed.get(k)?.offset;
      const aFrom = a ? (c !== null && c !== undefined ? c + 1n : a.low) : 0n;
      const bFrom = b ? (p.from === null ? b.low : BigInt(p.from) > b.low ? BigInt(p.from) : b.low) : 0n;
      if (!a || !b || aFrom >= a.high || bFrom >= b.high) {
        out.push(result(p, { status: 'none' }, { readOnPrimary: 0, readOnDr: 0 }, p.topic));
        continue;
      }
      const window = newestWindow(aFrom, a.high, args.maxRecords);
      if (window.skipped > 0n) skipped.set(k, Number(window.skipped));
      aRanges.push({ topic: p.topic, partition: p.partition, from: window.from, to: a.high });
      bRanges.push({ topic: p.topic, partition: p.partition, from: bFrom, to: b.high });
    }
    const a = await fingerprints(args.primary, aRanges);
    const wanted = new Map<string, Set<string>>();
    for (const [k, list] of a.byPartition) wanted.set(k, new Set(list.map((f) => f.fingerprint)));
    // B's DR period is streamed: only records with a copy candidate on A are kept (memory bounded by A's range).
    const b = await fingerprints(
      args.dr,
      bRanges.filter((r) => wanted.has(pkey(r.topic, r.partition))),
      (k, f) => wanted.get(k)?.has(f.fingerprint) ?? false,
      B_READ_TIMEOUT_MS,
    );
    for (const r of aRanges) {
      const k = pkey(r.topic, r.partition);
      const found = lastCopiedIdentity(a.byPartition.get(k) ?? [], b.byPartition.get(k) ?? []);
      const read = { readOnPrimary: a.read.get(k) ?? 0, readOnDr: b.read.get(k) ?? 0 };
      out.push(result(r, found, skipped.has(k) ? { ...read, skippedOnPrimary: skipped.get(k)! } : read, r.topic));
    }
    return out;
  }

  /** Default: the last record of A's `<dr>.<topic>` (only copies), located on B after the seed from its timestamp on. */
  async function defaultPolicy(args: z.output<typeof FindInput>): Promise<CopySearch[]> {
    const copyTopic = (t: string) => mirroredTopic('default', args.dr, t, args.separator ?? '.');
    const onA = await lowAndHigh(
      args.primary,
      args.partitions.map((p) => copyTopic(p.topic)),
    );
    const onB = await lowAndHigh(
      args.dr,
      args.partitions.map((p) => p.topic),
    );
    const out: CopySearch[] = [];
    const tails: PartitionRange[] = [];
    for (const p of args.partitions) {
      const a = onA.get(pkey(copyTopic(p.topic), p.partition));
      if (!a || a.low >= a.high) out.push(result(p, { status: 'none' }, { readOnPrimary: 0, readOnDr: 0 }, copyTopic(p.topic)));
      else
        tails.push({
          topic: copyTopic(p.topic),
          partition: p.partition,
          from: a.high - TAIL_OFFSETS > a.low ? a.high - TAIL_OFFSETS : a.low,
          to: a.high,
        });
    }
    const tailRead = await fingerprints(args.primary, tails);
    for (const t of tails) {
      const p = args.partitions.find((x) => copyTopic(x.topic) === t.topic && x.partition === t.partition)!;
      const list = tailRead.byPartition.get(pkey(t.topic, t.partition)) ?? [];
      const readOnPrimary = tailRead.read.get(pkey(t.topic, t.partition)) ?? 0;
      const copy = list[list.length - 1];
      if (!copy) {
        const reason = `no data record in the last ${t.to - t.from} offsets of ${t.topic}-${t.partition} on the primary`;
        out.push(result(p, { status: 'ambiguous', reason }, { readOnPrimary, readOnDr: 0 }, t.topic));
        continue;
      }
      const b = onB.get(pkey(p.topic, p.partition));
      if (!b) {
        out.push(result(p, { status: 'ambiguous', reason: `${p.topic} is not on dr` }, { readOnPrimary, readOnDr: 0 }, t.topic));
        continue;
      }
      // The original of a copy this DR period made sits at or after the seed and at or after
      // the first record with the copy's timestamp (offsetsForTimes): only that is read.
      const seedAt = p.from === null ? b.low : BigInt(p.from);
      const at = await offsetForTime(args.dr, p.topic, p.partition, copy.timestamp);
      const from = [seedAt, b.low, at ?? b.high].reduce((x, y) => (y > x ? y : x));
      const read = await fingerprints(
        args.dr,
        from < b.high ? [{ topic: p.topic, partition: p.partition, from, to: b.high }] : [],
        (_k, f) => f.fingerprint === copy.fingerprint,
        B_READ_TIMEOUT_MS,
      );
      const hits = read.byPartition.get(pkey(p.topic, p.partition)) ?? [];
      // Retention removed none of the DR period's records: a copy not found is of an earlier one.
      const whole = b.low <= seedAt;
      out.push(
        result(p, locateCopy(copy, hits, whole), { readOnPrimary, readOnDr: read.read.get(pkey(p.topic, p.partition)) ?? 0 }, t.topic),
      );
    }
    return out;
  }

  /** The first offset whose timestamp is at or after `ts` (ListOffsets by time); null when the topic is absent. */
  async function offsetForTime(cluster: string, topic: string, partition: number, ts: number): Promise<bigint | null> {
    return classified(
      () =>
        deps.kafka.withAdmin(cluster, async (admin) => {
          const found = (await admin.fetchTopicOffsetsByTimestamp(topic, ts)).find((o) => o.partition === partition);
          return found && BigInt(found.offset) >= 0n ? BigInt(found.offset) : null;
        }),
      { cluster, registry: deps.registry },
    );
  }

  return {
    /**
     * Per reverse partition, the B offset of the last record a previous failback attempt
     * copied to the primary, found by content: Identity compares A after the forward flow's
     * committed offsets with B after the seed; Default locates the last record of A's
     * `<dr>.<topic>` on B by its timestamp. 'ambiguous' when it cannot tell. Reads only.
     */
    async findCopiedOnPrimary(input: FindCopiedInput): Promise<FindCopiedResult> {
      const args = parseArgs(FindInput, input, 'findCopiedOnPrimary input');
      return heartbeatWhile(async () => {
        const partitions = args.policy === 'identity' ? await identity(args) : await defaultPolicy(args);
        const bound =
          args.policy === 'identity'
            ? `primary: each partition after the forward flow's committed offset; the newest ${args.maxRecords} offsets at most; dr: every record after the seed, streamed`
            : `primary: the last ${TAIL_OFFSETS} offsets of ${args.dr}${args.separator ?? '.'}<topic>; dr: from the seed and the last copy's timestamp on, streamed`;
        return { checkedAt: new Date().toISOString(), partitions, bound };
      });
    },
  };
}
