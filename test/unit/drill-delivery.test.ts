import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countDelivery, formatRanges, missingFrom } from '../../src/drill/delivery';
import { decodeSeq, encodeRecord, placeRecord, type DrillTopic } from '../../src/drill/records';

describe('drill delivery accounting', () => {
  it('counts nothing lost and no duplicates when every acknowledged sequence was consumed once', () => {
    const c = countDelivery([0, 1, 2, 3], [3, 1, 0, 2]);
    assert.deepEqual(c, { produced: 4, consumed: 4, lost: 0, duplicates: 0, lostSample: [], unacknowledgedSeen: 0 });
  });

  it('counts a sequence never consumed as lost and a re-read as a duplicate', () => {
    const c = countDelivery([0, 1, 2, 3, 4], [0, 1, 1, 1, 3, 4]);
    assert.equal(c.produced, 5);
    assert.equal(c.consumed, 6);
    assert.equal(c.lost, 1);
    assert.deepEqual(c.lostSample, [2]);
    assert.equal(c.duplicates, 2, 'seq 1 seen three times: two duplicates');
  });

  it('a record whose send failed but that arrived is neither lost nor produced', () => {
    const c = countDelivery([0, 1], [0, 1, 7]);
    assert.equal(c.lost, 0);
    assert.equal(c.produced, 2);
    assert.equal(c.unacknowledgedSeen, 1);
  });

  it('keeps the lost sample sorted and bounded', () => {
    const c = countDelivery([9, 8, 7, 6, 5], [], 3);
    assert.equal(c.lost, 5);
    assert.deepEqual(c.lostSample, [5, 6, 7]);
  });

  it('missingFrom lists expected sequences absent from the other cluster (the measured RPO)', () => {
    assert.deepEqual(missingFrom([5, 1, 2, 3, 3], [1, 3, 9]), [2, 5]);
    assert.deepEqual(missingFrom([], [1]), []);
  });

  it('formats ranges compactly', () => {
    assert.equal(formatRanges([10, 1, 2, 3, 7, 9]), '1-3, 7, 9-10');
    assert.equal(formatRanges([]), '');
  });
});

describe('drill records', () => {
  const topics: DrillTopic[] = [
    { name: 'orders', partitions: 3, compacted: false },
    { name: 'accounts', partitions: 2, compacted: true },
  ];

  it('alternates topics and spreads each topic round-robin over its partitions', () => {
    const placed = [...Array(8).keys()].map((seq) => placeRecord(topics, seq));
    assert.deepEqual(placed, [
      { topic: 'orders', partition: 0 },
      { topic: 'accounts', partition: 0 },
      { topic: 'orders', partition: 1 },
      { topic: 'accounts', partition: 1 },
      { topic: 'orders', partition: 2 },
      { topic: 'accounts', partition: 0 },
      { topic: 'orders', partition: 0 },
      { topic: 'accounts', partition: 1 },
    ]);
  });

  it('round-trips the sequence and gives every record its own key (compaction keeps them all)', () => {
    const a = encodeRecord(41, 'A');
    const b = encodeRecord(42, 'B');
    assert.notEqual(a.key, b.key);
    assert.equal(decodeSeq(Buffer.from(a.value)), 41);
    assert.equal(decodeSeq(b.value), 42);
  });

  it('ignores records that are not the drill’s', () => {
    assert.equal(decodeSeq(null), undefined);
    assert.equal(decodeSeq('not json'), undefined);
    assert.equal(decodeSeq('{"seq":-1}'), undefined);
    assert.equal(decodeSeq('{"seq":"3"}'), undefined);
  });
});
