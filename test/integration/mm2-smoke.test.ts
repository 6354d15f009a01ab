import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import { ConnectClient, inState } from '../../src/connect/client';
import { decodeCheckpoint, decodeHeartbeat, decodeOffsetSync, type Checkpoint } from '../../src/mm2/codecs';
import { mirrorConnectors, remoteTopicName, type MirrorFlow } from '../../src/mm2/connector-configs';
import { eventually, kafka, readUntil, REPO_ROOT, stack, uniqueId, type ReadRecord } from '../helpers/stack';

/**
 * The real MM2 on the local stack: forward replication A→B deployed on connect-b
 * through Connect's REST API, records and consumer offsets checked on B.
 */

const RECORDS = 1000;
const PARTITIONS = 3;

// KDR_CAPTURE_FIXTURES=1 saves the raw bytes MM2 wrote, for the codec unit tests.
function captureFixture(kind: string, key: Buffer, value: Buffer, decoded: unknown): void {
  if (process.env.KDR_CAPTURE_FIXTURES !== '1') return;
  const file = path.join(REPO_ROOT, 'test', 'fixtures', 'mm2', `${kind}.json`);
  const body = {
    capturedFrom: `Apache Kafka ${stack.kafkaVersion} MirrorMaker 2 on the local stack`,
    keyHex: key.toString('hex'),
    valueHex: value.toString('hex'),
    decoded: JSON.parse(JSON.stringify(decoded, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))),
  };
  fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
}

const byPartition = (records: ReadRecord[]) => {
  const out = new Map<number, Array<{ key: string; value: string }>>();
  for (const r of records) {
    const list = out.get(r.partition) ?? [];
    list.push({ key: r.key?.toString('hex') ?? '', value: r.value?.toString('hex') ?? '' });
    out.set(r.partition, list);
  }
  return out;
};

