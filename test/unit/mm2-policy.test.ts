import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isCycle,
  KAFKA_DR_TOPICS_EXCLUDE,
  parseConnectList,
  policyTypeOfClass,
  replicationPolicy,
  shouldReplicateTopic,
  type PolicySpec,
} from '../../src/mm2/policy';

/**
 * What Kafka 4.1.1's own classes answer (DefaultReplicationPolicy / IdentityReplicationPolicy
 * configured as in each `spec`, run from the stack's connect-mirror-client jar with a small
 * Java harness). Per topic: [topicSource, upstreamTopic, originalTopic, isHeartbeatsTopic,
 * isCheckpointsTopic, isMM2InternalTopic, isInternalTopic]. `remote`: formatRemoteTopic('A', x)
 * for x = orders, heartbeats, B.heartbeats. `internal`: offsetSyncsTopic('B'), checkpointsTopic('A').
 * Java's quirks are kept on purpose: String.split drops trailing empty parts but keeps a
 * leading one ('.orders' comes from cluster ''), Identity treats anything ending in
 * 'heartbeats' as a heartbeats topic, and Kafka 4.1 no longer calls `foo.internal` internal.
 */
type Row = [string | null, string | null, string, boolean, boolean, boolean, boolean];
/** Every topic name asked of every policy. */
const TOPICS = [
  'orders',
  'A.orders',
  'B.A.orders',
  'A_orders',
  'A..orders',
  'A.',
  '.orders',
  'A.heartbeats',
  'heartbeats',
  'B_A_orders',
  'my.topic',
  'A-orders',
  'mm2-offset-syncs.B.internal',
  'mm2-offset-syncs_B_internal',
  'A.checkpoints.internal',
  'A_checkpoints_internal',
  '__consumer_offsets',
  'connect-configs',
  'foo-internal',
  'foo.internal',
  'mm2-configs.A.internal',
  'A__orders',
  'A__',
  'xheartbeats',
  'A.A.orders',
  '',
];
/**
 * Per policy, the rows that differ from a plain topic: for Default [null, null, topic, false ×4]
 * (not remote, nothing special), for Identity [sourceAlias ?? null, topic, topic, false ×4].
 */
const GOLDEN: Record<
  string,
  { spec: PolicySpec; sourceAlias?: string; remote: [string, string, string]; internal: [string, string]; differs: Record<string, Row> }
