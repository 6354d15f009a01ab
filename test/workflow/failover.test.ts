import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, type WorkflowHandle } from '@temporalio/client';
import type { Activities } from '../../activities';
import type { FailoverFigures, FailoverInput } from '../../src/model/failover-input';
import type { PlaybookReport } from '../../src/model/gates';
import type { failover } from '../../workflows/failover';
import { abortSignal, approveSignal, decideUpdate, rejectSignal, statusQuery } from '../../workflows/framework';
import { gateOpen, replayAll, startStubWorker, workflowFailure, type StubWorker } from '../helpers/playbook';
import { uniqueId } from '../helpers/stack';

/**
 * The failover playbook's control flow on the real Temporal dev server with stub
 * activities (same names and shapes as activities/*). One worker, one bundle; a
 * workflow ID per test. Every history is replayed at the end.
 */

type Call = { workflowId: string; name: string; arg: Record<string, unknown> };
const calls: Call[] = [];

/** What a stub answers, per workflow (set before starting it). */
interface Scenario {
  lagTotal?: string;
  /** Unreplicated records the exact lag reports after stop-forward, one answer per call. */
  gaps?: string[];
  targetHealthy?: boolean;
  sourceDown?: boolean;
}
const scenarios = new Map<string, Scenario>();

const DESTRUCTIVE = new Set(['stopConnector', 'stopConnectors', 'resumeConnector', 'pauseConnector', 'deleteConnector', 'restartConnector', 'applyOffsetTranslation', 'alterConnectorOffsets', 'resetConnectorOffsets']);

function wfId(): string {
  return Context.current().info.workflowExecution?.workflowId ?? '';
}
function record(name: string, arg: unknown): Scenario {
  calls.push({ workflowId: wfId(), name, arg: arg as Record<string, unknown> });
  return scenarios.get(wfId()) ?? {};
}

const snapshotOf = (cluster: string, topics: string[]) => ({
  cluster,
  takenAt: '2025-01-01T00:00:00.000Z',
  offsets: Object.fromEntries(topics.filter((t) => !t.startsWith('orders') || cluster === 'A' || t.startsWith('A.')).map((t) => [t, { '0': '10', '1': '12' }])),
  missingTopics: topics.filter((t) => cluster === 'B' && !t.startsWith('A.')),
});

const groupPlan = {
  group: 'billing',
  state: 'Dead',
  members: 0,
  partitions: [
    { topic: 'A.orders', partition: 0, from: null, to: '10', action: 'set', checkpoint: '10', upstream: '10' },
    { topic: 'A.orders', partition: 1, from: null, to: '12', action: 'set', checkpoint: '12', upstream: '12' },
  ],
};

type Stubs = Pick<
  Activities,
  | 'clusterHealth'
  | 'replicationLag'
  | 'waitForQuietProducers'
  | 'waitForDrain'
  | 'stopConnectors'
  | 'resumeConnector'
  | 'waitForConnectorState'
  | 'snapshotEndOffsets'
  | 'planOffsetTranslation'
  | 'applyOffsetTranslation'
  | 'replicationFreshness'
>;

const lagReport = (total: string) => ({
  source: 'A',
  partitions: [{ topic: 'orders', partition: 0, end: String(10 + Number(total)), committed: '9', lag: total, state: (total === '0' ? 'caught-up' : 'behind') as 'caught-up' | 'behind' }],
  total,
  maxLag: total,
  anomalies: 0,
  drained: total === '0',
  missingTopics: [],
  measuredAt: '2025-01-01T00:00:00.000Z',
});

