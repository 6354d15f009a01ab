import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure, type WorkflowHandle } from '@temporalio/client';
import type { Activities } from '../../activities';
import type { FailoverFigures } from '../../src/model/failover-input';
import type { PlaybookReport } from '../../src/model/gates';
import type { failover } from '../../workflows/failover';
import { abortSignal, approveSignal, decideUpdate, rejectSignal, statusQuery } from '../../workflows/framework';
import { approveGates, gateOpen, replayAll, usePlaybookHarness, workflowFailure } from '../helpers/playbook';
import type { UnplacedPartition } from '../../src/model/unplaced';
import { UNPLACED, UNPLACED_PLACEMENTS } from '../helpers/unplaced';
import type { FlowScope } from '../../src/mm2/flow-scope';
import { IDENTITY_POLICY_CLASS } from '../../src/mm2/policy';
import {
  appliedTranslationOf,
  callLog,
  connectorStubs,
  CUTOVER_WRITES,
  failoverInput as input,
  type FailoverPathStubs,
  groupPlanOf,
  healthyCluster,
  lagReport,
  localTopicsAnswer,
  OPEN_FLOW_SCOPE,
  sourceFlowScope,
  translationOf,
  type Call,
  unplacedStubs,
} from '../replay/stubs';
import { evaluateClusterHealth } from '../../src/kafka/probes';
import { evaluateHeadroom, evaluateQuorum } from '../../src/kafka/quorum-headroom';

/**
 * The failover playbook's control flow on the real Temporal dev server with stub
 * activities (same names and shapes as activities/*). One worker, one bundle; a
 * workflow ID per test. Every history is replayed at the end.
 */

/** What a stub answers, per workflow (set before starting it). */
interface Scenario {
  lagTotal?: string;
  /** Unreplicated records the exact lag reports after stop-forward, one answer per call. */
  gaps?: string[];
  targetHealthy?: boolean;
  /** Target B's quorum with voter 3 behind (majority held) and one log dir at 40 % usable. */
  targetQuorumDegraded?: boolean;
  sourceDown?: boolean;
  evidenceFails?: boolean;
  /** Named groups the forward checkpoint connector never translates. */
  outside?: string[];
  /** What find-unplaced answers. */
  unplaced?: UnplacedPartition[];
  /** describeFlow's answer (default: a flow that refuses nothing). */
  flowScope?: FlowScope;
}
const scenarios = new Map<string, Scenario>();

const DESTRUCTIVE = new Set([...CUTOVER_WRITES, 'stopConnectors', 'prepareLocalTopics']);
/** A call that changes something (prepareLocalTopics only reads in a dry run). */
const destructive = (c: Call) => DESTRUCTIVE.has(c.name) && !(c.name === 'prepareLocalTopics' && c.arg.dryRun === true);

const { wfId, record, callsOf, namesOf } = callLog(scenarios);

const snapshotOf = (cluster: string, topics: string[]) => ({
  cluster,
  takenAt: '2025-01-01T00:00:00.000Z',
  offsets: Object.fromEntries(
    topics.filter((t) => !t.startsWith('orders') || cluster === 'A' || t.startsWith('A.')).map((t) => [t, { '0': '10', '1': '12' }]),
  ),
  missingTopics: topics.filter((t) => cluster === 'B' && !t.startsWith('A.')),
});

const groupPlan = groupPlanOf('A.orders', ['10', '12']);

type Stubs = FailoverPathStubs &
  Pick<Activities, 'waitForConnectorState' | 'replicationFreshness' | 'unplannedRpoEvidence' | 'placeUnplacedGroups'>;

/** describeFlow calls, apart from `calls`: the call-order assertions below predate the scope check. */
const flowCalls: Call[] = [];

