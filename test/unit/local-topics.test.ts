import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localTopicPlan, topicOverrides } from '../../src/offsets/local-topics';

describe("the DR cluster's local topics (Default policy)", () => {
  it('copies only the topic overrides among the configs that matter, sorted', () => {
    assert.deepEqual(
      topicOverrides([
        { configName: 'retention.ms', configValue: '1000', configSource: 1 },
        { configName: 'cleanup.policy', configValue: 'compact', configSource: 1 },
        // A broker default on A is not a property of the topic: B's own default applies.
        { configName: 'max.message.bytes', configValue: '1048588', configSource: 5 },
        { configName: 'min.insync.replicas', configValue: '2', configSource: 4 },
        // Not among the configs copied.
        { configName: 'follower.replication.throttled.replicas', configValue: '*', configSource: 1 },
        // Older brokers: no configSource, isDefault only.
        { configName: 'compression.type', configValue: 'lz4', isDefault: false },
        { configName: 'segment.bytes', configValue: '1073741824', isDefault: true },
      ]),
      { 'cleanup.policy': 'compact', 'compression.type': 'lz4', 'retention.ms': '1000' },
    );
  });

  const base = { topic: 'orders', mirror: 'A.orders', sourceAlias: 'A', target: 'B' };
  const shape = (partitions: number, replicationFactor = 1, configs: Record<string, string> = {}) => ({
    partitions,
    replicationFactor,
    configs,
  });

  it("creates a missing one with the source's partitions and overrides and the mirror's replication factor", () => {
    assert.deepEqual(
      localTopicPlan({ ...base, local: undefined, source: shape(6, 3, { 'retention.ms': '5' }), mirrorShape: shape(6, 2) }),
      {
        topic: 'orders',
        mirror: 'A.orders',
        create: true,
        partitions: 6,
        replicationFactor: 2,
        configs: { 'retention.ms': '5' },
        from: 'source',
      },
    );
  });

  it('takes the shape from the mirror when the source was not read, and leaves the factor to B without a mirror', () => {
    const fromMirror = localTopicPlan({
      ...base,
      local: undefined,
      source: undefined,
      mirrorShape: shape(4, 1, { 'cleanup.policy': 'compact' }),
    });
    assert.deepEqual([fromMirror!.from, fromMirror!.partitions, fromMirror!.configs], ['mirror', 4, { 'cleanup.policy': 'compact' }]);
    assert.equal(localTopicPlan({ ...base, local: undefined, source: shape(4), mirrorShape: undefined })!.replicationFactor, null);
    assert.equal(localTopicPlan({ ...base, local: undefined, source: undefined, mirrorShape: undefined }), null);
  });

  it('leaves an existing one as it is, noting a partition count that differs', () => {
    const same = localTopicPlan({ ...base, local: shape(3), source: shape(3), mirrorShape: shape(3) })!;
    assert.deepEqual([same.create, same.from, same.note], [false, 'target', undefined]);
    const differs = localTopicPlan({ ...base, local: shape(2), source: shape(3), mirrorShape: shape(3) })!;
    assert.equal(differs.create, false);
    assert.match(differs.note!, /B's orders has 2 partitions, A's 3/);
  });
});
