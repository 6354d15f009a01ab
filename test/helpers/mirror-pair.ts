import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { Admin, Kafka } from 'kafkajs';
import { createActivities, createDeps, type Activities } from '../../activities';
import { ConnectClient } from '../../src/connect/client';
import { mirrorConnectors, type MirrorFlow } from '../../src/mm2/connector-configs';
import type { FailbackInput } from '../../src/model/failback-input';
import type { FailoverInput } from '../../src/model/failover-input';
import type { ReplicationPlanInput } from '../../src/model/replication-plan';
import { stackRegistry } from '../../src/registry/load';
import { rawPlan } from './inputs';
import { connectorsInState, deployFlowRunning, flowConnectors, retrying } from './mm2';
import { seqOf } from './seq-clients';
import { eventually, kafka, readUntil, sleep, stack, uniqueId } from './stack';

/**
 * The set-up the mirror-pair end-to-end tests share: clusters A and B with their
 * clients and admins, the topics a test creates, the flows it deploys on the shared
 * Connect workers, and the cleanup of all of it (connectors, groups, topics) after.
 */

export type Cluster = 'A' | 'B';
type ConnectName = 'connect-a' | 'connect-b';

/** 1 s refreshes and emissions: the tests wait on MM2, not on its defaults. */
export const FAST_INTERVALS = { refreshTopicsSeconds: 1, refreshGroupsSeconds: 1, emitCheckpointsSeconds: 1, emitHeartbeatsSeconds: 1 };
/** FAST_INTERVALS with topic and group refreshes every 2 s. */
export const TWO_SECOND_REFRESH = { ...FAST_INTERVALS, refreshTopicsSeconds: 2, refreshGroupsSeconds: 2 };

export interface PairTopic {
  topic: string;
  partitions: number;
  /** Where `before` creates it (default A). */
  on?: Cluster[];
  configEntries?: { name: string; value: string }[];
}

/** What `after` deletes besides what the pair created or deployed itself. */
export interface PairLeftovers {
  connectors?: Partial<Record<ConnectName, string[]>>;
  groups?: string[];
  topics?: Partial<Record<Cluster, string[]>>;
}

export interface MirrorPair {
  readonly kafkaA: Kafka;
  readonly kafkaB: Kafka;
  /** Connected in `before`, disconnected in `after`. */
  readonly adminA: Admin;
  readonly adminB: Admin;
  readonly connectA: ConnectClient;
  readonly connectB: ConnectClient;
  /** The production activities on the stack's registry. */
  readonly activities: Activities;
  /** Adds what `after` deletes (mirrors, topics a playbook creates, reverse flows). */
  leaves(leftovers: PairLeftovers): void;
  /** Runs `fn` first in `after` (stop producers and consumers before the topics go). */
  onCleanup(fn: () => Promise<unknown>): void;
  /** Deploys `plan` with deployMirrorFlow and waits until it runs; deleted after. */
  deployFlow(plan: ReplicationPlanInput & { name: string }): Promise<string[]>;
  /** PUTs `flow`'s three connectors on connect-b and waits until they run; deleted after. */
  putFlow(flow: MirrorFlow): Promise<string[]>;
}

/**
 * Registers `before`/`after` in the calling describe. `before` connects the admins and
 * creates `topics`; `after` runs the onCleanup steps, then deletes connectors, groups
 * (on both clusters) and topics. Register a test's own `before` after this call.
 */
