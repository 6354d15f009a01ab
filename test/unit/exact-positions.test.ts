import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  exactPosition,
  mergeRanges,
  PartitionRecords,
  printRecord,
  anchorOf,
  sameRecord,
  SyncLine,
  targetRangeFor,
  type ExactInput,
} from '../../src/offsets/exact-positions';
import {
  APPLIED_ACTIONS,
  groupOutcomes,
  offsetsToApply,
  planOffsets,
  type ExactPlacement,
  type PlanInput,
} from '../../src/offsets/translation';

/** A record of the source "log": content `v<n>` at offset `offset`, timestamp 1000 + n. */
const rec = (offset: bigint, n: number, ts = 1000 + n) =>
  printRecord({ offset, key: Buffer.from(`k${n}`), value: Buffer.from(`v${n}`), timestamp: ts });

/** Partition records from [offset, content number] pairs. */
function log(entries: Array<[number, number]>): PartitionRecords {
  const r = new PartitionRecords();
  for (const [o, n] of entries) r.add(rec(BigInt(o), n));
  return r;
}
const seq = (from: number, to: number, contentFrom = from): Array<[number, number]> =>
  Array.from({ length: to - from }, (_, i) => [from + i, contentFrom + i]);

function syncs(pairs: Array<[number, number]>): SyncLine {
  const line = new SyncLine();
  for (const [u, d] of pairs) line.add({ upstreamOffset: BigInt(u), downstreamOffset: BigInt(d) });
  return line;
}

function input(
  committed: number,
  source: Array<[number, number]>,
  sourceHigh: number,
  target: Array<[number, number]>,
  targetHigh: number,
  line?: SyncLine,
): ExactInput {
  return {
    committed: BigInt(committed),
    source: { low: 0n, high: BigInt(sourceHigh), records: log(source) },
    target: { low: 0n, high: BigInt(targetHigh), records: log(target) },
    ...(line ? { syncs: line } : {}),
  };
}

const position = (i: ExactInput) => {
  const out = exactPosition(i);
  return out.method === 'exact' ? out.position : out.reason;
};

describe('record prints', () => {
  it('differ by key, value, headers or timestamp, and null differs from empty', () => {
    const base = { offset: 0n, key: Buffer.from('k'), value: Buffer.from('v'), timestamp: 5 };
    const a = printRecord(base);
    assert.ok(sameRecord(a, printRecord({ ...base, offset: 9n })), 'the offset is not compared');
    assert.ok(!sameRecord(a, printRecord({ ...base, timestamp: 6 })));
    assert.ok(!sameRecord(a, printRecord({ ...base, value: Buffer.from('w') })));
    assert.ok(!sameRecord(a, printRecord({ ...base, key: null })));
    assert.ok(!sameRecord(printRecord({ ...base, key: null }), printRecord({ ...base, key: Buffer.alloc(0) })));
    assert.ok(!sameRecord(a, printRecord({ ...base, headers: { h: Buffer.from('1') } })));
    // The key/value boundary is not ambiguous.
    assert.ok(
      !sameRecord(
        printRecord({ ...base, key: Buffer.from('ab'), value: Buffer.from('c') }),
        printRecord({ ...base, key: Buffer.from('a'), value: Buffer.from('bc') }),
      ),
    );
  });
});

describe('sync line', () => {
  it('drops the syncs a later lifetime contradicts (a task restart re-copying a range) and keeps the older ones below', () => {
    // Syncs 0→0 .. 6→6, then 4→7, 5→8.
    const line = syncs([...seq(0, 7), ...seq(4, 6, 7)]);
    assert.deepEqual(
      line.points.map((p) => [Number(p.upstreamOffset), Number(p.downstreamOffset)]),
      [...seq(0, 4), ...seq(4, 6, 7)],
    );
    // The target topic recreated: everything before is gone.
    line.add({ upstreamOffset: 9n, downstreamOffset: 0n });
    assert.deepEqual(
      line.points.map((p) => Number(p.upstreamOffset)),
      [9],
    );
  });

  it('finds the syncs around an offset', () => {
    const line = syncs([
      [0, 10],
      [5, 15],
      [9, 19],
    ]);
    assert.deepEqual(line.around(7n), {
      below: { upstreamOffset: 5n, downstreamOffset: 15n },
      above: { upstreamOffset: 9n, downstreamOffset: 19n },
    });
    assert.deepEqual(line.around(20n), { below: { upstreamOffset: 9n, downstreamOffset: 19n } });
  });
});

