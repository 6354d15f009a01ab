import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import type { IHeaders, Producer, Transaction } from 'kafkajs';
import { z } from 'zod';
import { classified, FailureType, invalidInput } from '../src/failures';
import { readRanges, type PartitionRange } from '../src/kafka/read-ranges';
import type { RawRecord } from '../src/kafka/read-to-end';
import { mirroredTopic } from '../src/model/failover-input';
import {
  groupReads,
  offsetRuns,
  ORIGIN_HEADERS,
  quarantineTopicFor,
  REPLAY_HEADERS,
  replayOrigin,
  unmatchedOffsets,
  type DivergentGroup,
  type DivergentPartition,
  type Fingerprinted,
  type GroupPosition,
  type PositionBefore,
  withReadBefore,
} from '../src/offsets/divergent';
import { committedMirrorOffsets } from '../src/offsets/lag';
import type { ActivityDeps } from './deps';
import { AliasArg as Alias, heartbeatWhile, OffsetArg as Offset, parseArgs, reverseFlowArgs, sleep } from './support';

/**
 * Divergent records on failback (pure logic: src/offsets/divergent.ts): find them on the
 * primary, and write them again at the end of their own partition on the primary after the
 * cutover snapshot, for the forward flow to copy (replay), or to a quarantine topic on the
 * primary with a JSON export (quarantine). Both are safe to repeat, even alongside an older
 * attempt that is still writing: each attempt first takes over the workflow's transactional
 * id (fencing the older one), then finds what is already there and writes the rest.
 */

const FindInput = z.strictObject({
  ...reverseFlowArgs,
  /** A's end offsets at the cutover, topic (on A) → partition → offset. */
  cutover: z.record(z.string(), z.record(z.string(), Offset)),
  /** Identity: the first B offset the reverse flow copied per partition (null: B's log start). */
  reverseFrom: z
    .array(z.strictObject({ topic: z.string().min(1), partition: z.number().int().min(0), from: Offset.nullable() }))
    .default([]),
  /**
   * Identity: positions this failback set on the primary (translate-offsets, place-unplaced),
   * where the groups' consumers started; other groups are read at their committed offsets.
   */
  placed: z
    .array(z.strictObject({ group: z.string().min(1), topic: z.string().min(1), partition: z.number().int().min(0), offset: Offset }))
    .default([]),
  /** Identity: groups' committed positions on the primary read before the reverse flow started (read-primary-positions). */
  before: z
    .array(z.strictObject({ group: z.string().min(1), topic: z.string().min(1), partition: z.number().int().min(0), offset: Offset }))
    .default([]),
});
export type FindDivergentInput = z.input<typeof FindInput>;

const PositionsInput = z.strictObject({
  primary: Alias,
  forward: z.strictObject({ connect: z.string().min(1), sourceConnectors: z.array(z.string().min(1)).min(1) }),
});
export type PrimaryPositionsInput = z.input<typeof PositionsInput>;

export interface PrimaryPositionsResult {
  readAt: string;
  /** Groups read on the primary (Connect's own excluded). */
  groups: number;
  /** Positions past the forward flow's last replicated offset: the group read records dr may never have got. */
  positions: PositionBefore[];
}

/** A found partition, with where B's target partition ended at the check (the replay's idempotence anchor). */
export type FoundDivergent = DivergentPartition & { drTopic: string; drEnd: string };

export interface FindDivergentResult {
  checkedAt: string;
  records: number;
  partitions: FoundDivergent[];
  /** Records read on A and on B. */
  readOnPrimary: number;
  readOnDr: number;
  /** Identity: groups on the primary with a position on a divergent partition (absent in older histories). */
  groups?: DivergentGroup[];
  /** Replayed copies an earlier attempt wrote in the range (not divergent themselves). */
  replayCopies?: number;
}

