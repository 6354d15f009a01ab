import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  describeDivergent,
  divergentGateDescription,
  divergentLine,
  groupReads,
  withReadBefore,
  type DivergentGroup,
  offsetRuns,
  seedAfterPrevious,
  unmatchedOffsets,
} from '../../src/offsets/divergent';

describe('divergent records: pure parts', () => {
  const rec = (offset: number, fingerprint: string) => ({ offset: BigInt(offset), fingerprint });

  it("keeps A's own records and takes out the reverse flow's copies, which come in B's order", () => {
    // A: tail t1 t2, copies b1 b2 b3, straggler s1, copy b4
    const onA = [rec(10, 't1'), rec(11, 't2'), rec(12, 'b1'), rec(13, 'b2'), rec(14, 'b3'), rec(15, 's1'), rec(16, 'b4')];
    assert.deepEqual(unmatchedOffsets(onA, ['b1', 'b2', 'b3', 'b4']), { divergent: [10n, 11n, 15n], matched: 4 });
    // Default policy: nothing copied back into the topic, every record divergent.
    assert.deepEqual(unmatchedOffsets(onA, []).divergent.length, 7);
    // B records never copied (written after the drain) match nothing and change nothing.
    assert.deepEqual(unmatchedOffsets(onA, ['b1', 'b2', 'b3', 'b4', 'b5']).matched, 4);
  });

  it('offset runs break at gaps (markers, copies in between)', () => {
    assert.deepEqual(offsetRuns([10n, 11n, 15n, 17n, 18n]), [
      ['10', '11'],
      ['15', '15'],
      ['17', '18'],
    ]);
    assert.deepEqual(offsetRuns([]), []);
  });

  it('the gate text and the status line name counts, runs and the choice', () => {
    const p = {
      topic: 't',
      partition: 1,
      from: '10',
      to: '19',
      records: 3,
      ranges: [
        ['10', '11'],
        ['15', '15'],
      ] as Array<[string, string]>,
      fromDr: 6,
    };
    assert.equal(describeDivergent([p]), 't-1: 3 at 10-11,15');
    assert.match(
      divergentLine({ checkedAt: 'x', records: 3, partitions: [p], choice: 'discard', discarded: 3, by: 'bob' }),
      /^3 record\(s\) on the primary .* in 1 partition\(s\): discarded \(3 left on the primary only\) by bob$/,
    );
  });

  it('groups: the originals each reads too (at or after its position), per group; the gate names those that read twice', () => {
    const p = {
      topic: 't',
      partition: 0,
      from: '10',
      to: '30',
      records: 5,
      ranges: [
        ['10', '12'],
        ['20', '21'],
      ] as Array<[string, string]>,
      fromDr: 15,
    };
    const groups = groupReads(
      [p],
      [
        { group: 'past', topic: 't', partition: 0, position: 22n, from: 'placed' },
        { group: 'between', topic: 't', partition: 0, position: 11n, from: 'committed' },
        { group: 'before', topic: 't', partition: 0, position: 0n, from: 'committed' },
        { group: 'at-last', topic: 't', partition: 0, position: 21n, from: 'placed' },
        { group: 'other-partition', topic: 't', partition: 1, position: 0n, from: 'committed' },
      ],
    );
    assert.deepEqual(
      groups.map((g) => [g.group, g.readsOriginals]),
      [
        ['at-last', 1],
        ['before', 5],
        ['between', 4],
        ['past', 0],
      ],
    );
    assert.deepEqual(groups.find((g) => g.group === 'past')!.partitions, [
      { topic: 't', partition: 0, position: '22', from: 'placed', readsOriginals: 0 },
    ]);
    const text = divergentGateDescription({ primary: 'A', dr: 'B', records: 5, partitions: [p], groups });
    assert.match(text, /^5 record\(s\) on A never reached B .*t-0: 5 at 10-12,20-21\./);
    assert.match(text, /end of its own partition on A, after the cutover snapshot/);
    assert.match(text, /positioned past them read each copy once \(1 group\(s\)\); .* twice: at-last \(1\), before \(5\), between \(4\)\./);
    assert.match(text, /compacted topic .* choose quarantine there/);
    assert.match(
      divergentGateDescription({ primary: 'A', dr: 'B', records: 5, partitions: [p], groups: [] }),
      /No group on A has a position/,
    );
    assert.match(
      divergentLine({ checkedAt: 'x', records: 5, partitions: [p], choice: 'replay', replayed: { copied: 5, topics: ['t'] }, groups }),
      /replayed on the primary after the cutover \(5\), copied to the DR cluster by the forward flow; read twice by at-last \(1\), before \(5\), between \(4\)$/,
    );
  });

  it("read before: the originals below a group's position before the failback, unless that position lies past a record copied back from dr", () => {
    const p = {
      topic: 't',
      partition: 0,
      ranges: [
        ['10', '12'],
        ['20', '21'],
      ] as Array<[string, string]>,
      firstFromDr: 22n,
    };
    const placed: DivergentGroup[] = [
      {
        group: 'crashed-mid-tail',
        readsOriginals: 0,
        partitions: [{ topic: 't', partition: 0, position: '40', from: 'placed' as const, readsOriginals: 0 }],
      },
    ];
    const groups = withReadBefore(
      placed,
      [p, { topic: 'u', partition: 0, ranges: [['5', '9']], firstFromDr: null }],
      [
        { group: 'crashed-mid-tail', topic: 't', partition: 0, offset: '21' },
        { group: 'read-all', topic: 't', partition: 0, offset: '22' },
        { group: 'rerun-translated', topic: 't', partition: 0, offset: '30' },
        { group: 'before-tail', topic: 't', partition: 0, offset: '10' },
        { group: 'no-dr-copies', topic: 'u', partition: 0, offset: '100' },
        { group: 'other-partition', topic: 't', partition: 1, offset: '99' },
      ],
    );
    assert.deepEqual(
      groups.map((g) => [g.group, g.readBefore, g.readsOriginals]),
      [
        ['crashed-mid-tail', 4, 0],
        ['no-dr-copies', 5, 0],
        ['read-all', 5, 0],
      ],
    );
    assert.deepEqual(groups[0]!.partitions, [
      { topic: 't', partition: 0, position: '40', from: 'placed', readsOriginals: 0, before: '21', readBefore: 4 },
    ]);
    assert.equal(placed[0]!.partitions[0]!.before, undefined, 'the input is not changed');
    const text = divergentGateDescription({
      primary: 'A',
      dr: 'B',
      records: 5,
      partitions: [{ ...p, from: '10', to: '30', records: 5, fromDr: 8 }],
      groups,
    });
    assert.match(
      text,
      /read each copy once \(0 group\(s\)\)\. These had read originals on A before the failover .* again: crashed-mid-tail \(4\), no-dr-copies \(5\), read-all \(5\) duplicate\(s\); .*kafka-dr\.replay\.origin/,
    );
    assert.match(
      divergentLine({ checkedAt: 'x', records: 5, partitions: [], choice: 'replay', replayed: { copied: 5, topics: ['t'] }, groups }),
      /; read again by crashed-mid-tail \(4\), no-dr-copies \(5\), read-all \(5\) \(read before the failover\)$/,
    );
  });

  it("a re-run's reverse seed: the later of seed and the previous attempt's committed offset, unless beyond B's end", () => {
    assert.deepEqual(seedAfterPrevious('99', '117', '130'), { offset: '117', fromPrevious: true });
    assert.deepEqual(seedAfterPrevious(null, '5', '130'), { offset: '5', fromPrevious: true });
    assert.deepEqual(seedAfterPrevious('99', '50', '130'), { offset: '99', fromPrevious: false }, 'an older failback: the seed stands');
    assert.deepEqual(seedAfterPrevious('99', '200', '130'), { offset: '99', fromPrevious: false }, 'beyond the end: topic recreated');
    assert.deepEqual(seedAfterPrevious('99', null, '130'), { offset: '99', fromPrevious: false });
  });
});
