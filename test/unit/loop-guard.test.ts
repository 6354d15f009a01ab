import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MirrorFlow } from '../../src/mm2/connector-configs';
import {
  checkReplicationLoop,
  flowSpecFromMirrorFlow,
  flowSpecFromPlan,
  sourceConnectorFromConfig,
  type FoundSourceConnector,
  type NewFlow,
} from '../../src/mm2/loop-guard';
import { parseReplicationPlan } from '../../src/model/replication-plan';

const IDENTITY = 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy';
const DEFAULT = 'org.apache.kafka.connect.mirror.DefaultReplicationPolicy';

function newFlow(overrides: Partial<NewFlow> = {}): NewFlow {
  return {
    name: 'mm2-A-to-B',
    connect: 'connect-b',
    connectors: ['mm2-A-to-B-source-core', 'mm2-A-to-B-checkpoint', 'mm2-A-to-B-heartbeat'],
    source: 'A',
    target: 'B',
    policy: { type: 'identity' },
    include: ['orders', 'payments\\..*'],
    ...overrides,
  };
}

function found(
  name: string,
  config: Record<string, string>,
  state = 'RUNNING',
  connect = name.includes('B-to-A') ? 'connect-a' : 'connect-b',
): FoundSourceConnector {
  const c = sourceConnectorFromConfig(
    connect,
    name,
    { 'connector.class': 'org.apache.kafka.connect.mirror.MirrorSourceConnector', ...config },
    state,
  );
  assert.ok(c, 'a MirrorSourceConnector');
  return c;
}

const reverse = (topics: string, policy = IDENTITY, state = 'RUNNING', extra: Record<string, string> = {}) =>
  found(
    'mm2-B-to-A-source-core',
    { 'source.cluster.alias': 'B', 'target.cluster.alias': 'A', 'replication.policy.class': policy, topics, ...extra },
    state,
  );

const topics = {
  A: ['orders', 'payments.eu', 'payments.us', 'other', 'heartbeats', 'B.heartbeats'],
  B: ['orders', 'payments.eu', 'A.heartbeats', 'heartbeats'],
};

describe('loop guard: one cluster under two aliases', () => {
  // P and A are one Kafka cluster, D and B the other: the registry names each twice.
  const clusterIds = { A: 'id-a', P: 'id-a', B: 'id-b', D: 'id-b' };
  const other = newFlow({ name: 'mm2-P-to-D', source: 'P', target: 'D', connectors: ['mm2-P-to-D-source-core'], include: ['unrelated'] });

  it('refuses a flow whose reverse runs between the same clusters under other aliases, whatever the topics', () => {
    const r = checkReplicationLoop({ flow: other, found: [reverse('orders', DEFAULT)], topics: { P: topics.A, D: topics.B }, clusterIds });
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.kind === 'loop');
    assert.equal(r.conflicts[0]!.otherAliases, 'B→A');
    assert.match(
      r.message,
      /reverse connector 'mm2-B-to-A-source-core' on connect-a \(B→A, DefaultReplicationPolicy, RUNNING\): the same two Kafka clusters under other aliases \(B→A\)/,
    );
    assert.match(r.message, /names growing \(P\.B\.P\.heartbeats…\); deploy this flow as A→B/);
  });

  it('compares by alias when the cluster IDs are unknown, and lets a STOPPED reverse or same aliases through', () => {
    assert.equal(checkReplicationLoop({ flow: other, found: [reverse('orders', DEFAULT)], topics: { P: topics.A, D: topics.B } }).ok, true);
    assert.equal(
      checkReplicationLoop({
        flow: other,
        found: [reverse('orders', DEFAULT, 'STOPPED')],
        topics: { P: topics.A, D: topics.B },
        clusterIds,
      }).ok,
      true,
    );
    const sameAliases = newFlow({ policy: { type: 'default' }, include: ['unrelated'] });
    assert.equal(checkReplicationLoop({ flow: sameAliases, found: [reverse('orders', DEFAULT)], topics, clusterIds }).ok, true);
  });

  it('sees a second alias of the source copying the same topics to the same target as a double replication', () => {
    const twin = found('mm2-P-to-D-source-core', {
      'source.cluster.alias': 'P',
      'target.cluster.alias': 'D',
      'replication.policy.class': IDENTITY,
      topics: 'orders',
    });
    const r = checkReplicationLoop({ flow: newFlow(), found: [twin], topics, clusterIds });
    assert.ok(!r.ok && r.kind === 'double-replication', JSON.stringify(r));
  });
});

