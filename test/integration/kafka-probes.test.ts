import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CancelledFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { KafkaJSNonRetriableError, KafkaJSProtocolError, type Admin, type Producer } from 'kafkajs';
import { createKafkaActivities, type EndOffsetSnapshot, type EndOffsetsResult, type QuietProducersResult } from '../../activities/kafka';
import { createDeps } from '../../activities/deps';
import { FailureType } from '../../src/failures';
import { KafkaClients } from '../../src/kafka/client';
import {
  offsetsDigest,
  readClusterSnapshot,
  readRawMetadata,
  type ClusterHealth,
  type QuietHeartbeat,
  type TopicDescription,
} from '../../src/kafka/probes';
import { resolveRegistry, stackRegistryDocument } from '../../src/registry/load';
import { kafka, REPO_ROOT, stack, uniqueId } from '../helpers/stack';
import { runActivity, startSuiteWorker, type SuiteWorker } from '../helpers/worker';

/**
 * The Kafka probe activities against cluster A of the local stack, through a real
 * Temporal worker (retries, failure types and attempts as a playbook sees them).
 * Alias `down` points at a closed loopback port: the "cluster is down" case.
 */

const id = uniqueId();
const TOPIC = `kdr-probes-${id}`;
const QUIET_TOPIC = `kdr-probes-quiet-${id}`;
const MISSING = `kdr-probes-missing-${id}`;
const PER_PARTITION = [5, 0, 7]; // records produced to partitions 0, 1, 2 of TOPIC

const doc = stackRegistryDocument(stack);
const registry = resolveRegistry(
  { ...doc, clusters: { ...doc.clusters, down: { bootstrapServers: ['127.0.0.1:1'], expectedBrokers: 1 } } },
  'kafka-probes test',
  {},
  REPO_ROOT,
);

const quick = { startToCloseTimeout: '30s', retry: { maximumAttempts: 1 } } as const;