export function useMirrorPair(name: string, options: { topics?: PairTopic[]; activities?: Activities } & PairLeftovers = {}): MirrorPair {
  const kafkaA = kafka('A');
  const kafkaB = kafka('B');
  const admins = { A: kafkaA.admin(), B: kafkaB.admin() };
  const connects = {
    'connect-a': new ConnectClient(stack.connect['connect-a'].url),
    'connect-b': new ConnectClient(stack.connect['connect-b'].url),
  };
  const cleanups: (() => Promise<unknown>)[] = [];
  const connectors: Record<ConnectName, string[]> = { 'connect-a': [], 'connect-b': [] };
  const groups: string[] = [];
  const topics: Record<Cluster, string[]> = { A: [], B: [] };
  const leaves = (l: PairLeftovers) => {
    for (const c of ['connect-a', 'connect-b'] as const) connectors[c].push(...(l.connectors?.[c] ?? []));
    groups.push(...(l.groups ?? []));
    for (const c of ['A', 'B'] as const) topics[c].push(...(l.topics?.[c] ?? []));
  };
  leaves(options);
  for (const t of options.topics ?? []) for (const c of t.on ?? ['A']) topics[c].push(t.topic);

  before(async () => {
    await Promise.all([admins.A.connect(), admins.B.connect()]);
    for (const c of ['A', 'B'] as const) {
      const created = (options.topics ?? []).filter((t) => (t.on ?? ['A']).includes(c));
      if (created.length === 0) continue;
      await admins[c].createTopics({
        topics: created.map((t) => ({ topic: t.topic, numPartitions: t.partitions, replicationFactor: 1, configEntries: t.configEntries })),
        waitForLeaders: true,
      });
    }
  });

  after(async () => {
    for (const fn of cleanups) await fn().catch(() => undefined);
    for (const c of ['connect-a', 'connect-b'] as const)
      await Promise.all(connectors[c].map((n) => connects[c].delete(n).catch(() => undefined)));
    if (groups.length > 0)
      await Promise.all([admins.A.deleteGroups(groups).catch(() => undefined), admins.B.deleteGroups(groups).catch(() => undefined)]);
    for (const c of ['A', 'B'] as const)
      if (topics[c].length > 0) await admins[c].deleteTopics({ topics: [...new Set(topics[c])] }).catch(() => undefined);
    await Promise.all([admins.A.disconnect(), admins.B.disconnect()]);
  });

  const activities = options.activities ?? createActivities(createDeps(stackRegistry(stack), `test-${name}`));
  return {
    kafkaA,
    kafkaB,
    adminA: admins.A,
    adminB: admins.B,
    connectA: connects['connect-a'],
    connectB: connects['connect-b'],
    activities,
    leaves,
    onCleanup: (fn) => void cleanups.push(fn),
    async deployFlow(plan) {
      const connect = (plan.connect ?? 'connect-b') as ConnectName;
      // Registered before the deploy: one that half-succeeds leaves connectors too.
      connectors[connect].push(...flowConnectors(plan).all);
      return deployFlowRunning(activities, plan, connects[connect]);
    },
    async putFlow(flow) {
      const configs = mirrorConnectors(flow);
      const names = Object.keys(configs);
      connectors['connect-b'].push(...names);
      for (const [n, config] of Object.entries(configs)) await retrying(`${n} created`, () => connects['connect-b'].putConfig(n, config));
      await connectorsInState(connects['connect-b'], names, 'RUNNING');
      return names;
    },
  };
}

/** A→B on connect-b, one topic group `main`, replication factor 1, 1 s intervals (Identity unless told). */
export function planAtoB(
  name: string,
  topics: string[],
  groups: string[],
  policy: ReplicationPlanInput['policy'] = { type: 'identity' },
): ReplicationPlanInput & { name: string } {
  return { ...rawPlan({ policy, topicGroups: [{ name: 'main', topics }], groups, intervals: FAST_INTERVALS }), name };
}

/** The MirrorFlow A→B (Default policy, 1 s intervals) of the tests that PUT connector configs themselves. */
export function mirrorFlowAtoB(name: string, topics: string[], groups: string[]): MirrorFlow {
  return {
    source: { alias: 'A', bootstrapServers: stack.kafka.A.bootstrap },
    target: { alias: 'B', bootstrapServers: stack.kafka.B.bootstrap },
    name,
    topics,
    groups,
    policy: 'default',
    replicationFactor: 1,
    intervalSeconds: 1,
  };
}

/** End offsets of `topic`, by partition. */
export async function endOffsets(admin: Admin, topic: string): Promise<number[]> {
  return (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition).map((o) => Number(o.high));
}