const stubs: Stubs = {
  async clusterHealth(input) {
    const s = record('clusterHealth', input);
    if (input.cluster === 'A' && s.sourceDown) throw ApplicationFailure.create({ type: 'ClusterUnreachable', message: 'cluster A: connection refused' });
    const healthy = input.cluster === 'A' || s.targetHealthy !== false;
    return {
      cluster: input.cluster,
      brokers: { count: 1, ids: [1] },
      expectedBrokers: 1,
      expectedBrokersFrom: 'registry',
      controllerId: 1,
      underReplicated: [],
      offline: [],
      brokersMissingFromAssignments: [],
      topicCount: 3,
      partitionCount: 3,
      healthy,
      problems: healthy ? [] : ['1 offline partition: orders-0'],
    };
  },
  async replicationLag(input) {
    const s = record('replicationLag', input);
    // exact: the conservation checks after stop-forward; `gaps` answers them in turn (then 0).
    if (input.exact) return lagReport(s.gaps?.shift() ?? '0');
    return lagReport(s.lagTotal ?? '42');
  },
  async waitForQuietProducers(input) {
    record('waitForQuietProducers', input);
    return { cluster: input.cluster, quietSince: '2025-01-01T00:00:00.000Z', endOffsets: {}, polls: 3 };
  },
  async waitForDrain(input) {
    record('waitForDrain', input);
    const { drained: _d, ...report } = lagReport('0');
    return { polls: 4, consecutiveZero: 3, total: '0', maxLag: '0', anomalies: 0, nonZero: [], report: { ...report, drained: true } };
  },
  async stopConnectors(input) {
    record('stopConnectors', input);
    return { stopped: [...input.connectors] };
  },
  async resumeConnector(input) {
    record('resumeConnector', input);
  },
  async waitForConnectorState(input) {
    record('waitForConnectorState', input);
    return { name: input.connector, state: input.state, workerId: 'w', tasks: [] } as never;
  },
  async snapshotEndOffsets(input) {
    record('snapshotEndOffsets', input);
    return snapshotOf(input.cluster, input.topics);
  },
  async planOffsetTranslation(input) {
    record('planOffsetTranslation', input);
    return { source: 'A', target: 'B', allowRewind: false, groups: [groupPlan as never], checkpointsRead: 2, generatedAt: '2025-01-01T00:00:00.000Z' };
  },
  async applyOffsetTranslation(input) {
    record('applyOffsetTranslation', input);
    return {
      source: 'A',
      target: 'B',
      allowRewind: false,
      groups: [groupPlan as never],
      checkpointsRead: 2,
      generatedAt: '2025-01-01T00:00:00.000Z',
      applied: [
        { group: 'billing', topic: 'A.orders', partition: 0, offset: '10' },
        { group: 'billing', topic: 'A.orders', partition: 1, offset: '12' },
      ],
      appliedAt: '2025-01-01T00:00:01.000Z',
    };
  },
  async replicationFreshness(input) {
    record('replicationFreshness', input);
    return {
      target: input.target,
      sourceAlias: input.sourceAlias,
      checkedAt: '2025-01-01T00:00:10.000Z',
      topic: 'A.heartbeats',
      lastHeartbeatAt: '2025-01-01T00:00:03.000Z',
      ageMs: 7000,
      from: { source: 'A', target: 'B' },
      recordsRead: 5,
      unreadableRecords: 0,
      emitters: [],
    };
  },
};

const callsOf = (workflowId: string) => calls.filter((c) => c.workflowId === workflowId);
const namesOf = (workflowId: string) => callsOf(workflowId).map((c) => c.name + (c.arg.connector ? `:${String(c.arg.connector)}` : c.arg.cluster ? `:${String(c.arg.cluster)}` : ''));

const CONNECTORS = ['mm2-A-to-B-source', 'mm2-A-to-B-checkpoint', 'mm2-A-to-B-heartbeat'];

function input(overrides: Partial<FailoverInput> = {}): FailoverInput {
  return {
    source: 'A',
    target: 'B',
    mode: 'planned',
    forward: { connect: 'connect-b', connectors: CONNECTORS, sourceConnectors: ['mm2-A-to-B-source'] },
    topics: ['orders'],
    groups: ['billing'],
    requestedBy: 'alice',
    gates: {
      'stop-producers': { approvers: ['bob', 'carol'], deadline: '5 minutes' },
      'consumers-cutover': { fourEyes: true, deadline: '5 minutes' },
      'producers-cutover': { deadline: '5 minutes' },
    },
    quietSeconds: 1,
    ...overrides,
  };
}

