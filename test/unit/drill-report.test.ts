import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failbackInput, failoverInput, deployInput, drillNames, forwardConnectors } from '../../src/drill/inputs';
import { drillMarkdown } from '../../src/drill/markdown';
import { PhaseClock, playbookPhases } from '../../src/drill/phases';
import type { DrillReport } from '../../src/drill/report-types';
import { actionFor, Switchboard } from '../../src/drill/switchboard';
import { DeployReplicationInput } from '../../src/model/deploy-input';
import { FailbackInput, reverseConnectors } from '../../src/model/failback-input';
import { FailoverInput } from '../../src/model/failover-input';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + s * 1000).toISOString();

const report: DrillReport = {
  mode: 'planned',
  drillId: 'x1',
  startedAt: at(0),
  endedAt: at(95),
  durationMs: 95_000,
  outcome: 'passed',
  produced: 1200,
  consumed: 1207,
  lost: 0,
  duplicates: 7,
  rpoRecords: 0,
  phases: [
    { name: 'stack', startedAt: at(0), endedAt: at(1) },
    { name: 'failover', startedAt: at(20), endedAt: at(50) },
    { name: 'drain', startedAt: at(30), endedAt: at(34), parent: 'failover' },
  ],
  producedOn: { A: 900, B: 300 },
  consumedOn: { A: 1000, B: 207 },
  switches: [
    { playbook: 'failover', gate: 'stop-producers', action: 'stop-producers', at: at(25), detail: { action: 'producer stopped on A' } },
  ],
  playbooks: {
    failover: {
      workflowId: 'kafka-dr-cutover-A~B',
      runId: 'r1',
      outcome: 'completed',
      durationMs: 30_000,
      figures: { drainMs: 4_000, offsetsSet: [1, 2, 3], rtoMs: 29_000 },
    },
    failback: {
      workflowId: 'kafka-dr-cutover-A~B',
      runId: 'r2',
      outcome: 'completed',
      durationMs: 10_000,
      figures: { translation: { decision: 'apply-stale', waitedMs: 20_000, stalePartitions: 2, behindTotal: '14' } },
    },
  },
};

