import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkFlowScope,
  deriveFlowScope,
  formatRefusal,
  groupNotCheckpointed,
  MM2_GROUPS_EXCLUDE_DEFAULT,
  type FlowConnectorConfig,
  type ScopeClaim,
} from '../../src/mm2/flow-scope';
import { groupFilteredOut } from '../../src/offsets/unplaced';
import { DEFAULT_POLICY_CLASS, IDENTITY_POLICY_CLASS, KAFKA_DR_TOPICS_EXCLUDE } from '../../src/mm2/policy';
import { checkpointsTopic, LatestCheckpoints } from '../../src/mm2/checkpoints';
import { FailbackInput, reversePlan } from '../../src/model/failback-input';
import { mirroredTopic } from '../../src/model/failover-input';
import { rawFailbackInput } from '../helpers/inputs';

const SOURCE = 'org.apache.kafka.connect.mirror.MirrorSourceConnector';
const CHECKPOINT = 'org.apache.kafka.connect.mirror.MirrorCheckpointConnector';
const HEARTBEAT = 'org.apache.kafka.connect.mirror.MirrorHeartbeatConnector';

/** A flow as kafka-dr deploys it: one source connector, a checkpoint and a heartbeat connector. */
function flow(o: { policyClass?: string; separator?: string; topics: string; exclude?: string; groups?: string }): FlowConnectorConfig[] {
  const common = {
    'source.cluster.alias': 'A',
    'target.cluster.alias': 'B',
    ...(o.policyClass !== undefined ? { 'replication.policy.class': o.policyClass } : {}),
    ...(o.separator !== undefined ? { 'replication.policy.separator': o.separator } : {}),
  };
  return [
    {
      name: 'f-source-main',
      config: { ...common, 'connector.class': SOURCE, topics: o.topics, 'topics.exclude': o.exclude ?? KAFKA_DR_TOPICS_EXCLUDE.join(',') },
    },
    { name: 'f-checkpoint', config: { ...common, 'connector.class': CHECKPOINT, topics: o.topics, groups: o.groups ?? '.*' } },
    { name: 'f-heartbeat', config: { ...common, 'connector.class': HEARTBEAT } },
  ];
}

const SOURCE_TOPICS = [
  'orders',
  'orders-audit',
  'payments',
  'B.orders',
  'heartbeats',
  'mm2-offset-syncs.B.internal',
  '__consumer_offsets',
  'connect-a-offsets',
  'other',
];

describe('deriveFlowScope', () => {
  const cases: Array<{
    name: string;
    flow: FlowConnectorConfig[];
    policy: string | undefined;
    separator: string;
    mirrored: string[];
    mirrors: Record<string, string>;
  }> = [
    {
      name: 'Identity, literal topics',
      flow: flow({ policyClass: IDENTITY_POLICY_CLASS, topics: 'orders,payments' }),
      policy: 'identity',
      separator: '.',
      mirrored: ['orders', 'payments'],
      mirrors: { orders: 'orders', payments: 'payments' },
    },
    {
      name: 'Default (class omitted), regex topics',
      flow: flow({ topics: 'orders.*' }),
      policy: 'default',
      separator: '.',
      mirrored: ['orders', 'orders-audit'],
      mirrors: { orders: 'A.orders', 'orders-audit': 'A.orders-audit' },
    },
    {
      name: 'Default with custom separator',
      flow: flow({ policyClass: DEFAULT_POLICY_CLASS, separator: '_', topics: 'orders,payments' }),
      policy: 'default',
      separator: '_',
      mirrored: ['orders', 'payments'],
      mirrors: { orders: 'A_orders', payments: 'A_payments' },
    },
    {
      name: 'Default, every topic: cycles, internal, Connect and heartbeats left out',
      flow: flow({ policyClass: DEFAULT_POLICY_CLASS, topics: '.*' }),
      policy: 'default',
      separator: '.',
      mirrored: ['orders', 'orders-audit', 'other', 'payments'],
      mirrors: { orders: 'A.orders', 'orders-audit': 'A.orders-audit', other: 'A.other', payments: 'A.payments' },
    },
    {
      name: 'topics.exclude removes a matched topic',
      flow: flow({
        policyClass: IDENTITY_POLICY_CLASS,
        topics: 'orders.*,payments',
        exclude: `${KAFKA_DR_TOPICS_EXCLUDE.join(',')},orders-audit`,
      }),
      policy: 'identity',
      separator: '.',
      mirrored: ['orders', 'payments'],
      mirrors: { orders: 'orders', payments: 'payments' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const scope = deriveFlowScope({ connectors: c.flow, sourceConnectors: ['f-source-main'], sourceTopics: SOURCE_TOPICS });
      assert.deepEqual(scope.problems, []);
      assert.equal(scope.policy, c.policy);
      assert.equal(scope.separator, c.separator);
      assert.deepEqual(scope.mirroredTopics, c.mirrored);
      assert.deepEqual(scope.mirrors, c.mirrors);
      assert.equal(scope.sourceAlias, 'A');
      assert.equal(scope.targetAlias, 'B');
    });
  }

  it('without a source listing: no mirrored set, the rest still derived', () => {
    const scope = deriveFlowScope({ connectors: flow({ topics: 'orders' }), sourceConnectors: ['f-source-main'] });
    assert.equal(scope.mirroredTopics, null);
    assert.equal(scope.policy, 'default');
    assert.deepEqual(scope.groupPatterns, ['.*']);
  });

  it('names a missing connector, a non-source connector, and connectors that disagree on the policy', () => {
    const f = flow({ policyClass: IDENTITY_POLICY_CLASS, topics: 'orders' });
    f[2] = { name: 'f-heartbeat', config: { ...f[2]!.config, 'replication.policy.class': DEFAULT_POLICY_CLASS } };
    const scope = deriveFlowScope({
      connectors: [...f, { name: 'typo', config: null }],
      sourceConnectors: ['f-source-main', 'f-checkpoint'],
    });
    assert.equal(scope.policy, undefined);
    const text = scope.problems.map(formatRefusal).join('\n');
    assert.match(text, /forward\.connectors: 'typo' not found/);
    assert.match(text, /'f-checkpoint' is not a MirrorSourceConnector/);
    assert.match(text, /disagree on replication\.policy\.class \(identity: f-source-main, f-checkpoint; default: f-heartbeat\)/);
  });

  it('names a policy class it does not model', () => {
    const scope = deriveFlowScope({
      connectors: flow({ policyClass: 'com.example.MyPolicy', topics: 'orders' }),
      sourceConnectors: ['f-source-main'],
    });
    assert.equal(scope.policy, undefined);
    assert.match(scope.problems[0]!.message, /com\.example\.MyPolicy/);
  });
});

