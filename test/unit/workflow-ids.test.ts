import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterPairKey, cutoverWorkflowId, playbookWorkflowId } from '../../src/model/workflow-ids';

describe('workflow IDs', () => {
  it('gives a failover A→B and a failback B→A of one pair the same cutover ID', () => {
    assert.equal(cutoverWorkflowId('A', 'B'), 'kafka-dr-cutover-A~B');
    assert.equal(cutoverWorkflowId('B', 'A'), 'kafka-dr-cutover-A~B');
    assert.equal(cutoverWorkflowId('prod-eu', 'dr_us'), cutoverWorkflowId('dr_us', 'prod-eu'));
    assert.equal(playbookWorkflowId('failover', 'A', 'B'), 'kafka-dr-cutover-A~B');
    assert.equal(playbookWorkflowId('failback', 'B', 'A'), 'kafka-dr-cutover-A~B');
  });

  it('keeps different pairs apart (no separator ambiguity)', () => {
    const ids = new Set([
      cutoverWorkflowId('A', 'B'),
      cutoverWorkflowId('A', 'C'),
      cutoverWorkflowId('A-B', 'C'),
      cutoverWorkflowId('A', 'B-C'),
      cutoverWorkflowId('a', 'B'),
    ]);
    assert.equal(ids.size, 5);
  });

  it('sorts by code point, not by locale', () => {
    assert.equal(clusterPairKey('b', 'B'), 'B~b');
    assert.equal(clusterPairKey('a10', 'a9'), 'a10~a9');
  });

  it('refuses a pair of one cluster and a non-alias', () => {
    assert.throws(() => cutoverWorkflowId('A', 'A'), /two different clusters \(got 'A' twice\)/);
    assert.throws(() => cutoverWorkflowId('A', 'B~C'), /cluster 'B~C' is not a cluster alias/);
    assert.throws(() => cutoverWorkflowId('', 'B'), /cluster '' is not a cluster alias/);
  });

  it("builds other playbooks' IDs from the parts in order (direction matters)", () => {
    assert.equal(playbookWorkflowId('recreate-topic', 'A', 'B', 'orders.v2'), 'kafka-dr-recreate-topic-A~B~orders.v2');
    assert.notEqual(playbookWorkflowId('deploy-replication', 'A', 'B'), playbookWorkflowId('deploy-replication', 'B', 'A'));
    assert.equal(playbookWorkflowId('audit-drift', 'A~B'.replace('~', '-')), 'kafka-dr-audit-drift-A-B');
  });

  it('refuses bad playbook names and parts', () => {
    assert.throws(() => playbookWorkflowId('Failover', 'A', 'B'), /playbook 'Failover' must be/);
    assert.throws(() => playbookWorkflowId('failover', 'A'), /exactly two cluster aliases \(got 1\)/);
    assert.throws(() => playbookWorkflowId('recreate-topic'), /at least one part/);
    assert.throws(() => playbookWorkflowId('recreate-topic', 'A', 'or ders'), /part 'or ders' must be/);
    assert.throws(() => playbookWorkflowId('recreate-topic', 'A', 'x~y'), /part 'x~y' must be/);
  });
});