const CopyInput = z.strictObject({
  primary: Alias,
  dr: Alias,
  choice: z.enum(['replay', 'quarantine']),
  partitions: z
    .array(
      z.strictObject({
        topic: z.string().min(1),
        partition: z.number().int().min(0),
        ranges: z.array(z.tuple([Offset, Offset])).min(1),
        drTopic: z.string().min(1),
        drEnd: Offset,
        /** replay: A's end at the cutover snapshot; copies are appended after it, and looked for there. */
        after: Offset.optional(),
      }),
    )
    .min(1),
  /** Names the export file (quarantine); written in the replayed copies' workflow header (replay). */
  workflowId: z.string().min(1).max(255),
  runId: z.string().min(1).max(64),
});
export type CopyDivergentInput = z.input<typeof CopyInput>;

export interface CopyDivergentResult {
  /** Records the target holds now (written by this call or by an earlier attempt). */
  copied: number;
  /** Of them, written by this call. */
  written: number;
  topics: string[];
  exportPath?: string;
}

type Rec = RawRecord & { headers?: Record<string, unknown> };

function headerBytes(v: unknown): string[] {
  const one = (x: unknown) => (Buffer.isBuffer(x) ? x.toString('base64') : Buffer.from(String(x)).toString('base64'));
  return v === undefined || v === null ? [] : Array.isArray(v) ? v.map(one) : [one(v)];
}

/** Timestamp, key, value and headers: what MM2 copies unchanged (also activities/reseed.ts). */
export function fingerprint(r: Rec): string {
  const h = createHash('sha256');
  h.update(`${r.timestamp}\u0000`);
  h.update(r.key ? `k${r.key.toString('base64')}` : '-');
  h.update('\u0000');
  h.update(r.value ? `v${r.value.toString('base64')}` : '-');
  for (const name of Object.keys(r.headers ?? {}).sort()) h.update(`\u0000${name}=${headerBytes(r.headers![name]).join(',')}`);
  return h.digest('base64');
}

const pkey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * The forward flow's last replicated offset per partition of the primary (its source
 * connectors' committed offsets, kept by the Connect cluster on the dr side); null: reset.
 * Also activities/reseed.ts.
 */
export async function forwardCommitted(
  deps: Pick<ActivityDeps, 'connect' | 'registry'>,
  primary: string,
  forward: { connect: string; sourceConnectors: string[] },
): Promise<Map<string, { topic: string; partition: number; offset: bigint | null }>> {
  const client = deps.connect(forward.connect);
  const committed = new Map<string, { topic: string; partition: number; offset: bigint | null }>();
  for (const name of forward.sourceConnectors) {
    const offsets = await classified(() => client.getOffsets(name), { registry: deps.registry });
    for (const [k, c] of committedMirrorOffsets(primary, offsets)) committed.set(k, c);
  }
  return committed;
}