describe('exact positions', () => {
  it('an offset-preserving mirror (no syncs): the same offset, verified; caught up: the end', () => {
    const src = seq(0, 100);
    assert.equal(position(input(37, src, 100, src, 100)), 37n);
    assert.equal(position(input(0, src, 100, src, 100)), 0n);
    assert.equal(position(input(100, src, 100, src, 100)), 100n);
  });

  it('a shifted mirror (the target had 5 older records): from the syncs, verified', () => {
    const src = seq(0, 100);
    const tgt = [...seq(0, 5, 1000), ...seq(5, 105, 0)];
    const line = syncs(seq(0, 100).map(([u]) => [u, u + 5]));
    assert.equal(position(input(37, src, 100, tgt, 105, line)), 42n);
    assert.equal(position(input(100, src, 100, tgt, 105, line)), 105n);
    // Without syncs the same offset does not match by content, and the search window around it finds the copy.
    assert.equal(position(input(37, src, 100, tgt, 105)), 42n);
  });

  it('never trusts a sync it cannot verify: a sync pointing at another record is searched around', () => {
    const src = seq(0, 50);
    const tgt = seq(0, 50);
    // A wrong sync (5 → 8): the record at 8 is not source 5; the search finds it at 5.
    const out = exactPosition(
      input(
        5,
        src,
        50,
        tgt,
        50,
        syncs([
          [0, 0],
          [5, 8],
          [9, 9],
        ]),
      ),
    );
    assert.equal(out.method === 'exact' && out.position, 5n);
  });

  it('a compacted source (offset gaps): the next record after the commit, wherever it landed', () => {
    // Source offsets 0,1,3,4,7,8,9 (2, 5, 6 compacted away); MM2 copied them to 0..6 and synced each gap.
    const src: Array<[number, number]> = [
      [0, 0],
      [1, 1],
      [3, 3],
      [4, 4],
      [7, 7],
      [8, 8],
      [9, 9],
    ];
    const tgt: Array<[number, number]> = [
      [0, 0],
      [1, 1],
      [2, 3],
      [3, 4],
      [4, 7],
      [5, 8],
      [6, 9],
    ];
    const line = syncs([
      [0, 0],
      [3, 2],
      [7, 4],
    ]);
    // Committed 5 (a compacted offset): its next record is 7, copied at 4.
    assert.equal(position(input(5, src, 10, tgt, 7, line)), 4n);
    assert.equal(position(input(2, src, 10, tgt, 7, line)), 2n);
    assert.equal(position(input(8, src, 10, tgt, 7, line)), 5n);
    assert.equal(position(input(10, src, 10, tgt, 7, line)), 7n);
    // The same with no syncs at all (a compacted syncs topic): found by content.
    assert.equal(position(input(5, src, 10, tgt, 7)), 4n);
  });

  it('a long run of compacted offsets: asks to read further on the source, then places the group', () => {
    // Only offsets 250..299 survived compaction; MM2 copied them to 0..49.
    const src = seq(250, 300);
    const tgt = seq(0, 50, 250);
    const first = exactPosition(input(7, src, 300, tgt, 50));
    assert.equal(first.method, 'none');
    assert.match(first.method === 'none' ? first.reason : '', /no record in 7\.\.38 .*compacted/);
    const more = anchorOf({ committed: 7n, source: input(7, src, 300, tgt, 50).source });
    assert.ok('readMore' in more && more.readMore && more.readMore.to > 39n, 'reads past the window');
    // MM2 synced the first record it copied (upstream 250 → downstream 0).
    const i = input(7, src, 300, tgt, 50, syncs([[250, 0]]));
    i.source.readTo = 300n;
    assert.equal(position(i), 0n);
  });

  it('an aborted transaction: its records are skipped like a read_committed group skips them', () => {
    // Source: 0..4 committed, 5..7 aborted (a read_committed reader does not see them), 8 the abort marker, 9..19 committed.
    const src = [...seq(0, 5), ...seq(9, 20)];
    // MM2 (read_uncommitted by default) copied the aborted records as plain records: target 5..7 = contents 105..107.
    const tgt = [...seq(0, 5), ...seq(5, 8, 105), ...seq(8, 19, 9)];
    // Syncs 0→0 .. 7→7, then 9→8, 10→9 (past the aborted range and its marker).
    const line = syncs([...seq(0, 8), ...seq(9, 11, 8)]);
    // Committed 5, 6 or 8 (inside the aborted range or on the marker): the next record is source 9, target 8.
    assert.equal(position(input(5, src, 20, tgt, 19, line)), 8n);
    assert.equal(position(input(8, src, 20, tgt, 19, line)), 8n);
    assert.equal(position(input(12, src, 20, tgt, 19, line)), 11n);
    assert.equal(position(input(20, src, 20, tgt, 19, line)), 19n);
  });

  it('a range MM2 copied twice (task restart): the newest copy, so nothing after it is lost or repeated', () => {
    const src = seq(0, 10);
    // Target: source 0..6, then 4..9 again (offsets 7..12).
    const tgt = [...seq(0, 7), ...seq(7, 13, 4)];
    // Syncs 0→0 .. 6→6, then 4→7 .. 9→12 for the second copy.
    const line = syncs([...seq(0, 7), ...seq(4, 10, 7)]);
    assert.equal(position(input(5, src, 10, tgt, 13, line)), 8n);
    assert.equal(
      position(input(3, src, 10, tgt, 13, line)),
      3n,
      "before the re-copied range: its first copy (the duplicates that follow are MM2's)",
    );
    assert.equal(position(input(10, src, 10, tgt, 13, line)), 13n);
    // No syncs: the last copy found by content in the searched span.
    const out = exactPosition(input(5, src, 10, tgt, 13));
    assert.ok(
      out.method === 'exact' && out.position === 8n && /2 copies/.test(out.note),
      JSON.stringify(out, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
    );
  });

  it('two identical records in a row on the source: each maps to its own copy (no record skipped)', () => {
    const src = seq(0, 20).map(([o, n]): [number, number] => [o, n === 6 ? 5 : n]);
    assert.equal(position(input(5, src, 20, src, 20)), 5n);
    assert.equal(position(input(6, src, 20, src, 20)), 6n);
  });

  it('no copy with the same content (a rewritten timestamp, another topic): no position, with the reason', () => {
    const src = seq(0, 20);
    const tgt = new PartitionRecords();
    for (let i = 0; i < 20; i++) tgt.add(rec(BigInt(i), i, 5));
    const out = exactPosition({
      committed: 7n,
      source: { low: 0n, high: 20n, records: log(src) },
      target: { low: 0n, high: 20n, records: tgt },
    });
    assert.equal(out.method, 'none');
    assert.match(out.method === 'none' ? out.reason : '', /no copy of source offset 7 .*in target offsets 0\.\.19/);
  });

  it('a record not yet copied (the mirror is behind): no position', () => {
    const src = seq(0, 20);
    const tgt = seq(0, 10);
    assert.match(String(position(input(15, src, 20, tgt, 10, syncs(seq(0, 10))))), /no copy of source offset 15/);
  });

  it('an empty source or target partition: no position', () => {
    assert.match(String(position(input(0, [], 0, [], 0))), /source partition is empty/);
    assert.match(String(position(input(3, seq(0, 5), 5, [], 0))), /target partition has no records/);
  });

  it('reads only around the guesses on the target', () => {
    const src = seq(0, 100_000).slice(49_990, 50_040);
    const range = targetRangeFor({
      committed: 50_000n,
      source: { low: 0n, high: 100_000n, records: log(src) },
      target: { low: 0n, high: 100_000n },
      syncs: syncs([
        [0, 0],
        [50_000, 50_000],
        [50_001, 50_001],
      ]),
    });
    assert.deepEqual(range, { from: 50_000n, to: 50_001n });
    assert.deepEqual(
      mergeRanges(
        [
          { from: 10n, to: 20n },
          { from: 0n, to: 5n },
          { from: 1000n, to: 1001n },
        ],
        10n,
      ),
      [
        { from: 0n, to: 20n },
        { from: 1000n, to: 1001n },
      ],
    );
  });
});

describe('plan with exact positions', () => {
  const T = 'A.orders';
  const base = (exact: ExactPlacement[], checkpoints: PlanInput['checkpoints'] = []): PlanInput => ({
    source: 'A',
    target: 'B',
    checkpoints,
    groups: [{ group: 'g', state: 'Dead', members: 0, committed: [] }],
    targetOffsets: [0, 1, 2].map((partition) => ({ topic: T, partition, low: 0n, high: 100n })),
    allowRewind: false,
    checkpointsRead: 0,
    generatedAt: '2025-01-01T00:00:00.000Z',
    exact,
  });
  const cp = (partition: number, downstream: bigint, upstream: bigint) => ({
    consumerGroupId: 'g',
    topic: T,
    partition,
    upstreamOffset: upstream,
    downstreamOffset: downstream,
    metadata: '',
  });

  it('sets the exact position, falls back to the checkpoint with the reason, and leaves an unplaced partition visible', () => {
    const plan = planOffsets(
      base(
        [
          { group: 'g', topic: T, partition: 0, committed: 40n, outcome: { method: 'exact', position: 40n, note: 'verified' } },
          { group: 'g', topic: T, partition: 1, committed: 30n, outcome: { method: 'none', reason: 'no copy' } },
          { group: 'g', topic: T, partition: 2, committed: 20n, outcome: { method: 'none', reason: 'no copy' } },
        ],
        [cp(0, 39n, 39n), cp(1, 25n, 25n)],
      ),
    );
    const [p0, p1, p2] = plan.groups[0]!.partitions;
    assert.equal(plan.groups[0]!.skipped, undefined);
    assert.deepEqual([p0!.action, p0!.to, p0!.method, p0!.upstream, p0!.checkpointUpstream], ['set', '40', 'exact', '40', '39']);
    assert.deepEqual([p1!.action, p1!.to, p1!.method, p1!.upstream], ['set', '25', 'checkpoint', '30']);
    assert.match(p1!.note ?? '', /no verified position \(no copy\); from the checkpoint/);
    // No checkpoint, no exact position: kept, with the source commit shown (the unplaced partitions gate lists it).
    assert.deepEqual([p2!.action, p2!.to, p2!.method, p2!.upstream], ['no-checkpoint', null, 'none', '20']);
    assert.ok(!APPLIED_ACTIONS.has(p2!.action));
    assert.deepEqual(offsetsToApply(plan.groups[0]!), [
      {
        topic: T,
        partitions: [
          { partition: 0, offset: '40' },
          { partition: 1, offset: '25' },
        ],
      },
    ]);
  });

  it('plans a group with source commits and no checkpoint at all (MM2 had none before the first sync it kept)', () => {
    const plan = planOffsets(
      base([{ group: 'g', topic: T, partition: 1, committed: 7n, outcome: { method: 'exact', position: 7n, note: 'verified' } }]),
    );
    assert.equal(plan.groups[0]!.skipped, undefined);
    assert.deepEqual(offsetsToApply(plan.groups[0]!), [{ topic: T, partitions: [{ partition: 1, offset: '7' }] }]);
  });

  it('an exact position below the group on the target is not a rewind without allowRewind', () => {
    const input = base([
      { group: 'g', topic: T, partition: 0, committed: 7n, outcome: { method: 'exact', position: 7n, note: 'verified' } },
    ]);
    input.groups = [{ group: 'g', state: 'Empty', members: 0, committed: [{ topic: T, partition: 0, offset: 9n }] }];
    const p = planOffsets(input).groups[0]!.partitions[0]!;
    assert.deepEqual([p.action, p.to], ['skip-would-rewind', '9']);
    assert.match(p.note ?? '', /ahead of the exact position \(9 > 7\)/);
  });
});

describe('group outcomes', () => {
  it('counts exact, checkpoint (with the records re-read at most) and left-out partitions per group', () => {
    const T = 'A.orders';
    const plan = planOffsets({
      source: 'A',
      target: 'B',
      checkpoints: [{ consumerGroupId: 'g', topic: T, partition: 1, upstreamOffset: 25n, downstreamOffset: 25n, metadata: '' }],
      groups: [{ group: 'g', state: 'Dead', members: 0, committed: [] }],
      targetOffsets: [0, 1, 2].map((partition) => ({ topic: T, partition, low: 0n, high: 100n })),
      allowRewind: false,
      checkpointsRead: 1,
      generatedAt: '2025-01-01T00:00:00.000Z',
      exact: [
        { group: 'g', topic: T, partition: 0, committed: 40n, outcome: { method: 'exact', position: 40n, note: 'verified' } },
        { group: 'g', topic: T, partition: 1, committed: 30n, outcome: { method: 'none', reason: 'no copy' } },
        { group: 'g', topic: T, partition: 2, committed: 20n, outcome: { method: 'none', reason: 'no copy' } },
      ],
    });
    assert.deepEqual(groupOutcomes(plan), [{ group: 'g', exact: 1, checkpoint: 1, reread: '5', leftOut: 1 }]);
  });
});