describe('failover playbook: control flow with stub activities', { timeout: 300_000 }, () => {
  let harness: StubWorker;
  type Handle = WorkflowHandle<typeof failover>;
  const started: Handle[] = [];

  before(async () => {
    harness = await startStubWorker({ name: 'failover', activities: stubs });
  });

  after(async () => {
    await harness?.close();
  });

  async function start(args: unknown, scenario: Scenario = {}): Promise<Handle> {
    const workflowId = `failover-test-${uniqueId()}`;
    scenarios.set(workflowId, scenario);
    const handle = await harness.client.workflow.start<typeof failover>('failover', { taskQueue: harness.taskQueue, workflowId, args: [args], workflowExecutionTimeout: '2 minutes' });
    started.push(handle);
    return handle;
  }

  const failure = workflowFailure;

  it('planned, approved at every gate: runbook order, nothing destructive before stop-producers, figures for failback and RTO/RPO', async () => {
    const h = await start(input());
    const first = await gateOpen(h, 'stop-producers');
    assert.deepEqual(namesOf(h.workflowId).sort(), ['clusterHealth:B', 'replicationLag']);
    assert.ok(callsOf(h.workflowId).every((c) => !DESTRUCTIVE.has(c.name)), 'nothing destructive before stop-producers');
    assert.match(first.openGate!.description, /producers to orders on A are stopped/);
    assert.deepEqual(first.openGate!.approvers, ['bob', 'carol']);
    assert.equal(first.figures.lagAtStart, '42');

    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    const second = await gateOpen(h, 'consumers-cutover');
    // Translated before the consumers gate opens; stopped before translated.
    const names = namesOf(h.workflowId);
    // The two checks and the two snapshots are scheduled together: their order among themselves may vary.
    assert.deepEqual(names.slice(0, 2).sort(), ['clusterHealth:B', 'replicationLag']);
    assert.deepEqual(names.slice(2, 5), [
      'waitForQuietProducers:A',
      'waitForDrain',
      // One activity stops the three and waits for STOPPED (history economy).
      'stopConnectors',
    ]);
    assert.deepEqual(names.slice(5, 7).sort(), ['snapshotEndOffsets:A', 'snapshotEndOffsets:B']);
    // Conservation proven (exact count, forward flow stopped) before translating; writes after the snapshot counted before the gate.
    assert.deepEqual(names.slice(7), ['replicationLag', 'applyOffsetTranslation', 'replicationLag']);
    assert.ok(callsOf(h.workflowId).filter((c) => c.name === 'replicationLag').slice(1).every((c) => c.arg.exact === true));
    assert.deepEqual(callsOf(h.workflowId).find((c) => c.name === 'stopConnectors')!.arg, { connect: 'connect-b', connectors: CONNECTORS });
    const translate = callsOf(h.workflowId).find((c) => c.name === 'applyOffsetTranslation')!;
    assert.deepEqual(translate.arg.freshness, { policy: 'default', waitSeconds: 0 }, 'planned: checkpoint freshness compared with A, reported only');
    assert.deepEqual(second.compensations.registered.map((r) => [r.name, r.step]), CONNECTORS.map((c) => [`resume forward connector ${c}`, 'stop-forward']));
    const snapB = callsOf(h.workflowId).find((c) => c.name === 'snapshotEndOffsets' && c.arg.cluster === 'B')!;
    assert.deepEqual(snapB.arg.topics, ['A.orders', 'orders']);
    const drain = callsOf(h.workflowId).find((c) => c.name === 'waitForDrain')!;
    assert.deepEqual(drain.arg, { connect: 'connect-b', connectors: ['mm2-A-to-B-source'], source: 'A', topics: ['orders'] });

    // Four-eyes on consumers-cutover: the requester may not approve it.
    await assert.rejects(h.executeUpdate(decideUpdate, { args: [{ gate: 'consumers-cutover', decision: 'approve', by: 'alice' }] }), (err: Error) => /four-eyes/.test(String(err.cause)));
    await h.executeUpdate(decideUpdate, { args: [{ gate: 'consumers-cutover', decision: 'approve', by: 'dave', comment: 'consumers moved' }] });
    await gateOpen(h, 'producers-cutover');
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'erin' });

    const report = (await h.result()) as PlaybookReport<FailoverFigures>;
    assert.equal(report.outcome, 'completed');
    assert.equal(report.compensation, null);
    assert.deepEqual(report.steps.map((s) => [s.name, s.state]), [
      ['check-target', 'completed'],
      ['check-lag', 'completed'],
      ['hook:stop-producers', 'completed'],
      ['verify-quiet', 'completed'],
      ['drain', 'completed'],
      ['stop-forward', 'completed'],
      ['snapshot', 'completed'],
      ['check-conservation', 'completed'],
      ['translate-offsets', 'completed'],
      ['check-writes:consumers-cutover', 'completed'],
      ['hook:consumers-cutover', 'completed'],
      ['check-writes:producers-cutover', 'completed'],
      ['hook:producers-cutover', 'completed'],
      ['check-writes:end', 'completed'],
    ]);
    assert.deepEqual(report.decisions.map((d) => [d.gate, d.decision, d.by]), [
      ['stop-producers', 'approved', 'bob'],
      ['consumers-cutover', 'approved', 'dave'],
      ['producers-cutover', 'approved', 'erin'],
    ]);
    const f = report.figures;
    assert.equal(f.mode, 'planned');
    assert.equal(f.lagAtStart, '42');
    assert.equal(f.rpoRecords, 0);
    assert.equal(f.conservation.gapRecords, '0');
    assert.deepEqual(f.conservation.grownAfterDrain, []);
    assert.equal(f.writesAfterSnapshot.at, 'end');
    assert.equal(f.writesAfterSnapshot.records, '0');
    assert.equal(typeof f.drainMs, 'number');
    assert.ok(f.rtoMs > 0, `rtoMs ${f.rtoMs}`);
    assert.equal(f.snapshots.source!.cluster, 'A');
    assert.equal(f.snapshots.target.cluster, 'B');
    assert.deepEqual(f.snapshots.target.offsets, { 'A.orders': { '0': '10', '1': '12' } });
    assert.deepEqual(f.offsetsSet, [
      { group: 'billing', topic: 'A.orders', partition: 0, offset: '10' },
      { group: 'billing', topic: 'A.orders', partition: 1, offset: '12' },
    ]);
    assert.equal(report.phases.at(-1)!.phase, 'completed');
  });

  it('a gap after stop-forward opens replication-gap: re-drain (the default) resumes, drains, stops and checks again; writes after the snapshot reach rpoRecords', async () => {
    // Exact lag answers in turn: check-conservation 3 (gap), again 0 after the re-drain, then 0, 5 and 5 at the later checks.
    const h = await start(input(), { gaps: ['3', '0', '0', '5', '5'] });
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    const gap = await gateOpen(h, 'replication-gap');
    assert.match(gap.openGate!.description, /3 record\(s\) on A are not on B after stop-forward: orders-0: 3 record\(s\) \(replicated up to 10, end 13\)/);
    assert.deepEqual(gap.openGate!.choices, ['re-drain', 'accept-loss']);
    assert.equal((gap.figures as FailoverFigures).conservation.gapRecords, '3');
    await assert.rejects(
      h.executeUpdate(decideUpdate, { args: [{ gate: 'replication-gap', decision: 'approve', by: 'bob', choice: 'ignore' }] }),
      (err: Error) => /no choice 'ignore'/.test(String(err.cause)),
    );
    await h.signal(approveSignal, { gate: 'replication-gap', by: 'bob' });
    await gateOpen(h, 'consumers-cutover');
    await h.signal(approveSignal, { gate: 'consumers-cutover', by: 'dave' });
    const prod = await gateOpen(h, 'producers-cutover');
    assert.match(prod.openGate!.description, /WARNING: 5 record\(s\) were written to A after the stop-forward snapshot and are not on B .*orders-0: 5 record\(s\)/);
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'erin' });
    const report = (await h.result()) as PlaybookReport<FailoverFigures>;
    assert.equal(report.outcome, 'completed');
    assert.deepEqual(report.decisions.find((d) => d.gate === 'replication-gap')?.choice, 're-drain');
    const names = namesOf(h.workflowId);
    const redrain = names.slice(names.indexOf('replicationLag', 2) + 1, names.lastIndexOf('applyOffsetTranslation'));
    assert.deepEqual(redrain.slice(0, 5), CONNECTORS.map((c) => `resumeConnector:${c}`).concat(['waitForDrain', 'stopConnectors']));
    assert.equal(report.figures.conservation.redrains, 1);
    assert.equal(report.figures.rpoRecords, 5);
    assert.deepEqual(report.figures.writesAfterSnapshot.partitions, [{ topic: 'orders', partition: 0, records: '5', end: '15' }]);
  });

  it('replication-gap with accept-loss: recorded with the counts, the lost records are in rpoRecords, not in writesAfterSnapshot', async () => {
    const h = await start(input(), { gaps: ['3', '3', '3', '3'] });
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    await gateOpen(h, 'replication-gap');
    await h.executeUpdate(decideUpdate, { args: [{ gate: 'replication-gap', decision: 'approve', by: 'carol', choice: 'accept-loss', comment: 'known test records' }] });
    await gateOpen(h, 'consumers-cutover');
    await h.signal(approveSignal, { gate: 'consumers-cutover', by: 'dave' });
    await gateOpen(h, 'producers-cutover');
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'erin' });
    const report = (await h.result()) as PlaybookReport<FailoverFigures>;
    assert.equal(report.outcome, 'completed');
    assert.deepEqual(report.figures.conservation.acceptedLoss, { records: '3', partitions: 1, by: 'carol', at: report.decisions.find((d) => d.gate === 'replication-gap')!.at });
    assert.equal(report.figures.rpoRecords, 3);
    assert.equal(report.figures.writesAfterSnapshot.records, '0');
    assert.ok(!namesOf(h.workflowId).includes('resumeConnector:mm2-A-to-B-source'), 'accept-loss does not resume the flow');
  });

  it('rejected at stop-producers: nothing stopped, nothing set, completes as rejected', async () => {
    const h = await start(input());
    await gateOpen(h, 'stop-producers');
    await h.signal(rejectSignal, { gate: 'stop-producers', by: 'carol', reason: 'the release is still running' });
    const report = await h.result();
    assert.equal(report.outcome, 'rejected');
    assert.equal(report.stoppedAtGate, 'stop-producers');
    assert.deepEqual(report.compensation!.undone, []);
    assert.ok(callsOf(h.workflowId).every((c) => !DESTRUCTIVE.has(c.name)), `calls: ${namesOf(h.workflowId).join(', ')}`);
  });

  it('aborted at consumers-cutover (after stop-forward): every forward connector is resumed, newest first; offsets kept, with why', async () => {
    const h = await start(input());
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    await gateOpen(h, 'consumers-cutover');
    await h.signal(abortSignal, { by: 'carol', reason: 'B consumers not ready' });
    const report = await h.result();
    assert.equal(report.outcome, 'aborted');
    assert.deepEqual(report.compensation!.undone, [...CONNECTORS].reverse().map((c) => `resume forward connector ${c}`));
    assert.deepEqual(report.compensation!.leftAsIs.map((l) => l.name), ['consumer group offsets on target']);
    const resumed = namesOf(h.workflowId).filter((n) => n.startsWith('resumeConnector'));
    assert.deepEqual(resumed, [...CONNECTORS].reverse().map((c) => `resumeConnector:${c}`));
    assert.equal(report.steps.find((s) => s.name === 'stop-forward')!.state, 'compensated');
  });

  it('after producers-cutover nothing is resumed (the report says why)', async () => {
    // Checked through the status: after the last approval the undos are withdrawn.
    const h = await start(input());
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    await gateOpen(h, 'consumers-cutover');
    await h.signal(approveSignal, { gate: 'consumers-cutover', by: 'dave' });
    await gateOpen(h, 'producers-cutover');
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'dave' });
    await h.result();
    const s = await h.query(statusQuery);
    assert.deepEqual(s.compensations.registered, []);
    assert.deepEqual(
      s.compensations.leftAsIs.map((l) => l.name).sort(),
      ['consumer group offsets on target', ...CONNECTORS.map((c) => `resume forward connector ${c}`)].sort(),
    );
  });

  it('planned refused when the forward lag is above lagThreshold: fails before any gate, with the figures, nothing changed', async () => {
    const h = await start(input({ lagThreshold: 1000 }), { lagTotal: '5000' });
    const cause = await failure(h);
    assert.equal(cause.type, 'PlaybookFailed');
    assert.match(cause.message, /forward lag 5000 records is above lagThreshold 1000/);
    const report = cause.details![0] as PlaybookReport<FailoverFigures>;
    assert.equal(report.outcome, 'failed');
    assert.deepEqual(report.decisions, []);
    assert.deepEqual(report.steps.map((s) => [s.name, s.state]), [['check-target', 'completed'], ['check-lag', 'failed']]);
    assert.equal(report.figures.lagAtStart, '5000');
    assert.deepEqual(namesOf(h.workflowId).sort(), ['clusterHealth:B', 'replicationLag']);
  });

  it('planned refused when the target is unhealthy', async () => {
    const h = await start(input(), { targetHealthy: false });
    const cause = await failure(h);
    assert.match(cause.message, /target B is not healthy: 1 offline partition: orders-0/);
    // Both read-only checks are scheduled together; nothing else runs.
    assert.deepEqual(namesOf(h.workflowId).sort(), ['clusterHealth:B', 'replicationLag']);
  });

  it('unplanned, source unreachable after N probes: RPO from heartbeat freshness, no drain, target snapshot only, same gates', async () => {
    const h = await start(input({ mode: 'unplanned', probeAttempts: 2 }), { sourceDown: true });
    const s = await gateOpen(h, 'consumers-cutover');
    assert.deepEqual(s.figures.rpoEstimate, { ageMs: 7000, lastHeartbeatAt: '2025-01-01T00:00:03.000Z' });
    assert.equal(s.figures.sourceReachable, false);
    await h.signal(approveSignal, { gate: 'consumers-cutover', by: 'bob' });
    await gateOpen(h, 'producers-cutover');
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'bob' });
    const report = (await h.result()) as PlaybookReport<FailoverFigures>;
    assert.equal(report.outcome, 'completed');
    assert.deepEqual(report.steps.map((s) => [s.name, s.state]), [
      ['probe-source', 'completed'],
      ['estimate-rpo', 'completed'],
      ['verify-quiet', 'skipped'],
      ['drain', 'skipped'],
      ['stop-forward', 'completed'],
      ['snapshot', 'completed'],
      ['translate-offsets', 'completed'],
      ['hook:consumers-cutover', 'completed'],
      ['hook:producers-cutover', 'completed'],
    ]);
    assert.equal(report.steps[0]!.details!.reachable, false);
    const names = namesOf(h.workflowId);
    assert.deepEqual(names.filter((n) => n === 'clusterHealth:A').length, 2, 'probed probeAttempts times');
    for (const absent of ['waitForDrain', 'waitForQuietProducers', 'replicationLag', 'snapshotEndOffsets:A']) assert.ok(!names.includes(absent), absent);
    assert.equal(report.figures.snapshots.source, null);
    assert.equal(report.figures.rpoRecords, undefined);
    assert.deepEqual(report.decisions.map((d) => d.gate), ['consumers-cutover', 'producers-cutover']);
  });

  it('unplanned with sourceUnreachable asserted: no probe at all', async () => {
    const h = await start(input({ mode: 'unplanned', sourceUnreachable: true }));
    await gateOpen(h, 'consumers-cutover');
    assert.ok(!namesOf(h.workflowId).includes('clusterHealth:A'));
    await h.signal(abortSignal, { by: 'bob', reason: 'test over' });
    const report = await h.result();
    assert.equal(report.steps[0]!.state, 'skipped');
    assert.equal(report.compensation!.undone.length, CONNECTORS.length);
  });

  it('dryRun: read-only steps, returns the plan (connectors to stop, offsets to set, gates), calls nothing destructive, opens no gate', async () => {
    const h = await start(input({ dryRun: true, lagThreshold: 10 }), { lagTotal: '42' });
    const report = (await h.result()) as PlaybookReport<FailoverFigures>;
    assert.equal(report.outcome, 'completed');
    assert.deepEqual(report.decisions, []);
    assert.ok(callsOf(h.workflowId).every((c) => !DESTRUCTIVE.has(c.name)), `calls: ${namesOf(h.workflowId).join(', ')}`);
    assert.deepEqual(namesOf(h.workflowId).slice(0, 2).sort(), ['clusterHealth:B', 'replicationLag']);
    assert.deepEqual(namesOf(h.workflowId).slice(2), ['planOffsetTranslation']);
    const plan = report.figures.plan;
    assert.deepEqual(plan.connectorsToStop, { connect: 'connect-b', connectors: CONNECTORS });
    assert.deepEqual(plan.mirroredTopics, ['A.orders']);
    assert.deepEqual(plan.gates.map((g) => g.gate), ['stop-producers', 'consumers-cutover', 'producers-cutover']);
    assert.deepEqual(plan.offsets[0]!.partitions.map((p) => [p.topic, p.partition, p.to, p.action]), [
      ['A.orders', 0, '10', 'set'],
      ['A.orders', 1, '12', 'set'],
    ]);
    // The lag above threshold is reported as a blocker, not a failure.
    assert.equal(plan.blockers.length, 1);
    assert.match(plan.blockers[0]!, /above lagThreshold 10/);
  });

  it('bad input fails at once, non-retryably, naming each field; zero activity calls', async () => {
    const h = await start({
      ...input(),
      target: 'A',
      topics: [],
      groups: ['g', 'g'],
      lagThreshold: -5,
      forward: { connect: 'connect-b', connectors: ['x'], sourceConnectors: ['y'] },
    });
    const cause = await failure(h);
    assert.equal(cause.type, 'InvalidInput');
    assert.equal(cause.nonRetryable, true);
    for (const field of ['forward.sourceConnectors.0', 'topics', 'groups', 'lagThreshold', 'target: must differ from source']) {
      assert.ok(cause.message.includes(field), `${field} in: ${cause.message}`);
    }
    assert.deepEqual(callsOf(h.workflowId), []);
  });

  it('replays every history recorded above with the same bundle', async () => {
    assert.equal(await replayAll(harness.bundle, started), started.length);
  });
});