export function createDivergentActivities(deps: ActivityDeps) {
  async function read(cluster: string, ranges: PartitionRange[]): Promise<Map<string, Rec[]>> {
    const out = new Map<string, Rec[]>();
    await classified(
      () =>
        readRanges(deps.kafka.get(cluster), ranges, (topic, r) => {
          const k = pkey(topic, r.partition);
          out.set(k, [...(out.get(k) ?? []), r]);
        }),
      { cluster, registry: deps.registry },
    );
    for (const list of out.values()) list.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
    return out;
  }

  async function lowAndHigh(cluster: string, topics: string[]): Promise<Map<string, { low: bigint; high: bigint }>> {
    const out = new Map<string, { low: bigint; high: bigint }>();
    if (topics.length === 0) return out;
    await classified(
      () =>
        deps.kafka.withAdmin(cluster, async (admin) => {
          const existing = new Set(await admin.listTopics());
          for (const topic of topics.filter((t) => existing.has(t))) {
            for (const o of await admin.fetchTopicOffsets(topic)) {
              out.set(pkey(topic, o.partition), { low: BigInt(o.low), high: BigInt(o.high) });
            }
          }
        }),
      { cluster, registry: deps.registry },
    );
    return out;
  }

  return {
    /**
     * Records on the primary the DR cluster never received, per partition: from the forward
     * flow's last replicated offset + 1 to A's end at the cutover, committed data records only,
     * minus (Identity) the records the reverse flow copied there from B. Reads only; safe to repeat.
     */
    async findDivergentRecords(input: FindDivergentInput): Promise<FindDivergentResult> {
      const args = parseArgs(FindInput, input, 'findDivergentRecords input');
      return heartbeatWhile(async () => {
        const committed = await forwardCommitted(deps, args.primary, args.forward);
        const topics = Object.keys(args.cutover).sort();
        const onA = await lowAndHigh(args.primary, topics);
        const sep = args.separator ?? '.';
        const aRanges: PartitionRange[] = [];
        for (const topic of topics) {
          for (const [p, end] of Object.entries(args.cutover[topic]!)) {
            const partition = Number(p);
            const c = committed.get(pkey(topic, partition))?.offset;
            const from = c !== null && c !== undefined ? c + 1n : (onA.get(pkey(topic, partition))?.low ?? 0n);
            if (from < BigInt(end)) aRanges.push({ topic, partition, from, to: BigInt(end) });
          }
        }
        const drTopics = [...new Set(aRanges.map((r) => mirroredTopic(args.policy, args.primary, r.topic, sep)))];
        const onB = await lowAndHigh(args.dr, drTopics);
        const aRecords = await read(args.primary, aRanges);
        // Identity: the reverse flow wrote B's records into these same partitions.
        const bRanges: PartitionRange[] = [];
        if (args.policy === 'identity') {
          for (const r of aRanges) {
            const b = onB.get(pkey(r.topic, r.partition));
            const seeded = args.reverseFrom.find((s) => s.topic === r.topic && s.partition === r.partition);
            if (!b || !seeded) continue;
            const from = seeded.from === null ? b.low : BigInt(seeded.from);
            if (from < b.high) bRanges.push({ topic: r.topic, partition: r.partition, from, to: b.high });
          }
        }
        const bRecords = await read(args.dr, bRanges);
        const partitions: FoundDivergent[] = [];
        const firstFromDr = new Map<string, bigint | null>();
        let readOnPrimary = 0;
        let readOnDr = 0;
        let replayCopies = 0;
        for (const r of aRanges) {
          const k = pkey(r.topic, r.partition);
          const a = aRecords.get(k) ?? [];
          const b = bRecords.get(k) ?? [];
          readOnPrimary += a.length;
          readOnDr += b.length;
          // An earlier attempt's replayed copies (a re-run after a failed failback): their originals are counted, not they.
          const copies = a.filter(isReplayCopy).length;
          replayCopies += copies;
          const fa: Fingerprinted[] = a.filter((x) => !isReplayCopy(x)).map((x) => ({ offset: x.offset, fingerprint: fingerprint(x) }));
          const { divergent, matched } = unmatchedOffsets(fa, b.map(fingerprint));
          if (divergent.length === 0) continue;
          const mine = new Set(divergent);
          firstFromDr.set(k, fa.find((x) => !mine.has(x.offset))?.offset ?? null);
          const drTopic = mirroredTopic(args.policy, args.primary, r.topic, sep);
          partitions.push({
            topic: r.topic,
            partition: r.partition,
            from: r.from.toString(),
            to: r.to.toString(),
            records: divergent.length,
            ranges: offsetRuns(divergent),
            fromDr: matched,
            drTopic,
            drEnd: (onB.get(pkey(drTopic, r.partition))?.high ?? 0n).toString(),
          });
        }
        const groups =
          args.policy === 'identity' && partitions.length > 0
            ? withReadBefore(
                groupReads(partitions, await groupPositions(args.primary, partitions, args.placed)),
                partitions.map((p) => ({ ...p, firstFromDr: firstFromDr.get(pkey(p.topic, p.partition)) ?? null })),
                args.before,
              )
            : [];
        return {
          checkedAt: new Date().toISOString(),
          records: partitions.reduce((n, p) => n + p.records, 0),
          partitions,
          readOnPrimary,
          readOnDr,
          groups,
          replayCopies,
        };
      });
    },

    /**
     * Every group's committed positions on the primary past the forward flow's last replicated
     * offset, read before the failback's reverse flow and translation move them: what those
     * groups had read before the failover that dr may never have got. Reads only.
     */
    async readPrimaryPositions(input: PrimaryPositionsInput): Promise<PrimaryPositionsResult> {
      const args = parseArgs(PositionsInput, input, 'readPrimaryPositions input');
      return heartbeatWhile(async () => {
        const replicated = await forwardCommitted(deps, args.primary, args.forward);
        const topics = [...new Set([...replicated.values()].map((r) => r.topic))].sort();
        const positions: PositionBefore[] = [];
        let groups = 0;
        if (topics.length > 0) {
          await classified(
            () =>
              deps.kafka.withAdmin(args.primary, async (admin) => {
                const existing = new Set(await admin.listTopics());
                const present = topics.filter((t) => existing.has(t));
                if (present.length === 0) return;
                for (const { groupId, protocolType } of (await admin.listGroups()).groups) {
                  if (protocolType === 'connect') continue;
                  groups++;
                  for (const t of await admin.fetchOffsets({ groupId, topics: present })) {
                    for (const p of t.partitions) {
                      const r = replicated.get(pkey(t.topic, p.partition));
                      const next = r?.offset === null || r?.offset === undefined ? 0n : r.offset + 1n;
                      if (!r || !/^\d+$/.test(p.offset) || BigInt(p.offset) <= next) continue;
                      positions.push({ group: groupId, topic: t.topic, partition: p.partition, offset: p.offset });
                    }
                  }
                }
              }),
            { cluster: args.primary, registry: deps.registry },
          );
        }
        return { readAt: new Date().toISOString(), groups, positions };
      });
    },

    /**
     * Copies the divergent records: replay appends each to its own partition on the primary
     * (after the cutover snapshot: the forward flow copies it to B) with its key, value,
     * headers and timestamp plus the replay origin headers; quarantine writes each to
     * `kafka-dr.quarantine.<topic>.internal` on the primary with origin headers and writes a
     * JSON export. Safe to repeat, also while an older attempt is still writing: the workflow's
     * transactional id fences it, then the records already there are found and skipped.
     */
    async copyDivergentRecords(input: CopyDivergentInput): Promise<CopyDivergentResult> {
      const args = parseArgs(CopyInput, input, 'copyDivergentRecords input');
      return heartbeatWhile(async () => {
        const wanted = new Map<string, Set<bigint>>();
        const ranges: PartitionRange[] = [];
        for (const p of args.partitions) {
          const offsets = new Set<bigint>();
          for (const [a, b] of p.ranges) for (let o = BigInt(a); o <= BigInt(b); o++) offsets.add(o);
          wanted.set(pkey(p.topic, p.partition), offsets);
          ranges.push({
            topic: p.topic,
            partition: p.partition,
            from: BigInt(p.ranges[0]![0]),
            to: BigInt(p.ranges[p.ranges.length - 1]![1]) + 1n,
          });
        }
        const read1 = await read(args.primary, ranges);
        const records = args.partitions.map((p) => ({
          p,
          records: (read1.get(pkey(p.topic, p.partition)) ?? []).filter((r) => wanted.get(pkey(p.topic, p.partition))!.has(r.offset)),
        }));
        return args.choice === 'replay' ? replay(args, records) : quarantine(args, records);
      });
    },
  };

  type Part = z.output<typeof CopyInput>['partitions'][number];

  /**
   * Committed positions of every group on the primary on the divergent partitions; the
   * playbook's own placements win (the consumers started there and have committed since).
   */
  async function groupPositions(
    cluster: string,
    partitions: DivergentPartition[],
    placed: Array<{ group: string; topic: string; partition: number; offset: string }>,
  ): Promise<GroupPosition[]> {
    const topics = [...new Set(partitions.map((p) => p.topic))];
    const wanted = new Set(partitions.map((p) => pkey(p.topic, p.partition)));
    const out = new Map<string, GroupPosition>();
    const at = (g: string, t: string, p: number) => `${g}\u0000${t}\u0000${p}`;
    await classified(
      () =>
        deps.kafka.withAdmin(cluster, async (admin) => {
          const { groups } = await admin.listGroups();
          for (const { groupId, protocolType } of groups) {
            if (protocolType === 'connect') continue;
            for (const t of await admin.fetchOffsets({ groupId, topics })) {
              for (const p of t.partitions) {
                if (!wanted.has(pkey(t.topic, p.partition)) || !/^\d+$/.test(p.offset)) continue;
                out.set(at(groupId, t.topic, p.partition), {
                  group: groupId,
                  topic: t.topic,
                  partition: p.partition,
                  position: BigInt(p.offset),
                  from: 'committed',
                });
              }
            }
          }
        }),
      { cluster, registry: deps.registry },
    );
    for (const p of placed) {
      if (!wanted.has(pkey(p.topic, p.partition))) continue;
      out.set(at(p.group, p.topic, p.partition), { ...p, position: BigInt(p.offset), from: 'placed' });
    }
    return [...out.values()];
  }

  async function replay(args: z.output<typeof CopyInput>, parts: Array<{ p: Part; records: Rec[] }>): Promise<CopyDivergentResult> {
    const topics = [...new Set(parts.map((x) => x.p.topic))];
    const missingAfter = parts.filter((x) => x.p.after === undefined).map((x) => `${x.p.topic}-${x.p.partition}`);
    if (missingAfter.length > 0)
      throw invalidInput(`copyDivergentRecords: replay needs the snapshot offset (after) of ${missingAfter.join(', ')}`);
    let copied = 0;
    let written = 0;
    await fencedWrites(args.primary, copyTransactionalId(args.workflowId, 'replay'), async (send) => {
      // Copies an earlier attempt committed lie between the snapshot and the end now: found by their
      // origin header. Read only now that this attempt holds the transactional id (fencedWrites).
      const now = await lowAndHigh(args.primary, topics);
      const already = await read(
        args.primary,
        parts
          .map((x) => ({
            topic: x.p.topic,
            partition: x.p.partition,
            from: BigInt(x.p.after!),
            to: now.get(pkey(x.p.topic, x.p.partition))?.high ?? 0n,
          }))
          .filter((r) => r.from < r.to),
      );
      for (const { p, records } of parts) {
        const there = new Set((already.get(pkey(p.topic, p.partition)) ?? []).map(originOf).filter((o) => o !== undefined));
        const messages = records
          .filter((r) => !there.has(replayOrigin(p.topic, p.partition, r.offset)))
          .map((r) => ({
            partition: p.partition,
            key: r.key,
            value: r.value,
            timestamp: String(r.timestamp),
            headers: {
              ...asHeaders(r.headers),
              [REPLAY_HEADERS.origin]: replayOrigin(p.topic, p.partition, r.offset),
              [REPLAY_HEADERS.workflow]: `${args.workflowId}/${args.runId}`,
            },
          }));
        // One partition per produce request: kafkajs 2.2.4's multi-partition sendBatch can drop a partition after a leader move.
        if (messages.length > 0) await send(p.topic, messages);
        copied += records.length;
        written += messages.length;
      }
    });
    return { copied, written, topics };
  }

  async function quarantine(args: z.output<typeof CopyInput>, parts: Array<{ p: Part; records: Rec[] }>): Promise<CopyDivergentResult> {
    const topics = [...new Set(parts.map((x) => quarantineTopicFor(x.p.topic)))];
    await classified(
      () =>
        deps.kafka.withAdmin(args.primary, async (admin) => {
          const existing = new Set(await admin.listTopics());
          const create = topics.filter((t) => !existing.has(t));
          // One partition: the origin headers say where each record came from. Broker-default replication factor.
          if (create.length > 0)
            await admin.createTopics({
              topics: create.map((topic) => ({ topic, numPartitions: 1, replicationFactor: -1 })),
              waitForLeaders: true,
            });
        }),
      { cluster: args.primary, registry: deps.registry },
    );
    let copied = 0;
    let written = 0;
    const exported: unknown[] = [];
    await fencedWrites(args.primary, copyTransactionalId(args.workflowId, 'quarantine'), async (send) => {
      // Origins already quarantined (an earlier attempt), read once this attempt holds the
      // transactional id: the quarantine topics are small, read them whole.
      const ends = await lowAndHigh(args.primary, topics);
      const already = await read(
        args.primary,
        topics
          .map((t) => ({ topic: t, partition: 0, from: ends.get(pkey(t, 0))?.low ?? 0n, to: ends.get(pkey(t, 0))?.high ?? 0n }))
          .filter((r) => r.from < r.to),
      );
      const origins = new Set<string>();
      for (const list of already.values()) {
        for (const r of list) {
          const h = r.headers ?? {};
          const s = (n: string) => Buffer.from(headerBytes(h[n])[0] ?? '', 'base64').toString();
          origins.add(`${s(ORIGIN_HEADERS.topic)}\u0000${s(ORIGIN_HEADERS.partition)}\u0000${s(ORIGIN_HEADERS.offset)}`);
        }
      }
      for (const { p, records } of parts) {
        const messages = [];
        for (const r of records) {
          exported.push({
            topic: p.topic,
            partition: p.partition,
            offset: r.offset.toString(),
            timestamp: r.timestamp,
            key: r.key?.toString('base64') ?? null,
            value: r.value?.toString('base64') ?? null,
            headers: Object.fromEntries(Object.keys(r.headers ?? {}).map((n) => [n, headerBytes(r.headers![n])])),
          });
          copied++;
          if (origins.has(`${p.topic}\u0000${p.partition}\u0000${r.offset}`)) continue;
          messages.push({
            partition: 0,
            key: r.key,
            value: r.value,
            timestamp: String(r.timestamp),
            headers: {
              ...asHeaders(r.headers),
              [ORIGIN_HEADERS.topic]: p.topic,
              [ORIGIN_HEADERS.partition]: String(p.partition),
              [ORIGIN_HEADERS.offset]: r.offset.toString(),
              [ORIGIN_HEADERS.timestamp]: String(r.timestamp),
            },
          });
        }
        if (messages.length > 0) await send(quarantineTopicFor(p.topic), messages);
        written += messages.length;
      }
    });
    const dir = process.env['KDR_QUARANTINE_DIR'] ?? join(tmpdir(), 'kafka-dr-quarantine');
    await mkdir(dir, { recursive: true });
    const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
    const exportPath = join(dir, `${safe(args.workflowId)}-${safe(args.runId)}.json`);
    const body = JSON.stringify(
      { primary: args.primary, workflowId: args.workflowId, runId: args.runId, encoding: 'base64', records: exported },
      null,
      1,
    );
    // A temporary file of this attempt's own: two attempts renaming one .tmp would fail each other.
    const tmp = `${exportPath}.${process.pid}-${randomUUID()}.tmp`;
    await writeFile(tmp, body);
    await rename(tmp, exportPath);
    return { copied, written, topics, exportPath };
  }

  /**
   * Runs `fn` with `send`, which writes in transactions of `transactionalId`, committed every
   * TXN_RECORDS records and at the end (one for a typical tail, whatever its partitions).
   * Fences first: the first transaction() is initTransactions, which aborts an older attempt's
   * open transaction and makes its next send or commit fail; what it committed before is
   * visible to `fn`'s reads, which come after. So two attempts at once cannot both find
   * "not there yet" and both write. A fenced attempt with something left to write fails at
   * its next send or commit (one that finds everything written commits nothing and succeeds).
   */
  async function fencedWrites(cluster: string, transactionalId: string, fn: (send: Send) => Promise<void>): Promise<void> {
    await classified(
      async () => {
        const producer = deps.kafka.get(cluster).producer({
          transactionalId,
          transactionTimeout: TXN_TIMEOUT_MS,
          idempotent: true,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
        });
        await producer.connect();
        let txn: Transaction | undefined;
        let inTxn = 0;
        const commit = async () => {
          // A transaction that holds no partition yet (nothing to write) sends nothing here.
          await txn?.commit();
          txn = undefined;
          inTxn = 0;
        };
        try {
          txn = await initTransactions(producer);
          await fn(async (topic, messages) => {
            for (let i = 0; i < messages.length; i += 500) {
              if (inTxn >= TXN_RECORDS) await commit();
              txn ??= await producer.transaction();
              const batch = messages.slice(i, i + 500);
              await txn.send({ topic, acks: -1, messages: batch });
              inTxn += batch.length;
            }
          });
          await commit();
        } catch (err) {
          if (txn?.isActive()) await txn.abort().catch(() => undefined);
          throw transactionFailure(err, cluster, transactionalId) ?? err;
        } finally {
          await producer.disconnect().catch(() => undefined);
        }
      },
      { cluster, registry: deps.registry },
    );
  }
}