> = {
  default: {
    spec: { type: 'default' },
    remote: ['A.orders', 'A.heartbeats', 'A.B.heartbeats'],
    internal: ['mm2-offset-syncs.B.internal', 'A.checkpoints.internal'],
    differs: {
      'A.orders': ['A', 'orders', 'orders', false, false, false, false],
      'B.A.orders': ['B', 'A.orders', 'orders', false, false, false, false],
      'A..orders': ['A', '.orders', 'orders', false, false, false, false],
      '.orders': ['', 'orders', 'orders', false, false, false, true],
      'A.heartbeats': ['A', 'heartbeats', 'heartbeats', true, false, false, false],
      heartbeats: [null, null, 'heartbeats', true, false, false, false],
      'my.topic': ['my', 'topic', 'topic', false, false, false, false],
      'mm2-offset-syncs.B.internal': ['mm2-offset-syncs', 'B.internal', 'internal', false, false, true, true],
      'A.checkpoints.internal': ['A', 'checkpoints.internal', 'internal', false, true, true, true],
      __consumer_offsets: [null, null, '__consumer_offsets', false, false, false, true],
      'foo.internal': ['foo', 'internal', 'internal', false, false, false, false],
      'mm2-configs.A.internal': ['mm2-configs', 'A.internal', 'internal', false, false, true, true],
      'A.A.orders': ['A', 'A.orders', 'orders', false, false, false, false],
    },
  },
  default_: {
    spec: { type: 'default', separator: '_' },
    remote: ['A_orders', 'A_heartbeats', 'A_B.heartbeats'],
    internal: ['mm2-offset-syncs_B_internal', 'A_checkpoints_internal'],
    differs: {
      A_orders: ['A', 'orders', 'orders', false, false, false, false],
      '.orders': [null, null, '.orders', false, false, false, true],
      heartbeats: [null, null, 'heartbeats', true, false, false, false],
      B_A_orders: ['B', 'A_orders', 'orders', false, false, false, false],
      'mm2-offset-syncs_B_internal': ['mm2-offset-syncs', 'B_internal', 'internal', false, false, true, true],
      A_checkpoints_internal: ['A', 'checkpoints_internal', 'internal', false, true, true, true],
      __consumer_offsets: ['', '_consumer_offsets', 'offsets', false, false, false, true],
      A__orders: ['A', '_orders', 'orders', false, false, false, false],
    },
  },
  default__: {
    spec: { type: 'default', separator: '__' },
    remote: ['A__orders', 'A__heartbeats', 'A__B.heartbeats'],
    internal: ['mm2-offset-syncs__B__internal', 'A__checkpoints__internal'],
    differs: {
      '.orders': [null, null, '.orders', false, false, false, true],
      heartbeats: [null, null, 'heartbeats', true, false, false, false],
      __consumer_offsets: ['', 'consumer_offsets', 'consumer_offsets', false, false, false, true],
      A__orders: ['A', 'orders', 'orders', false, false, false, false],
    },
  },
  default_noint: {
    spec: { type: 'default', separator: '_', internalTopicSeparator: false },
    remote: ['A_orders', 'A_heartbeats', 'A_B.heartbeats'],
    internal: ['mm2-offset-syncs.B.internal', 'A.checkpoints.internal'],
    differs: {
      A_orders: ['A', 'orders', 'orders', false, false, false, false],
      '.orders': [null, null, '.orders', false, false, false, true],
      heartbeats: [null, null, 'heartbeats', true, false, false, false],
      B_A_orders: ['B', 'A_orders', 'orders', false, false, false, false],
      'mm2-offset-syncs.B.internal': [null, null, 'mm2-offset-syncs.B.internal', false, false, true, true],
      'mm2-offset-syncs_B_internal': ['mm2-offset-syncs', 'B_internal', 'internal', false, false, false, false],
      'A.checkpoints.internal': [null, null, 'A.checkpoints.internal', false, true, true, true],
      A_checkpoints_internal: ['A', 'checkpoints_internal', 'internal', false, false, false, false],
      __consumer_offsets: ['', '_consumer_offsets', 'offsets', false, false, false, true],
      'mm2-configs.A.internal': [null, null, 'mm2-configs.A.internal', false, false, true, true],
      A__orders: ['A', '_orders', 'orders', false, false, false, false],
    },
  },
  identity: {
    spec: { type: 'identity' },
    remote: ['orders', 'A.heartbeats', 'A.B.heartbeats'],
    internal: ['mm2-offset-syncs.B.internal', 'A.checkpoints.internal'],
    differs: {
      '.orders': [null, '.orders', '.orders', false, false, false, true],
      'A.heartbeats': ['A', 'heartbeats', 'heartbeats', true, false, false, false],
      heartbeats: [null, null, 'heartbeats', true, false, false, false],
      'mm2-offset-syncs.B.internal': [null, 'mm2-offset-syncs.B.internal', 'mm2-offset-syncs.B.internal', false, false, true, true],
      'A.checkpoints.internal': [null, 'A.checkpoints.internal', 'A.checkpoints.internal', false, true, true, true],
      __consumer_offsets: [null, '__consumer_offsets', '__consumer_offsets', false, false, false, true],
      'mm2-configs.A.internal': [null, 'mm2-configs.A.internal', 'mm2-configs.A.internal', false, false, true, true],
      xheartbeats: [null, null, 'xheartbeats', false, false, false, false],
    },
  },
  identityA: {
    spec: { type: 'identity' },
    sourceAlias: 'A',
    remote: ['orders', 'A.heartbeats', 'A.B.heartbeats'],
    internal: ['mm2-offset-syncs.B.internal', 'A.checkpoints.internal'],
    differs: {
      '.orders': ['A', '.orders', '.orders', false, false, false, true],
      'A.heartbeats': ['A', 'heartbeats', 'heartbeats', true, false, false, false],
      heartbeats: [null, null, 'heartbeats', true, false, false, false],
      'mm2-offset-syncs.B.internal': ['A', 'mm2-offset-syncs.B.internal', 'mm2-offset-syncs.B.internal', false, false, true, true],
      'A.checkpoints.internal': ['A', 'A.checkpoints.internal', 'A.checkpoints.internal', false, true, true, true],
      __consumer_offsets: ['A', '__consumer_offsets', '__consumer_offsets', false, false, false, true],
      'mm2-configs.A.internal': ['A', 'mm2-configs.A.internal', 'mm2-configs.A.internal', false, false, true, true],
      xheartbeats: [null, null, 'xheartbeats', false, false, false, false],
    },
  },
  identityA_: {
    spec: { type: 'identity', separator: '_' },
    sourceAlias: 'A',
    remote: ['orders', 'A_heartbeats', 'A_B.heartbeats'],
    internal: ['mm2-offset-syncs_B_internal', 'A_checkpoints_internal'],
    differs: {
      '.orders': ['A', '.orders', '.orders', false, false, false, true],
      'A.heartbeats': [null, null, 'A.heartbeats', false, false, false, false],
      heartbeats: [null, null, 'heartbeats', true, false, false, false],
      'mm2-offset-syncs_B_internal': ['A', 'mm2-offset-syncs_B_internal', 'mm2-offset-syncs_B_internal', false, false, true, true],
      A_checkpoints_internal: ['A', 'A_checkpoints_internal', 'A_checkpoints_internal', false, true, true, true],
      __consumer_offsets: ['A', '__consumer_offsets', '__consumer_offsets', false, false, false, true],
      xheartbeats: [null, null, 'xheartbeats', false, false, false, false],
    },
  },
};
const plainRow = (g: { spec: PolicySpec; sourceAlias?: string }, topic: string): Row =>
  g.spec.type === 'identity'
    ? [g.sourceAlias ?? null, topic, topic, false, false, false, false]
    : [null, null, topic, false, false, false, false];

