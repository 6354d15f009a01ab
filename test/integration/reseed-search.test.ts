import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cycleNames, forwardUntilFailover, useMirrorPair } from '../helpers/mirror-pair';
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

/**
 * findCopiedOnPrimary (Identity) with a small maxRecords, against a real forward flow's
 * committed offsets: partition 0 holds a first failback's long unplanned tail (6 records
 * B never had, more than maxRecords 4) → none, not refused; partition 1 a re-run's (3 tail
 * records, then copies of B's 5 DR-period records) → the newest 4 offsets are read and the
 * last copy is found. With the default bound (all of A's range read) the answers are the same.
 */
describe('findCopiedOnPrimary on the real stack (Identity): the newest maxRecords of a long range', { timeout: 240_000 }, () => {
  const id = uniqueId();
  const f = { topic: `rsi-${id}`, group: `rsi-svc-${id}`, ...cycleNames(`rsif-${id}`, `rsir-${id}`) };
  const pair = useMirrorPair('reseed-search-identity', {
    topics: [{ topic: f.topic, partitions: 2, on: ['A', 'B'] }],
    connectors: { 'connect-b': f.forwardConnectors },
    groups: [f.group],
  });

  it('reads only the newest offsets: a long first tail is none, a re-run copy is found at its end', async () => {
    // 2 records per partition replicated and committed by the forward source, then the flow stopped (the failover).
    const atFailover = await forwardUntilFailover(pair, f, { forward: 4, partitions: 2 });
    assert.deepEqual(atFailover, [2, 2]);
    const t0 = Date.now() - 60_000;
    const rec = (partition: number, name: string, n: number) => ({
      partition,
      key: `${name}-${n}`,
      value: `${name}-${partition}-${n}`,
      timestamp: String(t0 + n),
    });
    const pa = pair.kafkaA.producer({ allowAutoTopicCreation: false });
    const pb = pair.kafkaB.producer({ allowAutoTopicCreation: false });
    await Promise.all([pa.connect(), pb.connect()]);
    const dr = [0, 1].flatMap((p) => [0, 1, 2, 3, 4].map((n) => rec(p, 'dr', n)));
    try {
      await pb.send({ topic: f.topic, acks: -1, messages: dr }); // B offsets 2..6 per partition
      await pa.send({
        topic: f.topic,
        acks: -1,
        messages: [
          ...[0, 1, 2, 3, 4, 5].map((n) => rec(0, 'tail', n)), // A p0 2..7: a first failback's tail
          ...[0, 1, 2].map((n) => rec(1, 'tail', n)), // A p1 2..4: tail,
          ...dr.filter((r) => r.partition === 1), // then 5..9: the previous attempt's copies of B 2..6
        ],
      });
    } finally {
      await Promise.all([pa.disconnect(), pb.disconnect()]);
    }
    const search = (maxRecords?: number) =>
      pair.activities.findCopiedOnPrimary({
        primary: 'A',
        dr: 'B',
        policy: 'identity',
        forward: { connect: 'connect-b', sourceConnectors: [f.forwardSource] },
        partitions: [0, 1].map((partition) => ({ topic: f.topic, partition, from: '2' })),
        ...(maxRecords ? { maxRecords } : {}),
      });
    const small = await search(4);
    const [p0, p1] = [0, 1].map((p) => small.partitions.find((x) => x.partition === p)!);
    assert.deepEqual([p0!.status, p0!.readOnPrimary, p0!.skippedOnPrimary], ['none', 4, 2], JSON.stringify(p0));
    assert.equal(p1!.status, 'found', JSON.stringify(p1));
    assert.deepEqual([p1!.lastCopied, p1!.copyOnPrimary, p1!.skippedOnPrimary], ['6', { topic: f.topic, offset: '9' }, 4]);
    const whole = await search();
    assert.deepEqual(
      whole.partitions.map((x) => [x.partition, x.status, x.lastCopied, x.skippedOnPrimary]),
      [
        [0, 'none', undefined, undefined],
        [1, 'found', '6', undefined],
      ],
    );
  });
});