type Send = (
  topic: string,
  messages: Array<{ partition: number; key: Buffer | null; value: Buffer | null; timestamp: string; headers: IHeaders }>,
) => Promise<void>;

/** Records per transaction (rounded up to whole produce requests): each commits well inside the transaction timeout. */
export const TXN_RECORDS = 5_000;
const TXN_TIMEOUT_MS = 60_000;

/**
 * The transactional id of a workflow's replay or quarantine, the same for every attempt and
 * run (a hash: workflow ids may be long). Clusters with ACLs: the worker's principal needs
 * WRITE and DESCRIBE on transactional ids with the prefix `kafka-dr-divergent-`.
 */
export function copyTransactionalId(workflowId: string, choice: 'replay' | 'quarantine'): string {
  return `kafka-dr-divergent-${choice}-${createHash('sha256').update(workflowId).digest('hex').slice(0, 32)}`;
}

/**
 * initTransactions, waiting while the coordinator still aborts a fenced attempt's
 * transaction (CONCURRENT_TRANSACTIONS; kafkajs retries it once only).
 */
async function initTransactions(producer: Producer): Promise<Transaction> {
  for (let tries = 1; ; tries++) {
    try {
      return await producer.transaction();
    } catch (err) {
      if (tries >= 40 || !kafkaErrorTypes(err).has('CONCURRENT_TRANSACTIONS')) throw err;
      await sleep(250);
    }
  }
}

