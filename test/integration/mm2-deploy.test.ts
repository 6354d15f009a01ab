import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import axios from 'axios';
import type { Admin } from 'kafkajs';
import { createDeps } from '../../activities/deps';
import {
  createMm2Activities,
  type DeployMirrorFlowResult,
  type ReadOffsetSyncsResult,
  type RemoveMirrorFlowResult,
} from '../../activities/mm2';
import { ConnectClient, ConnectRestError, inState } from '../../src/connect/client';
import { buildMirrorConnectors, CREATED_BY_KEY } from '../../src/mm2/connector-configs';
import { parseReplicationPlan, type ReplicationPlanInput } from '../../src/model/replication-plan';
import { planFailbackSeed, toConnectOffsets, type EndOffsets } from '../../src/offsets/failback';
import { resolveRegistry, stackRegistry, stackRegistryDocument } from '../../src/registry/load';
import { eventually, readUntil, stack, uniqueId } from '../helpers/stack';
import { flowConnectors, retrying } from '../helpers/mm2';
import { TWO_SECOND_REFRESH, useMirrorPair } from '../helpers/mirror-pair';
import { runActivity, startSuiteWorker, type SuiteWorker } from '../helpers/worker';
import { MockActivityEnvironment } from '@temporalio/testing';

/**
 * The MM2 flow activities against the real stack: plans deployed on connect-b (A→B) and
 * connect-a (B→A) through a real worker, Connect's own validation of every generated
 * config, the loop guard refusing a real reverse flow, and a failback seed computed by
 * kafka-dr applied to a real stopped MirrorSourceConnector.
 */

const QUICK = { startToCloseTimeout: '2 minutes', retry: { maximumAttempts: 3, initialInterval: '1s' } } as const;

type Ctx = { client: Client; taskQueue: string };