describe('drill Markdown report', () => {
  const md = drillMarkdown(report, { svg: 'drill-x.svg' });

  it('leads with the verdict and the counts table', () => {
    assert.match(md, /^# kafka-dr drill \(planned\): PASSED/);
    assert.ok(md.includes('| produced | consumed | lost | duplicates | rpoRecords |'));
    assert.ok(md.includes('| 1200 | 1207 | 0 | 7 | 0 |'));
  });

  it('lists every phase with its offset from the start and its duration, children under their parent', () => {
    assert.ok(md.includes('| **stack** | +0.0 s | 1.0 s |'));
    assert.ok(md.includes('| **failover** | +20.0 s | 30.0 s |'));
    assert.ok(md.includes('| &nbsp;&nbsp;failover / drain | +30.0 s | 4.0 s |'));
    assert.ok(md.includes('![timeline](drill-x.svg)'));
  });

  it('shows playbooks with their key figures and the switches', () => {
    assert.ok(
      md.includes('| failover | `kafka-dr-cutover-A~B` | completed | 30.0 s | drainMs: 4.0 s; rtoMs: 29.0 s; offsetsSet: 3 partitions |'),
    );
    assert.ok(md.includes('| failover | stop-producers | stop-producers |'));
    // A stale translation says how many records the groups may read again.
    assert.ok(
      md.includes(
        '| failback | `kafka-dr-cutover-A~B` | completed | 10.0 s | translation: checkpoints stale after 20.0 s (up to 14 re-reads) |',
      ),
    );
  });

  it('lists the lagging and the partial group (issue 13)', () => {
    const withGroups = drillMarkdown({
      ...report,
      extraGroups: {
        lagging: { group: 'g-lagging', behind: { failover: 160, failback: 150 }, consumed: 1200, lost: 0, duplicates: 0, lostSample: [] },
        partial: {
          group: 'g-partial',
          committedOnA: { 'orders-0': '10', 'orders-1': '12' },
          positions: { failover: 'g-partial: exact', failback: 'g-partial: exact' },
        },
      },
    });
    assert.ok(
      withGroups.includes(
        'lagging group `g-lagging` (stopped 4 s before each playbook; records behind then: failover 160, failback 150): consumed 1200, lost 0, duplicates 0',
      ),
    );
    assert.ok(
      withGroups.includes(
        'partial group `g-partial` (committed on A on orders-0, orders-1 only): failover: g-partial: exact; failback: g-partial: exact',
      ),
    );
  });

  it('says FAILED with the error and the lost sequences when records were lost', () => {
    const failed = drillMarkdown({
      ...report,
      outcome: 'failed',
      lost: 3,
      lostSample: [4, 5, 9],
      error: 'the planned drill lost 3 records',
    });
    assert.match(failed, /: FAILED/);
    assert.ok(failed.includes('**Error:** the planned drill lost 3 records'));
    assert.ok(failed.includes('lost sequences (first 3): 4-5, 9'));
  });

  it('unplanned: shows the estimated RPO next to the measured one', () => {
    const md2 = drillMarkdown({
      ...report,
      mode: 'unplanned',
      rpoRecords: 12,
      rpoEstimate: { ageMs: 1500, lastHeartbeatAt: at(40) },
      recoverableOnA: 12,
    });
    assert.ok(md2.includes('RPO estimated by the playbook: 1.5 s'));
    assert.ok(md2.includes('measured: 12 records'));
    assert.ok(md2.includes('still on A after it came back: 12'));
    const stale = drillMarkdown({
      ...report,
      mode: 'unplanned',
      rpoEstimateNote: 'no heartbeat replicated from A during this drill reached B',
    });
    assert.ok(stale.includes('- note: no heartbeat replicated from A during this drill reached B'));
  });
});

describe('drill phases', () => {
  it('times a phase even when it fails', async () => {
    const clock = new PhaseClock();
    await assert.rejects(clock.phase('boom', () => Promise.reject(new Error('x'))));
    assert.equal(clock.phases.length, 1);
    assert.equal(clock.phases[0]!.name, 'boom');
  });

  it('takes a playbook’s gates and long steps as children, in start order, right after the parent', () => {
    const children = playbookPhases('failover', {
      gates: [
        { name: 'stop-producers', state: 'approved', openedAt: at(10), closedAt: at(11) },
        { name: 'producers-cutover', state: 'pending' },
      ],
      steps: [
        { name: 'check-target', state: 'completed', startedAt: at(1), endedAt: at(1.2) },
        { name: 'drain', state: 'completed', startedAt: at(12), endedAt: at(20) },
        { name: 'verify-quiet', state: 'completed', startedAt: at(11), endedAt: at(12) },
        { name: 'skipped-one', state: 'skipped', startedAt: at(1), endedAt: at(9) },
      ],
    });
    assert.deepEqual(
      children.map((c) => c.name),
      ['gate stop-producers', 'verify-quiet', 'drain'],
    );
    assert.ok(children.every((c) => c.parent === 'failover'));
    const clock = new PhaseClock();
    clock.phases.push(
      { name: 'deploy', startedAt: at(0), endedAt: at(1) },
      { name: 'failover', startedAt: at(1), endedAt: at(30) },
      { name: 'dr', startedAt: at(30), endedAt: at(40) },
    );
    clock.addChildren('failover', children);
    assert.deepEqual(
      clock.phases.map((p) => p.name),
      ['deploy', 'failover', 'gate stop-producers', 'verify-quiet', 'drain', 'dr'],
    );
  });
});

describe('drill switch and inputs', () => {
  it('maps each hook action to what moves, towards `to`', () => {
    assert.deepEqual(actionFor({ action: 'stop-producers', to: 'B' }), { action: 'stop-producer' });
    assert.deepEqual(actionFor({ action: 'move-consumers', to: 'B' }), { action: 'move-consumer', cluster: 'B' });
    assert.deepEqual(actionFor({ action: 'start-producers', to: 'B' }), { action: 'start-producer', cluster: 'B' });
    // The failback's consumers-cutover: stopped on B at the approval, started on A after translate-offsets.
    assert.deepEqual(actionFor({ action: 'stop-consumers', to: 'A' }), { action: 'stop-consumer' });
    assert.deepEqual(actionFor({ action: 'start-consumers', to: 'A' }), { action: 'start-consumer', cluster: 'A' });
  });

  it('switches once per playbook, workflow, gate and action: a retried hook changes nothing twice', async () => {
    const calls: string[] = [];
    const clients = {
      producer: {
        start: async (c: string) => void calls.push(`producer start ${c}`),
        stop: async () => (calls.push('producer stop'), { stoppedOn: 'B', lastSeq: 7 }),
      },
      consumer: {
        start: async (c: string) => void calls.push(`consumer start ${c}`),
        stop: async () => (calls.push('consumer stop'), { stoppedOn: 'B', consumed: 3 }),
      },
    };
    const board = new Switchboard(clients, () => undefined);
    const base = { workflowId: 'w', playbook: 'failback', gate: 'consumers-cutover', from: 'B', to: 'A', approvedBy: 'x' } as const;
    await board.hook({ ...base, action: 'stop-consumers' });
    await board.hook({ ...base, action: 'stop-consumers' });
    await board.hook({ ...base, action: 'start-consumers' });
    await board.hook({ ...base, action: 'start-consumers' });
    assert.deepEqual(calls, ['consumer stop', 'consumer start A']);
    assert.deepEqual(
      board.records.map((r) => [r.gate, r.action, r.detail.action]),
      [
        ['consumers-cutover', 'stop-consumers', 'consumer group stopped on B'],
        ['consumers-cutover', 'start-consumers', 'consumer group started on A'],
      ],
    );
  });

  it('builds playbook inputs the playbooks’ own schemas accept', () => {
    const n = drillNames('abc-12');
    assert.ok(DeployReplicationInput.safeParse(deployInput(n)).success);
    assert.ok(FailoverInput.safeParse(failoverInput(n, 'planned')).success);
    const unplanned = FailoverInput.safeParse(failoverInput(n, 'unplanned'));
    assert.ok(unplanned.success && unplanned.data.probeAttempts === 2);
    const fb = FailbackInput.safeParse(
      failbackInput(n, { cluster: 'B', takenAt: at(0), offsets: { [n.topics[0]!.name]: { '0': '5' } }, missingTopics: [] }),
    );
    assert.ok(fb.success, fb.success ? '' : JSON.stringify(fb.error.issues));
    assert.deepEqual(forwardConnectors(n).sourceConnectors, ['drill-abc-12-source-drill']);
    assert.ok(n.topics.some((t) => t.compacted) && n.topics.every((t) => t.partitions > 1));
  });

  it('--codec sets the MM2 producer compression of both flows, which the source connectors get', () => {
    const n = drillNames('abc-12');
    const snapshot = { cluster: 'B', takenAt: at(0), offsets: {}, missingTopics: [] };
    assert.equal(deployInput(n).plan.topicGroups[0]!.tuning, undefined, 'no --codec: the profile decides (none)');
    assert.equal(failbackInput(n, snapshot).reverse.topicGroups![0]!.tuning, undefined);
    const deploy = DeployReplicationInput.parse(deployInput(n, 'zstd'));
    const fb = FailbackInput.parse(failbackInput(n, snapshot, 'zstd'));
    assert.deepEqual(
      deploy.plan.topicGroups.map((g) => [g.name, g.tuning?.compression]),
      [['drill', 'zstd']],
    );
    assert.deepEqual(
      fb.reverse.topicGroups!.map((g) => [g.name, g.tuning?.compression]),
      [['failback', 'zstd']],
    );
    // The connector names the drill cleans up and the failback reads stay the same.
    assert.deepEqual(
      reverseConnectors(fb).sources.map((s) => s.name),
      ['drill-abc-12-back-source-failback'],
    );
  });
});