export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Writes seqs from..to-1 (`seq=<n>`, key `k-<n>`, partition n % partitions) with acks=all; `timestamp` (ms) on each if given. */
export async function produceSeq(
  client: Kafka,
  topic: string,
  from: number,
  to: number,
  partitions: number,
  timestamp?: number,
): Promise<void> {
  const producer = client.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const messages = [];
    for (let seq = from; seq < to; seq++)
      messages.push({
        key: `k-${seq}`,
        value: `seq=${seq}`,
        partition: seq % partitions,
        ...(timestamp ? { timestamp: String(timestamp) } : {}),
      });
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** Waits until the A→B source connector's committed offsets cover every record of `topics` (Connect flushes them every few seconds). */
export async function sourceCaughtUp(activities: Pick<Activities, 'replicationLag'>, source: string, topics: string[]): Promise<void> {
  await eventually(
    `${source} committed every record`,
    async () => {
      const lag = await activities.replicationLag({ connect: 'connect-b', connectors: [source], source: 'A', topics });
      return lag.total === '0' ? true : undefined;
    },
    60_000,
    1000,
  );
}

/** Stops `names` on `connect` (retrying a rebalance) and waits until each is STOPPED. */
export async function stopFlow(connect: ConnectClient, names: string[]): Promise<void> {
  for (const n of names) await retrying(`${n} stopped`, () => connect.stop(n));
  await connectorsInState(connect, names, 'STOPPED', 60_000);
}

/** A planned failover A→B as the e2e tests start it: three gates of 5 minutes, 2 s of quiet; `o` adds or replaces fields. */
export function plannedFailoverInput(o: Partial<FailoverInput> & Pick<FailoverInput, 'forward' | 'topics' | 'groups'>): FailoverInput {
  return {
    source: 'A',
    target: 'B',
    mode: 'planned',
    requestedBy: 'alice',
    gates: {
      'stop-producers': { deadline: '5 minutes' },
      'consumers-cutover': { deadline: '5 minutes' },
      'producers-cutover': { deadline: '5 minutes' },
    },
    quietSeconds: 2,
    ...o,
  };
}

/** The `forward` field of a playbook input: the flow A→B on connect-b whose connectors `flowConnectors` names. */
export const forwardOn = (flow: { all: string[]; sources: string[] }) => ({
  connect: 'connect-b',
  connectors: flow.all,
  sourceConnectors: flow.sources,
});

/** The connector names of forward flow `forwardName` (one topic group `main`) and of its failback's reverse flow `reverseName`. */
export function cycleNames(forwardName: string, reverseName: string) {
  return {
    forwardName,
    reverseName,
    forwardSource: `${forwardName}-source-main`,
    forwardConnectors: [`${forwardName}-source-main`, `${forwardName}-checkpoint`, `${forwardName}-heartbeat`],
    reverseSource: `${reverseName}-source-failback`,
    reverseConnectors: [`${reverseName}-source-failback`, `${reverseName}-checkpoint`, `${reverseName}-heartbeat`],
  };
}

/** The failback B→A of a cycle's tests: reverse flow `reverseName` on connect-a, gates of 5 minutes; `o` adds or replaces fields. */
export function cycleFailbackInput(
  forward: { all: string[]; sources: string[] },
  reverseName: string,
  o: Partial<FailbackInput> & Pick<FailbackInput, 'topics' | 'groups' | 'seed'>,
): FailbackInput {
  const gate = { deadline: '5 minutes' };
  return {
    primary: 'A',
    dr: 'B',
    forward: forwardOn(forward),
    reverse: { connect: 'connect-a', name: reverseName, replicationFactor: 1, intervals: FAST_INTERVALS },
    policy: 'identity',
    requestedBy: 'tester',
    gates: { 'consumers-cutover': gate, 'stop-producers': gate, 'producers-cutover': gate },
    lagThreshold: 1_000,
    catchUpTimeoutSeconds: 120,
    quietSeconds: 2,
    ...o,
  };
}

/**
 * A Default-policy flow `from`→other on the other side's Connect, `before` seqs copied, then
 * its source connector stopped and seqs before..total-1 written: lag total − before. Returns
 * the source connector and the mirror topic.
 */
export async function flowWithLag(
  pair: MirrorPair,
  o: { from: Cluster; name: string; topic: string; partitions: number; before: number; total: number },
): Promise<{ source: string; mirrored: string }> {
  const to = o.from === 'A' ? 'B' : 'A';
  const connect = o.from === 'A' ? pair.connectB : pair.connectA;
  const client = o.from === 'A' ? pair.kafkaA : pair.kafkaB;
  const mirrored = `${o.from}.${o.topic}`;
  const [source] = await pair.deployFlow({
    source: o.from,
    target: to,
    connect: o.from === 'A' ? 'connect-b' : 'connect-a',
    name: o.name,
    policy: { type: 'default' },
    topicGroups: [{ name: 'main', topics: [o.topic] }],
    replicationFactor: 1,
  });
  await produceSeq(client, o.topic, 0, o.before, o.partitions);
  const admin = to === 'A' ? pair.adminA : pair.adminB;
  await eventually(
    `the first records on ${to}`,
    async () => (sum(await endOffsets(admin, mirrored).catch(() => [0])) === o.before ? true : undefined),
    90_000,
  );
  await retrying('the source stopped', () => connect.stop(source!), 90_000);
  await connectorsInState(connect, [source!], 'STOPPED', 60_000);
  await produceSeq(client, o.topic, o.before, o.total, o.partitions);
  return { source: source!, mirrored };
}

/**
 * A cycle's forward flow up to the failover: deployed A→B (Identity unless told), seqs
 * 0..forward-1 written to A's `topic`, copied to B's `forwardTopic` (default `topic`) and
 * committed by the source, then the flow stopped. Returns B's end offsets of `topic` then.
 */
export async function forwardUntilFailover(
  pair: MirrorPair,
  f: { forwardName: string; forwardSource: string; forwardConnectors: string[]; topic: string; group: string },
  o: { forward: number; partitions: number; policy?: 'identity' | 'default'; forwardTopic?: string },
): Promise<number[]> {
  const mirror = o.forwardTopic ?? f.topic;
  await deployFlowRunning(pair.activities, planAtoB(f.forwardName, [f.topic], [f.group], { type: o.policy ?? 'identity' }), pair.connectB);
  await produceSeq(pair.kafkaA, f.topic, 0, o.forward, o.partitions);
  await eventually(
    `B has the ${o.forward} forward records in ${mirror}`,
    async () =>
      (await pair.adminB.listTopics()).includes(mirror) && sum(await endOffsets(pair.adminB, mirror)) === o.forward ? true : undefined,
    120_000,
  );
  await sourceCaughtUp(pair.activities, f.forwardSource, [f.topic]);
  await stopFlow(pair.connectB, f.forwardConnectors);
  return endOffsets(pair.adminB, f.topic);
}

/** `topic` on `cluster` holds seqs 0..total-1 once each, and no more records a moment later. */
export async function assertSeqsOnce(pair: MirrorPair, cluster: Cluster, topic: string, total: number, why: string): Promise<void> {
  const records = await readUntil(cluster === 'A' ? pair.kafkaA : pair.kafkaB, topic, (r) => r.length >= total);
  await sleep(2_000);
  assert.equal(sum(await endOffsets(cluster === 'A' ? pair.adminA : pair.adminB, topic)), total, why);
  assert.deepEqual(
    records.map((r) => seqOf(r.value)).sort((a, b) => a - b),
    [...Array(total).keys()],
  );
}

/** The `forward` field of a playbook input for a MirrorFlow A→B PUT on connect-b (putFlow). */
export function forwardOfFlow(flow: MirrorFlow): { connect: string; connectors: string[]; sourceConnectors: string[] } {
  return { connect: 'connect-b', connectors: Object.keys(mirrorConnectors(flow)), sourceConnectors: [`${flow.name}-source`] };
}

/**
 * One topic `<prefix>-<id>` on A, mirrored to B's `A.<topic>` by a flow of the same name
 * PUT on connect-b in `before` (group `<prefix>-svc-<id>` checkpointed), on a mirror pair.
 */
export function useMirroredTopic(prefix: string, partitions: number) {
  const id = uniqueId();
  const topic = `${prefix}-${id}`;
  const group = `${prefix}-svc-${id}`;
  const mirrored = `A.${topic}`;
  const flow = mirrorFlowAtoB(topic, [topic], [group]);
  const pair = useMirrorPair(`${prefix}-e2e`, { topics: [{ topic, partitions }], groups: [group] });
  pair.leaves({ topics: { B: [mirrored, topic] } });
  before(async () => {
    await pair.putFlow(flow);
  });
  return { id, topic, group, mirrored, flow, pair, forward: forwardOfFlow(flow) };
}

/**
 * `group` reads every partition of `topic` up to (not including) `upTo[p]` and commits
 * `upTo[p]`: a consumer group at a known position. Returns the sequence number of the
 * last record it read per partition (records written by `produceSeq`).
 */
export async function consumeAndCommit(client: Kafka, group: string, topic: string, upTo: number[]): Promise<Map<number, number>> {
  const last = new Map<number, { offset: number; seq: number }>();
  const consumer = client.consumer({ groupId: group, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const offset = Number(message.offset);
        if (offset < upTo[partition]!) last.set(partition, { offset, seq: seqOf(message.value) });
      },
    });
    // A partition may finish before the others: wait for every partition's last offset.
    await eventually(`${group} read ${topic} up to ${upTo.join(',')}`, async () =>
      upTo.every((n, p) => n === 0 || last.get(p)?.offset === n - 1) ? true : undefined,
    );
    await consumer.commitOffsets(upTo.map((offset, partition) => ({ topic, partition, offset: String(offset) })));
  } finally {
    await consumer.disconnect();
  }
  return new Map([...last].map(([p, r]) => [p, r.seq]));
}