describe('MM2 flows deployed by kafka-dr activities on the local stack', { timeout: 420_000 }, () => {
  const id = uniqueId();
  const t1 = `h3-core-${id}`;
  const t2 = `h3-bulk-${id}`;
  const loopTopic = `h3-loop-${id}`;
  const seedTopic = `h3-seed-${id}`;
  const flowName = `h3-${id}`;
  const loopFlow = `h3-loop-${id}`;
  const reverseLoopFlow = `h3-loop-back-${id}`;
  const seedFlow = `h3-seed-${id}`;
  const pair = useMirrorPair('mm2-deploy', {
    topics: [
      { topic: t1, partitions: 1 },
      { topic: t2, partitions: 2 },
      { topic: loopTopic, partitions: 1 },
      { topic: seedTopic, partitions: 2, on: ['A', 'B'] },
    ],
  });
  pair.leaves({ topics: { B: [`A.${t1}`, `A.${t2}`, loopTopic] } });
  const { connectA, connectB, kafkaA, kafkaB, adminA, adminB } = pair;
  let worker: SuiteWorker | undefined;
  let ctx: Ctx;

  /** `plan`, its connectors deleted after the suite (registered before any deploy: one that half-succeeds leaves some too). */
  const deletedAfter = <P extends ReplicationPlanInput & { name: string }>(plan: P): P => {
    pair.leaves({ connectors: { [plan.connect as 'connect-a' | 'connect-b']: flowConnectors(plan).all } });
    return plan;
  };

  const twoGroupPlan = deletedAfter({
    source: 'A',
    target: 'B',
    connect: 'connect-b',
    name: flowName,
    policy: { type: 'default' },
    topicGroups: [
      { name: 'core', topics: [t1] },
      // The profile's lz4: the test reads the mirrored records with kafkajs (and kafka-dr's lz4 codec).
      { name: 'bulk', topics: [t2], profile: 'high-throughput', tuning: { tasksMax: 1 } },
    ],
    groups: [`h3-group-${id}`],
    replicationFactor: 1,
    intervals: TWO_SECOND_REFRESH,
  });

  /** An Identity flow of one topic group `group` (one task) carrying `topic`. */
  const identityPlan = (
    direction: Pick<ReplicationPlanInput, 'source' | 'target' | 'connect'>,
    name: string,
    group: string,
    topic: string,
  ): ReplicationPlanInput & { name: string } => ({
    ...direction,
    name,
    policy: { type: 'identity' },
    topicGroups: [{ name: group, topics: [topic], tuning: { tasksMax: 1 } }],
    replicationFactor: 1,
    intervals: TWO_SECOND_REFRESH,
  });

  const states = async (client: ConnectClient, names: string[], state: 'RUNNING' | 'STOPPED') => {
    const all = await Promise.all(
      names.map(async (n) => inState(await client.status(n), state, state === 'STOPPED' || n.endsWith('-checkpoint'))),
    );
    return all.every(Boolean) ? true : undefined;
  };

  const produce = async (client: typeof kafkaA, topic: string, messages: Array<{ partition: number; value: string }>) => {
    const producer = client.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({ topic, acks: -1, messages: messages.map((m) => ({ partition: m.partition, key: null, value: m.value })) });
    } finally {
      await producer.disconnect();
    }
  };

  const ends = async (admin: Admin, topic: string): Promise<Record<string, string>> =>
    Object.fromEntries((await admin.fetchTopicOffsets(topic)).map((o) => [String(o.partition), o.high]));

  before(async () => {
    // One worker for the whole suite: bundling the workflows takes seconds on this machine.
    worker = await startSuiteWorker();
    ctx = worker.ctx;
  });
  pair.onCleanup(async () => worker?.stop());

  it('deploys a plan with two topic groups: connectors RUNNING, each group replicated to B, a redeploy changes nothing', async () => {
    const { result, failure } = await runActivity<DeployMirrorFlowResult>(ctx, 'deployMirrorFlow', [{ plan: twoGroupPlan }], QUICK);
    assert.equal(failure, undefined, failure?.message);
    assert.deepEqual(
      result!.connectors.map((c) => [c.name, c.kind, c.action]),
      [
        [`${flowName}-source-core`, 'source', 'created'],
        [`${flowName}-source-bulk`, 'source', 'created'],
        [`${flowName}-checkpoint`, 'checkpoint', 'created'],
        [`${flowName}-heartbeat`, 'heartbeat', 'created'],
      ],
    );
    assert.ok(!JSON.stringify(result).includes('bootstrap'), 'the result carries names, never configs');
    const names = result!.connectors.map((c) => c.name);
    await eventually('the flow RUNNING on connect-b', () => states(connectB, names, 'RUNNING'), 90_000);

    await produce(
      kafkaA,
      t1,
      Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `core-${i}` })),
    );
    await produce(
      kafkaA,
      t2,
      Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `bulk-${i}` })),
    );
    const core = await readUntil(kafkaB, `A.${t1}`, (r) => r.length >= 10);
    const bulk = await readUntil(kafkaB, `A.${t2}`, (r) => r.length >= 10);
    assert.deepEqual(
      core.map((r) => r.value?.toString()),
      Array.from({ length: 10 }, (_, i) => `core-${i}`),
    );
    assert.deepEqual(bulk.map((r) => r.value?.toString()).sort(), Array.from({ length: 10 }, (_, i) => `bulk-${i}`).sort());

    // The group's tuning reached Connect (tasks.max 1 overrides the profile's 8).
    assert.equal((await connectB.getConfig(`${flowName}-source-bulk`))!['tasks.max'], '1');

    const again = await runActivity<DeployMirrorFlowResult>(ctx, 'deployMirrorFlow', [{ plan: twoGroupPlan }], QUICK);
    assert.deepEqual(
      again.result!.connectors.map((c) => c.action),
      ['unchanged', 'unchanged', 'unchanged', 'unchanged'],
    );
  });

  it("reads the flow's offset syncs from A: upstream and downstream offsets paired", async () => {
    const syncs = await eventually(
      `offset syncs for ${t1} up to offset 9`,
      async () => {
        const { result, failure } = await runActivity<ReadOffsetSyncsResult>(
          ctx,
          'readOffsetSyncs',
          [{ cluster: 'A', targetAlias: 'B', topics: [t1], upTo: [{ topic: t1, partition: 0, offset: '9' }] }],
          QUICK,
        );
        assert.equal(failure, undefined, failure?.message);
        return result!.syncs[0]?.upstreamOffset === '9' ? result : undefined;
      },
      60_000,
      2_000,
    );
    assert.equal(syncs.syncTopic, 'mm2-offset-syncs.B.internal');
    assert.deepEqual(syncs.syncs, [{ topic: t1, partition: 0, upstreamOffset: '9', downstreamOffset: '9' }]);
    assert.deepEqual(syncs.atOrBelow, [{ topic: t1, partition: 0, upstreamOffset: '9', downstreamOffset: '9', upTo: '9' }]);
  });

  it("passes Connect's own validation for every generated config, in every profile", async () => {
    const parsed = parseReplicationPlan({
      ...twoGroupPlan,
      topicGroups: [
        { name: 'a', topics: [`${t1}-v`], profile: 'default' },
        { name: 'b', topics: [`${t2}-v`], profile: 'high-throughput' },
        { name: 'c', topics: [`${loopTopic}-v`], profile: 'low-latency', tuning: { compression: 'snappy', offsetLagMax: 10 } },
      ],
    });
    assert.ok(parsed.ok);
    if (!parsed.ok) return;
    const registry = stackRegistry(stack);
    const specs = buildMirrorConnectors(parsed.plan, { source: registry.cluster('A'), target: registry.cluster('B') });
    const validate = async (config: Record<string, string>, name: string) => {
      const res = await axios.put<{ error_count: number; configs: Array<{ value: { name: string; errors: string[] } }> }>(
        `${stack.connect['connect-b'].url}/connector-plugins/${config['connector.class']}/config/validate`,
        { ...config, name },
      );
      return res.data;
    };
    for (const spec of specs) {
      const report = await validate(spec.config, spec.name);
      const errors = report.configs.filter((c) => c.value.errors.length > 0).map((c) => `${c.value.name}: ${c.value.errors.join(', ')}`);
      assert.equal(report.error_count, 0, `${spec.name}: ${errors.join('; ')}`);
    }
    // The check can fail: Connect does report a bad value.
    const bad = await validate({ ...specs[0]!.config, 'replication.factor': 'three' }, 'h3-validate-negative');
    assert.ok(bad.error_count > 0, 'an invalid replication.factor is reported');
  });

  it('refuses an Identity flow B→A while the Identity flow A→B for the same topic runs; nothing is created', async () => {
    const forward = deletedAfter(identityPlan({ source: 'A', target: 'B', connect: 'connect-b' }, loopFlow, 'loop', loopTopic));
    const deployed = await runActivity<DeployMirrorFlowResult>(ctx, 'deployMirrorFlow', [{ plan: forward }], QUICK);
    assert.equal(deployed.failure, undefined, deployed.failure?.message);

    const back = deletedAfter({ ...forward, source: 'B', target: 'A', connect: 'connect-a', name: reverseLoopFlow });
    const refused = await runActivity<DeployMirrorFlowResult>(ctx, 'deployMirrorFlow', [{ plan: back }], QUICK);
    assert.equal(refused.failure?.type, 'ReplicationLoop');
    assert.equal(refused.failure?.nonRetryable, true);
    // The refusal itself is never retried; an earlier attempt may still have met a Connect
    // rebalance (409/500) while the guard read the connector configs.
    assert.ok(refused.attempts < QUICK.retry.maximumAttempts, `attempts ${refused.attempts}`);
    assert.match(refused.failure!.message, new RegExp(`topics ${loopTopic}`));
    assert.match(refused.failure!.message, new RegExp(`reverse connector '${loopFlow}-source-loop' on connect-b`));
    const onA = (await connectA.list()).filter((n) => n.startsWith(reverseLoopFlow));
    assert.deepEqual(onA, [], 'nothing was created on connect-a');

    // Once the forward flow is STOPPED (as a failback does), the reverse flow is allowed.
    await connectB.stop(`${loopFlow}-source-loop`);
    await eventually('the forward source connector STOPPED', () => states(connectB, [`${loopFlow}-source-loop`], 'STOPPED'));
    const allowed = await runActivity<DeployMirrorFlowResult>(ctx, 'deployMirrorFlow', [{ plan: back, initialState: 'STOPPED' }], QUICK);
    assert.equal(allowed.failure, undefined, allowed.failure?.message);
    assert.equal(allowed.result!.connectors.length, 3);
  });

  it('refuses an invalid plan at once, naming the field', async () => {
    const same = await runActivity(ctx, 'deployMirrorFlow', [{ plan: { ...twoGroupPlan, target: 'A' } }], QUICK);
    assert.equal(same.failure?.type, 'InvalidInput');
    assert.equal(same.failure?.nonRetryable, true);
    assert.equal(same.attempts, 1);
    assert.match(same.failure!.message, /invalid replication plan: target: source and target must differ/);

    const wrongConnect = await runActivity(ctx, 'deployMirrorFlow', [{ plan: { ...twoGroupPlan, connect: 'connect-a' } }], QUICK);
    assert.equal(wrongConnect.failure?.type, 'InvalidInput');
    assert.equal(wrongConnect.attempts, 1);
    assert.match(wrongConnect.failure!.message, /connect: Connect cluster 'connect-a' writes to A, not to the plan's target B.*connect-b/);

    const unknown = await runActivity(ctx, 'deployMirrorFlow', [{ plan: { ...twoGroupPlan, source: 'C' } }], QUICK);
    assert.equal(unknown.failure?.type, 'UnknownCluster');
    assert.equal(unknown.attempts, 1);
  });

  it('seeds a stopped reverse MirrorSourceConnector from a real snapshot: exactly the DR-period records come back', async () => {
    // Before failover: 5 records that A produced and MM2 replicated (Identity: same names both sides).
    const pre = Array.from({ length: 5 }, (_, i) => ({ partition: 0, value: `pre-${i}` }));
    await produce(kafkaA, seedTopic, pre);
    await produce(kafkaB, seedTopic, pre);
    // Failover: snapshot B's end offsets. Partition 1 is empty.
    const snapshot: EndOffsets = { [seedTopic]: await ends(adminB, seedTopic) };
    assert.deepEqual(snapshot[seedTopic], { '0': '5', '1': '0' });
    // DR period: producers write to B.
    await produce(kafkaB, seedTopic, [
      { partition: 0, value: 'dr-0' },
      { partition: 0, value: 'dr-1' },
      { partition: 0, value: 'dr-2' },
      { partition: 1, value: 'dr-p1-0' },
      { partition: 1, value: 'dr-p1-1' },
    ]);

    const reverse = deletedAfter(identityPlan({ source: 'B', target: 'A', connect: 'connect-a' }, seedFlow, 'seed', seedTopic));
    const deployed = await runActivity<DeployMirrorFlowResult>(
      ctx,
      'deployMirrorFlow',
      [{ plan: reverse, initialState: 'STOPPED' }],
      QUICK,
    );
    assert.equal(deployed.failure, undefined, deployed.failure?.message);
    const source = `${seedFlow}-source-seed`;
    await eventually('the reverse source connector STOPPED', () => states(connectA, [source], 'STOPPED'));

    const seed = planFailbackSeed({
      policy: { type: 'identity' },
      reverseSource: 'B',
      reverseTarget: 'A',
      include: [seedTopic],
      current: { [seedTopic]: await ends(adminB, seedTopic) },
      snapshot,
    });
    assert.deepEqual(
      seed.partitions.map((p) => [p.partition, p.source, p.offset, p.toCopy]),
      [
        [0, 'snapshot', '4', '3'],
        [1, 'snapshot', null, '2'],
      ],
    );

    // Pinned MM2 fact: a negative offset is refused (and Connect answers 500, not 400).
    await assert.rejects(
      connectA.alterOffsets(source, [{ partition: { cluster: 'B', topic: seedTopic, partition: 1 }, offset: { offset: -1 } }]),
      (err: unknown) => err instanceof ConnectRestError && err.status === 500 && /cannot be negative/.test(err.message),
    );
    await connectA.alterOffsets(source, toConnectOffsets('B', seed.partitions));
    // The connector also copies heartbeats topics (MM2 always does): look at the seeded topic only.
    const ofTopic = async () => (await connectA.getOffsets(source)).filter((o) => o.partition.topic === seedTopic);
    const stored = await ofTopic();
    assert.deepEqual(
      stored.map((o) => [o.partition.partition, o.offset]),
      [[0, { offset: 4 }]],
      'partition 0 seeded; the null for partition 1 leaves no offset (MM2 starts at the earliest record)',
    );

    await connectA.resume(source);
    await eventually(
      'the reverse connector caught up with B (committed offsets at B end - 1)',
      async () => {
        const at = new Map((await ofTopic()).map((o) => [o.partition.partition, (o.offset as { offset: number } | null)?.offset]));
        return at.get(0) === 7 && at.get(1) === 1 ? true : undefined;
      },
      90_000,
    );
    assert.deepEqual(await ends(adminA, seedTopic), { '0': '8', '1': '2' }, 'A got exactly the 3 + 2 DR-period records');
    const onA = await readUntil(kafkaA, seedTopic, (r) => r.length >= 10);
    const values = (p: number) => onA.filter((r) => r.partition === p).map((r) => r.value?.toString());
    assert.deepEqual(values(0), ['pre-0', 'pre-1', 'pre-2', 'pre-3', 'pre-4', 'dr-0', 'dr-1', 'dr-2']);
    assert.deepEqual(values(1), ['dr-p1-0', 'dr-p1-1'], 'the empty-at-failover partition was copied from its first record');
  });

  it("removes a flow's connectors, and a second removal finds them gone", async () => {
    const first = await runActivity<RemoveMirrorFlowResult>(ctx, 'removeMirrorFlow', [{ connect: 'connect-b', name: flowName }], QUICK);
    assert.equal(first.failure, undefined, first.failure?.message);
    assert.deepEqual(first.result!.connectors, [
      { name: `${flowName}-source-bulk`, action: 'deleted' },
      { name: `${flowName}-source-core`, action: 'deleted' },
      { name: `${flowName}-checkpoint`, action: 'deleted' },
      { name: `${flowName}-heartbeat`, action: 'deleted' },
    ]);
    assert.deepEqual(
      (await connectB.list()).filter((n) => n.startsWith(`${flowName}-`)),
      [],
    );
    const second = await runActivity<RemoveMirrorFlowResult>(ctx, 'removeMirrorFlow', [{ connect: 'connect-b', name: flowName }], QUICK);
    assert.deepEqual(second.result!.connectors, [
      { name: `${flowName}-checkpoint`, action: 'absent' },
      { name: `${flowName}-heartbeat`, action: 'absent' },
    ]);
  });
});