describe('checkFlowScope', () => {
  const claim = (o: Partial<ScopeClaim>): ScopeClaim => ({
    source: 'A',
    target: 'B',
    policy: 'identity',
    topics: ['orders', 'payments'],
    groups: ['app'],
    ...o,
  });
  const scopeOf = (f: FlowConnectorConfig[]) =>
    deriveFlowScope({ connectors: f, sourceConnectors: ['f-source-main'], sourceTopics: SOURCE_TOPICS });
  const identity = scopeOf(flow({ policyClass: IDENTITY_POLICY_CLASS, topics: 'orders,payments', groups: 'app|billing' }));
  const underscore = scopeOf(flow({ policyClass: DEFAULT_POLICY_CLASS, separator: '_', topics: 'orders,payments' }));

  const cases: Array<{ name: string; claim: ScopeClaim; scope: typeof identity; refusals: Array<[string, RegExp]> }> = [
    { name: 'an input that matches the flow', claim: claim({}), scope: identity, refusals: [] },
    {
      name: 'policy mismatch (default told for an Identity flow)',
      claim: claim({ policy: 'default' }),
      scope: identity,
      refusals: [['policy', /is 'default' but the flow uses the IdentityReplicationPolicy.*set policy to 'identity'/]],
    },
    {
      name: 'a topic the flow does not mirror',
      claim: claim({ topics: ['orders', 'payments', 'other'] }),
      scope: identity,
      refusals: [['topics', /'other' is not mirrored by the flow \(topics=orders,payments;/]],
    },
    {
      name: 'a mirrored topic left out',
      claim: claim({ topics: ['orders'] }),
      scope: identity,
      refusals: [['topics', /the flow also mirrors 'payments'.*or to excludeTopics/]],
    },
    {
      name: 'a mirrored topic left out on purpose',
      claim: claim({ topics: ['orders'], excludeTopics: ['payments'] }),
      scope: identity,
      refusals: [],
    },
    {
      name: 'an exclusion the flow does not mirror',
      claim: claim({ excludeTopics: ['other'] }),
      scope: identity,
      refusals: [['excludeTopics', /'other' is not mirrored by the flow: nothing to exclude/]],
    },
    {
      name: 'a group the checkpoint connector does not checkpoint (regexes in the input are not judged)',
      claim: claim({ groups: ['app', 'reporting', 'rep.*'] }),
      scope: identity,
      refusals: [['groups', /'reporting' is not checkpointed by the flow \(groups=app\|billing;/]],
    },
    { name: 'custom separator stated', claim: claim({ policy: 'default', separator: '_' }), scope: underscore, refusals: [] },
    {
      name: 'custom separator not stated',
      claim: claim({ policy: 'default' }),
      scope: underscore,
      refusals: [['separator', /is '\.' but the flow's replication\.policy\.separator is '_'.*A_<topic>/]],
    },
    {
      name: 'the flow of another pair',
      claim: claim({ source: 'C' }),
      scope: identity,
      refusals: [['source', /is 'C' but the flow's connectors replicate from 'A'/]],
    },
    {
      name: 'every refusal at once',
      claim: claim({ policy: 'default', topics: ['orders', 'other'] }),
      scope: identity,
      refusals: [
        ['policy', /set policy to 'identity'/],
        ['topics', /'other' is not mirrored/],
        ['topics', /also mirrors 'payments'/],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = checkFlowScope(c.claim, c.scope);
      assert.equal(got.length, c.refusals.length, got.map(formatRefusal).join('\n'));
      c.refusals.forEach(([field, re], i) => {
        assert.equal(got[i]!.field, field);
        assert.match(got[i]!.message, re);
      });
    });
  }

  it('a separator is not judged under Identity (names do not carry it)', () => {
    const scope = scopeOf(flow({ policyClass: IDENTITY_POLICY_CLASS, separator: '_', topics: 'orders,payments' }));
    assert.deepEqual(checkFlowScope(claim({}), scope), []);
  });

  it('without a source listing a left-out topic cannot be found, the rest is still checked', () => {
    const scope = deriveFlowScope({
      connectors: flow({ policyClass: IDENTITY_POLICY_CLASS, topics: 'orders,payments' }),
      sourceConnectors: ['f-source-main'],
    });
    assert.deepEqual(checkFlowScope(claim({ topics: ['orders'] }), scope), []);
    assert.equal(checkFlowScope(claim({ topics: ['other'], policy: 'default' }), scope).length, 2);
  });

  it('the groups allowlist is judged even when the policy cannot be (the one place it is judged, with checkGroupsInFlow)', () => {
    const scope = scopeOf(flow({ policyClass: 'com.example.CustomPolicy', topics: 'orders,payments', groups: 'app' }));
    const got = checkFlowScope(claim({ groups: ['app', 'audit'] }), scope);
    assert.ok(got.some((r) => r.field === 'forward.connectors' && /does not model/.test(r.message)));
    assert.ok(got.some((r) => r.field === 'groups' && /'audit' is not checkpointed/.test(r.message)));
    // The same rule the activity applies to each checkpoint connector's config.
    assert.equal(groupFilteredOut({ groups: 'app' }, 'audit'), groupNotCheckpointed('audit', ['app'], MM2_GROUPS_EXCLUDE_DEFAULT));
    assert.match(groupFilteredOut({ groups: 'app', 'groups.blacklist': 'ap.*' }, 'app')!, /excluded by groups.exclude=ap\.\*/);
    // A pattern JavaScript cannot compile: no judgement (undefined), never a wrong refusal.
    assert.equal(groupNotCheckpointed('audit', ['(?<x'], []), undefined);
  });

  it('field names follow the input (recreate-topic: topic, sourceConnector)', () => {
    const got = checkFlowScope(claim({ topics: ['other'], fields: { topics: 'topic' } }), identity);
    assert.equal(got[0]!.field, 'topic');
  });
});

describe('the separator reaches every name kafka-dr builds', () => {
  it('mirror names, the checkpoints topic, the checkpoint filter and the reverse plan', () => {
    assert.equal(mirroredTopic('default', 'A', 'orders'), 'A.orders');
    assert.equal(mirroredTopic('default', 'A', 'orders', '-'), 'A-orders');
    assert.equal(mirroredTopic('identity', 'A', 'orders', '-'), 'orders');
    assert.equal(checkpointsTopic('A'), 'A.checkpoints.internal');
    assert.equal(checkpointsTopic('A', '-'), 'A-checkpoints-internal');
    // The filter keeps checkpoints of A-orders when asked for orders with separator '-'.
    const latest = new LatestCheckpoints('A', { groups: ['g'], topics: ['orders'], separator: '-' });
    assert.equal((latest as unknown as { keepTopic: (t: string) => boolean }).keepTopic('A-orders'), true);
    assert.equal((latest as unknown as { keepTopic: (t: string) => boolean }).keepTopic('A.orders'), false);
    const input = FailbackInput.parse(rawFailbackInput({ policy: 'default', separator: '-', seed: {} }));
    assert.deepEqual(reversePlan(input).policy, { type: 'default', separator: '-' });
  });
});
