import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { groupMatcher, LatestCheckpoints, literalGroupNames } from '../../src/mm2/checkpoints';
import { encodeCheckpoint, Mm2DecodeError, type Checkpoint } from '../../src/mm2/codecs';
import {
  activeGroupReason,
  offsetsToApply,
  planOffsets,
  summarizePlan,
  type PlanInput,
  type TargetGroup,
} from '../../src/offsets/translation';

const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'mm2');

const cp = (group: string, topic: string, partition: number, downstream: bigint, upstream = downstream): Checkpoint => ({
  consumerGroupId: group,
  topic,
  partition,
  upstreamOffset: upstream,
  downstreamOffset: downstream,
  metadata: '',
});

const record = (offset: bigint, c: Checkpoint) => ({ offset, ...encodeCheckpoint(c) });

describe('latest checkpoint selection', () => {
  it('keeps the checkpoint with the highest record offset per (group, topic, partition)', () => {
    const latest = new LatestCheckpoints('A', { groups: ['orders'] });
    latest.add(record(0n, cp('orders', 'A.t', 0, 10n)));
    latest.add(record(1n, cp('orders', 'A.t', 1, 5n)));
    latest.add(record(2n, cp('orders', 'A.t', 0, 20n)));
    // An older record seen later (e.g. another partition's replay order) must not win.
    latest.add(record(1n, cp('orders', 'A.t', 0, 99n)));
    latest.add(record(3n, cp('orders', 'A.u', 0, 7n)));
    assert.deepEqual(
      latest.checkpoints().map((c) => [c.topic, c.partition, c.downstreamOffset]),
      [
        ['A.t', 0, 20n],
        ['A.t', 1, 5n],
        ['A.u', 0, 7n],
      ],
    );
    assert.equal(latest.recordsRead, 5);
  });

  it('latest wins even when it moves backwards (a rewound source group)', () => {
    const latest = new LatestCheckpoints('A', { groups: ['g'] });
    latest.add(record(0n, cp('g', 'A.t', 0, 50n)));
    latest.add(record(1n, cp('g', 'A.t', 0, 3n)));
    assert.equal(latest.checkpoints()[0]!.downstreamOffset, 3n);
  });

  it('filters groups by whole-name regex and plain names', () => {
    const latest = new LatestCheckpoints('A', { groups: ['orders', 'billing-.*'] });
    for (const [i, g] of ['orders', 'orders-audit', 'billing-eu', 'billing', 'xorders'].entries()) {
      latest.add(record(BigInt(i), cp(g, 'A.t', 0, 1n)));
    }
    assert.deepEqual(
      latest.checkpoints().map((c) => c.consumerGroupId),
      ['billing-eu', 'orders'],
    );
  });

  it('filters topics by upstream or downstream name', () => {
    const latest = new LatestCheckpoints('A', { groups: ['.*'], topics: ['orders', 'A.payments'] });
    latest.add(record(0n, cp('g', 'A.orders', 0, 1n)));
    latest.add(record(1n, cp('g', 'A.payments', 0, 1n)));
    latest.add(record(2n, cp('g', 'A.refunds', 0, 1n)));
    latest.add(record(3n, cp('g', 'B.orders', 0, 1n)));
    assert.deepEqual(
      latest.checkpoints().map((c) => c.topic),
      ['A.orders', 'A.payments'],
    );
  });

  it('a tombstone removes the key; a later record brings it back', () => {
    const latest = new LatestCheckpoints('A', { groups: ['g'] });
    const c = cp('g', 'A.t', 0, 10n);
    latest.add(record(0n, c));
    latest.add(record(1n, cp('g', 'A.t', 1, 4n)));
    latest.add({ offset: 2n, key: encodeCheckpoint(c).key, value: null });
    assert.deepEqual(
      latest.checkpoints().map((x) => x.partition),
      [1],
    );
    latest.add(record(3n, cp('g', 'A.t', 0, 12n)));
    assert.equal(latest.checkpoints().find((x) => x.partition === 0)?.downstreamOffset, 12n);
  });

  it('decodes the bytes the real MM2 wrote', () => {
    const f = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'checkpoint.json'), 'utf8')) as {
      keyHex: string;
      valueHex: string;
      decoded: { consumerGroupId: string; downstreamOffset: string };
    };
    const latest = new LatestCheckpoints('A', { groups: [f.decoded.consumerGroupId] });
    latest.add({ offset: 0n, key: Buffer.from(f.keyHex, 'hex'), value: Buffer.from(f.valueHex, 'hex') });
    assert.equal(latest.checkpoints()[0]?.downstreamOffset, BigInt(f.decoded.downstreamOffset));
  });

  it('fails closed on an unknown checkpoint version, naming the record offset', () => {
    const latest = new LatestCheckpoints('A', { groups: ['g'] });
    const { key, value } = encodeCheckpoint(cp('g', 'A.t', 0, 1n));
    const v1 = Buffer.from(value);
    v1.writeInt16BE(1, 0);
    assert.throws(
      () => latest.add({ offset: 42n, key, value: v1 }),
      (e: unknown) => e instanceof Mm2DecodeError && /offset 42/.test(e.message),
    );
  });

  it('rejects an invalid group regex with the pattern in the message', () => {
    assert.throws(() => groupMatcher(['orders', '(unclosed']), /'\(unclosed'/);
    assert.deepEqual(literalGroupNames(['orders', 'orders.svc', 'billing-.*', 'a|b']), ['orders', 'orders.svc']);
  });
});