describe('MM2 flow activities when a dependency is down', { timeout: 120_000 }, () => {
  // Real refused connections on loopback (port 1: nothing listens), classified where the activity ends.
  const registryWith = (overrides: { connectA?: string; clusterA?: string }) => {
    const doc = stackRegistryDocument(stack);
    if (overrides.connectA) doc.connect['connect-a']!.url = overrides.connectA;
    if (overrides.clusterA) doc.clusters.A!.bootstrapServers = [overrides.clusterA];
    return resolveRegistry(doc, 'test', {}, stack.repoRoot);
  };
  const plan: ReplicationPlanInput = {
    source: 'A',
    target: 'B',
    connect: 'connect-b',
    name: `h3-down-${uniqueId()}`,
    policy: { type: 'identity' },
    topicGroups: [{ name: 'g', topics: ['h3-down-never-created'] }],
    replicationFactor: 1,
  };
  const failureOf = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      if (err instanceof ApplicationFailure) return err;
      throw err;
    }
    assert.fail('the activity should have failed');
  };

  it('fails retryably (ConnectUnavailable) when a Connect cluster cannot be reached, creating nothing', async () => {
    const mm2 = createMm2Activities(createDeps(registryWith({ connectA: 'http://127.0.0.1:1' }), 'test'));
    const failure = await failureOf(mm2.deployMirrorFlow({ plan }));
    assert.equal(failure.type, 'ConnectUnavailable');
    assert.equal(failure.nonRetryable, false);
    assert.deepEqual(
      (await new ConnectClient(stack.connect['connect-b'].url).list()).filter((n) => n.startsWith(plan.name!)),
      [],
    );
  });

  it('fails retryably (ClusterUnreachable) when a Kafka cluster cannot be reached', async () => {
    const mm2 = createMm2Activities(createDeps(registryWith({ clusterA: '127.0.0.1:1' }), 'test'));
    const deploy = await failureOf(mm2.deployMirrorFlow({ plan }));
    assert.equal(deploy.type, 'ClusterUnreachable');
    assert.equal(deploy.nonRetryable, false);
    const syncs = await failureOf(mm2.readOffsetSyncs({ cluster: 'A', targetAlias: 'B' }));
    assert.equal(syncs.type, 'ClusterUnreachable');
    assert.match(syncs.message, /cluster A/);
  });
});