describe('loop guard: reverse flows', () => {
  it('refuses an Identity flow whose Identity reverse flow is running for overlapping topics, naming topics and connector', () => {
    const r = checkReplicationLoop({ flow: newFlow(), found: [reverse('orders,payments\\.eu,unrelated')], topics });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.kind, 'loop');
    assert.deepEqual(r.conflicts[0]!.topics, ['orders', 'payments.eu']);
    assert.match(r.message, /reverse connector 'mm2-B-to-A-source-core' on connect-a \(B→A, IdentityReplicationPolicy, RUNNING\)/);
    assert.match(r.message, /topics orders, payments\.eu/);
    assert.doesNotMatch(r.message, /heartbeats/, 'heartbeats never loop (they keep Default naming)');
  });

  it('catches topics that do not exist yet through identical allowlist entries and literal names', () => {
    const none = { A: [], B: [] };
    const regex = checkReplicationLoop({ flow: newFlow({ include: ['future-.*'] }), found: [reverse('future-.*')], topics: none });
    assert.equal(regex.ok, false);
    if (!regex.ok) assert.deepEqual(regex.conflicts[0]!.entries, ['future-.*']);
    const literal = checkReplicationLoop({ flow: newFlow({ include: ['new-topic'] }), found: [reverse('new-.*')], topics: none });
    assert.equal(literal.ok, false, 'the literal name is matched by the reverse regex');
    if (!literal.ok) assert.deepEqual(literal.conflicts[0]!.topics, ['new-topic']);
  });

  it('lets a reverse flow through when it is STOPPED, or when the topics do not overlap', () => {
    assert.deepEqual(checkReplicationLoop({ flow: newFlow(), found: [reverse('orders', IDENTITY, 'STOPPED')], topics }), {
      ok: true,
      checked: 0,
    });
    assert.deepEqual(checkReplicationLoop({ flow: newFlow(), found: [reverse('other')], topics }), { ok: true, checked: 1 });
  });

  it('counts PAUSED, FAILED and UNASSIGNED reverse connectors as active (they can run again any time)', () => {
    for (const state of ['PAUSED', 'FAILED', 'UNASSIGNED', 'UNKNOWN']) {
      assert.equal(checkReplicationLoop({ flow: newFlow(), found: [reverse('orders', IDENTITY, state)], topics }).ok, false, state);
    }
  });

  it('lets two Default flows run both ways: MM2 skips A.* topics on B as cycles', () => {
    const r = checkReplicationLoop({
      flow: newFlow({ policy: { type: 'default' }, include: ['.*'] }),
      found: [reverse('.*', DEFAULT)],
      topics: { A: ['orders', 'B.orders'], B: ['orders', 'A.orders'] },
    });
    assert.deepEqual(r, { ok: true, checked: 1 });
  });

  it('refuses mixed policies when topic names would grow without end (A.orders → A.A.orders → ...)', () => {
    const r = checkReplicationLoop({
      flow: newFlow({ policy: { type: 'default' }, include: ['.*'] }),
      found: [reverse('.*', IDENTITY)],
      topics: { A: ['orders'], B: [] },
    });
    assert.equal(r.ok, false);
    if (!r.ok) assert.ok(r.conflicts[0]!.topics.includes('orders'));
  });

  it('lets a one-time bounce into another topic through (Identity forward, Default reverse, literal allowlists)', () => {
    // orders (A) → orders (B) → B.orders (A): B.orders is not in the forward allowlist, so it stops there.
    const r = checkReplicationLoop({
      flow: newFlow({ include: ['orders'] }),
      found: [reverse('orders', DEFAULT)],
      topics: { A: ['orders'], B: ['orders'] },
    });
    assert.equal(r.ok, true);
  });

  it('treats an unknown policy class as unable to detect cycles', () => {
    const r = checkReplicationLoop({
      flow: newFlow({ policy: { type: 'default' }, include: ['.*'] }),
      found: [reverse('.*', 'com.example.MyPolicy')],
      topics: { A: ['orders'], B: ['A.orders'] },
    });
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.message, /com\.example\.MyPolicy \(not known to detect cycles\)/);
  });

  it('refuses (cannot rule out a loop) when a reverse allowlist cannot be evaluated', () => {
    const r = checkReplicationLoop({ flow: newFlow(), found: [reverse('(?i)orders')], topics });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.match(r.message, /cannot be evaluated/);
      assert.ok(r.conflicts[0]!.unevaluable);
    }
  });

  it('ignores connectors between other clusters and the flow itself', () => {
    const other = found('mm2-C-to-A-source-x', {
      'source.cluster.alias': 'C',
      'target.cluster.alias': 'A',
      'replication.policy.class': IDENTITY,
      topics: 'orders',
    });
    const self = found('mm2-A-to-B-source-core', {
      'source.cluster.alias': 'A',
      'target.cluster.alias': 'B',
      'replication.policy.class': IDENTITY,
      topics: 'orders',
    });
    assert.deepEqual(checkReplicationLoop({ flow: newFlow(), found: [other, self], topics }), { ok: true, checked: 0 });
  });

  it("honours a reverse connector's topics.exclude", () => {
    const r = checkReplicationLoop({
      flow: newFlow({ include: ['orders'] }),
      found: [reverse('.*', IDENTITY, 'RUNNING', { 'topics.exclude': 'orders' })],
      topics,
    });
    assert.equal(r.ok, true);
  });
});

