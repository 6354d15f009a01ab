import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Consumer } from 'kafkajs';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDeps } from '../../activities/deps';
import { createOffsetsActivities, type AppliedOffsetPlan, type OffsetTranslationInput } from '../../activities/offsets';
import { readLatestCheckpoints } from '../../src/mm2/checkpoints';
import type { OffsetPlan } from '../../src/offsets/translation';
import { stackRegistry } from '../../src/registry/load';
import { eventually, stack } from '../helpers/stack';
import { consumeAndCommit, produceSeq, useMirroredTopic } from '../helpers/mirror-pair';
import { runActivity, startSuiteWorker, type SuiteWorker } from '../helpers/worker';

/**
 * Consumer-group offset translation against the real MM2 A→B on connect-b: a group
 * consumes on A, MM2 checkpoints it on B, the activities set it on B, and a kafkajs
 * consumer on B resumes at the right record.
 */

const PARTITIONS = 3;
const PER_PARTITION = 100;
const HALF = PER_PARTITION / 2;

// Record i goes to partition i % 3 at offset floor(i / 3): every partition gets records,
// and the seq value at any offset is known without reading A.
const seqAt = (partition: number, offset: number) => offset * PARTITIONS + partition;

describe('offset translation on the real MM2 A→B', { timeout: 150_000 }, () => {
  const { topic, group, mirrored, pair } = useMirroredTopic('xlate', PARTITIONS);
  const { kafkaA, kafkaB, adminB } = pair;
  let worker: SuiteWorker;
  const input = (over: Partial<OffsetTranslationInput> = {}): OffsetTranslationInput => ({
    source: 'A',
    target: 'B',
    groups: [group],
    ...over,
  });
  const quick = { startToCloseTimeout: '90s', retry: { maximumAttempts: 1 } };

  const produce = (from: number, to: number) => produceSeq(kafkaA, topic, from, to, PARTITIONS);

  const committedOnB = async () => {
    const [t] = await adminB.fetchOffsets({ groupId: group, topics: [mirrored] });
    return t!.partitions.map((p) => ({ partition: p.partition, offset: p.offset })).sort((a, b) => a.partition - b.partition);
  };
  const offsetsOnB = async () => (await committedOnB()).map((p) => p.offset);

  const groupOnB = (state: string) =>
    eventually(`group ${group} ${state} on B`, async () => {
      const { groups } = await adminB.describeGroups([group]);
      return groups[0]?.state === state ? groups[0] : undefined;
    });

  const plan = async (over: Partial<OffsetTranslationInput> = {}) => {
    const out = await runActivity<OffsetPlan>(worker.ctx, 'planOffsetTranslation', [input(over)], quick);
    assert.equal(out.failure, undefined, out.failure?.message);
    return out.result!;
  };
  const apply = async (over: Partial<OffsetTranslationInput> = {}) => {
    const out = await runActivity<AppliedOffsetPlan>(worker.ctx, 'applyOffsetTranslation', [input(over)], quick);
    assert.equal(out.failure, undefined, out.failure?.message);
    return out.result!;
  };

  before(async () => {
    worker = await startSuiteWorker();
    pair.onCleanup(() => worker.stop());
  });

  it("translates a real group's offsets and a kafkajs consumer on B resumes right after the last record it consumed on A", async () => {
    // First half, then the group commits, then the second half. MM2 translates exactly only
    // at an offset sync (between syncs it rounds down: at-least-once); the sync for the last
    // replicated record always exists, so committing at the end of the first half gives an
    // exact checkpoint, which MM2 keeps (checkpoints never move a group's offset backwards).
    await produce(0, HALF * PARTITIONS);
    await eventually('the first half on B', async () => {
      const ends = await adminB.fetchTopicOffsets(mirrored);
      return ends.length === PARTITIONS && ends.every((e) => e.high === String(HALF)) ? true : undefined;
    });

    // The group consumes every partition up to offset HALF-1 on A and commits HALF.
    const lastOnA = await consumeAndCommit(kafkaA, group, topic, Array<number>(PARTITIONS).fill(HALF));
    for (let p = 0; p < PARTITIONS; p++) assert.equal(lastOnA.get(p), seqAt(p, HALF - 1), `partition ${p}: the last record consumed on A`);

    const checkpoints = await eventually(
      `checkpoints for ${group} at offset ${HALF} on every partition`,
      async () => {
        const read = await readLatestCheckpoints(kafkaB, 'A', { groups: [group] });
        const ours = read.checkpoints.filter((c) => c.topic === mirrored);
        return ours.length === PARTITIONS && ours.every((c) => c.upstreamOffset === BigInt(HALF)) ? ours : undefined;
      },
      60_000,
      1000,
    );
    for (const c of checkpoints) assert.equal(c.downstreamOffset, BigInt(HALF), `partition ${c.partition}: exact translation`);
    await produce(HALF * PARTITIONS, PER_PARTITION * PARTITIONS);

    // Dry run: says what it would do and changes nothing.
    const dry = await plan();
    const g = dry.groups.find((x) => x.group === group)!;
    assert.equal(g.skipped, undefined);
    assert.deepEqual(
      g.partitions.map((p) => [p.topic, p.partition, p.action, p.from, p.to]),
      [0, 1, 2].map((p) => [mirrored, p, 'set', null, String(HALF)]),
    );
    assert.ok(dry.checkpointsRead >= PARTITIONS);
    assert.deepEqual(await offsetsOnB(), ['-1', '-1', '-1'], 'the plan does not touch B');

    const result = await apply();
    assert.deepEqual(
      result.applied.map((a) => [a.group, a.topic, a.partition, a.offset]).sort(),
      [0, 1, 2].map((p) => [group, mirrored, p, String(HALF)]),
    );
    assert.deepEqual(await offsetsOnB(), [String(HALF), String(HALF), String(HALF)]);

    // The same apply again: as a first attempt it has nothing to write and reports nothing set;
    // as a retry (an earlier attempt committed, then its worker died) it still reports the
    // offsets as set, so the playbook's report does not claim that none were.
    const direct = createOffsetsActivities(createDeps(stackRegistry(stack), 'test-offset-translation'));
    const again: AppliedOffsetPlan = await new MockActivityEnvironment({ attempt: 1 }).run(direct.applyOffsetTranslation, input());
    assert.deepEqual(again.applied, []);
    const retried: AppliedOffsetPlan = await new MockActivityEnvironment({ attempt: 2 }).run(direct.applyOffsetTranslation, input());
    assert.deepEqual(
      retried.applied.map((a) => [a.group, a.topic, a.partition, a.offset]).sort(),
      [0, 1, 2].map((p) => [group, mirrored, p, String(HALF)]),
    );
    assert.deepEqual(await offsetsOnB(), [String(HALF), String(HALF), String(HALF)]);

    // The group on B: no fromBeginning, so without the translated offsets it would start at the end.
    const seen = new Map<number, number[]>();
    const consumerB: Consumer = kafkaB.consumer({ groupId: group, maxWaitTimeInMs: 200 });
    await consumerB.connect();
    try {
      await consumerB.subscribe({ topic: mirrored, fromBeginning: false });
      let finish!: () => void;
      const all = new Promise<void>((r) => (finish = r));
      await consumerB.run({
        eachMessage: async ({ partition, message }) => {
          const list = seen.get(partition) ?? [];
          list.push(Number(message.value!.toString().slice('seq='.length)));
          seen.set(partition, list);
          if ([...Array(PARTITIONS).keys()].every((p) => (seen.get(p)?.length ?? 0) >= PER_PARTITION - HALF)) finish();
        },
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new Error(`the consumer on B saw only ${JSON.stringify([...seen])}`)), 60_000);
      });
      try {
        await Promise.race([all, timeout]);
      } finally {
        clearTimeout(timer);
      }
    } finally {
      await consumerB.disconnect();
    }
    for (let p = 0; p < PARTITIONS; p++) {
      const got = seen.get(p)!;
      assert.equal(got[0], lastOnA.get(p)! + PARTITIONS, `partition ${p}: B starts right after the last record consumed on A`);
      const expected = Array.from({ length: PER_PARTITION - HALF }, (_, k) => seqAt(p, HALF + k));
      assert.deepEqual(got, expected, `partition ${p}: exactly the records G had not consumed, in order, none earlier`);
    }
  });

  it('skips a group with an active consumer on B and changes nothing', async () => {
    const before = await offsetsOnB();
    assert.deepEqual(
      before,
      [String(PER_PARTITION), String(PER_PARTITION), String(PER_PARTITION)],
      'the B consumer committed its progress',
    );
    const consumer = kafkaB.consumer({ groupId: group, maxWaitTimeInMs: 200 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: mirrored, fromBeginning: false });
      await consumer.run({ eachMessage: async () => undefined });
      await groupOnB('Stable');
      // allowRewind: without the member guard this would move the group back to HALF.
      const dry = await plan({ allowRewind: true });
      const g = dry.groups.find((x) => x.group === group)!;
      assert.equal(g.skipped, `group ${group} has 1 active member on B: stop its consumers there first`);
      assert.deepEqual(
        g.partitions.map((p) => [p.action, p.to]),
        [0, 1, 2].map(() => ['set', String(HALF)]),
        'what it would do once the consumers stop',
      );
      const result = await apply({ allowRewind: true });
      assert.deepEqual(result.applied, []);
      assert.ok(result.groups.find((x) => x.group === group)!.skipped);
      assert.deepEqual(await offsetsOnB(), before);
    } finally {
      await consumer.disconnect();
    }
  });

  it('never moves a group backwards on B unless allowRewind says so', async () => {
    await groupOnB('Empty');
    const AHEAD = String(HALF + 25);
    await adminB.setOffsets({ groupId: group, topic: mirrored, partitions: [0, 1, 2].map((partition) => ({ partition, offset: AHEAD })) });

    const dry = await plan();
    const g = dry.groups.find((x) => x.group === group)!;
    assert.deepEqual(
      g.partitions.map((p) => [p.action, p.from, p.to, p.checkpoint]),
      [0, 1, 2].map(() => ['skip-would-rewind', AHEAD, AHEAD, String(HALF)]),
    );
    const kept = await apply();
    assert.deepEqual(kept.applied, []);
    assert.deepEqual(await offsetsOnB(), [AHEAD, AHEAD, AHEAD]);

    const moved = await apply({ allowRewind: true });
    assert.deepEqual(
      moved.applied.map((a) => [a.partition, a.offset]).sort(),
      [0, 1, 2].map((p) => [p, String(HALF)]),
    );
    assert.deepEqual(await offsetsOnB(), [String(HALF), String(HALF), String(HALF)]);

    // Safe to repeat: the second run finds nothing to do.
    const again = await apply({ allowRewind: true });
    assert.deepEqual(again.applied, []);
    assert.deepEqual(
      again.groups.find((x) => x.group === group)!.partitions.map((p) => p.action),
      ['unchanged', 'unchanged', 'unchanged'],
    );
  });

  it('fails at once on an unknown cluster alias or a bad group pattern', async () => {
    const unknown = await runActivity(worker.ctx, 'planOffsetTranslation', [input({ target: 'Z' })], {
      startToCloseTimeout: '30s',
      retry: { maximumAttempts: 3 },
    });
    assert.equal(unknown.failure?.type, 'UnknownCluster');
    assert.match(unknown.failure?.message ?? '', /unknown cluster 'Z'/);
    assert.equal(unknown.attempts, 1, 'not retried');
    const bad = await runActivity(worker.ctx, 'applyOffsetTranslation', [input({ groups: ['(oops'] })], {
      startToCloseTimeout: '30s',
      retry: { maximumAttempts: 3 },
    });
    assert.equal(bad.failure?.type, 'InvalidInput');
    assert.match(bad.failure?.message ?? '', /groups: group pattern '\(oops'/);
    assert.equal(bad.attempts, 1);
  });
});
