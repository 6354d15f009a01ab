import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkpointStaleness, decideOnStaleness, staleFingerprint } from '../../src/offsets/staleness';

const cp = (group: string, topic: string, partition: number, upstreamOffset: bigint) => ({
  consumerGroupId: group,
  topic,
  partition,
  upstreamOffset,
});
const commit = (group: string, topic: string, partition: number, offset: bigint | null) => ({ group, topic, partition, offset });
const defaultPolicy = (t: string) => `A.${t}`;

describe('checkpoint staleness: do the checkpoints cover the groups\u2019 last commits on the source?', () => {
  it('a checkpoint at the commit is fresh; one behind is stale by the difference; the downstream name comes from the policy', () => {
    const report = checkpointStaleness({
      checkpoints: [cp('billing', 'A.orders', 0, 100n), cp('billing', 'A.orders', 1, 40n)],
      committed: [commit('billing', 'orders', 0, 100n), commit('billing', 'orders', 1, 55n)],
      downstreamTopic: defaultPolicy,
    });
    assert.equal(report.checked, 2);
    assert.deepEqual(report.stale, [
      { group: 'billing', topic: 'A.orders', partition: 1, checkpointUpstream: '40', committedOnSource: '55', behind: '15' },
    ]);
    assert.equal(report.behindTotal, '15');
  });

  it('no checkpoint for a committed partition is stale (null upstream) but not counted in behindTotal', () => {
    const report = checkpointStaleness({ checkpoints: [], committed: [commit('billing', 'orders', 0, 7n)], downstreamTopic: (t) => t });
    assert.deepEqual(
      report.stale.map((s) => [s.topic, s.checkpointUpstream, s.behind]),
      [['orders', null, '7']],
    );
    assert.equal(report.behindTotal, '0');
  });

  it('a partition without a commit is not checked; a checkpoint ahead of the commit (group reset on the source) is not stale', () => {
    const report = checkpointStaleness({
      checkpoints: [cp('g', 'orders', 0, 50n)],
      committed: [commit('g', 'orders', 0, 20n), commit('g', 'orders', 1, null)],
      downstreamTopic: (t) => t,
    });
    assert.equal(report.checked, 1);
    assert.deepEqual(report.stale, []);
  });

  it('partitions placed exactly are not compared: no checkpoint there is not stale, and the decision is apply', () => {
    // The failback's case (issue 13): every partition exact, the checkpoints filtered out for them.
    const committed = [0, 1, 2, 3, 4].map((p) => commit('g', 'orders', p, 10n));
    const exact = [0, 1, 2, 3, 4].map((p) => ({ group: 'g', topic: 'A.orders', partition: p }));
    const before = checkpointStaleness({ checkpoints: [], committed, downstreamTopic: defaultPolicy });
    assert.equal(before.stale.length, 5, 'without the exact list every commit looks uncovered');
    const report = checkpointStaleness({ checkpoints: [], committed, downstreamTopic: defaultPolicy, exact });
    assert.deepEqual([report.checked, report.exact, report.stale.length, report.behindTotal], [0, 5, 0, '0']);
    assert.equal(decideOnStaleness(report, { waitedMs: 0, maxWaitMs: 20_000, unchangedMs: 0 }), 'apply');
    // One partition falls back to a checkpoint that is behind: only it is stale (another group's exact list does not cover it).
    const mixed = checkpointStaleness({
      checkpoints: [cp('g', 'A.orders', 4, 6n)],
      committed: [...committed, commit('h', 'orders', 0, 3n)],
      downstreamTopic: defaultPolicy,
      exact: exact.slice(0, 4),
    });
    assert.deepEqual(
      mixed.stale.map((s) => [s.group, s.partition, s.behind]),
      [
        ['g', 4, '4'],
        ['h', 0, '3'],
      ],
    );
    assert.deepEqual([mixed.checked, mixed.exact, mixed.behindTotal], [2, 4, '4']);
  });

  it('groups are not mixed up: another group\u2019s checkpoint does not cover this one', () => {
    const report = checkpointStaleness({
      checkpoints: [cp('other', 'orders', 0, 100n)],
      committed: [commit('g', 'orders', 0, 100n)],
      downstreamTopic: (t) => t,
    });
    assert.equal(report.stale.length, 1);
  });

  it('decision: fresh applies now; stale waits while time is left, then applies and reports', () => {
    const fresh = { checked: 1, stale: [], behindTotal: '0' };
    const stale = {
      checked: 1,
      stale: [{ group: 'g', topic: 't', partition: 0, checkpointUpstream: '1', committedOnSource: '2', behind: '1' }],
      behindTotal: '1',
    };
    const clock = (waitedMs: number, maxWaitMs: number, unchangedMs = waitedMs, settleMs?: number) => ({
      waitedMs,
      maxWaitMs,
      unchangedMs,
      ...(settleMs !== undefined ? { settleMs } : {}),
    });
    assert.equal(decideOnStaleness(fresh, clock(0, 0)), 'apply');
    assert.equal(decideOnStaleness(stale, clock(0, 20_000)), 'wait');
    assert.equal(decideOnStaleness(stale, clock(19_999, 20_000)), 'wait');
    assert.equal(decideOnStaleness(stale, clock(20_000, 20_000)), 'apply-stale');
    // After a failover the checkpoint connector is stopped: no wait, only the report.
    assert.equal(decideOnStaleness(stale, clock(0, 0)), 'apply-stale');
  });

  it('decision: checkpoints that stopped moving end the wait early (MM2 emits only when the translation moves)', () => {
    const stale = {
      checked: 1,
      stale: [{ group: 'g', topic: 't', partition: 0, checkpointUpstream: '339', committedOnSource: '340', behind: '1' }],
      behindTotal: '1',
    };
    assert.equal(
      decideOnStaleness(stale, { waitedMs: 4_000, maxWaitMs: 20_000, unchangedMs: 2_000, settleMs: 3_000 }),
      'wait',
      'moved 2 s ago: keep waiting',
    );
    assert.equal(decideOnStaleness(stale, { waitedMs: 4_000, maxWaitMs: 20_000, unchangedMs: 3_000, settleMs: 3_000 }), 'apply-stale');
    assert.equal(
      decideOnStaleness(stale, { waitedMs: 4_000, maxWaitMs: 20_000, unchangedMs: 4_000 }),
      'wait',
      'no settle time: wait to the maximum',
    );
  });

  it('the fingerprint changes when a stale checkpoint moves, not when the commit does', () => {
    const at = (checkpointUpstream: string, committedOnSource: string) => ({
      checked: 1,
      stale: [{ group: 'g', topic: 't', partition: 0, checkpointUpstream, committedOnSource, behind: '1' }],
      behindTotal: '1',
    });
    assert.equal(staleFingerprint(at('10', '11')), staleFingerprint(at('10', '12')));
    assert.notEqual(staleFingerprint(at('10', '12')), staleFingerprint(at('11', '12')));
  });
});
