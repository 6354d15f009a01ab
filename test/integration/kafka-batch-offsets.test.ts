import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Admin, Consumer, Producer } from 'kafkajs';
import { groupCommitter, GroupHasMembersError } from '../../src/kafka/group-commit';
import { fetchOffsetsOfTopics } from '../../src/kafka/topic-offsets';
import { kafka, uniqueId } from '../helpers/stack';

/**
 * The two batch operations kafka-dr does through kafkajs' internals, against cluster A:
 * offsets of many topics in one request per broker, and a group commit without joining
 * the group. Each is compared with what kafkajs' public admin reads back.
 */

const id = uniqueId();
const TOPICS = Array.from({ length: 30 }, (_, i) => `kdr-batch-${id}-${i}`);
const EMPTY_TOPIC = `kdr-batch-empty-${id}`;

describe('batch offset reads and memberless group commits on the local stack', { timeout: 120_000 }, () => {
  const client = kafka('A');
  let admin: Admin;
  let producer: Producer;
  let consumer: Consumer | undefined;

  before(async () => {
    admin = client.admin();
    // Idempotent: a retried send on a loaded machine must not write a record twice (the counts below are exact).
    producer = client.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await Promise.all([admin.connect(), producer.connect()]);
    await admin.createTopics({
      waitForLeaders: true,
      topics: [...TOPICS, EMPTY_TOPIC].map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })),
    });
    // Topic i gets i records on partition i % 3: every topic has a different shape.
    await producer.sendBatch({
      topicMessages: TOPICS.map((topic, i) => ({
        topic,
        messages: Array.from({ length: i }, (_, k) => ({ partition: i % 3, value: `r${k}` })),
      })),
    });
  });

  after(async () => {
    await consumer?.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [...TOPICS, EMPTY_TOPIC] }).catch(() => undefined);
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  it('reads every partition of 31 topics exactly as kafkajs admin.fetchTopicOffsets does, in the order asked', async () => {
    const asked = [...TOPICS].reverse().concat(EMPTY_TOPIC);
    const { offsets: batch, missing } = await fetchOffsetsOfTopics(client, [...asked, `${EMPTY_TOPIC}-absent`]);
    assert.deepEqual(missing, [`${EMPTY_TOPIC}-absent`]);
    assert.deepEqual([...batch.keys()], asked);
    for (const topic of asked) {
      const one = (await admin.fetchTopicOffsets(topic)).map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }));
      one.sort((a, b) => a.partition - b.partition);
      assert.deepEqual(batch.get(topic), one, topic);
    }
    assert.deepEqual(batch.get(TOPICS[9]!), [
      { partition: 0, low: 0n, high: 9n },
      { partition: 1, low: 0n, high: 0n },
      { partition: 2, low: 0n, high: 0n },
    ]);
    assert.deepEqual(await fetchOffsetsOfTopics(client, []), { offsets: new Map(), missing: [] });
  });

  it('commits an empty group’s offsets on several topics in one request, read back by the admin API', async () => {
    const group = `kdr-batch-group-${id}`;
    const committer = await groupCommitter(client);
    try {
      await committer.commit(group, [
        { topic: TOPICS[5]!, partitions: [{ partition: 2, offset: '3' }] },
        {
          topic: TOPICS[7]!,
          partitions: [
            { partition: 1, offset: '6' },
            { partition: 0, offset: '0' },
          ],
        },
      ]);
    } finally {
      await committer.close();
    }
    const read = await admin.fetchOffsets({ groupId: group, topics: [TOPICS[5]!, TOPICS[7]!] });
    const offsets = Object.fromEntries(read.flatMap((t) => t.partitions.map((p) => [`${t.topic}/${p.partition}`, p.offset])));
    assert.equal(offsets[`${TOPICS[5]}/2`], '3');
    assert.equal(offsets[`${TOPICS[7]}/1`], '6');
    assert.equal(offsets[`${TOPICS[7]}/0`], '0');
    assert.equal(offsets[`${TOPICS[5]}/0`], '-1', 'a partition not written stays uncommitted');
    const { groups } = await admin.describeGroups([group]);
    assert.equal(groups[0]!.members.length, 0, 'the commit did not join the group');
  });

  it('is refused by the broker while the group has a member, and changes nothing', async () => {
    const group = `kdr-batch-live-${id}`;
    consumer = client.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPICS[3]!, fromBeginning: true });
    let joined!: () => void;
    const inGroup = new Promise<void>((resolve) => (joined = resolve));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.run({ autoCommit: false, eachMessage: async () => undefined });
    await inGroup;

    const committer = await groupCommitter(client);
    try {
      await assert.rejects(
        committer.commit(group, [{ topic: TOPICS[3]!, partitions: [{ partition: 0, offset: '2' }] }]),
        (err: unknown) => err instanceof GroupHasMembersError && err.groupId === group && /has active members/.test(err.message),
      );
    } finally {
      await committer.close();
    }
    const read = await admin.fetchOffsets({ groupId: group, topics: [TOPICS[3]!] });
    assert.equal(read[0]!.partitions.find((p) => p.partition === 0)!.offset, '-1');
  });
});
