import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CompressionTypes, type Admin } from 'kafkajs';
import * as lz4js from 'lz4js';
import { createActivities, createDeps } from '../../activities';
import { ConnectClient } from '../../src/connect/client';
import { KAFKAJS_CODECS, lz4Compress, type CodecName } from '../../src/kafka/compression';
import type { ReplicationPlanInput } from '../../src/model/replication-plan';
import { resolveRegistry, stackRegistryDocument } from '../../src/registry/load';
import {
  CODECS,
  digest,
  FIXTURE_DIR,
  fixturePath,
  fixtureValues,
  lz4Blocks,
  lz4EdgeBlock,
  parseRecords,
  watchDecompression,
  type CompressionFixture,
} from '../helpers/compression';
import { deployFlowRunning, flowConnectors, heartbeatsOnAConfig, retrying } from '../helpers/mm2';
import { eventually, kafka, readUntil, REPO_ROOT, stack, uniqueId } from '../helpers/stack';

/**
 * One MM2 flow per codec on the real stack, every hop through a JVM: the broker of A
 * recompresses a topic (`compression.type=<codec>`) and validates the batches kafkajs
 * compressed; MM2 reads both and writes the mirror, the replicated heartbeats and the
 * checkpoints in that codec on B (producer overrides); then kafka-dr's own checks read
 * them: the freshness audit, replication lag, offset translation. A count of the batches
 * kafkajs decompressed per codec proves each read went through the codec.
 *
 * Nothing here writes a codec into a topic other tests read: the flow's MM2 alias is
 * unique (its topics on B are `<alias>.*`), and the shared `heartbeats` topics on A and B
 * stay uncompressed. KDR_CAPTURE_FIXTURES=1 saves a broker-written batch per codec for
 * the unit tests (test/fixtures/compression).
 */

const KAFKAJS_TYPE: Record<CodecName, CompressionTypes> = {
  lz4: CompressionTypes.LZ4,
  snappy: CompressionTypes.Snappy,
  zstd: CompressionTypes.ZSTD,
};
const PARTITIONS = 2;
const PER_SEND = 60;
const INTERVALS = { refreshTopicsSeconds: 1, refreshGroupsSeconds: 1, emitCheckpointsSeconds: 1, emitHeartbeatsSeconds: 1 };

// A few KiB each, compressible: a send's batch spans several LZ4 blocks and snappy chunks.
const valueOf = (codec: CodecName, i: number) => `${codec}-${i}:${`row ${i % 10} of a compressible payload;`.repeat(60 + (i % 5) * 20)}`;