const stubs: Stubs = {
  async describeFlow(input) {
    flowCalls.push({ workflowId: wfId(), name: 'describeFlow', arg: input as Record<string, unknown> });
    return scenarios.get(wfId())?.flowScope ?? OPEN_FLOW_SCOPE;
  },
  async clusterHealth(input) {
    const s = record('clusterHealth', input);
    if (input.cluster === 'A' && s.sourceDown)
      throw ApplicationFailure.create({ type: 'ClusterUnreachable', message: 'cluster A: connection refused' });
    if (input.cluster === 'B' && s.targetQuorumDegraded) {
      const replica = (replicaId: number, caughtUpAgoMs: number) => ({
        replicaId,
        logEndOffset: '100',
        lastFetchTimestamp: 1_000_000 - caughtUpAgoMs,
        lastCaughtUpTimestamp: 1_000_000 - caughtUpAgoMs,
      });
      return evaluateClusterHealth(
        'B',
        { brokerIds: [1, 2, 3], controllerId: 1, partitions: [], source: 'admin' },
        { expectedBrokers: 3, expectedBrokersFrom: 'registry' },
        {
          quorum: evaluateQuorum(
            {
              error: null,
              leaderId: 1,
              leaderEpoch: 4,
              highWatermark: '100',
              voters: [replica(1, 0), replica(2, 0), replica(3, 60_000)],
              observers: [],
            },
            1_000_000,
          ),
          headroom: evaluateHeadroom(
            [{ brokerId: 1, ok: true, logDirs: [{ logDir: '/d', error: null, totalBytes: 100, usableBytes: 40 }] }],
            10,
          ),
        },
      );
    }
    const healthy = input.cluster === 'A' || s.targetHealthy !== false;
    return healthyCluster(input.cluster, { healthy, problems: healthy ? [] : ['1 offline partition: orders-0'] });
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
  ...connectorStubs(record),
  async snapshotEndOffsets(input) {
    record('snapshotEndOffsets', input);
    return snapshotOf(input.cluster, input.topics);
  },
  async planOffsetTranslation(input) {
    record('planOffsetTranslation', input);
    return translationOf(groupPlan, { checkpointsRead: 2 });
  },
  async applyOffsetTranslation(input) {
    record('applyOffsetTranslation', input);
    return appliedTranslationOf(groupPlan, '2025-01-01T00:00:01.000Z', { checkpointsRead: 2 });
  },
  async prepareLocalTopics(input) {
    record('prepareLocalTopics', input);
    return localTopicsAnswer(input);
  },
  async checkGroupsInFlow(input) {
    const s = record('checkGroupsInFlow', input);
    return {
      checkpointConnectors: ['mm2-A-to-B-checkpoint'],
      outside: (s.outside ?? []).map((group) => ({ group, why: `mm2-A-to-B-checkpoint: not in its groups allowlist (groups=billing)` })),
    };
  },
  ...unplacedStubs(record, { exact: 0, translated: 2 }, '500'),
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
  async unplannedRpoEvidence(input) {
    const s = record('unplannedRpoEvidence', input);
    if (s.evidenceFails)
      throw ApplicationFailure.create({ type: 'ConnectUnavailable', message: 'connect-b: connection refused', nonRetryable: true });
    return {
      partitions: [
        {
          topic: 'orders',
          partition: 0,
          committedOffset: '9',
          lastKnownSourceEnd: '14',
          lastKnownSourceEndAt: '2025-01-01T00:00:05.000Z',
          recordsNotReplicated: '4',
          newestReplicatedRecordAt: '2025-01-01T00:00:02.000Z',
        },
      ],
      records: { total: '4', bound: 'lower', asOf: '2025-01-01T00:00:05.000Z', ageMs: 5000, unknownPartitions: [], why: 'w' },
      seconds: {
        bound: 'upper',
        lastReplicatedHeartbeatAt: '2025-01-01T00:00:03.000Z',
        heartbeatAgeMs: 7000,
        newestReplicatedRecordAt: '2025-01-01T00:00:02.000Z',
        newestReplicatedRecordAgeMs: 8000,
        why: 'w',
      },
      computedAt: '2025-01-01T00:00:10.000Z',
      heartbeat: { topic: 'A.heartbeats', emitter: { source: 'B', target: 'A' }, otherEmitters: 0 },
    };
  },
};

const CONNECTORS = ['mm2-A-to-B-source', 'mm2-A-to-B-checkpoint', 'mm2-A-to-B-heartbeat'];

describe('failover playbook: control flow with stub activities', { timeout: 300_000 }, () => {
  type Handle = WorkflowHandle<typeof failover>;
  const harness = usePlaybookHarness<typeof failover, Scenario>('failover', { name: 'failover', activities: stubs, scenarios });
  const { start, started } = harness;

  const failure = workflowFailure;

  it('planned, approved at every gate: runbook order, consumers stopped before the translation, figures for failback and RTO/RPO', async () => {
    const h = await start(input());
    const first = await gateOpen(h, 'stop-producers');
    // check-scope (describeFlow, counted apart) judges the groups too: check-groups is no longer scheduled.
    assert.deepEqual(namesOf(h.workflowId).sort(), ['clusterHealth:B', 'replicationLag']);
    assert.ok(
      callsOf(h.workflowId).every((c) => !destructive(c)),
      'nothing destructive before stop-producers',
    );
    assert.match(first.openGate!.description, /producers to orders on A are stopped/);
    assert.deepEqual(first.openGate!.approvers, ['bob', 'carol']);
    assert.equal(first.figures.lagAtStart, '42');

    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    const second = await gateOpen(h, 'consumers-cutover');
    // Stopped and snapshotted before the consumers gate; translated only after it (consumers stopped first).
    const names = namesOf(h.workflowId);
    // The three checks and the two snapshots are scheduled together: their order among themselves may vary.
    assert.deepEqual(names.slice(0, 2).sort(), ['clusterHealth:B', 'replicationLag']);
    assert.deepEqual(names.slice(2, 5), [
      'waitForQuietProducers:A',
      'waitForDrain',
      // One activity stops the three and waits for STOPPED (history economy).
      'stopConnectors',
    ]);
    assert.deepEqual(names.slice(5, 7).sort(), ['snapshotEndOffsets:A', 'snapshotEndOffsets:B']);
    // Conservation proven (exact count, forward flow stopped) and writes after the snapshot counted before the gate; no translation yet.
    assert.deepEqual(names.slice(7), ['replicationLag', 'replicationLag']);
    assert.ok(
      callsOf(h.workflowId)
        .filter((c) => c.name === 'replicationLag')
        .slice(1)
        .every((c) => c.arg.exact === true),
    );
    assert.match(second.openGate!.description, /stop consumer groups billing on A \(hook stop-consumers/);
    assert.deepEqual(callsOf(h.workflowId).find((c) => c.name === 'stopConnectors')!.arg, { connect: 'connect-b', connectors: CONNECTORS });
    assert.deepEqual(
      second.compensations.registered.map((r) => [r.name, r.step]),
      CONNECTORS.map((c) => [`resume forward connector ${c}`, 'stop-forward']),
    );
    const snapB = callsOf(h.workflowId).find((c) => c.name === 'snapshotEndOffsets' && c.arg.cluster === 'B')!;
    assert.deepEqual(snapB.arg.topics, ['A.orders', 'orders']);
    const drain = callsOf(h.workflowId).find((c) => c.name === 'waitForDrain')!;
    assert.deepEqual(drain.arg, { connect: 'connect-b', connectors: ['mm2-A-to-B-source'], source: 'A', topics: ['orders'] });

    // Four-eyes on consumers-cutover: the requester may not approve it.
    await assert.rejects(
      h.executeUpdate(decideUpdate, { args: [{ gate: 'consumers-cutover', decision: 'approve', by: 'alice' }] }),
      (err: Error) => /four-eyes/.test(String(err.cause)),
    );
    await h.executeUpdate(decideUpdate, {
      args: [{ gate: 'consumers-cutover', decision: 'approve', by: 'dave', comment: 'consumers moved' }],
    });
    await gateOpen(h, 'producers-cutover');
    // Translated after the approval, B's local topic made sure of (Default policy); check-writes before the producers gate opens.
    assert.deepEqual(namesOf(h.workflowId).slice(9), [
      'applyOffsetTranslation',
      'findUnplacedPositions',
      'prepareLocalTopics',
      'replicationLag',
    ]);
    assert.deepEqual(callsOf(h.workflowId).find((c) => c.name === 'prepareLocalTopics')!.arg, {
      source: 'A',
      target: 'B',
      topics: ['orders'],
      groups: ['billing'],
      readSource: true,
      dryRun: false,
    });
    const translate = callsOf(h.workflowId).find((c) => c.name === 'applyOffsetTranslation')!;
    assert.deepEqual(
      translate.arg.freshness,
      { policy: 'default', waitSeconds: 0 },
      'planned: checkpoint freshness compared with A, reported only',
    );
    const find = callsOf(h.workflowId).find((c) => c.name === 'findUnplacedPositions')!;
    assert.equal(find.arg.readSource, true);
    assert.deepEqual(find.arg.planned, [
      { group: 'billing', partitions: groupPlan.partitions.map(({ from: _f, to: _t, checkpoint: _c, ...p }) => p) },
    ]);
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'erin' });

    const report = (await h.result()) as PlaybookReport<FailoverFigures>;
    assert.equal(report.outcome, 'completed');
    assert.equal(report.compensation, null);
    assert.deepEqual(
      report.steps.map((s) => [s.name, s.state]),
      [
        ['check-target', 'completed'],
        ['check-lag', 'completed'],
        ['check-scope', 'completed'],
        ['hook:stop-producers', 'completed'],
        ['verify-quiet', 'completed'],
        ['drain', 'completed'],
        ['stop-forward', 'completed'],
        ['snapshot', 'completed'],
        ['check-conservation', 'completed'],
        ['check-writes:consumers-cutover', 'completed'],
        ['hook:consumers-cutover:stop-consumers', 'completed'],
        ['translate-offsets', 'completed'],
        ['find-unplaced', 'completed'],
        ['prepare-local-topics', 'completed'],
        ['hook:consumers-cutover:start-consumers', 'completed'],
        ['check-writes:producers-cutover', 'completed'],
        ['hook:producers-cutover', 'completed'],
        ['check-writes:end', 'completed'],
      ],
    );
    assert.deepEqual(report.figures.unplaced, []);
    assert.deepEqual(
      report.figures.groupPositions!.map((g) => [g.group, g.outcome]),
      [['billing', 'translated through checkpoints on 2 partition(s)']],
    );
    assert.deepEqual(
      report.decisions.map((d) => [d.gate, d.decision, d.by]),
      [
        ['stop-producers', 'approved', 'bob'],
        ['consumers-cutover', 'approved', 'dave'],
        ['producers-cutover', 'approved', 'erin'],
      ],
    );
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
    assert.deepEqual(
      f.localTopics.map((l) => [l.topic, l.action]),
      [['orders', 'created']],
    );
    assert.deepEqual(
      f.localPositions.map((p) => [p.group, p.topic, p.partition, p.offset, p.action]),
      [
        ['billing', 'orders', 0, '0', 'set'],
        ['billing', 'orders', 1, '0', 'set'],
      ],
    );
    assert.equal(report.phases.at(-1)!.phase, 'completed');
  });

  it('a gap after stop-forward opens replication-gap: re-drain (the default) resumes, drains, stops and checks again; writes after the snapshot reach rpoRecords', async () => {
    // Exact lag answers in turn: check-conservation 3 (gap), again 0 after the re-drain, then 0, 5 and 5 at the later checks.
    const h = await start(input(), { gaps: ['3', '0', '0', '5', '5'] });
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    const gap = await gateOpen(h, 'replication-gap');
    assert.match(
      gap.openGate!.description,
      /3 record\(s\) on A are not on B after stop-forward: orders-0: 3 record\(s\) \(replicated up to 10, end 13\)/,
    );
    assert.deepEqual(gap.openGate!.choices, { options: ['re-drain', 'accept-loss'], keys: ['gap'], default: 're-drain' });
    assert.equal((gap.figures as FailoverFigures).conservation.gapRecords, '3');
    await assert.rejects(
      h.executeUpdate(decideUpdate, { args: [{ gate: 'replication-gap', decision: 'approve', by: 'bob', choices: { '*': 'ignore' } }] }),
      (err: Error) => /\*=ignore: not a choice here/.test(String(err.cause)),
    );
    await h.signal(approveSignal, { gate: 'replication-gap', by: 'bob' });
    await gateOpen(h, 'consumers-cutover');
    await h.signal(approveSignal, { gate: 'consumers-cutover', by: 'dave' });
    const prod = await gateOpen(h, 'producers-cutover');
    assert.match(
      prod.openGate!.description,
      /WARNING: 5 record\(s\) were written to A after the stop-forward snapshot and are not on B .*orders-0: 5 record\(s\)/,
    );
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'erin' });
    const report = (await h.result()) as PlaybookReport<FailoverFigures>;
    assert.equal(report.outcome, 'completed');
    assert.deepEqual(report.decisions.find((d) => d.gate === 'replication-gap')?.choices, { gap: 're-drain' });
    const names = namesOf(h.workflowId);
    const redrain = names.slice(
      names.findIndex((n) => n.startsWith('resumeConnector:')),
      names.lastIndexOf('applyOffsetTranslation'),
    );
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
    await h.executeUpdate(decideUpdate, {
      args: [{ gate: 'replication-gap', decision: 'approve', by: 'carol', choices: { '*': 'accept-loss' }, comment: 'known test records' }],
    });
    await approveGates(h, [
      ['consumers-cutover', 'dave'],
      ['producers-cutover', 'erin'],
    ]);
    const report = (await h.result()) as PlaybookReport<FailoverFigures>;
    assert.equal(report.outcome, 'completed');
    assert.deepEqual(report.figures.conservation.acceptedLoss, {
      records: '3',
      partitions: 1,
      by: 'carol',
      at: report.decisions.find((d) => d.gate === 'replication-gap')!.at,
    });
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
    assert.ok(
      callsOf(h.workflowId).every((c) => !destructive(c)),
      `calls: ${namesOf(h.workflowId).join(', ')}`,
    );
  });

  it('aborted at consumers-cutover (after stop-forward): every forward connector is resumed, newest first; nothing was translated yet', async () => {
    const h = await start(input());
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    await gateOpen(h, 'consumers-cutover');
    await h.signal(abortSignal, { by: 'carol', reason: 'B consumers not ready' });
    const report = await h.result();
    assert.equal(report.outcome, 'aborted');
    assert.deepEqual(
      report.compensation!.undone,
      [...CONNECTORS].reverse().map((c) => `resume forward connector ${c}`),
    );
    assert.deepEqual(
      report.compensation!.leftAsIs.map((l) => l.name),
      [],
    );
    assert.ok(!namesOf(h.workflowId).includes('applyOffsetTranslation'), 'the consumers gate comes before the translation');
    const resumed = namesOf(h.workflowId).filter((n) => n.startsWith('resumeConnector'));
    assert.deepEqual(
      resumed,
      [...CONNECTORS].reverse().map((c) => `resumeConnector:${c}`),
    );
    assert.equal(report.steps.find((s) => s.name === 'stop-forward')!.state, 'compensated');
  });

  it('after producers-cutover nothing is resumed (the report says why)', async () => {
    // Checked through the status: after the last approval the undos are withdrawn.
    const h = await start(input());
    await approveGates(h, ['stop-producers', ['consumers-cutover', 'dave'], ['producers-cutover', 'dave']]);
    await h.result();
    const s = await h.query(statusQuery);
    assert.deepEqual(s.compensations.registered, []);
    assert.deepEqual(
      s.compensations.leftAsIs.map((l) => l.name).sort(),
      [
        'consumer group offsets on target',
        'local topics created on target',
        ...CONNECTORS.map((c) => `resume forward connector ${c}`),
      ].sort(),
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
    assert.deepEqual(
      report.steps.map((s) => [s.name, s.state]),
      [
        ['check-target', 'completed'],
        ['check-lag', 'failed'],
      ],
    );
    assert.equal(report.figures.lagAtStart, '5000');
    assert.deepEqual(namesOf(h.workflowId).sort(), ['clusterHealth:B', 'replicationLag']);
  });

  it('planned refused when the target is unhealthy', async () => {
    const h = await start(input(), { targetHealthy: false });
    const cause = await failure(h);
    assert.match(cause.message, /target B is not healthy: 1 offline partition: orders-0/);
    // The read-only checks are scheduled together; nothing else runs.
    assert.deepEqual(namesOf(h.workflowId).sort(), ['clusterHealth:B', 'replicationLag']);
  });

  it('planned with a degraded target quorum (one voter of three behind): reported in check-target and the figures, not refused', async () => {
    const h = await start(input(), { targetQuorumDegraded: true });
    const s = await gateOpen(h, 'stop-producers');
    const step = s.steps.find((x) => x.name === 'check-target')!;
    assert.equal(step.state, 'completed');
    assert.match(
      String(step.details?.why),
      /^quorum degraded: 2 of 3 voters caught up \(leader 1, majority held\): voter 3 lagging .*; lowest log dir 40 % usable of 1 \(min 10 %\)$/,
    );
    assert.match((step.details?.warnings as string[])[0]!, /^controller quorum degraded: /);
    assert.deepEqual(s.figures.targetHealth, {
      quorum: 'degraded',
      quorumLeader: 1,
      votersCaughtUp: '2/3',
      quorumVotersBehind: '3',
      lowestUsableLogDirPercent: 40,
      minUsableLogDirPercent: 10,
    });
    await h.signal(abortSignal, { by: 'bob', reason: 'test over' });
    await h.result().catch(() => undefined);
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
    assert.deepEqual(
      report.steps.map((s) => [s.name, s.state]),
      [
        ['probe-source', 'completed'],
        ['estimate-rpo', 'completed'],
        ['rpo-evidence', 'completed'],
        ['check-scope', 'completed'],
        ['verify-quiet', 'skipped'],
        ['drain', 'skipped'],
        ['stop-forward', 'completed'],
        ['snapshot', 'completed'],
        ['hook:consumers-cutover:stop-consumers', 'completed'],
        ['translate-offsets', 'completed'],
        ['find-unplaced', 'completed'],
        ['prepare-local-topics', 'completed'],
        ['hook:consumers-cutover:start-consumers', 'completed'],
        ['hook:producers-cutover', 'completed'],
      ],
    );
    assert.equal(report.steps[0]!.details!.reachable, false);
    const names = namesOf(h.workflowId);
    assert.deepEqual(names.filter((n) => n === 'clusterHealth:A').length, 2, 'probed probeAttempts times');
    for (const absent of ['waitForDrain', 'waitForQuietProducers', 'replicationLag', 'snapshotEndOffsets:A'])
      assert.ok(!names.includes(absent), absent);
    assert.equal(report.figures.snapshots.source, null);
    // The records bound from the evidence, read from the target side only.
    assert.equal(report.figures.rpoRecords, 4);
    assert.equal(report.figures.rpoRecordsBound.bound, 'lower');
    assert.equal(report.figures.rpoRecordsBound.asOf, '2025-01-01T00:00:05.000Z');
    assert.equal(report.figures.rpoSeconds.heartbeatAgeMs, 7000);
    assert.deepEqual(callsOf(h.workflowId).find((c) => c.name === 'unplannedRpoEvidence')!.arg, {
      connect: 'connect-b',
      connectors: ['mm2-A-to-B-source'],
      source: 'A',
      target: 'B',
      topics: ['orders'],
      policy: 'default',
    });
    assert.deepEqual(
      report.decisions.map((d) => d.gate),
      ['consumers-cutover', 'producers-cutover'],
    );
  });

  it('unplanned refused when the source answers the probe and is healthy: nothing stopped, names planned and sourceUnreachable', async () => {
    const h = await start(input({ mode: 'unplanned' }));
    const cause = await failure(h);
    assert.match(cause.message, /source A answered the probe and is healthy: .*mode 'planned'.*sourceUnreachable \(--source-unreachable\)/);
    assert.ok(
      callsOf(h.workflowId).every((c) => !destructive(c)),
      `calls: ${namesOf(h.workflowId).join(', ')}`,
    );
    assert.ok(!namesOf(h.workflowId).includes('replicationFreshness'), 'refused right after the probe');
    // A dry run lists it as a blocker instead.
    const dry = await start(input({ mode: 'unplanned', dryRun: true }));
    const report = (await dry.result()) as PlaybookReport<FailoverFigures>;
    assert.match(report.figures.plan.blockers.join('\n'), /source A answered the probe and is healthy/);
  });

  it('unplanned with sourceUnreachable asserted: no probe at all; evidence that cannot be read does not hold up the failover', async () => {
    const h = await start(input({ mode: 'unplanned', sourceUnreachable: true }), { evidenceFails: true });
    const s = await gateOpen(h, 'consumers-cutover');
    assert.match(String((s.figures.rpoEvidence as { unavailable: string }).unavailable), /could not be read: .*connection refused/);
    assert.equal(s.figures.rpoRecords, undefined);
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
    assert.ok(
      callsOf(h.workflowId).every((c) => !destructive(c)),
      `calls: ${namesOf(h.workflowId).join(', ')}`,
    );
    assert.deepEqual(namesOf(h.workflowId).slice(0, 2).sort(), ['clusterHealth:B', 'replicationLag']);
    assert.deepEqual(namesOf(h.workflowId).slice(2), ['planOffsetTranslation', 'findUnplacedPositions', 'prepareLocalTopics']);
    const plan = report.figures.plan;
    assert.deepEqual(plan.unplaced, []);
    assert.deepEqual(plan.connectorsToStop, { connect: 'connect-b', connectors: CONNECTORS });
    assert.deepEqual(plan.mirroredTopics, ['A.orders']);
    assert.deepEqual(
      plan.gates.map((g) => g.gate),
      ['stop-producers', 'consumers-cutover', 'producers-cutover'],
    );
    assert.deepEqual(
      plan.offsets[0]!.partitions.map((p) => [p.topic, p.partition, p.to, p.action]),
      [
        ['A.orders', 0, '10', 'set'],
        ['A.orders', 1, '12', 'set'],
      ],
    );
    // The lag above threshold is reported as a blocker, not a failure.
    assert.equal(plan.blockers.length, 1);
    assert.match(plan.blockers[0]!, /above lagThreshold 10/);
    // Planned: the plan verifies exact positions (read-only) and says per group what applying it would do.
    const asked = callsOf(h.workflowId).find((c) => c.name === 'planOffsetTranslation')!.arg;
    assert.deepEqual([asked.exact, asked.policy], [true, 'default']);
    assert.deepEqual(
      plan.positions?.map((o) => [o.group, o.exact, o.leftOut]),
      [['billing', 0, 0]],
    );
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

  async function toUnplacedGate(h: Handle) {
    await approveGates(h, ['stop-producers', ['consumers-cutover', 'dave']]);
    return gateOpen(h, 'unplaced-groups');
  }

  it('group-partitions without a position: gate unplaced-groups lists them with their lag; nothing set for them and consumers not started before the decision; each choice applies what it says', async () => {
    const h = await start(input({ groups: ['billing', 'parked', 'late', 'gone'] }), { unplaced: UNPLACED });
    const s = await toUnplacedGate(h);
    const g = s.openGate!;
    assert.match(g.description, /4 group-partition\(s\) of 3 group\(s\) have a commit on the source but no verified position on B/);
    assert.match(g.description, /parked orders\[1\]: lag 400 \(committed 100 of 500\)/);
    assert.match(g.description, /earliest .*end .*leave-out/);
    assert.deepEqual(g.choices, { options: ['earliest', 'end', 'leave-out'], keys: ['gone', 'late', 'parked'] });
    assert.equal(g.fourEyes, true, "the consumers gate's guard");
    assert.equal((s.figures.unplaced as UnplacedPartition[]).length, 4);
    assert.ok(!namesOf(h.workflowId).includes('placeUnplacedGroups'), 'nothing placed before the decision');
    assert.ok(!s.steps.some((x) => x.name === 'hook:consumers-cutover:start-consumers'), 'consumers not started before the decision');

    // An approval must choose for every group; the requester may not approve (four-eyes).
    await assert.rejects(
      h.executeUpdate(decideUpdate, { args: [{ gate: 'unplaced-groups', decision: 'approve', by: 'dave', choices: { parked: 'end' } }] }),
      (err: Error) => /must choose earliest \| end \| leave-out for gone, late/.test(String(err.cause)),
    );
    await assert.rejects(
      h.executeUpdate(decideUpdate, { args: [{ gate: 'unplaced-groups', decision: 'approve', by: 'dave', choices: { '*': 'latest' } }] }),
      (err: Error) => /not a choice here/.test(String(err.cause)),
    );
    const record = await h.executeUpdate(decideUpdate, {
      args: [{ gate: 'unplaced-groups', decision: 'approve', by: 'dave', choices: { parked: 'end', late: 'earliest', '*': 'leave-out' } }],
    });
    assert.deepEqual(record.choices, { gone: 'leave-out', late: 'earliest', parked: 'end' });
    await gateOpen(h, 'producers-cutover');
    const place = callsOf(h.workflowId).filter((c) => c.name === 'placeUnplacedGroups');
    assert.equal(place.length, 1);
    assert.deepEqual(place[0]!.arg, {
      target: 'B',
      placements: UNPLACED_PLACEMENTS,
    });
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'erin' });
    const report = (await h.result()) as PlaybookReport<FailoverFigures>;
    assert.equal(report.outcome, 'completed');
    const steps = report.steps.map((x) => x.name);
    assert.deepEqual(steps.slice(steps.indexOf('translate-offsets')), [
      'translate-offsets',
      'find-unplaced',
      'place-unplaced',
      'prepare-local-topics',
      'hook:consumers-cutover:start-consumers',
      'check-writes:producers-cutover',
      'hook:producers-cutover',
      'check-writes:end',
    ]);
    // The group left out at the gate gets no position on B's local topic either.
    assert.deepEqual((callsOf(h.workflowId).find((c) => c.name === 'prepareLocalTopics')!.arg.groups as string[]).includes('gone'), false);
    assert.deepEqual(
      report.decisions.map((d) => d.gate),
      ['stop-producers', 'consumers-cutover', 'unplaced-groups', 'producers-cutover'],
    );
    assert.deepEqual(report.figures.unplacedChoices, { gone: 'leave-out', late: 'earliest', parked: 'end' });
    assert.deepEqual(
      report.figures.groupPositions!.map((p) => [p.group, p.outcome, p.skipped, p.reRead]),
      [
        ['billing', 'translated through checkpoints on 2 partition(s)', '0', '0'],
        ['gone', 'left out (1 partition(s) without a position: leave-out)', '0', '0'],
        ['late', 're-read 480 (earliest on 1 partition(s))', '0', '480'],
        ['parked', 'skipped 650 (end on 2 partition(s))', '650', '0'],
      ],
    );
  });

  it('unplaced-groups, every group left out: nothing placed (the step is skipped), the playbook goes on', async () => {
    const h = await start(input({ groups: ['billing', 'parked'] }), { unplaced: UNPLACED.slice(0, 2) });
    await toUnplacedGate(h);
    await h.signal(approveSignal, { gate: 'unplaced-groups', by: 'dave', choices: { parked: 'leave-out' } });
    await gateOpen(h, 'producers-cutover');
    await h.signal(abortSignal, { by: 'erin', reason: 'test over' });
    const report = (await h.result()) as PlaybookReport<FailoverFigures>;
    assert.ok(!namesOf(h.workflowId).includes('placeUnplacedGroups'));
    assert.equal(report.steps.find((x) => x.name === 'place-unplaced')!.state, 'skipped');
    assert.equal(report.figures.groupPositions!.find((p) => p.group === 'parked')!.leftOut, 2);
  });

  it('unplaced-groups rejected: the playbook stops before consumers start; forward connectors resumed', async () => {
    const h = await start(input({ groups: ['billing', 'parked'] }), { unplaced: UNPLACED.slice(0, 2) });
    await toUnplacedGate(h);
    await h.signal(rejectSignal, { gate: 'unplaced-groups', by: 'dave', reason: 'parked must be placed by hand' });
    const report = (await h.result()) as PlaybookReport<FailoverFigures>;
    assert.equal(report.outcome, 'rejected');
    assert.equal(report.stoppedAtGate, 'unplaced-groups');
    assert.ok(!namesOf(h.workflowId).includes('placeUnplacedGroups'));
    assert.ok(!report.steps.some((x) => x.name === 'hook:consumers-cutover:start-consumers'));
    assert.equal(report.compensation!.undone.length, CONNECTORS.length);
  });

  /** A Default-policy flow whose checkpoint connector translates billing and parked only. */
  const billingFlow = (): FlowScope => ({
    ...OPEN_FLOW_SCOPE,
    policy: 'default',
    sourceAlias: 'A',
    targetAlias: 'B',
    groupPatterns: ['billing', 'parked'],
    groupExcludes: ['console-consumer-.*'],
  });

  it("a named group outside the flow's groups allowlist is refused by check-scope at start, naming it; check-groups is not scheduled", async () => {
    const h = await start(input({ groups: ['billing', 'audit'] }), { flowScope: billingFlow() });
    const cause = await failure(h);
    assert.equal(cause.type, 'PlaybookFailed');
    assert.match(
      cause.message,
      /groups: 'audit' is not checkpointed by the flow \(groups=billing,parked; groups.exclude=console-consumer-\.\*\)/,
    );
    const report = cause.details![0] as PlaybookReport<FailoverFigures>;
    assert.deepEqual(report.decisions, []);
    assert.equal(report.steps.find((x) => x.name === 'check-scope')!.state, 'failed');
    assert.ok(!report.steps.some((x) => x.name === 'check-groups'));
    assert.ok(!namesOf(h.workflowId).includes('checkGroupsInFlow'));
    assert.ok(callsOf(h.workflowId).every((c) => !destructive(c)));
  });

  it('dryRun lists the unplaced group-partitions and a group outside the allowlist as one blocker, and the local topic it would create', async () => {
    const h = await start(input({ dryRun: true, groups: ['billing', 'parked', 'audit'] }), {
      flowScope: billingFlow(),
      unplaced: UNPLACED.slice(0, 2),
    });
    const report = (await h.result()) as PlaybookReport<FailoverFigures>;
    assert.equal(report.outcome, 'completed');
    const plan = report.figures.plan;
    assert.deepEqual(
      plan.unplaced!.map((u) => [u.group, u.partition, u.lag]),
      [
        ['parked', 0, '250'],
        ['parked', 1, '400'],
      ],
    );
    // Once, from check-scope (check-groups said the same before it was folded in).
    assert.equal(plan.blockers.length, 1, plan.blockers.join('\n'));
    assert.match(plan.blockers[0]!, /^groups: 'audit' is not checkpointed/);
    assert.deepEqual(
      plan.localTopics!.map((l) => [l.topic, l.action, l.from]),
      [['orders', 'will-create', 'source']],
    );
    assert.equal(callsOf(h.workflowId).find((c) => c.name === 'prepareLocalTopics')!.arg.dryRun, true);
    assert.ok(callsOf(h.workflowId).every((c) => !destructive(c)));
  });

  /** An Identity flow mirroring orders and payments, as describeFlow derives it from Connect. */
  const identityFlow = (): FlowScope =>
    sourceFlowScope({ 'replication.policy.class': IDENTITY_POLICY_CLASS, topics: 'orders,payments' }, ['orders', 'payments', 'unrelated']);

  it('dryRun against the flow: every disagreement listed at once as a blocker naming its field; nothing destructive', async () => {
    const h = await start(input({ dryRun: true, topics: ['orders', 'unrelated'] }), { flowScope: identityFlow() });
    const report = (await h.result()) as PlaybookReport<FailoverFigures>;
    assert.equal(report.outcome, 'completed');
    const blockers = report.figures.plan.blockers;
    assert.equal(blockers.length, 3, blockers.join('\n'));
    assert.match(blockers[0]!, /^policy: is 'default' but the flow uses the IdentityReplicationPolicy/);
    assert.match(blockers[1]!, /^topics: 'unrelated' is not mirrored by the flow/);
    assert.match(blockers[2]!, /^topics: the flow also mirrors 'payments'.*excludeTopics/);
    const flow = flowCalls.filter((c) => c.workflowId === h.workflowId);
    assert.deepEqual(
      flow.map((c) => c.arg),
      [{ connect: 'connect-b', connectors: CONNECTORS, sourceConnectors: ['mm2-A-to-B-source'], listTopicsOn: 'A' }],
    );
    assert.ok(
      callsOf(h.workflowId).every((c) => !destructive(c)),
      `calls: ${namesOf(h.workflowId).join(', ')}`,
    );
  });

  it('a real run that disagrees with the flow is refused before any gate, naming every field; an input that agrees runs', async () => {
    const h = await start(input({ policy: 'default' }), { flowScope: identityFlow() });
    const cause = await failure(h);
    assert.equal(cause.type, 'PlaybookFailed');
    assert.match(
      cause.message,
      /policy: is 'default'.*set policy to 'identity'.*topics: the flow also mirrors 'payments'.*nothing was changed/,
    );
    const report = cause.details![0] as PlaybookReport<FailoverFigures>;
    assert.deepEqual(
      report.steps.map((s) => [s.name, s.state]),
      [
        ['check-target', 'completed'],
        ['check-lag', 'completed'],
        ['check-scope', 'failed'],
      ],
    );
    assert.ok(callsOf(h.workflowId).every((c) => !destructive(c)));

    const ok = await start(input({ policy: 'identity', topics: ['orders'], excludeTopics: ['payments'] }), { flowScope: identityFlow() });
    await gateOpen(ok, 'stop-producers');
    await ok.signal(abortSignal, { by: 'bob', reason: 'test over' });
    assert.equal((await ok.result()).outcome, 'aborted');
  });

  it('unplanned: the flow is read without listing the (down) source', async () => {
    const h = await start(input({ mode: 'unplanned', sourceUnreachable: true, dryRun: true }));
    await h.result();
    // No exact verification without the source: checkpoints only.
    const asked = callsOf(h.workflowId).find((c) => c.name === 'planOffsetTranslation')!.arg;
    assert.deepEqual([asked.exact, asked.policy], [undefined, undefined]);
    assert.deepEqual(
      flowCalls.filter((c) => c.workflowId === h.workflowId).map((c) => c.arg.listTopicsOn),
      [undefined],
    );
  });

  it('replays every history recorded above with the same bundle', async () => {
    assert.equal(await replayAll(harness.worker.bundle, started), started.length);
  });
});
