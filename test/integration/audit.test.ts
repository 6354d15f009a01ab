import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ActivityOptions } from '@temporalio/workflow';
import type { Admin, Kafka } from 'kafkajs';
import type { DriftFinding, DriftReport } from '../../src/audit/drift';
import type { FreshnessReport } from '../../src/audit/freshness';
import { ConnectClient, ConnectRestError, inState } from '../../src/connect/client';
import { mirrorHeartbeatConfig, mirrorSourceConfig, type MirrorFlow } from '../../src/mm2/connector-configs';
import { resolveRegistry, stackRegistryDocument } from '../../src/registry/load';
import type { RecreationReport } from '../../activities/audit';
import { closedPort } from '../helpers/ports';
import { eventually, kafka, REPO_ROOT, sleep, stack, uniqueId } from '../helpers/stack';
import { runActivity, startSuiteWorker, type ActivityOutcome, type SuiteWorker } from '../helpers/worker';

/**
 * The audit activities against the real stack: MM2 4.1.1 heartbeats for freshness,
 * topic configs on both clusters for drift, a MirrorSourceConnector's committed
 * offsets for recreation detection. Everything created here has a unique name and
 * is removed afterwards, except the `heartbeats` topic on A: it is MM2's own shared
 * topic (a bidirectional setup always has it) and other tests may be writing it.
 */

const ONE_TRY: ActivityOptions = { startToCloseTimeout: '90s', retry: { maximumAttempts: 1 } };
const TWO_TRIES: ActivityOptions = { startToCloseTimeout: '30s', retry: { maximumAttempts: 2, initialInterval: '200ms' } };

function flow(name: string, source: { alias: string; cluster: 'A' | 'B' }, target: 'A' | 'B', topics: string[] = []): MirrorFlow {
  return {
    source: { alias: source.alias, bootstrapServers: stack.kafka[source.cluster].bootstrap },
    target: { alias: target, bootstrapServers: stack.kafka[target].bootstrap },
    name,
    topics,
    groups: [],
    policy: 'default',
    replicationFactor: 1,
    intervalSeconds: 1,
  };
}

async function deleteConnectors(connect: ConnectClient, names: string[]): Promise<void> {
  await Promise.all(names.map((n) => connect.delete(n).catch(() => undefined)));
  // Gone from the herder before their topics are deleted, so no task re-creates them.
  await eventually(
    `connectors ${names.join(', ')} removed`,
    async () => {
      for (const n of names) {
        const gone = await connect.status(n).then(
          () => false,
          (err: unknown) => err instanceof ConnectRestError && err.status === 404,
        );
        if (!gone) return undefined;
      }
      return true;
    },
    30_000,
  ).catch(() => undefined);
}

/** Deletes the topics that start with `prefix` (unique per test) on a cluster. */
async function deleteTopicsWithPrefix(admin: Admin, prefix: string): Promise<void> {
  const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  if (mine.length > 0) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
}

async function produce(client: Kafka, topic: string, count: number, partition?: number): Promise<void> {
  const producer = client.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const messages = Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition }));
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