describe('deployMirrorFlow retried after a partial deploy', { timeout: 120_000 }, () => {
  const name = `h3-retry-${uniqueId()}`;
  const plan: ReplicationPlanInput = {
    source: 'A',
    target: 'B',
    connect: 'connect-b',
    name,
    policy: { type: 'default' },
    topicGroups: [{ name: 'g', topics: [`${name}-topic`] }],
    replicationFactor: 1,
  };
  const mm2 = createMm2Activities(createDeps(stackRegistry(stack), 'test'));

  after(async () => {
    await mm2.removeMirrorFlow({ connect: 'connect-b', name, groups: ['g'] }).catch(() => undefined);
  });

  it('still reports the connectors an earlier attempt created as created (compensation relies on it)', async () => {
    const first = await mm2.deployMirrorFlow({ plan, initialState: 'STOPPED' });
    const names = first.connectors.map((c) => c.name);
    assert.deepEqual(
      first.connectors.map((c) => c.action),
      names.map(() => 'created'),
    );

    // A fresh call (a new run) finds them in place: unchanged.
    const again = await mm2.deployMirrorFlow({ plan, initialState: 'STOPPED' });
    assert.deepEqual(
      again.connectors.map((c) => c.action),
      names.map(() => 'unchanged'),
    );

    // A retry of the first run: the heartbeat of the failed attempt named what it created.
    const retryEnv = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { created: names.slice(0, 1), creating: names[1] } });
    const retried = (await retryEnv.run(mm2.deployMirrorFlow as (input: unknown) => Promise<DeployMirrorFlowResult>, {
      plan,
      initialState: 'STOPPED',
    })) as DeployMirrorFlowResult;
    assert.deepEqual(
      retried.connectors.map((c) => c.action),
      names.map((_, i) => (i < 2 ? 'created' : 'unchanged')),
    );
  });

  it('a retry with no heartbeat at all (the worker died right after a create) knows its connectors by their creator mark; other runs do not take them over', async () => {
    const marked = { ...plan, name: `${name}-m` };
    const inRun = (runId: string, attempt = 1) =>
      new MockActivityEnvironment({ attempt, workflowExecution: { workflowId: `kafka-dr-deploy-replication-A~B~${marked.name}`, runId } });
    const deploy = (env: MockActivityEnvironment, p: ReplicationPlanInput = marked) =>
      env.run(mm2.deployMirrorFlow as (input: unknown) => Promise<DeployMirrorFlowResult>, {
        plan: p,
        initialState: 'STOPPED',
      }) as Promise<DeployMirrorFlowResult>;
    try {
      const first = await deploy(inRun('r1'));
      const names = first.connectors.map((c) => c.name);
      assert.deepEqual(
        first.connectors.map((c) => c.action),
        names.map(() => 'created'),
      );
      const connectB = new ConnectClient(stack.connect['connect-b'].url);
      for (const n of names)
        assert.equal((await connectB.getConfig(n))?.[CREATED_BY_KEY], `kafka-dr-deploy-replication-A~B~${marked.name}/r1`, n);

      // The same run's next attempt, without heartbeat details: still its own.
      const retried = await deploy(inRun('r1', 2));
      assert.deepEqual(
        retried.connectors.map((c) => c.action),
        names.map(() => 'created'),
      );
      // Another run: unchanged; with another topic list, the connectors that name topics (the source
      // and the checkpoint connector, which checkpoints the flow's topics) are updated and keep their creator.
      assert.deepEqual(
        (await deploy(inRun('r2'))).connectors.map((c) => c.action),
        names.map(() => 'unchanged'),
      );
      const changed = await deploy(inRun('r3'), { ...marked, topicGroups: [{ name: 'g', topics: [`${name}-topic`, `${name}-other`] }] });
      assert.deepEqual(
        changed.connectors.map((c) => c.action),
        names.map((n) => (n.endsWith('-heartbeat') ? 'unchanged' : 'updated')),
      );
      for (const n of names)
        assert.equal((await connectB.getConfig(n))?.[CREATED_BY_KEY], `kafka-dr-deploy-replication-A~B~${marked.name}/r1`, n);
    } finally {
      await mm2.removeMirrorFlow({ connect: 'connect-b', name: marked.name, groups: ['g'] }).catch(() => undefined);
    }
  });
});