const T = 'A.orders';
const ends = (high: bigint[], low: bigint[] = high.map(() => 0n)) =>
  high.map((h, partition) => ({ topic: T, partition, low: low[partition]!, high: h }));
const group = (name: string, committed: Array<bigint | null>, state = 'Empty', members = 0): TargetGroup => ({
  group: name,
  state,
  members,
  committed: committed.map((offset, partition) => ({ topic: T, partition, offset })),
});
const input = (over: Partial<PlanInput>): PlanInput => ({
  source: 'A',
  target: 'B',
  checkpoints: [],
  groups: [],
  targetOffsets: ends([100n, 100n, 100n]),
  allowRewind: false,
  checkpointsRead: 7,
  generatedAt: '2025-01-01T00:00:00.000Z',
  ...over,
});

describe('offset translation plan', () => {
  it('sets a fresh group to the checkpoints, lists partitions without one, and says what it writes', () => {
    const plan = planOffsets(
      input({ checkpoints: [cp('g', T, 0, 50n, 52n), cp('g', T, 2, 10n)], groups: [group('g', [null, null, null], 'Dead')] }),
    );
    assert.equal(plan.checkpointsRead, 7);
    const g = plan.groups[0]!;
    assert.equal(g.skipped, undefined);
    assert.deepEqual(
      g.partitions.map((p) => [p.partition, p.action, p.from, p.to, p.checkpoint, p.upstream]),
      [
        [0, 'set', null, '50', '50', '52'],
        [1, 'no-checkpoint', null, null, null, null],
        [2, 'set', null, '10', '10', '10'],
      ],
    );
    assert.deepEqual(offsetsToApply(g), [
      {
        topic: T,
        partitions: [
          { partition: 0, offset: '50' },
          { partition: 2, offset: '10' },
        ],
      },
    ]);
    assert.deepEqual(summarizePlan(plan).actions, { set: 2, 'no-checkpoint': 1 });
  });

  it('a partition without a checkpoint keeps its current offset', () => {
    const plan = planOffsets(input({ checkpoints: [cp('g', T, 0, 5n)], groups: [group('g', [null, 40n, null])] }));
    const p1 = plan.groups[0]!.partitions[1]!;
    assert.deepEqual([p1.action, p1.from, p1.to], ['no-checkpoint', '40', '40']);
  });

  it('skips a group with active members and says to stop them, but still shows what it would do', () => {
    const plan = planOffsets(input({ checkpoints: [cp('g', T, 0, 50n)], groups: [group('g', [null, null, null], 'Stable', 2)] }));
    const g = plan.groups[0]!;
    assert.equal(g.skipped, 'group g has 2 active members on B: stop its consumers there first');
    assert.equal(g.partitions[0]!.action, 'set');
    assert.deepEqual(offsetsToApply(g), [], 'nothing is written for a skipped group');
    assert.equal(summarizePlan(plan).skippedGroups, 1);
  });

  it('skips a group that is rebalancing even with no members listed', () => {
    assert.match(activeGroupReason({ group: 'g', state: 'PreparingRebalance', members: 0 }, 'B') ?? '', /is PreparingRebalance on B/);
    assert.equal(activeGroupReason({ group: 'g', state: 'Empty', members: 0 }, 'B'), undefined);
    assert.equal(activeGroupReason({ group: 'g', state: 'Dead', members: 0 }, 'B'), undefined);
    assert.match(activeGroupReason({ group: 'g', state: 'Stable', members: 1 }, 'B') ?? '', /1 active member on B/);
  });

  it('never moves a group backwards without allowRewind', () => {
    const plan = planOffsets(input({ checkpoints: [cp('g', T, 0, 50n)], groups: [group('g', [60n])] }));
    const p = plan.groups[0]!.partitions[0]!;
    assert.deepEqual([p.action, p.from, p.to, p.checkpoint], ['skip-would-rewind', '60', '60', '50']);
    assert.match(p.note ?? '', /ahead of the checkpoint \(60 > 50\).*re-delivers 10 records/);
    assert.deepEqual(offsetsToApply(plan.groups[0]!), []);
  });

  it('moves it back with allowRewind, and says records are delivered again', () => {
    const plan = planOffsets(input({ checkpoints: [cp('g', T, 0, 50n)], groups: [group('g', [60n])], allowRewind: true }));
    const p = plan.groups[0]!.partitions[0]!;
    assert.deepEqual([p.action, p.from, p.to], ['set', '60', '50']);
    assert.match(p.note ?? '', /moved back by 10/);
    assert.deepEqual(offsetsToApply(plan.groups[0]!), [{ topic: T, partitions: [{ partition: 0, offset: '50' }] }]);
  });

  it('forward moves need no allowRewind; equal offsets are unchanged', () => {
    const plan = planOffsets(input({ checkpoints: [cp('g', T, 0, 50n), cp('g', T, 1, 30n)], groups: [group('g', [40n, 30n])] }));
    const [p0, p1] = plan.groups[0]!.partitions;
    assert.deepEqual([p0!.action, p0!.from, p0!.to], ['set', '40', '50']);
    assert.deepEqual([p1!.action, p1!.from, p1!.to], ['unchanged', '30', '30']);
    assert.deepEqual(offsetsToApply(plan.groups[0]!), [{ topic: T, partitions: [{ partition: 0, offset: '50' }] }]);
  });

  it('an empty partition: checkpoint 0 on an empty target partition is set to 0, then unchanged', () => {
    const targetOffsets = ends([0n]);
    const fresh = planOffsets(input({ targetOffsets, checkpoints: [cp('g', T, 0, 0n)], groups: [group('g', [null])] }));
    assert.deepEqual([fresh.groups[0]!.partitions[0]!.action, fresh.groups[0]!.partitions[0]!.to], ['set', '0']);
    const again = planOffsets(input({ targetOffsets, checkpoints: [cp('g', T, 0, 0n)], groups: [group('g', [0n])] }));
    assert.equal(again.groups[0]!.partitions[0]!.action, 'unchanged');
  });

  it('refuses a checkpoint past the end of the target partition (stale), never clamps it to the end', () => {
    const plan = planOffsets(input({ checkpoints: [cp('g', T, 0, 150n, 140n)], groups: [group('g', [null])] }));
    const p = plan.groups[0]!.partitions[0]!;
    assert.deepEqual([p.action, p.to, p.checkpoint, p.upstream, p.method], ['refused-past-end', null, '150', '140', 'none']);
    assert.match(p.note ?? '', /past the end.*\(100\).*stale.*recreated or truncated.*refused/);
    assert.deepEqual(offsetsToApply(plan.groups[0]!), []);
    // The end itself is a valid position (a caught-up group).
    const atEnd = planOffsets(input({ checkpoints: [cp('g', T, 0, 100n)], groups: [group('g', [null])] }));
    assert.deepEqual([atEnd.groups[0]!.partitions[0]!.action, atEnd.groups[0]!.partitions[0]!.to], ['set', '100']);
  });

  it('clamps a checkpoint below the log start (records deleted on the target) up to the log start', () => {
    const plan = planOffsets(
      input({ targetOffsets: ends([100n], [30n]), checkpoints: [cp('g', T, 0, 10n)], groups: [group('g', [null])] }),
    );
    const p = plan.groups[0]!.partitions[0]!;
    assert.deepEqual([p.action, p.to], ['clamped', '30']);
    assert.match(p.note ?? '', /records 10\.\.29 were deleted/);
  });

  it('a clamped value still never rewinds without allowRewind', () => {
    const plan = planOffsets(input({ targetOffsets: ends([100n], [30n]), checkpoints: [cp('g', T, 0, 10n)], groups: [group('g', [40n])] }));
    assert.equal(plan.groups[0]!.partitions[0]!.action, 'skip-would-rewind');
  });

  it('a stale checkpoint past the end is refused even when the group stands further on the target', () => {
    const plan = planOffsets(input({ checkpoints: [cp('g', T, 0, 150n)], groups: [group('g', [120n])] }));
    assert.deepEqual([plan.groups[0]!.partitions[0]!.action, plan.groups[0]!.partitions[0]!.to], ['refused-past-end', '120']);
  });

  it('a negative downstream offset is not applied', () => {
    const plan = planOffsets(input({ checkpoints: [cp('g', T, 0, -1n)], groups: [group('g', [null])] }));
    assert.equal(plan.groups[0]!.partitions[0]!.action, 'invalid-checkpoint');
    assert.deepEqual(offsetsToApply(plan.groups[0]!), []);
  });

  it('a downstream topic missing on the target is reported, not set', () => {
    const plan = planOffsets(input({ targetOffsets: [], checkpoints: [cp('g', 'A.gone', 0, 5n)], groups: [group('g', [])] }));
    const p = plan.groups[0]!.partitions[0]!;
    assert.deepEqual([p.topic, p.action], ['A.gone', 'no-target-topic']);
    assert.deepEqual(offsetsToApply(plan.groups[0]!), []);
  });

  it('a named group without any checkpoint is skipped with a reason', () => {
    const plan = planOffsets(input({ groups: [group('lonely', [], 'Dead')] }));
    assert.match(plan.groups[0]!.skipped ?? '', /no checkpoint for group lonely in A\.checkpoints\.internal on B/);
  });

  it('plans groups independently and in name order; the plan is JSON (no bigint)', () => {
    const plan = planOffsets(
      input({
        checkpoints: [cp('b', T, 0, 5n), cp('a', T, 0, 7n)],
        groups: [group('b', [null], 'Stable', 1), group('a', [null])],
      }),
    );
    assert.deepEqual(
      plan.groups.map((g) => [g.group, g.skipped === undefined]),
      [
        ['a', true],
        ['b', false],
      ],
    );
    assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
  });
});