describe('audit activities on the local stack', { timeout: 420_000 }, () => {
  const kafkaA = kafka('A');
  const kafkaB = kafka('B');
  const connectA = new ConnectClient(stack.connect['connect-a'].url);
  const connectB = new ConnectClient(stack.connect['connect-b'].url);
  let adminA: Admin;
  let adminB: Admin;
  let worker: SuiteWorker | undefined;
  let ctx: SuiteWorker['ctx'];

  const run = <T>(name: string, input: unknown, options = ONE_TRY): Promise<ActivityOutcome<T>> =>
    runActivity<T>(ctx, name, [input], options);
  const ok = async <T>(name: string, input: unknown): Promise<T> => {
    const out = await run<T>(name, input);
    assert.equal(out.failure, undefined, `${name} failed: ${out.failure?.type}: ${out.failure?.message}`);
    return out.result!;
  };

  before(async () => {
    adminA = kafkaA.admin();
    adminB = kafkaB.admin();
    await Promise.all([adminA.connect(), adminB.connect()]);
    // The stack's registry plus a cluster and a Connect cluster that are down.
    const doc = stackRegistryDocument(stack);
    const registry = resolveRegistry(
      {
        clusters: { ...doc.clusters, DOWN: { bootstrapServers: [`127.0.0.1:${await closedPort()}`], expectedBrokers: 1 } },
        connect: {
          ...doc.connect,
          'connect-down': { url: `http://127.0.0.1:${await closedPort()}`, writesTo: 'B', requestTimeoutMs: 5_000 },
        },
      },
      'audit test registry',
      {},
      REPO_ROOT,
    );
    // One worker (one workflow bundle) for the whole file; it runs until `after` releases it.
    worker = await startSuiteWorker({ registry });
    ctx = worker.ctx;
  });

  after(async () => {
    await worker?.stop();
    await Promise.all([adminA.disconnect(), adminB.disconnect()]);
  });

  describe('replicationFreshness', () => {
    const id = uniqueId();
    // The MM2 source alias of A is unique to this test: every A→B MirrorSourceConnector
    // other tests run copies A's `heartbeats` into B's `A.heartbeats`, so with alias A a
    // paused connector of ours would not stop that topic from advancing.
    const srcAlias = `fr-${id}`;
    const hbAlias = `hb-${id}`;
    const topic = `fresh-${id}`;
    // Heartbeats written to A (a flow B→A's heartbeat connector runs on connect-a, as in a bidirectional setup).
    const heartbeatOnA = `audit-fr-${id}-heartbeat-a`;
    // The target side's own heartbeat connector: `heartbeats` on B, keyed (srcAlias, B).
    const heartbeatOnB = `audit-fr-${id}-heartbeat-b`;
    const source = `audit-fr-${id}-source`;
    const freshness = (): Promise<FreshnessReport> => ok<FreshnessReport>('replicationFreshness', { target: 'B', sourceAlias: srcAlias });

    before(async () => {
      await adminA.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
      await connectA.putConfig(heartbeatOnA, mirrorHeartbeatConfig(flow(heartbeatOnA, { alias: hbAlias, cluster: 'B' }, 'A')));
      await connectB.putConfig(heartbeatOnB, mirrorHeartbeatConfig(flow(heartbeatOnB, { alias: srcAlias, cluster: 'A' }, 'B')));
      await connectB.putConfig(source, mirrorSourceConfig(flow(source, { alias: srcAlias, cluster: 'A' }, 'B', [topic])));
    });

    after(async () => {
      await Promise.all([deleteConnectors(connectA, [heartbeatOnA]), deleteConnectors(connectB, [heartbeatOnB, source])]);
      await adminA.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await deleteTopicsWithPrefix(adminB, `${srcAlias}.`);
    });

    it('reports a missing heartbeats topic as a reason, not a failure', async () => {
      const r = await ok<FreshnessReport>('replicationFreshness', {
        target: 'B',
        sourceAlias: `nobody-${id}`,
        includeTargetHeartbeats: false,
      });
      assert.equal(r.lastHeartbeatAt, null);
      assert.equal(r.ageMs, null);
      assert.equal(r.topic, `nobody-${id}.heartbeats`);
      assert.match(r.reason ?? '', /does not exist/);
      assert.equal(r.targetHeartbeats, undefined);
    });

    it('measures the age of the newest heartbeat replicated from A, which grows while replication is paused', async () => {
      // MM2 copies A's `heartbeats` to B as `<srcAlias>.heartbeats` although the allowlist names only `topic`.
      const fresh = await eventually(
        `heartbeats of ${hbAlias} in ${srcAlias}.heartbeats on B, and B's own heartbeats`,
        async () => {
          const r = await freshness();
          const ours = r.emitters.find((e) => e.source === hbAlias && e.target === 'A');
          const own = r.targetHeartbeats?.emitters.find((e) => e.source === srcAlias && e.target === 'B');
          return ours && ours.ageMs < 15_000 && own && own.ageMs < 15_000 ? r : undefined;
        },
        120_000,
        1_000,
      );
      assert.equal(fresh.topic, `${srcAlias}.heartbeats`);
      assert.ok(fresh.lastHeartbeatAt !== null && fresh.ageMs !== null, 'a figure');
      assert.ok(fresh.ageMs < 15_000, `age ${fresh.ageMs} ms`);
      assert.ok(Math.abs(Date.now() - Date.parse(fresh.lastHeartbeatAt)) < 15_000, `lastHeartbeatAt ${fresh.lastHeartbeatAt} is recent`);
      assert.ok(fresh.recordsRead >= 1);
      assert.ok(fresh.from !== null && fresh.emitters.some((e) => e.source === fresh.from!.source && e.target === fresh.from!.target));
      assert.equal(fresh.targetHeartbeats?.topic, 'heartbeats');

      await connectB.pause(source);
      await eventually(
        'the source connector PAUSED',
        async () => (inState(await connectB.status(source), 'PAUSED') ? true : undefined),
        60_000,
      );
      await sleep(1_000); // records sent just before the pause land
      const paused = await freshness();
      await sleep(4_000);
      const later = await freshness();
      assert.ok(paused.ageMs !== null && later.ageMs !== null);
      assert.equal(later.lastHeartbeatAt, paused.lastHeartbeatAt, 'nothing replicated while paused');
      assert.ok(later.ageMs - paused.ageMs >= 3_000, `age grew from ${paused.ageMs} to ${later.ageMs} ms`);
      // Meanwhile B's own heartbeat connector goes on: the target side is alive, replication is not.
      const own = later.targetHeartbeats?.emitters.find((e) => e.source === srcAlias && e.target === 'B');
      assert.ok(own && own.ageMs < 10_000, `B's own heartbeats stay fresh (age ${own?.ageMs} ms)`);
    });
  });

  describe('auditTopicDrift', () => {
    const id = uniqueId();
    const retention = `drift-ret-${id}`;
    const parts = `drift-parts-${id}`;
    const missing = `drift-missing-${id}`;

    before(async () => {
      await adminA.createTopics({
        topics: [
          { topic: retention, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
          { topic: parts, numPartitions: 3, replicationFactor: 1 },
          { topic: missing, numPartitions: 1, replicationFactor: 1 },
        ],
        waitForLeaders: true,
      });
      await adminB.createTopics({
        topics: [
          { topic: `A.${retention}`, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '7200000' }] },
          { topic: `A.${parts}`, numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
        ],
        waitForLeaders: true,
      });
    });

    after(async () => {
      await adminA.deleteTopics({ topics: [retention, parts, missing] }).catch(() => undefined);
      await adminB.deleteTopics({ topics: [`A.${retention}`, `A.${parts}`] }).catch(() => undefined);
    });

    it('reports retention, partition and cleanup-policy drift and the topic with no mirror', async () => {
      const report = await ok<DriftReport>('auditTopicDrift', {
        source: 'A',
        target: 'B',
        topics: [retention, parts, missing],
        remoteTopic: { policy: 'default' },
      });
      const pick = (f: DriftFinding) => ({
        topic: f.topic,
        remoteTopic: f.remoteTopic,
        setting: f.setting,
        source: f.source,
        target: f.target,
        severity: f.severity,
      });
      // The whole list: any other difference between A's and B's broker defaults would show here too.
      assert.deepEqual(report.findings.map(pick), [
        { topic: missing, remoteTopic: `A.${missing}`, setting: 'topic', source: 'exists', target: null, severity: 'error' },
        { topic: parts, remoteTopic: `A.${parts}`, setting: 'partitions', source: '3', target: '2', severity: 'error' },
        { topic: parts, remoteTopic: `A.${parts}`, setting: 'cleanup.policy', source: 'delete', target: 'compact', severity: 'error' },
        {
          topic: retention,
          remoteTopic: `A.${retention}`,
          setting: 'retention.ms',
          source: '3600000',
          target: '7200000',
          severity: 'warn',
        },
      ]);
      assert.deepEqual(report.missingOnTarget, [missing]);
      assert.deepEqual(report.missingOnSource, []);
      assert.equal(report.topicsCompared, 2);
      assert.deepEqual(report.counts, { error: 3, warn: 1, info: 0 });
    });
  });

  describe('detectTopicRecreation', () => {
    const id = uniqueId();
    const topic = `recreate-${id}`;
    // A unique MM2 alias for A: the mirror and the copied `heartbeats` are ours to delete.
    const rcAlias = `rc-${id}`;
    const connector = `audit-rc-${id}-source`;
    const input = {
      connect: 'connect-b',
      connectors: [connector],
      source: 'A',
      target: 'B',
      topics: [topic],
      remoteTopic: { policy: 'default', sourceAlias: rcAlias },
    };

    before(async () => {
      await adminA.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
      await connectB.putConfig(connector, mirrorSourceConfig(flow(connector, { alias: rcAlias, cluster: 'A' }, 'B', [topic])));
    });

    after(async () => {
      await deleteConnectors(connectB, [connector]);
      await adminA.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await deleteTopicsWithPrefix(adminB, `${rcAlias}.`);
    });

    it('flags a source topic deleted and recreated with more partitions under a stopped MM2', async () => {
      await produce(kafkaA, topic, 100, 0);
      await eventually(
        'MM2 committed offset 99 for partition 0',
        async () => {
          const offsets = await connectB.getOffsets(connector);
          const o = offsets.find((x) => x.partition.cluster === rcAlias && x.partition.topic === topic && x.partition.partition === 0);
          return o?.offset?.offset === 99 ? true : undefined;
        },
        120_000,
        1_000,
      );

      // Negative control: the same check on the intact topic finds nothing.
      const intact = await ok<RecreationReport>('detectTopicRecreation', input);
      assert.deepEqual(intact.recreated, []);
      assert.deepEqual(intact.topics[0]!.findings, []);
      assert.deepEqual(
        intact.topics[0]!.partitions.map((p) => [p.partition, p.status, p.lastReplicated, p.sourceEnd]),
        [[0, 'caught-up', '99', '100']],
      );

      await connectB.stop(connector);
      await eventually(
        'connector STOPPED',
        async () => ((await connectB.status(connector)).connector.state === 'STOPPED' ? true : undefined),
        60_000,
      );
      await adminA.deleteTopics({ topics: [topic] });
      // createTopics answers false while the old topic still exists (deletion is asynchronous).
      await eventually(
        `${topic} recreated with 2 partitions`,
        async () =>
          (await adminA.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true }))
            ? true
            : undefined,
        60_000,
      );
      await produce(kafkaA, topic, 5, 0);

      const report = await ok<RecreationReport>('detectTopicRecreation', input);
      assert.deepEqual(report.recreated, [topic]);
      const t = report.topics[0]!;
      assert.equal(t.remoteTopic, `${rcAlias}.${topic}`);
      assert.equal(t.sourcePartitions, 2);
      assert.equal(t.targetPartitions, 1);
      assert.deepEqual(
        t.findings.map((f) => [f.kind, f.partition]),
        [
          ['end-below-committed', 0],
          ['partition-count-changed', undefined],
        ],
      );
      assert.equal(t.findings[0]!.message, 'partition 0: recreated or truncated on the source: end 5 < last replicated 99 + 1');
      assert.match(t.findings[1]!.message, /^partition count changed: source 2, target 1/);
      assert.deepEqual(
        t.partitions.map((p) => [p.partition, p.status, p.lastReplicated, p.sourceEnd]),
        [
          [0, 'end-below-committed', '99', '5'],
          [1, 'no-committed-offset', null, '0'],
        ],
      );
    });
  });

  describe('failures an operator can act on', () => {
    it('bad input fails at once, non-retryable, naming the field', async () => {
      const out = await run('auditTopicDrift', { source: 'A', target: 'B', topics: [], remoteTopic: { policy: 'default' } }, TWO_TRIES);
      assert.equal(out.failure?.type, 'InvalidInput');
      assert.equal(out.failure?.nonRetryable, true);
      assert.match(out.failure?.message ?? '', /topics: name at least one source topic/);
      assert.equal(out.attempts, 1);
    });

    it('an unknown cluster alias fails at once', async () => {
      const out = await run('replicationFreshness', { target: 'NOPE', sourceAlias: 'A' }, TWO_TRIES);
      assert.equal(out.failure?.type, 'UnknownCluster');
      assert.equal(out.attempts, 1);
    });

    it('a cluster that is down is retried as ClusterUnreachable, naming the cluster', async () => {
      const out = await run('replicationFreshness', { target: 'DOWN', sourceAlias: 'A' }, TWO_TRIES);
      assert.equal(out.failure?.type, 'ClusterUnreachable');
      assert.match(out.failure?.message ?? '', /cluster DOWN/);
      assert.equal(out.attempts, 2);
      const drift = await run(
        'auditTopicDrift',
        { source: 'DOWN', target: 'B', topics: ['t'], remoteTopic: { policy: 'default' } },
        TWO_TRIES,
      );
      assert.equal(drift.failure?.type, 'ClusterUnreachable');
      assert.match(drift.failure?.message ?? '', /cluster DOWN/);
    });

    it('a Connect cluster that is down is retried; a connector that does not exist is not', async () => {
      const base = { connectors: ['x'], source: 'A', target: 'B', remoteTopic: { policy: 'default' } };
      const down = await run('detectTopicRecreation', { ...base, connect: 'connect-down' }, TWO_TRIES);
      assert.equal(down.failure?.type, 'ConnectUnavailable');
      assert.equal(down.attempts, 2);
      const absent = await run(
        'detectTopicRecreation',
        { ...base, connect: 'connect-b', connectors: [`no-such-${uniqueId()}`] },
        TWO_TRIES,
      );
      assert.equal(absent.failure?.type, 'ConnectorNotFound');
      assert.equal(absent.attempts, 1);
    });
  });
});