describe('Kafka probes on the local stack', { timeout: 120_000 }, () => {
  const client = kafka('A');
  let admin: Admin;
  let producer: Producer;
  let worker: SuiteWorker | undefined;
  let ctx: SuiteWorker['ctx'];

  before(async () => {
    admin = client.admin();
    producer = client.producer({ allowAutoTopicCreation: false });
    await Promise.all([admin.connect(), producer.connect()]);
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: TOPIC, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
        { topic: QUIET_TOPIC, numPartitions: 2, replicationFactor: 1 },
      ],
    });
    for (const [partition, n] of PER_PARTITION.entries()) {
      if (n === 0) continue;
      await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: n }, (_, i) => ({ partition, value: `r${i}` })) });
    }
    // One worker (one workflow bundle) for the whole file; it runs until `after`.
    worker = await startSuiteWorker({ registry });
    ctx = worker.ctx;
  });

  after(async () => {
    await worker?.stop();
    await admin.deleteTopics({ topics: [TOPIC, QUIET_TOPIC] }).catch(() => undefined);
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  it('clusterHealth on A: healthy, 1 broker, controller 1 (expected count from the registry)', async () => {
    const { result, failure } = await runActivity<ClusterHealth>(ctx, 'clusterHealth', [{ cluster: 'A' }], quick);
    assert.equal(failure, undefined);
    assert.ok(result);
    assert.equal(result.healthy, true, result.problems.join('; '));
    assert.deepEqual(result.brokers, { count: 1, ids: [1] });
    assert.equal(result.controllerId, 1);
    assert.equal(result.expectedBrokers, 1);
    assert.equal(result.expectedBrokersFrom, 'registry');
    assert.deepEqual(result.underReplicated, []);
    assert.deepEqual(result.offline, []);
    assert.ok(result.partitionCount >= 3, 'our 3-partition topic was looked at');
  });

  it('clusterHealth with expectedBrokers 3: unhealthy, "1 of 3 brokers up"', async () => {
    const { result } = await runActivity<ClusterHealth>(ctx, 'clusterHealth', [{ cluster: 'A', expectedBrokers: 3 }], quick);
    assert.ok(result);
    assert.equal(result.healthy, false);
    assert.equal(result.expectedBrokersFrom, 'input');
    assert.equal(result.problems.length, 1);
    assert.match(result.problems[0]!, /^1 of 3 brokers up/);
  });

  it('the degraded-cluster metadata read (kafkajs internals) agrees with the admin API and is the fallback on LEADER_NOT_AVAILABLE', async () => {
    const clients = new KafkaClients(registry, 'kafka-dr-test');
    const viaAdmin = await clients.withAdmin('A', (a) => readClusterSnapshot(a, clients.get('A')));
    const raw = await readRawMetadata(clients.get('A'));
    assert.equal(viaAdmin.source, 'admin');
    assert.equal(raw.source, 'raw-metadata');
    assert.deepEqual(raw.brokerIds, viaAdmin.brokerIds);
    assert.equal(raw.controllerId, viaAdmin.controllerId);
    // Other tests create and delete topics meanwhile: compare ours only.
    const ours = (s: typeof raw) => s.partitions.filter((p) => p.topic === TOPIC).sort((a, b) => a.partition - b.partition);
    assert.equal(ours(raw).length, 3);
    assert.deepEqual(ours(raw), ours(viaAdmin));
    assert.deepEqual(ours(raw)[0], { topic: TOPIC, partition: 0, leader: 1, replicas: [1], isr: [1] });

    // What kafkajs throws when one partition anywhere has no leader (kafkajs#1460): the
    // probe falls back to the raw read instead of failing.
    const noLeader = new KafkaJSProtocolError({
      message: 'There is no leader for this topic-partition as we are in the middle of a leadership election',
      type: 'LEADER_NOT_AVAILABLE',
      code: 5,
    } as unknown as Error);
    const degradedAdmin = {
      describeCluster: () => Promise.reject(Object.assign(new KafkaJSNonRetriableError(noLeader), { cause: noLeader })),
    } as unknown as Admin;
    const fallback = await readClusterSnapshot(degradedAdmin, clients.get('A'));
    assert.equal(fallback.source, 'raw-metadata');
    assert.deepEqual(ours(fallback), ours(viaAdmin));
    // Any other error is not papered over.
    const brokenAdmin = { describeCluster: () => Promise.reject(new KafkaJSNonRetriableError('boom')) } as unknown as Admin;
    await assert.rejects(readClusterSnapshot(brokenAdmin, clients.get('A')), /boom/);
  });

  it('describeTopics reads partitions, replication factor and configs back; a missing topic is exists: false', async () => {
    const { result, failure } = await runActivity<Record<string, TopicDescription>>(
      ctx,
      'describeTopics',
      [{ cluster: 'A', topics: [TOPIC, MISSING] }],
      quick,
    );
    assert.equal(failure, undefined);
    assert.ok(result);
    assert.deepEqual(result[MISSING], { topic: MISSING, exists: false });
    const t = result[TOPIC];
    assert.ok(t?.exists);
    assert.equal(t.partitions, 3);
    assert.equal(t.replicationFactor, 1);
    assert.equal(t.configs['retention.ms'], '3600000');
    assert.equal(t.configs['cleanup.policy'], 'delete', 'broker default reported as the effective value');
    assert.match(t.configs['min.insync.replicas'] ?? '', /^\d+$/);
    assert.match(t.configs['max.message.bytes'] ?? '', /^\d+$/);
  });

  it('endOffsets and snapshotEndOffsets give the exact end offset per partition', async () => {
    const before = Date.now();
    const [offsets, snapshot] = await Promise.all([
      runActivity<EndOffsetsResult>(ctx, 'endOffsets', [{ cluster: 'A', topics: [TOPIC, MISSING] }], quick),
      runActivity<EndOffsetSnapshot>(ctx, 'snapshotEndOffsets', [{ cluster: 'A', topics: [TOPIC] }], quick),
    ]);
    assert.deepEqual(offsets.result, {
      cluster: 'A',
      offsets: { [TOPIC]: PER_PARTITION.map((n, partition) => ({ partition, low: '0', high: String(n) })) },
      missingTopics: [MISSING],
    });
    const snap = snapshot.result;
    assert.ok(snap);
    assert.deepEqual(snap.offsets, { [TOPIC]: { '0': '5', '1': '0', '2': '7' } });
    assert.deepEqual(snap.missingTopics, []);
    const takenAt = Date.parse(snap.takenAt);
    assert.ok(takenAt >= before && takenAt <= Date.now(), `takenAt ${snap.takenAt} is the activity's clock`);
  });

  it('waitForQuietProducers waits while a producer writes and returns within quietSeconds after it stops', async () => {
    const quietSeconds = 2;
    let written = 0;
    let lastSendStartedAt = 0;
    const send = async () => {
      lastSendStartedAt = Date.now();
      await producer.send({ topic: QUIET_TOPIC, acks: -1, messages: [{ partition: written % 2, value: `q${written}` }] });
      written++;
    };
    await send();
    let doneAt = 0;
    const waiting = runActivity<QuietProducersResult>(
      ctx,
      'waitForQuietProducers',
      [{ cluster: 'A', topics: [QUIET_TOPIC], quietSeconds, pollMs: 250 }],
      { startToCloseTimeout: '60s', heartbeatTimeout: '10s', retry: { maximumAttempts: 1 } },
    ).then((outcome) => {
      doneAt = Date.now();
      return outcome;
    });
    const writeUntil = Date.now() + 3_000;
    while (Date.now() < writeUntil) {
      await new Promise((r) => setTimeout(r, 200));
      await send();
      assert.equal(doneAt, 0, 'returned while the producer was still writing');
    }
    const stoppedAt = Date.now();
    const { result, failure } = await waiting;
    assert.equal(failure, undefined);
    assert.ok(result);
    assert.ok(written >= 10, `wrote ${written} records`);
    assert.ok(Date.parse(result.quietSince) >= lastSendStartedAt, `quietSince ${result.quietSince} is after the last write`);
    assert.ok(doneAt - stoppedAt >= quietSeconds * 1000 - 250, 'waited the quiet period out');
    assert.ok(doneAt - stoppedAt <= quietSeconds * 1000 + 4_000, `returned ${doneAt - stoppedAt} ms after the producer stopped`);
    const total = Object.values(result.endOffsets[QUIET_TOPIC] ?? {}).reduce((sum, high) => sum + Number(high), 0);
    assert.equal(total, written);
    assert.ok(result.polls > quietSeconds * 4, `${result.polls} polls`);
  });

  describe('waitForQuietProducers resuming and cancelled (activity context without a worker)', () => {
    const activities = createKafkaActivities(createDeps(registry, 'kafka-probes-test'));
    const topicHighs = { [TOPIC]: { '0': '5', '1': '0', '2': '7' } };
    const minuteAgo = () => new Date(Date.now() - 60_000).toISOString();
    // MockActivityEnvironment.run cannot infer the result type from the activity.
    const waitIn = (env: MockActivityEnvironment, input: Parameters<typeof activities.waitForQuietProducers>[0]) =>
      env.run(activities.waitForQuietProducers, input) as Promise<QuietProducersResult>;

    it('resumes a quiet window from heartbeat details: nothing moved, so it returns at once', async () => {
      const details: QuietHeartbeat = {
        polls: 7,
        lastChangeAt: minuteAgo(),
        changedPartitions: [],
        changedCount: 0,
        partitions: 3,
        offsetsDigest: offsetsDigest(topicHighs),
      };
      const env = new MockActivityEnvironment({ heartbeatDetails: details });
      const beats: QuietHeartbeat[] = [];
      env.on('heartbeat', (d: QuietHeartbeat) => beats.push(d));
      const started = Date.now();
      const result = await waitIn(env, { cluster: 'A', topics: [TOPIC], quietSeconds: 30 });
      assert.ok(Date.now() - started < 10_000, 'did not wait another 30 s');
      assert.equal(result.quietSince, details.lastChangeAt);
      assert.equal(result.polls, 8);
      assert.deepEqual(result.endOffsets, topicHighs);
      assert.equal(beats.length, 1);
      assert.equal(beats[0]!.offsetsDigest, details.offsetsDigest);
    });

    it('restarts the window when the offsets moved since the heartbeat', async () => {
      const env = new MockActivityEnvironment({
        heartbeatDetails: {
          polls: 3,
          lastChangeAt: minuteAgo(),
          changedPartitions: [],
          changedCount: 0,
          partitions: 3,
          offsetsDigest: '0000000000000000',
        },
      });
      const started = Date.now();
      const result = await waitIn(env, { cluster: 'A', topics: [TOPIC], quietSeconds: 1.5, pollMs: 200 });
      assert.ok(Date.now() - started >= 1_500, 'waited a fresh quiet period');
      assert.ok(Date.parse(result.quietSince) >= started, 'the window restarted at the first poll of this attempt');
    });

    it('stops promptly when cancelled', async () => {
      const env = new MockActivityEnvironment();
      const running = waitIn(env, { cluster: 'A', topics: [TOPIC], quietSeconds: 600, pollMs: 200 });
      await new Promise((r) => setTimeout(r, 800));
      const cancelledAt = Date.now();
      env.cancel();
      await assert.rejects(running, CancelledFailure);
      assert.ok(Date.now() - cancelledAt < 2_000, 'cancellation honoured within a poll');
    });
  });

  it('a cluster that is down: every probe fails ClusterUnreachable, retryable, quickly', async () => {
    const started = Date.now();
    const health = await runActivity(ctx, 'clusterHealth', [{ cluster: 'down' }], {
      startToCloseTimeout: '30s',
      retry: { maximumAttempts: 2, initialInterval: '200ms' },
    });
    assert.equal(health.failure?.type, FailureType.ClusterUnreachable);
    assert.equal(health.failure.nonRetryable, false);
    assert.equal(health.attempts, 2);
    assert.match(health.failure.message, /cluster down: .*is the cluster up and reachable\?/);

    const probes: Array<[string, object]> = [
      ['describeTopics', { cluster: 'down', topics: [TOPIC] }],
      ['endOffsets', { cluster: 'down', topics: [TOPIC] }],
      ['snapshotEndOffsets', { cluster: 'down', topics: [TOPIC] }],
      ['waitForQuietProducers', { cluster: 'down', topics: [TOPIC], quietSeconds: 1 }],
    ];
    const others = await Promise.all(
      probes.map(async ([name, input]) => [name, (await runActivity(ctx, name, [input], quick)).failure] as const),
    );
    for (const [name, f] of others) {
      assert.equal(f?.type, FailureType.ClusterUnreachable, `${name}: ${f?.message}`);
      assert.equal(f.nonRetryable, false, name);
    }
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  });

  it('bad input and unknown aliases fail at once, non-retryable, naming the field', async () => {
    const [badTopic, unknown] = await Promise.all([
      runActivity(ctx, 'endOffsets', [{ cluster: 'A', topics: ['no spaces allowed'] }], { startToCloseTimeout: '30s' }),
      runActivity(ctx, 'clusterHealth', [{ cluster: 'Z' }], { startToCloseTimeout: '30s' }),
    ]);
    assert.equal(badTopic.failure?.type, FailureType.InvalidInput);
    assert.equal(badTopic.failure.nonRetryable, true);
    assert.equal(badTopic.attempts, 1);
    assert.match(badTopic.failure.message, /^topics\.0: must be a Kafka topic name/);
    assert.equal(unknown.failure?.type, FailureType.UnknownCluster);
    assert.equal(unknown.attempts, 1);
    assert.match(unknown.failure.message, /unknown cluster 'Z'/);
  });
});