/**
 * The loop guard with one cluster registered twice: a Default flow B→A runs (MM2 would
 * recognise `A.*` names coming back), and a flow X→B is asked for where X is cluster A
 * under a second alias. MM2 tells a record that came back by the alias in its topic name,
 * so heartbeats would cross without end (X.B.X.heartbeats…): refused, nothing created.
 */
describe('deployMirrorFlow with one cluster under two aliases', { timeout: 120_000 }, () => {
  const id = uniqueId();
  const alias = `Ax${id.replace(/-/g, '')}`;
  const back = `h3-alias-back-${id}`;
  const forward = `h3-alias-${id}`;
  const doc = stackRegistryDocument(stack);
  const registry = resolveRegistry(
    { ...doc, clusters: { ...doc.clusters, [alias]: { bootstrapServers: [stack.kafka.A.bootstrap], expectedBrokers: 1 } } },
    'test',
    {},
    stack.repoRoot,
  );
  const mm2 = createMm2Activities(createDeps(registry, 'test'));
  const plan = (source: string, target: string, connect: string, name: string): ReplicationPlanInput => ({
    source,
    target,
    connect,
    name,
    policy: { type: 'default' },
    topicGroups: [{ name: 'g', topics: [`${name}-topic`] }],
    replicationFactor: 1,
  });

  after(async () => {
    // A running B→A flow left behind would refuse every later flow from a second alias of A.
    await retrying(`${back} removed`, () => mm2.removeMirrorFlow({ connect: 'connect-a', name: back, groups: ['g'] }));
    await retrying(`${forward} absent`, () => mm2.removeMirrorFlow({ connect: 'connect-b', name: forward, groups: ['g'] }));
  });

  it('refuses a flow whose reverse runs between the same clusters under other aliases', async () => {
    // Called directly, without a worker's retries: a Connect rebalance (HTTP 500/409) is retried here.
    const deployed = await retrying('the flow B→A deployed', () => mm2.deployMirrorFlow({ plan: plan('B', 'A', 'connect-a', back) }));
    assert.equal(deployed.connectors.length, 3);
    const failure = await retrying('the flow refused', async () => {
      try {
        await mm2.deployMirrorFlow({ plan: plan(alias, 'B', 'connect-b', forward) });
      } catch (err) {
        if (err instanceof ApplicationFailure && err.nonRetryable) return err;
        throw err;
      }
      return undefined;
    });
    assert.equal(failure?.type, 'ReplicationLoop', failure?.message);
    assert.equal(failure?.nonRetryable, true);
    assert.match(
      failure!.message,
      new RegExp(`reverse connector '${back}-source-g' on connect-a \\(B→A, DefaultReplicationPolicy, RUNNING\\)`),
    );
    assert.match(failure!.message, /the same two Kafka clusters under other aliases \(B→A\)/);
    assert.match(failure!.message, /deploy this flow as A→B/);
    assert.deepEqual(
      (await new ConnectClient(stack.connect['connect-b'].url).list()).filter((n) => n.startsWith(forward)),
      [],
    );
  });
});