describe('MirrorMaker 2 A→B on the local stack', { timeout: 240_000 }, () => {
  const id = uniqueId();
  const topic = `smoke-${id}`;
  const group = `smoke-group-${id}`;
  const flow: MirrorFlow = {
    source: { alias: 'A', bootstrapServers: stack.kafka.A.bootstrap },
    target: { alias: 'B', bootstrapServers: stack.kafka.B.bootstrap },
    name: `smoke-${id}`,
    topics: [topic],
    groups: [group],
    policy: 'default',
    replicationFactor: 1,
    intervalSeconds: 1,
  };
  const mirrored = remoteTopicName('default', 'A', topic);
  const connect = new ConnectClient(stack.connect['connect-b'].url);
  const connectors = mirrorConnectors(flow);
  const kafkaA = kafka('A');
  const kafkaB = kafka('B');
  let adminA: Admin;
  let adminB: Admin;
  let sourceRecords: ReadRecord[] = [];

  before(async () => {
    adminA = kafkaA.admin();
    adminB = kafkaB.admin();
    await Promise.all([adminA.connect(), adminB.connect()]);
    await adminA.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
    for (const [name, config] of Object.entries(connectors)) await connect.putConfig(name, config);
    await eventually(
      'the three MM2 connectors RUNNING on connect-b',
      async () => {
        const states = await Promise.all(
          Object.keys(connectors).map(async (n) => inState(await connect.status(n), 'RUNNING', n.endsWith('-checkpoint'))),
        );
        return states.every(Boolean) ? true : undefined;
      },
      90_000,
    );
  });

  after(async () => {
    await Promise.all(Object.keys(connectors).map((n) => connect.delete(n)));
    await adminA.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await adminB.deleteTopics({ topics: [mirrored] }).catch(() => undefined);
    await Promise.all([adminA.disconnect(), adminB.disconnect()]);
  });

  it('replicates 1,000 keyed records to B as A.<topic>, in order and byte-identical', async () => {
    const producer = kafkaA.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      // Binary values (random bytes around a sequence number) catch any re-encoding.
      const messages = Array.from({ length: RECORDS }, (_, i) => ({
        key: `key-${i % 37}`,
        value: Buffer.concat([Buffer.from(`seq=${i};`), randomBytes(32)]),
      }));
      for (let i = 0; i < RECORDS; i += 100) {
        await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 100) });
      }
    } finally {
      await producer.disconnect();
    }

    sourceRecords = await readUntil(kafkaA, topic, (r) => r.length >= RECORDS);
    const replicated = await readUntil(kafkaB, mirrored, (r) => r.length >= RECORDS, 120_000);

    assert.equal(replicated.length, RECORDS, 'no extra records on B');
    const source = byPartition(sourceRecords);
    const target = byPartition(replicated);
    assert.equal(source.size, PARTITIONS, 'keys spread over every partition');
    for (const [partition, records] of source) {
      // Same partition, same order, same bytes: MM2 keeps partitioning with DefaultReplicationPolicy.
      assert.deepEqual(target.get(partition), records, `partition ${partition} differs between A and B`);
    }
  });

  it('pairs upstream and downstream offsets in the offset-syncs topic on A', async () => {
    const syncTopic = `mm2-offset-syncs.${flow.target.alias}.internal`;
    const ours = (records: ReadRecord[]) =>
      records
        .filter((r) => r.key && r.value)
        .map((r) => ({ r, sync: decodeOffsetSync(r.key!, r.value!) }))
        .filter(({ sync }) => sync.topic === topic);
    const records = await readUntil(kafkaA, syncTopic, (all) => ours(all).length >= PARTITIONS);
    const syncs = ours(records);
    const first = syncs[0]!;
    captureFixture('offset-sync', first.r.key!, first.r.value!, first.sync);
    for (const { sync } of syncs) {
      assert.ok(sync.partition >= 0 && sync.partition < PARTITIONS);
      // A fresh topic without transactions has identical offsets on both sides.
      assert.equal(sync.downstreamOffset, sync.upstreamOffset, `sync for partition ${sync.partition}`);
    }
  });

  it("translates a consumer group's committed offsets on A into checkpoints on B", async () => {
    assert.ok(sourceRecords.length === RECORDS, 'needs the records of the first test');
    // The group has read everything on A: its committed offset is the end offset.
    const ends = await adminA.fetchTopicOffsets(topic);
    const committed = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
    await adminA.setOffsets({ groupId: group, topic, partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })) });

    const checkpointTopic = `${flow.source.alias}.checkpoints.internal`;
    const latest = new Map<number, { checkpoint: Checkpoint; key: Buffer; value: Buffer }>();
    await readUntil(
      kafkaB,
      checkpointTopic,
      (records) => {
        const r = records[records.length - 1]!;
        if (!r.key || !r.value) return false;
        const checkpoint = decodeCheckpoint(r.key, r.value);
        if (checkpoint.consumerGroupId === group) latest.set(checkpoint.partition, { checkpoint, key: r.key, value: r.value });
        return [...committed].every(([p, offset]) => latest.get(p)?.checkpoint.upstreamOffset === offset);
      },
      90_000,
    );
    for (const [partition, offset] of committed) {
      const { checkpoint, key, value } = latest.get(partition)!;
      if (partition === 0) captureFixture('checkpoint', key, value, checkpoint);
      assert.equal(checkpoint.topic, mirrored, 'checkpoints name the downstream topic');
      assert.equal(checkpoint.upstreamOffset, offset);
      // Identical offset spaces on a fresh topic: the group resumes on B exactly where it was on A.
      assert.equal(checkpoint.downstreamOffset, offset, `partition ${partition} translated offset`);
    }
  });

  it('emits heartbeats from A on B', async () => {
    const startedAt = BigInt(Date.now() - 120_000);
    // Other suites emit heartbeats on B under their own aliases: look for this flow's (A→B) only.
    const ours = (r: ReadRecord) => {
      if (!r.key || !r.value) return false;
      const h = decodeHeartbeat(r.key, r.value);
      return h.sourceClusterAlias === 'A' && h.targetClusterAlias === 'B' && h.timestamp > startedAt;
    };
    const records = await readUntil(kafkaB, 'heartbeats', (all) => all.some(ours));
    const r = records.find(ours)!;
    const heartbeat = decodeHeartbeat(r.key!, r.value!);
    captureFixture('heartbeat', r.key!, r.value!, heartbeat);
    assert.ok(heartbeat.timestamp <= BigInt(Date.now()), 'heartbeat timestamp is not in the future');
    assert.ok(heartbeat.timestamp > startedAt, 'a heartbeat emitted during this test');
  });
});
