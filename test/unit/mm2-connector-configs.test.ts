import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  buildMirrorConnectors,
  clusterClientConfig,
  effectiveTuning,
  mirrorConnectors,
  PROFILE_TUNING,
  redactConnectorConfig,
  remoteTopicName,
  type MirrorFlow,
} from '../../src/mm2/connector-configs';
import { KAFKA_DR_TOPICS_EXCLUDE } from '../../src/mm2/policy';
import { parseReplicationPlan, planConnectorNames, type ReplicationPlan } from '../../src/model/replication-plan';
import type { ResolvedKafkaCluster } from '../../src/registry/load';
import { Secret } from '../../src/registry/secret';

const flow: MirrorFlow = {
  source: { alias: 'A', bootstrapServers: 'a:9092' },
  target: { alias: 'B', bootstrapServers: 'b:9092' },
  name: 'mm2-A-to-B',
  topics: ['orders', 'payments\\..*'],
  groups: ['orders-service'],
  policy: 'identity',
  replicationFactor: 3,
  intervalSeconds: 5,
};

describe('MM2 connector configs', () => {
  const configs = mirrorConnectors(flow);

  it('names the three connectors of a flow after it', () => {
    assert.deepEqual(Object.keys(configs), ['mm2-A-to-B-source', 'mm2-A-to-B-checkpoint', 'mm2-A-to-B-heartbeat']);
  });

  it('gives every connector of a flow the same aliases, clusters, policy and byte converters', () => {
    for (const [name, c] of Object.entries(configs)) {
      assert.equal(c['source.cluster.alias'], 'A', name);
      assert.equal(c['target.cluster.bootstrap.servers'], 'b:9092', name);
      assert.equal(c['replication.policy.class'], 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy', name);
      assert.equal(c['value.converter'], 'org.apache.kafka.connect.converters.ByteArrayConverter', name);
    }
  });

  it('lists topics and groups explicitly and leaves group offset sync to kafka-dr', () => {
    assert.equal(configs['mm2-A-to-B-source']!.topics, 'orders,payments\\..*');
    assert.equal(configs['mm2-A-to-B-checkpoint']!.groups, 'orders-service');
    assert.equal(configs['mm2-A-to-B-checkpoint']!['sync.group.offsets.enabled'], 'false');
    assert.equal(configs['mm2-A-to-B-source']!['offset.lag.max'], '0');
    assert.equal(configs['mm2-A-to-B-source']!['replication.factor'], '3');
  });

  it('names remote topics by policy', () => {
    assert.equal(remoteTopicName('default', 'A', 'orders'), 'A.orders');
    assert.equal(remoteTopicName('default', 'A', 'orders', '_'), 'A_orders');
    assert.equal(remoteTopicName('identity', 'A', 'orders'), 'orders');
  });
});

// ---------------------------------------------------------------------------------
// Replication plans and the plan-based builder.
// ---------------------------------------------------------------------------------

const basePlan = {
  source: 'A',
  target: 'B',
  connect: 'connect-b',
  policy: { type: 'default' },
  topicGroups: [
    { name: 'core', topics: ['orders', 'payments\\..*'] },
    { name: 'bulk', topics: ['clickstream'], profile: 'high-throughput', tuning: { batchSize: 1_048_576, tasksMax: 16 } },
  ],
  groups: ['orders-service', 'billing-.*'],
};

function plan(overrides: Record<string, unknown> = {}): ReplicationPlan {
  const parsed = parseReplicationPlan({ ...basePlan, ...overrides });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.plan;
}

function planError(input: unknown): string {
  const parsed = parseReplicationPlan(input);
  assert.equal(parsed.ok, false, 'the plan should be refused');
  return parsed.ok ? '' : parsed.error;
}

describe('replication plan validation', () => {
  it('fills production defaults and names the flow after the clusters', () => {
    const p = plan();
    assert.equal(p.name, 'mm2-A-to-B');
    assert.equal(p.replicationFactor, 3);
    assert.deepEqual(p.intervals, {
      refreshTopicsSeconds: 60,
      refreshGroupsSeconds: 60,
      emitCheckpointsSeconds: 5,
      emitHeartbeatsSeconds: 1,
    });
    assert.equal(p.syncTopicConfigs, true);
    assert.equal(p.topicGroups[0]!.profile, 'default');
    assert.deepEqual(planConnectorNames(p), [
      'mm2-A-to-B-source-core',
      'mm2-A-to-B-source-bulk',
      'mm2-A-to-B-checkpoint',
      'mm2-A-to-B-heartbeat',
    ]);
  });

  it('keeps explicit intervals, name and replication factor', () => {
    const p = plan({ name: 'dr-flow', replicationFactor: 1, intervals: { emitCheckpointsSeconds: 1 } });
    assert.equal(p.name, 'dr-flow');
    assert.equal(p.replicationFactor, 1);
    assert.equal(p.intervals.emitCheckpointsSeconds, 1);
    assert.equal(p.intervals.refreshTopicsSeconds, 60, 'the other intervals keep their defaults');
  });

  it('refuses source == target on the target field', () => {
    assert.match(planError({ ...basePlan, target: 'A' }), /^target: source and target must differ/);
  });

  it('refuses duplicate group names', () => {
    const err = planError({
      ...basePlan,
      topicGroups: [
        { name: 'core', topics: ['a'] },
        { name: 'core', topics: ['b'] },
      ],
    });
    assert.match(err, /topicGroups\.1\.name: duplicate group name 'core' \(also topicGroups\.0\)/);
  });

  it('refuses an allowlist entry in two groups, naming the entry and the other group', () => {
    const err = planError({
      ...basePlan,
      topicGroups: [
        { name: 'core', topics: ['orders'] },
        { name: 'bulk', topics: ['x', 'orders'] },
      ],
    });
    assert.match(err, /topicGroups\.1\.topics\.1: 'orders' is also in group 'core'/);
  });

  it("refuses a literal topic that another group's regex also matches", () => {
    const err = planError({
      ...basePlan,
      topicGroups: [
        { name: 'core', topics: ['orders-eu'] },
        { name: 'bulk', topics: ['orders-.*'] },
      ],
    });
    assert.match(err, /topicGroups\.0\.topics\.0: topic 'orders-eu' is also matched by 'orders-\.\*' in group 'bulk'/);
  });

  it('refuses entries that do not compile as regexes, naming each', () => {
    const err = planError({ ...basePlan, topicGroups: [{ name: 'core', topics: ['orders[', 'ok', '(?i)pay'] }] });
    assert.match(err, /topicGroups\.0\.topics\.0: 'orders\[' does not compile as a regex/);
    assert.match(err, /topicGroups\.0\.topics\.2: '\(\?i\)pay' does not compile as a regex/);
    assert.doesNotMatch(err, /topics\.1/);
  });

  it('refuses commas, blanks and internal topics in allowlists', () => {
    assert.match(planError({ ...basePlan, topicGroups: [{ name: 'core', topics: ['a{1,3}'] }] }), /contains a comma/);
    assert.match(planError({ ...basePlan, topicGroups: [{ name: 'core', topics: [' orders'] }] }), /leading or trailing spaces/);
    assert.match(planError({ ...basePlan, topicGroups: [{ name: 'core', topics: [''] }] }), /empty entry/);
    assert.match(planError({ ...basePlan, topicGroups: [{ name: 'core', topics: ['__consumer_offsets'] }] }), /internal topic/);
    assert.match(planError({ ...basePlan, groups: ['bad['] }), /groups\.0: 'bad\[' does not compile/);
  });

  it('refuses empty topic lists and group lists, bad names, unknown fields', () => {
    assert.match(
      planError({ ...basePlan, topicGroups: [{ name: 'core', topics: [] }] }),
      /topicGroups\.0\.topics: needs at least one topic/,
    );
    assert.match(planError({ ...basePlan, topicGroups: [] }), /topicGroups: needs at least one topic group/);
    assert.match(
      planError({ ...basePlan, topicGroups: [{ name: 'Core!', topics: ['a'] }] }),
      /topicGroups\.0\.name: must be 1-40 lower-case/,
    );
    assert.match(planError({ ...basePlan, colour: 'blue' }), /colour/);
    assert.match(planError({ ...basePlan, policy: { type: 'mirror' } }), /policy\.type/);
    assert.match(planError({ ...basePlan, policy: { type: 'default', separator: '/' } }), /policy\.separator/);
    assert.match(planError({ ...basePlan, source: 'A B' }), /^source: /);
  });

  it('lists several problems at once, each with its field', () => {
    const err = planError({ ...basePlan, topicGroups: [{ name: 'core', topics: ['a'], tuning: { lingerMs: -1, compression: 'lz5' } }] });
    assert.match(err, /topicGroups\.0\.tuning\.lingerMs: /);
    assert.match(err, /topicGroups\.0\.tuning\.compression: /);
    assert.equal(err.split('; ').length, 2);
  });
});

function cluster(alias: string, extra: Partial<ResolvedKafkaCluster> = {}): ResolvedKafkaCluster {
  return {
    alias,
    bootstrapServers: [`${alias.toLowerCase()}1:9092`, `${alias.toLowerCase()}2:9092`],
    expectedBrokers: 2,
    minUsableLogDirPercent: 10,
    ...extra,
  };
}

describe('MM2 connector configs from a plan', () => {
  const p = plan({ policy: { type: 'default', separator: '_' }, intervals: { refreshTopicsSeconds: 30, emitHeartbeatsSeconds: 2 } });
  const specs = buildMirrorConnectors(p, { source: cluster('A'), target: cluster('B') });
  const byName = new Map(specs.map((s) => [s.name, s]));
  const cfg = (name: string) => byName.get(name)!.config;

  it('builds one source connector per group, then the checkpoint and the heartbeat connector', () => {
    assert.deepEqual(
      specs.map((s) => [s.name, s.kind, s.group]),
      [
        ['mm2-A-to-B-source-core', 'source', 'core'],
        ['mm2-A-to-B-source-bulk', 'source', 'bulk'],
        ['mm2-A-to-B-checkpoint', 'checkpoint', undefined],
        ['mm2-A-to-B-heartbeat', 'heartbeat', undefined],
      ],
    );
    assert.equal(cfg('mm2-A-to-B-source-core')['connector.class'], 'org.apache.kafka.connect.mirror.MirrorSourceConnector');
    assert.equal(cfg('mm2-A-to-B-checkpoint')['connector.class'], 'org.apache.kafka.connect.mirror.MirrorCheckpointConnector');
    assert.equal(cfg('mm2-A-to-B-heartbeat')['connector.class'], 'org.apache.kafka.connect.mirror.MirrorHeartbeatConnector');
  });

  it("gives each source connector its group's allowlist and the checkpoint connector their union", () => {
    assert.equal(cfg('mm2-A-to-B-source-core').topics, 'orders,payments\\..*');
    assert.equal(cfg('mm2-A-to-B-source-bulk').topics, 'clickstream');
    assert.equal(cfg('mm2-A-to-B-checkpoint').topics, 'orders,payments\\..*,clickstream');
    assert.equal(cfg('mm2-A-to-B-checkpoint').groups, 'orders-service,billing-.*');
    assert.equal(cfg('mm2-A-to-B-checkpoint')['groups.exclude'], undefined, "MM2's default exclude stays unless the plan sets one");
    assert.equal(cfg('mm2-A-to-B-source-core')['topics.exclude'], KAFKA_DR_TOPICS_EXCLUDE.join(','));
  });

  it('puts the same aliases, clusters, policy class and separator on every connector', () => {
    for (const s of specs) {
      assert.equal(s.config['source.cluster.alias'], 'A', s.name);
      assert.equal(s.config['target.cluster.alias'], 'B', s.name);
      assert.equal(s.config['source.cluster.bootstrap.servers'], 'a1:9092,a2:9092', s.name);
      assert.equal(s.config['target.cluster.bootstrap.servers'], 'b1:9092,b2:9092', s.name);
      assert.equal(s.config['replication.policy.class'], 'org.apache.kafka.connect.mirror.DefaultReplicationPolicy', s.name);
      assert.equal(s.config['replication.policy.separator'], '_', s.name);
      assert.equal(s.config['value.converter'], 'org.apache.kafka.connect.converters.ByteArrayConverter', s.name);
    }
  });

  it('applies profile tuning defaults and per-group overrides with the keys MM2 honours in Connect mode', () => {
    const core = cfg('mm2-A-to-B-source-core');
    assert.equal(core['tasks.max'], String(PROFILE_TUNING.default.tasksMax));
    assert.equal(core['producer.override.batch.size'], '65536');
    assert.equal(core['producer.override.linger.ms'], '10');
    assert.equal(core['producer.override.compression.type'], 'none', 'compression is opt-in: consumers must support the codec');
    assert.equal(core['source.consumer.max.poll.records'], '1000');
    assert.equal(core['offset.lag.max'], '0');
    const bulk = cfg('mm2-A-to-B-source-bulk');
    assert.equal(bulk['tasks.max'], '16', 'override');
    assert.equal(bulk['producer.override.batch.size'], '1048576', 'override');
    assert.equal(bulk['producer.override.linger.ms'], '50', 'high-throughput default');
    assert.equal(
      bulk['producer.override.compression.type'],
      'lz4',
      'high-throughput default (kafka-dr reads lz4: src/kafka/compression.ts)',
    );
    assert.equal(bulk['source.consumer.fetch.min.bytes'], '65536');
    assert.equal(bulk['offset.lag.max'], '100');
    assert.deepEqual(effectiveTuning({ profile: 'low-latency', tuning: { lingerMs: 2 } }), {
      ...PROFILE_TUNING['low-latency'],
      lingerMs: 2,
    });
    for (const s of specs) {
      // `consumer.*` would also swallow MM2's own consumer.poll.timeout.ms: never used.
      assert.ok(!Object.keys(s.config).some((k) => k.startsWith('consumer.')), s.name);
    }
  });

  it('maps intervals, replication factors and the settings kafka-dr relies on', () => {
    assert.equal(cfg('mm2-A-to-B-source-core')['refresh.topics.interval.seconds'], '30');
    assert.equal(cfg('mm2-A-to-B-source-core')['replication.factor'], '3');
    assert.equal(cfg('mm2-A-to-B-source-core')['offset-syncs.topic.replication.factor'], '3');
    assert.equal(cfg('mm2-A-to-B-source-core')['sync.topic.configs.enabled'], 'true');
    assert.equal(cfg('mm2-A-to-B-checkpoint')['emit.checkpoints.interval.seconds'], '5');
    assert.equal(cfg('mm2-A-to-B-checkpoint')['refresh.groups.interval.seconds'], '60');
    assert.equal(cfg('mm2-A-to-B-checkpoint')['sync.group.offsets.enabled'], 'false');
    assert.equal(cfg('mm2-A-to-B-checkpoint')['checkpoints.topic.replication.factor'], '3');
    assert.equal(cfg('mm2-A-to-B-heartbeat')['emit.heartbeats.interval.seconds'], '2');
    assert.equal(cfg('mm2-A-to-B-heartbeat')['heartbeats.topic.replication.factor'], '3');
  });

  it('lets only the first source connector copy heartbeats', () => {
    assert.equal(cfg('mm2-A-to-B-source-core')['heartbeats.replication.enabled'], 'true');
    assert.equal(cfg('mm2-A-to-B-source-bulk')['heartbeats.replication.enabled'], 'false');
  });

  it('sets groups.exclude only when the plan gives one', () => {
    const withExclude = buildMirrorConnectors(plan({ groupsExclude: ['tmp-.*'] }), { source: cluster('A'), target: cluster('B') });
    assert.equal(withExclude.find((s) => s.kind === 'checkpoint')!.config['groups.exclude'], 'tmp-.*');
  });

  it('refuses endpoints that are not the plan clusters', () => {
    assert.throws(() => buildMirrorConnectors(p, { source: cluster('B'), target: cluster('A') }), /do not match/);
  });

  it('uses Identity on every connector when the plan says so', () => {
    const id = buildMirrorConnectors(plan({ policy: { type: 'identity' } }), { source: cluster('A'), target: cluster('B') });
    for (const s of id) assert.equal(s.config['replication.policy.class'], 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy');
    for (const s of id) assert.equal(s.config['replication.policy.separator'], '.');
  });
});

describe('MM2 connector configs: TLS and SASL', () => {
  const PASSWORD = 'pa"ss\\word-9f3k';
  const KEY_PASSWORD = 'key-pass-77x1';
  const secure = cluster('A', {
    tls: {
      ca: '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n',
      cert: 'CERT-PEM',
      key: 'KEY-PEM',
      keyPassword: new Secret(KEY_PASSWORD),
      rejectUnauthorized: true,
    },
    sasl: { mechanism: 'scram-sha-512', username: 'mm2', password: new Secret(PASSWORD) },
  });
  const saslOnly = cluster('B', { sasl: { mechanism: 'plain', username: 'mm2-b', password: new Secret('plain-secret-1') } });
  const specs = buildMirrorConnectors(plan(), { source: secure, target: saslOnly });

  it('configures SASL_SSL with a PEM truststore, a PEM keystore and a SCRAM JAAS line for the source', () => {
    const c = specs[0]!.config;
    assert.equal(c['source.cluster.security.protocol'], 'SASL_SSL');
    assert.equal(c['source.cluster.ssl.truststore.type'], 'PEM');
    assert.equal(c['source.cluster.ssl.truststore.certificates'], secure.tls!.ca);
    assert.equal(c['source.cluster.ssl.keystore.type'], 'PEM');
    assert.equal(c['source.cluster.ssl.keystore.certificate.chain'], 'CERT-PEM');
    assert.equal(c['source.cluster.ssl.keystore.key'], 'KEY-PEM');
    assert.equal(c['source.cluster.ssl.key.password'], KEY_PASSWORD);
    assert.equal(c['source.cluster.sasl.mechanism'], 'SCRAM-SHA-512');
    assert.equal(
      c['source.cluster.sasl.jaas.config'],
      'org.apache.kafka.common.security.scram.ScramLoginModule required username="mm2" password="pa\\"ss\\\\word-9f3k";',
    );
    assert.equal(c['source.cluster.ssl.endpoint.identification.algorithm'], undefined, 'hostname verification stays on');
  });

  it('configures SASL_PLAINTEXT with PLAIN for the target', () => {
    const c = specs[0]!.config;
    assert.equal(c['target.cluster.security.protocol'], 'SASL_PLAINTEXT');
    assert.equal(c['target.cluster.sasl.mechanism'], 'PLAIN');
    assert.match(
      c['target.cluster.sasl.jaas.config']!,
      /^org\.apache\.kafka\.common\.security\.plain\.PlainLoginModule required username="mm2-b" password="plain-secret-1";$/,
    );
    assert.equal(c['target.cluster.ssl.truststore.type'], undefined);
  });

  it('reveals each password only inside its JAAS line (and the key password in ssl.key.password)', () => {
    for (const s of specs) {
      for (const [k, v] of Object.entries(s.config)) {
        if (v.includes('word-9f3k')) assert.equal(k, 'source.cluster.sasl.jaas.config', `${s.name} ${k}`);
        if (v.includes('plain-secret-1')) assert.equal(k, 'target.cluster.sasl.jaas.config', `${s.name} ${k}`);
        if (v.includes(KEY_PASSWORD)) assert.equal(k, 'source.cluster.ssl.key.password', `${s.name} ${k}`);
      }
    }
  });

  it('redacts credentials and private keys for logs and reports', () => {
    const red = redactConnectorConfig(specs[0]!.config);
    const text = JSON.stringify(red);
    assert.ok(!text.includes('word-9f3k') && !text.includes('plain-secret-1') && !text.includes(KEY_PASSWORD) && !text.includes('KEY-PEM'));
    assert.equal(red['source.cluster.sasl.jaas.config'], '[redacted]');
    assert.equal(red['source.cluster.bootstrap.servers'], 'a1:9092,a2:9092', 'the rest stays readable');
  });

  it('maps TLS without client certificate, and rejectUnauthorized=false to no hostname verification', () => {
    const c = clusterClientConfig('target.cluster.', cluster('B', { tls: { rejectUnauthorized: false } }));
    assert.deepEqual(c, {
      'target.cluster.bootstrap.servers': 'b1:9092,b2:9092',
      'target.cluster.security.protocol': 'SSL',
      'target.cluster.ssl.endpoint.identification.algorithm': '',
    });
    assert.deepEqual(clusterClientConfig('source.cluster.', cluster('A')), { 'source.cluster.bootstrap.servers': 'a1:9092,a2:9092' });
  });
});

describe('the documented example plan', () => {
  it('parses, and builds one source connector per group', () => {
    // Tests run from dist-*/test/unit: the repo root is three levels up.
    const file = path.resolve(__dirname, '..', '..', '..', 'docs', 'replication-plan.example.json');
    const parsed = parseReplicationPlan(JSON.parse(fs.readFileSync(file, 'utf8')));
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
    if (!parsed.ok) return;
    const specs = buildMirrorConnectors(parsed.plan, { source: cluster('A'), target: cluster('B') });
    assert.deepEqual(
      specs.filter((s) => s.kind === 'source').map((s) => s.name),
      ['mm2-A-to-B-source-payments', 'mm2-A-to-B-source-orders', 'mm2-A-to-B-source-analytics'],
    );
  });
});
