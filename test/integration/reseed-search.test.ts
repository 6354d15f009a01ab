import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useMirrorPair } from '../helpers/mirror-pair';
import { uniqueId } from '../helpers/stack';

/**
 * findCopiedOnPrimary (Default policy) against the real clusters, one partition per case:
 * 0: A's `B.<topic>` ends with a copy of B's offset 2 → found; 1: its last record matches two
 * identical records on B (same timestamp, key, value) → ambiguous, never a guess; 2: its last
 * record is not on B, which still holds the whole DR period → none (an earlier failback's copy);
 * 3: the same, but the seed lies below B's log start (retention trimmed the DR period) → ambiguous.
 */
describe('findCopiedOnPrimary on the real stack (Default policy)', { timeout: 120_000 }, () => {
  const id = uniqueId();
  const topic = `rss-${id}`;
  const copyTopic = `B.${topic}`;
  const pair = useMirrorPair('reseed-search', {
    topics: [
      { topic, partitions: 4, on: ['B'] },
      { topic: copyTopic, partitions: 4, on: ['A'] },
    ],
  });
  const { activities, kafkaA, kafkaB, adminB } = pair;

  it('finds the last copy, and refuses to guess when two records match or the DR period was trimmed', async () => {
    const t0 = Date.now() - 60_000;
    const rec = (partition: number, seq: number, timestamp = t0 + seq) => ({
      partition,
      key: `k-${seq}`,
      value: `seq=${seq}`,
      timestamp: String(timestamp),
    });
    const pb = kafkaB.producer({ allowAutoTopicCreation: false });
    const pa = kafkaA.producer({ allowAutoTopicCreation: false });
    await Promise.all([pb.connect(), pa.connect()]);
    try {
      // B: partitions 0 and 2, 3 records each; partition 1: the same record twice; partition 3: 3 records, 2 later deleted.
      await pb.send({ topic, acks: -1, messages: [0, 1, 2].flatMap((s) => [rec(0, s), rec(2, s), rec(3, s)]) });
      await pb.send({ topic, acks: -1, messages: [rec(1, 7), rec(1, 7)] });
      // A's B.<topic>: copies of B 0..2 on p0; of the twice-written record on p1; records B never had on p2 and p3.
      await pa.send({
        topic: copyTopic,
        acks: -1,
        messages: [rec(0, 0), rec(0, 1), rec(0, 2), rec(1, 7), rec(2, 99, t0 - 3_600_000), rec(3, 99, t0 - 3_600_000)],
      });
    } finally {
      await Promise.all([pb.disconnect(), pa.disconnect()]);
    }
    // The admin's metadata predates the topic: refresh it, or kafkajs finds no leader.
    await adminB.fetchTopicMetadata({ topics: [topic] });
    await adminB.deleteTopicRecords({ topic, partitions: [{ partition: 3, offset: '2' }] });

    const r = await activities.findCopiedOnPrimary({
      primary: 'A',
      dr: 'B',
      policy: 'default',
      forward: { connect: 'connect-b', sourceConnectors: ['unused-for-default'] },
      partitions: [0, 1, 2, 3].map((partition) => ({ topic, partition, from: '0' })),
    });
    const by = (p: number) => r.partitions.find((x) => x.partition === p)!;
    assert.equal(by(0).status, 'found', JSON.stringify(by(0)));
    assert.equal(by(0).lastCopied, '2');
    assert.deepEqual(by(0).copyOnPrimary, { topic: copyTopic, offset: '2' });
    assert.equal(by(1).status, 'ambiguous');
    assert.match(by(1).reason!, /matches 2 dr records \(0, 1\)/);
    assert.equal(by(2).status, 'none', JSON.stringify(by(2)));
    assert.equal(by(3).status, 'ambiguous');
    assert.match(by(3).reason!, /retention removed part of the DR period/);
    assert.match(r.bound, /from the seed and the last copy's timestamp on/);
  });
});
