import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigResourceTypes, type Admin, type Kafka } from 'kafkajs';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDeps } from '../../activities/deps';
import { createOffsetsActivities } from '../../activities/offsets';
import { ConnectClient, inState } from '../../src/connect/client';
import { groupCommitter } from '../../src/kafka/group-commit';
import { readRanges } from '../../src/kafka/read-ranges';
import { checkpointsTopic } from '../../src/mm2/checkpoints';
import { encodeCheckpoint } from '../../src/mm2/codecs';
import { mirrorConnectors, remoteTopicName, type MirrorFlow } from '../../src/mm2/connector-configs';
import type { FailoverFigures, FailoverInput } from '../../src/model/failover-input';
import type { PlaybookReport } from '../../src/model/gates';
import type { OffsetPlan } from '../../src/offsets/translation';
import { stackRegistry } from '../../src/registry/load';
import type { failover } from '../../workflows/failover';
import { approveSignal, decideUpdate, statusQuery } from '../../workflows/framework';
import { eventually, kafka, stack, uniqueId } from '../helpers/stack';
import { withWorker } from '../helpers/worker';

/**
 * Exact consumer positions through a real planned failover A→B: groups parked (no
 * consumers) at random committed offsets on A, on a plain 10-partition topic, a compacted
 * topic (offset gaps on A) and a topic with aborted transactions (markers, and aborted
 * records that MM2, reading uncommitted by default, copies as plain records). After the
 * failover every group-partition on B must stand on the copy of the record the group
 * would have read next on A (compared by content), or, caught up, right after the copy
 * of the last one it read. A stale checkpoint past the end of B's partition is refused.
 */

const PLAIN_PARTITIONS = 10;
const PER_PARTITION = 1000;
const SIDE_PARTITIONS = 3;
const GROUPS = 50;
/** Groups that also sit on the compacted and the transactional topic. */
const SIDE_GROUPS = 20;

type Rec = { offset: number; content: string };
/** Records of a topic by partition, read committed (what a read_committed group sees). */
async function readAll(k: Kafka, admin: Admin, topic: string): Promise<Map<number, Rec[]>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const out = new Map<number, Rec[]>(offsets.map((o) => [o.partition, []]));
  await readRanges(
    k,
    offsets.map((o) => ({ topic, partition: o.partition, from: BigInt(o.low), to: BigInt(o.high) })),
    (_, r) =>
      out.get(r.partition)!.push({ offset: Number(r.offset), content: `${r.key?.toString()}|${r.value?.toString()}|${r.timestamp}` }),
    { timeoutMs: 120_000 },
  );
  for (const rs of out.values()) rs.sort((a, b) => a.offset - b.offset);
  return out;
}