/** The broker error types anywhere in a kafkajs error (kafkajs wraps them in retry errors). */
function kafkaErrorTypes(err: unknown, out = new Set<string>(), depth = 0): Set<string> {
  const e = err as { type?: unknown; code?: unknown; cause?: unknown; errors?: unknown } | null | undefined;
  if (!e || typeof e !== 'object' || depth > 5) return out;
  if (typeof e.type === 'string') out.add(e.type);
  // kafkajs 2.2.4 predates PRODUCER_FENCED (90): it reports it as an unknown code.
  if (e.code === 90) out.add('PRODUCER_FENCED');
  kafkaErrorTypes(e.cause, out, depth + 1);
  if (Array.isArray(e.errors)) for (const x of e.errors) kafkaErrorTypes(x, out, depth + 1);
  return out;
}

/** Fencing and transactional-id authorization, in words for the operator; other errors: undefined (classified as usual). */
export function transactionFailure(err: unknown, cluster: string, transactionalId: string): ApplicationFailure | undefined {
  const types = kafkaErrorTypes(err);
  if (types.has('INVALID_PRODUCER_EPOCH') || types.has('PRODUCER_FENCED'))
    return ApplicationFailure.create({
      type: FailureType.KafkaError,
      message:
        `cluster ${cluster}: this attempt was fenced off transactional id ${transactionalId}: a newer attempt of the ` +
        `same copy took over (or the transaction outlived its ${TXN_TIMEOUT_MS / 1000} s timeout); ` +
        `its uncommitted records were aborted, and the next attempt writes only what is not on the cluster yet`,
    });
  if (types.has('TRANSACTIONAL_ID_AUTHORIZATION_FAILED'))
    return ApplicationFailure.create({
      type: FailureType.KafkaRejected,
      message: `cluster ${cluster}: not authorized for transactional id ${transactionalId}: grant the worker's principal WRITE and DESCRIBE on transactional ids prefixed kafka-dr-divergent-`,
      nonRetryable: true,
    });
  return undefined;
}

/** The replay origin header's value, if the record is a replayed copy. */
function originOf(r: Rec): string | undefined {
  const v = r.headers?.[REPLAY_HEADERS.origin];
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined || one === null ? undefined : Buffer.isBuffer(one) ? one.toString() : String(one);
}

const isReplayCopy = (r: Rec): boolean => originOf(r) !== undefined;

function asHeaders(h: Record<string, unknown> | undefined): IHeaders {
  const out: IHeaders = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    if (v === undefined || v === null) continue;
    out[k] = Array.isArray(v) ? (v as Array<Buffer | string>) : (v as Buffer | string);
  }
  return out;
}