describe('loop guard: double replication in the same direction', () => {
  const same = (topicsList: string, name = 'legacy-A-to-B-source', state = 'RUNNING') =>
    found(
      name,
      { 'source.cluster.alias': 'A', 'target.cluster.alias': 'B', 'replication.policy.class': DEFAULT, topics: topicsList },
      state,
    );

  it('refuses another running connector that copies the same topics, naming it', () => {
    const r = checkReplicationLoop({ flow: newFlow({ policy: { type: 'default' } }), found: [same('orders,x')], topics });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.kind, 'double-replication');
    assert.deepEqual(r.conflicts[0]!.topics, ['orders']);
    assert.match(r.message, /'legacy-A-to-B-source' on connect-b \(RUNNING\) already copies topics orders/);
  });

  it('names a leftover connector of a renamed group of the same flow', () => {
    const r = checkReplicationLoop({ flow: newFlow(), found: [same('payments\\..*', 'mm2-A-to-B-source-old')], topics });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.deepEqual(r.conflicts[0]!.topics, ['payments.eu', 'payments.us']);
      assert.deepEqual(r.conflicts[0]!.entries, ['payments\\..*']);
    }
  });

  it('lets disjoint or STOPPED same-direction connectors through', () => {
    assert.equal(checkReplicationLoop({ flow: newFlow(), found: [same('other')], topics }).ok, true);
    assert.equal(checkReplicationLoop({ flow: newFlow(), found: [same('orders', 'x', 'STOPPED')], topics }).ok, true);
  });
});

describe('loop guard inputs', () => {
  it('reads MirrorSourceConnector configs only, with MM2 defaults for missing keys', () => {
    assert.equal(
      sourceConnectorFromConfig('c', 'n', { 'connector.class': 'org.apache.kafka.connect.mirror.MirrorCheckpointConnector' }, 'RUNNING'),
      undefined,
    );
    const c = sourceConnectorFromConfig(
      'c',
      'n',
      { 'connector.class': 'org.apache.kafka.connect.mirror.MirrorSourceConnector' },
      'RUNNING',
    )!;
    assert.deepEqual(c.flow, {
      source: 'source',
      target: 'target',
      policy: { type: 'default', separator: undefined },
      include: ['.*'],
      exclude: undefined,
    });
  });

  it('builds a flow spec from a plan (union of groups) and from a legacy MirrorFlow', () => {
    const parsed = parseReplicationPlan({
      source: 'A',
      target: 'B',
      connect: 'connect-b',
      policy: { type: 'identity' },
      topicGroups: [
        { name: 'a', topics: ['x'] },
        { name: 'b', topics: ['y.*'] },
      ],
    });
    assert.ok(parsed.ok);
    if (parsed.ok) assert.deepEqual(flowSpecFromPlan(parsed.plan).include, ['x', 'y.*']);
    const legacy: MirrorFlow = {
      source: { alias: 'A', bootstrapServers: 'a:1' },
      target: { alias: 'B', bootstrapServers: 'b:1' },
      name: 'f',
      topics: ['t'],
      groups: [],
      policy: 'identity',
      replicationFactor: 1,
      intervalSeconds: 1,
    };
    assert.deepEqual(flowSpecFromMirrorFlow(legacy).policy, { type: 'identity' });
  });
});