describe('lz4, snappy and zstd end to end: the JVM writes them, kafka-dr reads them', { timeout: 1_200_000 }, () => {
  const id = uniqueId();
  const alias = (codec: CodecName) => `${codec}-${id}`;
  const hbAlias = `hb-${id}`;
  const heartbeatOnA = `codecs-${id}-heartbeat-a`;
  // One registry alias per codec, all on cluster A: each flow's MM2 alias, and so its topics on B, are its own.
  const doc = stackRegistryDocument(stack);
  const registry = resolveRegistry(
    { ...doc, clusters: { ...doc.clusters, ...Object.fromEntries(CODECS.map((c) => [alias(c), doc.clusters.A!])) } },
    'codecs test registry',
    {},
    REPO_ROOT,
  );
  const activities = createActivities(createDeps(registry, 'test-codecs-e2e'));
  const connectA = new ConnectClient(stack.connect['connect-a'].url);
  const connectB = new ConnectClient(stack.connect['connect-b'].url);
  const kafkaA = kafka('A');
  const kafkaB = kafka('B');
  const deployed: string[] = [];
  let adminA: Admin;
  let adminB: Admin;

  before(async () => {
    adminA = kafkaA.admin();
    adminB = kafkaB.admin();
    await Promise.all([adminA.connect(), adminB.connect()]);
    // `heartbeats` on A, as a bidirectional setup's B→A heartbeat connector writes them
    // (uncompressed: other tests read that topic); every flow below mirrors them in its codec.
    await connectA.putConfig(heartbeatOnA, heartbeatsOnAConfig(heartbeatOnA, hbAlias));
  });

  after(async () => {
    await connectA.delete(heartbeatOnA).catch(() => undefined);
    for (const n of deployed) await connectB.delete(n).catch(() => undefined);
    const mineOnA = (await adminA.listTopics()).filter((t) => t.includes(id));
    if (mineOnA.length > 0) await adminA.deleteTopics({ topics: mineOnA }).catch(() => undefined);
    const mineOnB = (await adminB.listTopics()).filter((t) => CODECS.some((c) => t.startsWith(`${alias(c)}.`)));
    if (mineOnB.length > 0) await adminB.deleteTopics({ topics: mineOnB }).catch(() => undefined);
    await Promise.all([adminA.disconnect(), adminB.disconnect()]);
  });

  for (const codec of CODECS) {
    it(`${codec}: a broker-written batch decodes; MM2 mirrors in ${codec}; freshness, lag and offset translation read it`, async () => {
      const source = alias(codec);
      const topic = `codecs-${codec}-${id}`;
      const fixtureTopic = `codecs-${codec}-${id}-fixture`;
      const group = `codecs-${codec}-${id}-svc`;
      const mirrored = `${source}.${topic}`;
      const watch = watchDecompression();
      try {
        await adminA.createTopics({
          topics: [
            { topic, numPartitions: PARTITIONS, replicationFactor: 1, configEntries: [{ name: 'compression.type', value: codec }] },
            { topic: fixtureTopic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'compression.type', value: codec }] },
          ],
          waitForLeaders: true,
        });

        // 1. One uncompressed batch that the broker recompresses: the bytes the JVM wrote decode to what was sent.
        const producer = kafkaA.producer({ allowAutoTopicCreation: false });
        await producer.connect();
        try {
          await producer.send({ topic: fixtureTopic, acks: -1, messages: fixtureValues().map((value) => ({ value })) });
          // 2. The topic gets one batch per partition the broker compresses, then one kafkajs compressed (the broker validates it).
          const messages = (from: number) =>
            Array.from({ length: PER_SEND }, (_, k) => ({
              key: `k-${from + k}`,
              value: valueOf(codec, from + k),
              partition: (from + k) % PARTITIONS,
            }));
          await producer.send({ topic, acks: -1, messages: messages(0) });
          await producer.send({ topic, acks: -1, compression: KAFKAJS_TYPE[codec], messages: messages(PER_SEND) });
        } finally {
          await producer.disconnect();
        }
        const fixture = await readUntil(kafkaA, fixtureTopic, (r) => r.length >= 3);
        assert.deepEqual(
          fixture.map((r) => digest(r.value)),
          fixtureValues().map(digest),
        );
        const [batch] = watch.inputs(codec);
        assert.ok(batch, `kafkajs decompressed no ${codec} batch reading ${fixtureTopic}`);
        assert.deepEqual(
          parseRecords(await KAFKAJS_CODECS[codec].decompress(batch), 3).map((r) => digest(r.value)),
          fixtureValues().map(digest),
        );
        if (process.env.KDR_CAPTURE_FIXTURES === '1') {
          const body: CompressionFixture = {
            capturedFrom: `Apache Kafka ${stack.kafkaVersion} broker, topic compression.type=${codec}`,
            codec,
            records: 3,
            compressedHex: batch.toString('hex'),
          };
          fs.mkdirSync(FIXTURE_DIR, { recursive: true });
          fs.writeFileSync(fixturePath(codec), `${JSON.stringify(body, null, 2)}\n`);
        }

        let before = watch.count(codec);
        const onA = await readUntil(kafkaA, topic, (r) => r.length >= 2 * PER_SEND);
        assert.deepEqual(
          onA.map((r) => r.value?.toString()).sort(),
          Array.from({ length: 2 * PER_SEND }, (_, i) => valueOf(codec, i)).sort(),
        );
        assert.ok(
          watch.count(codec) - before >= 2 * PARTITIONS,
          `${watch.count(codec) - before} ${codec} batches read on A, expected one per partition and send`,
        );

        // 3. The flow, in the codec: the source connector's producer (the mirror and the replicated heartbeats) by the
        // plan's tuning; the checkpoints by an override on the checkpoint connector, as a Connect worker whose producers
        // compress by default would write them. Its heartbeat connector writes B's shared `heartbeats`: left alone.
        const plan: ReplicationPlanInput & { name: string } = {
          source,
          target: 'B',
          connect: 'connect-b',
          name: `codecs-${codec}-${id}`,
          policy: { type: 'default' },
          topicGroups: [{ name: 'main', topics: [topic], tuning: { compression: codec } }],
          groups: [group],
          replicationFactor: 1,
          intervals: INTERVALS,
        };
        const names = flowConnectors(plan);
        deployed.push(...names.all);
        await deployFlowRunning(activities, plan, connectB);
        assert.equal((await connectB.getConfig(names.sources[0]!))!['producer.override.compression.type'], codec);
        const checkpointConnector = `${plan.name}-checkpoint`;
        const checkpointConfig = (await connectB.getConfig(checkpointConnector))!;
        await retrying('checkpoint connector compressing', () =>
          connectB.putConfig(checkpointConnector, { ...checkpointConfig, 'producer.override.compression.type': codec }),
        );

        // 4. Lag: MM2's JVM consumer read every batch (the broker's and kafkajs') and committed past them.
        const lag = await eventually(
          `${topic} drained`,
          async () => {
            const r = await activities.replicationLag({ connect: 'connect-b', connectors: names.sources, source, topics: [topic] });
            return r.drained ? r : undefined;
          },
          180_000,
          1_000,
        );
        assert.equal(lag.partitions.length, PARTITIONS);
        assert.equal(lag.total, '0');

        // 5. The mirror on B, written by MM2's producer in the codec.
        before = watch.count(codec);
        const onB = await readUntil(kafkaB, mirrored, (r) => r.length >= 2 * PER_SEND);
        assert.deepEqual(onB.map((r) => r.value?.toString()).sort(), onA.map((r) => r.value?.toString()).sort());
        assert.ok(watch.count(codec) - before >= PARTITIONS, `${watch.count(codec) - before} ${codec} batches read from ${mirrored}`);

        // 6. Freshness: the audit reads `<alias>.heartbeats` on B, which MM2 writes in the codec.
        const fresh = await eventually(
          `fresh heartbeats of ${hbAlias} in ${source}.heartbeats`,
          async () => {
            const r = await activities.replicationFreshness({ target: 'B', sourceAlias: source, includeTargetHeartbeats: false });
            const ours = r.emitters.find((e) => e.source === hbAlias && e.target === 'A');
            return ours && ours.ageMs < 20_000 ? r : undefined;
          },
          180_000,
          1_000,
        );
        assert.equal(fresh.topic, `${source}.heartbeats`);
        before = watch.count(codec);
        const again = await activities.replicationFreshness({ target: 'B', sourceAlias: source, includeTargetHeartbeats: false });
        assert.ok(again.recordsRead > 0 && again.ageMs !== null);
        assert.ok(watch.count(codec) - before >= 1, `the freshness check read no ${codec} batch from ${source}.heartbeats`);

        // 7. Offset translation: a group reads the topic on A to its end and commits; MM2 checkpoints it in the codec;
        // kafka-dr plans and applies the translated offsets on B.
        const ends = await adminA.fetchTopicOffsets(topic);
        const consumer = kafkaA.consumer({ groupId: group, maxWaitTimeInMs: 250 });
        await consumer.connect();
        try {
          await consumer.subscribe({ topic, fromBeginning: true });
          let seen = 0;
          let finish!: () => void;
          const done = new Promise<void>((r) => (finish = r));
          await consumer.run({
            autoCommit: false,
            eachMessage: async () => {
              if (++seen === 2 * PER_SEND) finish();
            },
          });
          await done;
          await consumer.commitOffsets(ends.map((e) => ({ topic, partition: e.partition, offset: e.high })));
        } finally {
          await consumer.disconnect();
        }
        const want = ends.map((e) => [mirrored, e.partition, 'set', e.high]).sort();
        const translated = await eventually(
          `${group} checkpointed at the end of ${topic}`,
          async () => {
            const p = await activities.planOffsetTranslation({ source, target: 'B', groups: [group] });
            const g = p.groups.find((x) => x.group === group);
            const got = (g?.partitions ?? []).map((x) => [x.topic, x.partition, x.action, x.to]).sort();
            return JSON.stringify(got) === JSON.stringify(want) ? p : undefined;
          },
          120_000,
          1_000,
        );
        assert.ok(translated.checkpointsRead >= PARTITIONS);
        before = watch.count(codec);
        await activities.planOffsetTranslation({ source, target: 'B', groups: [group] });
        assert.ok(watch.count(codec) - before >= 1, `the translation read no ${codec} batch from ${source}.checkpoints.internal`);
        const applied = await activities.applyOffsetTranslation({ source, target: 'B', groups: [group] });
        assert.deepEqual(
          applied.applied.map((a) => [a.topic, a.partition, a.offset]).sort(),
          ends.map((e) => [mirrored, e.partition, e.high]).sort(),
        );
        const [committed] = await adminB.fetchOffsets({ groupId: group, topics: [mirrored] });
        assert.deepEqual(committed!.partitions.map((p) => [p.partition, p.offset]).sort(), ends.map((e) => [e.partition, e.high]).sort());
      } finally {
        watch.stop();
        await adminA.deleteGroups([group]).catch(() => undefined);
        await adminB.deleteGroups([group]).catch(() => undefined);
      }
    });
  }

  it("lz4: Kafka's own decoder (lz4-java through JNI) decodes every block kafka-dr writes, and refuses lz4js' full 64 KiB block", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-dr-lz4-'));
    try {
      // The negative control: lz4js compressing a whole 64 KiB block, ending a match 10 bytes before its end.
      const full = lz4EdgeBlock(65_536);
      const scratch = new Uint8Array(lz4js.compressBound(full.length));
      fs.writeFileSync(
        path.join(dir, 'full.bin'),
        scratch.subarray(0, lz4js.compressBlock(full, scratch, 0, full.length, new Uint32Array(1 << 16))),
      );
      const input = Buffer.concat([lz4EdgeBlock(65_520), lz4EdgeBlock(65_520), Buffer.from(fixtureValues().join(''))]);
      const ours = lz4Blocks(lz4Compress(input));
      const files = ours.map((b, i) => path.join(dir, `ours-${i}.bin`));
      ours.forEach((b, i) => fs.writeFileSync(files[i]!, b.data));
      assert.ok(ours.length >= 3 && ours.every((b) => b.compressed));
      const jar = fs.readdirSync(stack.kafkaLibDir).find((f) => /^lz4-java-.*\.jar$/.test(f));
      assert.ok(jar, `no lz4-java jar in ${stack.kafkaLibDir}`);
      const source = path.join(REPO_ROOT, 'test', 'fixtures', 'compression', 'Lz4Blocks.java');
      const out = execFileSync('java', ['-cp', path.join(stack.kafkaLibDir, jar), source, '65536', path.join(dir, 'full.bin'), ...files], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      const [decompressor, fullResult, ...oursResults] = out.trim().split('\n');
      assert.match(decompressor!, /JNI/, 'Kafka decodes with the JNI decompressor when it loads: the strict one');
      assert.match(fullResult!, /^error /, "lz4js' full block is refused (else the 16-byte slack is not needed)");
      assert.deepEqual(
        oursResults,
        ours.map((_, i) => `ok ${Math.min(65_520, input.length - i * 65_520)}`),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
