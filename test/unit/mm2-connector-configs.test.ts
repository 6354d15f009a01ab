import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mirrorConnectors, remoteTopicName, type MirrorFlow } from '../../src/mm2/connector-configs';

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