/** A small seeded PRNG (mulberry32): a failing run can be repeated with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

for (const policy of ['identity', 'default'] as const) {
  describe(`exact positions through a planned failover A→B (${policy} policy)`, { timeout: 600_000 }, () => {
    const id = uniqueId();
    const plain = `ex-${id}`;
    const compacted = `exc-${id}`;
    const txn = `ext-${id}`;
    const topics = [plain, compacted, txn];
    const groupPrefix = `ex-${id}-g`;
    const groups = Array.from({ length: GROUPS }, (_, i) => `${groupPrefix}${String(i).padStart(2, '0')}`);
    const staleGroup = `${groupPrefix}stale`;
    const down = (t: string) => remoteTopicName(policy, 'A', t);
    const flow: MirrorFlow = {
      source: { alias: 'A', bootstrapServers: stack.kafka.A.bootstrap },
      target: { alias: 'B', bootstrapServers: stack.kafka.B.bootstrap },
      name: `ex-${id}`,
      topics,
      groups: [`${groupPrefix}.*`],
      policy,
      replicationFactor: 1,
      intervalSeconds: 1,
    };
    const connectors = mirrorConnectors(flow);
    const names = Object.keys(connectors);
    const connect = new ConnectClient(stack.connect['connect-b'].url);
    const kafkaA = kafka('A');
    const kafkaB = kafka('B');
    let adminA: Admin;
    let adminB: Admin;
    const seed = Date.now() % 1_000_000;
    const random = prng(seed);
    /** group → topic → partition → committed offset on A. */
    const parked = new Map<string, Map<string, Map<number, number>>>();

    const t0 = Date.now();
    const progress = (what: string) =>
      console.error(`exact-positions e2e (${policy}): ${what} after ${Math.round((Date.now() - t0) / 1000)} s`);
    before(async () => {
      adminA = kafkaA.admin();
      adminB = kafkaB.admin();
      await Promise.all([adminA.connect(), adminB.connect()]);
      await adminA.createTopics({
        topics: [
          { topic: plain, numPartitions: PLAIN_PARTITIONS, replicationFactor: 1 },
          {
            topic: compacted,
            numPartitions: SIDE_PARTITIONS,
            replicationFactor: 1,
            configEntries: [
              { name: 'cleanup.policy', value: 'compact' },
              { name: 'segment.ms', value: '100' },
              { name: 'min.cleanable.dirty.ratio', value: '0.001' },
              { name: 'min.compaction.lag.ms', value: '0' },
            ],
          },
          { topic: txn, numPartitions: SIDE_PARTITIONS, replicationFactor: 1 },
        ],
        waitForLeaders: true,
      });

      // The plain topic: distinct key and value per record.
      const producer = kafkaA.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      for (let p = 0; p < PLAIN_PARTITIONS; p++) {
        for (let i = 0; i < PER_PARTITION; i += 250) {
          await producer.send({
            topic: plain,
            acks: -1,
            messages: Array.from({ length: 250 }, (_, j) => ({ partition: p, key: `k${p}-${i + j}`, value: `v${p}-${i + j}-${random()}` })),
          });
        }
      }
      // The compacted topic: 30 keys rewritten 10 times per partition, in several segments.
      for (let round = 0; round < 10; round++) {
        await producer.send({
          topic: compacted,
          acks: -1,
          messages: Array.from({ length: SIDE_PARTITIONS * 30 }, (_, j) => ({
            partition: j % SIDE_PARTITIONS,
            key: `c${j}`,
            value: `round${round}-${j}`,
          })),
        });
        await new Promise((r) => setTimeout(r, 150));
      }
      await producer.disconnect();

      // The transactional topic: committed and aborted transactions in turn (markers after each).
      const tx = kafkaA.producer({
        transactionalId: `ex-${id}-tx`,
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
      });
      await tx.connect();
      for (let round = 0; round < 12; round++) {
        const t = await tx.transaction();
        await t.send({
          topic: txn,
          messages: Array.from({ length: SIDE_PARTITIONS * 20 }, (_, j) => ({
            partition: j % SIDE_PARTITIONS,
            key: `t${round}-${j}`,
            value: `r${round}-${j}`,
          })),
        });
        if (round % 3 === 1) await t.abort();
        else await t.commit();
      }
      await tx.disconnect();
      // A plain record last: a transactional topic that ends on a commit marker never drains to
      // lag 0 (MM2 commits the last record's offset, the marker after it stays; src/offsets/lag.ts),
      // and the planned failover waits for lag 0.
      const tail = kafkaA.producer({ allowAutoTopicCreation: false });
      await tail.connect();
      await tail.send({
        topic: txn,
        acks: -1,
        messages: Array.from({ length: SIDE_PARTITIONS }, (_, p) => ({ partition: p, key: `tail${p}`, value: 'tail' })),
      });
      await tail.disconnect();
      progress('produced');

      // Wait for compaction on A (gaps in the offsets), then stop it from rolling segments:
      // MM2 copies the topic's configs, and B compacting under the test would move records.
      await eventually(
        `${compacted} compacted on A`,
        async () => {
          const recs = await readAll(kafkaA, adminA, compacted);
          return [...recs.values()].every((rs) => rs.length < 150) ? true : undefined;
        },
        150_000,
        3000,
      );
      progress('compacted on A');
      await adminA.alterConfigs({
        validateOnly: false,
        // Not incremental: every config the topic keeps is listed.
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: compacted,
            configEntries: [
              { name: 'cleanup.policy', value: 'compact' },
              { name: 'segment.ms', value: '604800000' },
              { name: 'min.cleanable.dirty.ratio', value: '0.5' },
            ],
          },
        ],
      });

      // Park the groups: random committed offsets (0 and the end included), no consumers.
      const ends = new Map<string, number[]>();
      for (const t of topics)
        ends.set(
          t,
          (await adminA.fetchTopicOffsets(t)).sort((a, b) => a.partition - b.partition).map((o) => Number(o.high)),
        );
      const txnRecs = await readAll(kafkaA, adminA, txn);
      groups.forEach((g, gi) => {
        const byTopic = new Map<string, Map<number, number>>();
        for (const t of gi < SIDE_GROUPS ? topics : [plain]) {
          const at = new Map<number, number>();
          ends.get(t)!.forEach((end, p) => {
            const r = random();
            // Some at 0 and at the end; on the transactional topic some on an aborted record or a marker.
            let offset = gi === 0 ? 0 : gi === 1 ? end : Math.floor(r * (end + 1));
            if (t === txn && gi === 2) {
              const committed = new Set(txnRecs.get(p)!.map((x) => x.offset));
              offset = [...Array(end).keys()].find((o) => o > 0 && !committed.has(o)) ?? offset;
            }
            at.set(p, offset);
          });
          byTopic.set(t, at);
        }
        parked.set(g, byTopic);
      });
      // One OffsetCommit per group (kafkajs' setOffsets joins the group as a consumer: seconds each).
      const committer = await groupCommitter(kafkaA);
      try {
        for (const [g, byTopic] of parked) {
          await committer.commit(
            g,
            [...byTopic].map(([t, at]) => ({
              topic: t,
              partitions: [...at].map(([partition, offset]) => ({ partition, offset: String(offset) })),
            })),
          );
        }
      } finally {
        await committer.close();
      }

      progress('groups parked');
      for (const [name, config] of Object.entries(connectors)) await connect.putConfig(name, config);
      await eventually(
        'the MM2 connectors RUNNING on connect-b',
        async () => {
          const states = await Promise.all(names.map(async (n) => inState(await connect.status(n), 'RUNNING', n.endsWith('-checkpoint'))));
          return states.every(Boolean) ? true : undefined;
        },
        90_000,
      );
      await eventually(
        'every topic mirrored to B',
        async () => {
          for (const t of topics) {
            const b = await adminB.fetchTopicOffsets(down(t)).catch(() => []);
            const a = ends.get(t)!;
            // Compacted on A: B gets fewer offsets; the plain and transactional topics copy every data record.
            if (b.length !== a.length) return undefined;
            if (t === plain && !b.every((o) => Number(o.high) === PER_PARTITION)) return undefined;
          }
          const recsA = await readAll(kafkaA, adminA, compacted);
          const recsB = await readAll(kafkaB, adminB, down(compacted));
          return [...recsA].every(([p, rs]) => recsB.get(p)?.length === rs.length) ? true : undefined;
        },
        180_000,
        2000,
      );
      progress('mirrored');
      // A stale checkpoint (as after a recreation of the topic on B): past the end of B's partition.
      await eventually(
        'the checkpoints topic on B',
        async () => ((await adminB.listTopics()).includes(checkpointsTopic('A')) ? true : undefined),
        60_000,
      );
      const p = kafkaB.producer();
      await p.connect();
      await p.send({
        topic: checkpointsTopic('A'),
        messages: [
          encodeCheckpoint({
            consumerGroupId: staleGroup,
            topic: down(plain),
            partition: 0,
            upstreamOffset: 4000n,
            downstreamOffset: 5000n,
            metadata: '',
          }),
        ],
      });
      await p.disconnect();
    });

    after(async () => {
      await Promise.all(names.map((n) => connect.delete(n).catch(() => undefined)));
      await adminA.deleteGroups([...groups]).catch(() => undefined);
      await adminB.deleteGroups([...groups]).catch(() => undefined);
      await adminA.deleteTopics({ topics }).catch(() => undefined);
      await adminB.deleteTopics({ topics: [...new Set([...topics.map(down), ...topics])] }).catch(() => undefined);
      await Promise.all([adminA.disconnect(), adminB.disconnect()]);
    });

    it(`places every group-partition exactly (seed ${seed}), refuses a stale checkpoint past the end`, async () => {
      // The stale checkpoint, through the activity: refused, not clamped to the end.
      const direct = createOffsetsActivities(createDeps(stackRegistry(stack), 'test-exact-positions'));
      const dry: OffsetPlan = await new MockActivityEnvironment({ attempt: 1 }).run(direct.planOffsetTranslation, {
        source: 'A',
        target: 'B',
        groups: [staleGroup],
        topics: [plain],
        exact: true,
        policy,
      });
      const stale = dry.groups.find((g) => g.group === staleGroup)?.partitions.find((x) => x.partition === 0);
      assert.equal(stale?.action, 'refused-past-end', JSON.stringify(dry.groups));
      assert.match(stale?.note ?? '', /past the end .*\(1000\).*refused/);

      const input: FailoverInput = {
        source: 'A',
        target: 'B',
        mode: 'planned',
        forward: { connect: 'connect-b', connectors: names, sourceConnectors: [`${flow.name}-source`] },
        topics,
        groups: [`${groupPrefix}.*`],
        policy,
        requestedBy: 'alice',
        gates: {
          'stop-producers': { deadline: '5 minutes' },
          'consumers-cutover': { deadline: '5 minutes' },
          'producers-cutover': { deadline: '5 minutes' },
        },
        quietSeconds: 2,
      };
      const report = await withWorker(async ({ client, taskQueue }) => {
        const h = await client.workflow.start<typeof failover>('failover', {
          taskQueue,
          workflowId: `exact-e2e-${id}`,
          args: [input],
          workflowExecutionTimeout: '8 minutes',
        });
        const gateOpen = (gate: string) =>
          eventually(
            `gate ${gate} open`,
            async () => {
              const s = await h.query(statusQuery);
              if (s.state === 'finished') throw new Error(`workflow finished: ${s.outcome} ${JSON.stringify(s)}`);
              return s.openGate?.name === gate ? s : undefined;
            },
            240_000,
            300,
          );
        await gateOpen('stop-producers');
        await h.executeUpdate(decideUpdate, {
          args: [{ gate: 'stop-producers', decision: 'approve', by: 'bob', comment: 'no producers' }],
        });
        await gateOpen('consumers-cutover');
        await h.signal(approveSignal, { gate: 'consumers-cutover', by: 'carol' });
        // The stale checkpoint is refused, so its group has no position: the unplaced-groups gate
        // lists it, and only it (every other group-partition was placed exactly); it is left out.
        const next = await eventually(
          'unplaced-groups or producers-cutover open',
          async () => {
            const s = await h.query(statusQuery);
            if (s.state === 'finished') throw new Error(`workflow finished: ${s.outcome} ${JSON.stringify(s)}`);
            return s.openGate && ['unplaced-groups', 'producers-cutover'].includes(s.openGate.name) ? s : undefined;
          },
          240_000,
          300,
        );
        assert.equal(next.openGate!.name, 'unplaced-groups', 'the refused stale checkpoint leaves its group without a position');
        assert.deepEqual(next.openGate!.choices?.keys, [staleGroup]);
        await h.signal(approveSignal, { gate: 'unplaced-groups', by: 'carol', choices: { [staleGroup]: 'leave-out' } });
        await gateOpen('producers-cutover');
        await h.signal(approveSignal, { gate: 'producers-cutover', by: 'carol' });
        return (await h.result()) as PlaybookReport<FailoverFigures>;
      });
      assert.equal(report.outcome, 'completed', report.reason ?? '');
      progress('failover completed');

      // Every group-partition: B's record at the new position is A's next record for the group
      // (caught up: B's record before it is A's last record before the commit).
      const recsA = new Map<string, Map<number, Rec[]>>();
      const recsB = new Map<string, Map<number, Rec[]>>();
      for (const t of topics) {
        recsA.set(t, await readAll(kafkaA, adminA, t));
        recsB.set(t, await readAll(kafkaB, adminB, down(t)));
      }
      const endsB = new Map<string, number[]>();
      for (const t of topics)
        endsB.set(
          t,
          (await adminB.fetchTopicOffsets(down(t))).sort((a, b) => a.partition - b.partition).map((o) => Number(o.high)),
        );
      let checked = 0;
      const wrong: string[] = [];
      for (const [g, byTopic] of parked) {
        const onB = new Map<string, number>();
        for (const t of await adminB.fetchOffsets({ groupId: g, topics: topics.map(down) })) {
          for (const x of t.partitions) onB.set(`${t.topic}/${x.partition}`, Number(x.offset));
        }
        for (const [t, at] of byTopic) {
          for (const [p, committed] of at) {
            checked++;
            const position = onB.get(`${down(t)}/${p}`) ?? -1;
            const a = recsA.get(t)!.get(p)!;
            const b = recsB.get(t)!.get(p)!;
            const nextA = a.find((r) => r.offset >= committed);
            const ok = nextA
              ? b.find((r) => r.offset >= position)?.content === nextA.content && b.some((r) => r.offset === position)
              : position > 0 &&
                b.filter((r) => r.offset < position).pop()?.content === a.filter((r) => r.offset < committed).pop()?.content;
            if (!ok) wrong.push(`${g} ${t}/${p}: committed ${committed} on A, ${position} on B (end ${endsB.get(t)![p]})`);
          }
        }
      }
      assert.deepEqual(wrong, [], `${wrong.length} of ${checked} group-partitions not exact`);
      assert.equal(checked, GROUPS * PLAIN_PARTITIONS + SIDE_GROUPS * 2 * SIDE_PARTITIONS);
      // The groups are new on B: every group-partition was set by the playbook.
      assert.equal(report.figures.offsetsSet.filter((o) => o.group !== staleGroup).length, checked);
      // The stale group got nothing on B (refused, not clamped to the end).
      const [staleOnB] = await adminB.fetchOffsets({ groupId: staleGroup, topics: [down(plain)] });
      assert.equal(staleOnB!.partitions.find((x) => x.partition === 0)!.offset, '-1');
    });
  });
}