describe('replication policies match Kafka 4.1.1', () => {
  for (const [label, g] of Object.entries(GOLDEN)) {
    it(`${label}: remote names, internal topics and every topic's source/upstream/original/kind`, () => {
      const p = replicationPolicy(g.spec, g.sourceAlias);
      assert.deepEqual(
        [p.formatRemoteTopic('A', 'orders'), p.formatRemoteTopic('A', 'heartbeats'), p.formatRemoteTopic('A', 'B.heartbeats')],
        g.remote,
      );
      assert.deepEqual([p.offsetSyncsTopic('B'), p.checkpointsTopic('A')], g.internal);
      assert.equal(p.heartbeatsTopic(), 'heartbeats');
      for (const topic of TOPICS) {
        const want = g.differs[topic] ?? plainRow(g, topic);
        const got: Row = [
          p.topicSource(topic) ?? null,
          p.upstreamTopic(topic) ?? null,
          p.originalTopic(topic),
          p.isHeartbeatsTopic(topic),
          p.isCheckpointsTopic(topic),
          p.isMM2InternalTopic(topic),
          p.isInternalTopic(topic),
        ];
        assert.deepEqual(got, want, `${label} '${topic}'`);
      }
    });
  }

  it('names the Java classes MM2 instantiates', () => {
    assert.equal(replicationPolicy({ type: 'default' }).className, 'org.apache.kafka.connect.mirror.DefaultReplicationPolicy');
    assert.equal(replicationPolicy({ type: 'identity' }).className, 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy');
    assert.equal(policyTypeOfClass(undefined), 'default', 'no class configured: MM2 uses the Default policy');
    assert.equal(policyTypeOfClass('org.apache.kafka.connect.mirror.IdentityReplicationPolicy'), 'identity');
    assert.equal(policyTypeOfClass('com.example.CustomPolicy'), undefined);
  });

  it('refuses an empty separator', () => {
    assert.throws(() => replicationPolicy({ type: 'default', separator: '' }), /cannot be empty/);
  });

  it('round-trips remote names through several hops with a multi-character separator', () => {
    const p = replicationPolicy({ type: 'default', separator: '--' });
    const twice = p.formatRemoteTopic('B', p.formatRemoteTopic('A', 'orders--eu'));
    assert.equal(twice, 'B--A--orders--eu');
    assert.equal(p.topicSource(twice), 'B');
    assert.equal(p.upstreamTopic(twice), 'A--orders--eu');
    // A topic that contains the separator is ambiguous by design: MM2 reads 'orders' as a cluster.
    assert.equal(p.originalTopic(twice), 'eu');
  });
});

describe('cycles and topic selection (MirrorSourceConnector.isCycle / shouldReplicateTopic)', () => {
  const def = replicationPolicy({ type: 'default' }, 'B');
  const idB = replicationPolicy({ type: 'identity' }, 'B');

  it('Default detects a topic that came from the target, through any number of hops', () => {
    assert.equal(isCycle(def, 'A.orders', 'A'), true);
    assert.equal(isCycle(def, 'C.A.orders', 'A'), true, 'A → C → B: still from A');
    assert.equal(isCycle(def, 'C.orders', 'A'), false);
    assert.equal(isCycle(def, 'orders', 'A'), false);
  });

  it('Identity never sees a cycle except for heartbeats', () => {
    assert.equal(isCycle(idB, 'orders', 'A'), false);
    assert.equal(isCycle(idB, 'A.orders', 'A'), false, 'Identity names are not prefixes');
    assert.equal(isCycle(idB, 'A.heartbeats', 'A'), true, 'heartbeats keep Default naming, so they do not loop');
  });

  it('selects by allowlist (whole-name regex), excludes, internal topics and cycles', () => {
    const filter = { include: ['orders', 'pay\\..*'], exclude: KAFKA_DR_TOPICS_EXCLUDE };
    const sel = (p: typeof def, t: string) => shouldReplicateTopic(p, t, filter, 'A');
    assert.equal(sel(def, 'orders'), true);
    assert.equal(sel(def, 'orders-eu'), false, 'entries match the whole name');
    assert.equal(sel(def, 'pay.eu'), true);
    assert.equal(sel(def, 'payXeu'), false, 'an escaped dot is a dot');
    assert.equal(shouldReplicateTopic(def, 'A.orders', { include: ['.*'] }, 'A'), false, 'cycle');
    assert.equal(shouldReplicateTopic(idB, 'A.orders', { include: ['.*'] }, 'A'), true, 'Identity copies it back');
    assert.equal(shouldReplicateTopic(def, '__consumer_offsets', { include: ['.*'], exclude: [] }, 'A'), false, 'internal');
    assert.equal(shouldReplicateTopic(def, 'mm2-offset-syncs.A.internal', { include: ['.*'] }, 'A'), false);
  });

  it("keeps Connect's storage topics out of kafka-dr's excludes, not MM2's", () => {
    const p = replicationPolicy({ type: 'default' }, 'A');
    for (const t of ['connect-configs', 'connect-b-offsets', 'connect-cluster-status', 'app-internal']) {
      assert.equal(shouldReplicateTopic(p, t, { include: ['.*'] }, 'B'), true, `${t} passes MM2's own default exclude`);
      assert.equal(
        shouldReplicateTopic(p, t, { include: ['.*'], exclude: KAFKA_DR_TOPICS_EXCLUDE }, 'B'),
        false,
        `${t} is excluded by kafka-dr`,
      );
    }
    assert.equal(shouldReplicateTopic(p, 'payments-status', { include: ['.*'], exclude: KAFKA_DR_TOPICS_EXCLUDE }, 'B'), true);
  });

  it('leaves heartbeats out unless asked (MM2 copies them whatever the allowlist)', () => {
    assert.equal(shouldReplicateTopic(def, 'heartbeats', { include: ['orders'] }, 'A'), false);
    assert.equal(shouldReplicateTopic(def, 'heartbeats', { include: ['orders'] }, 'A', { includeHeartbeats: true }), true);
    assert.equal(shouldReplicateTopic(def, 'A.heartbeats', { include: ['.*'] }, 'A', { includeHeartbeats: true }), false, 'cycle');
  });

  it('refuses an allowlist entry that does not compile', () => {
    assert.throws(() => shouldReplicateTopic(def, 'x', { include: ['orders['] }, 'A'), /does not compile/);
  });

  it('parses Connect LIST values as ConfigDef does', () => {
    assert.deepEqual(parseConnectList(' a , b,,c '), ['a', 'b', 'c']);
    assert.deepEqual(parseConnectList(''), []);
    assert.deepEqual(parseConnectList(undefined), []);
  });
});
