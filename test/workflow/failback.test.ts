import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure, type WorkflowHandle } from '@temporalio/client';
import type { Activities } from '../../activities';
import type { FailbackFigures, FailbackInput } from '../../src/model/failback-input';
import type { PlaybookReport } from '../../src/model/gates';
import type { failback } from '../../workflows/failback';
import { abortSignal, approveSignal, rejectSignal, statusQuery } from '../../workflows/framework';
import { approveGates, gateOpen, replayAll, usePlaybookHarness, workflowFailure } from '../helpers/playbook';
import type { UnplacedPartition } from '../../src/model/unplaced';
import type { FlowScope } from '../../src/mm2/flow-scope';
import { failbackInput, failbackLagReport as lagReport, failbackStubs, recording, type FailbackStubs } from '../helpers/failback-stubs';
import { healthyCluster, OPEN_FLOW_SCOPE, sourceFlowScope, unplacedStubs } from '../replay/stubs';
import { callLog, CUTOVER_WRITES, type Call } from '../replay/stubs';

/**
 * The failback playbook's control flow on the real Temporal dev server with stub
 * activities (same names and shapes as activities/*). One worker, one bundle; a
 * workflow ID per test. Every history is replayed at the end.
 */

interface Scenario {
  primaryHealthy?: boolean;
  /** The seed cannot be derived (no snapshot, no forward offsets). */
  seedUnavailable?: boolean;
  forwardState?: string;
  /** failoverSnapshot refuses the named workflow (SeedUnavailable). */
  failoverUnusable?: string;
  /** What find-unplaced answers. */
  unplaced?: UnplacedPartition[];
  /** describeFlow's answer (default: a flow that refuses nothing). */
  flowScope?: FlowScope;
  /** Divergent records find-divergent reports on orders-0 (default none). */
  divergent?: number;
  /** billing's position on orders-0 before the failback (read-primary-positions; default none past the forward offsets). */
  billingBefore?: string;
  /** The reverse source's committed offset a previous attempt left (getConnectorOffsets). */
  previousReverse?: string;
  /** What findCopiedOnPrimary reports for orders-0 (default: none copied). */
  onPrimary?: { status: 'found'; lastCopied: string } | { status: 'ambiguous'; reason: string };
}
const scenarios = new Map<string, Scenario>();

const DESTRUCTIVE = new Set([...CUTOVER_WRITES, 'deployMirrorFlow', 'removeMirrorFlow']);

const { wfId, record, callsOf, namesOf } = callLog(scenarios);

const FORWARD = ['mm2-A-to-B-source', 'mm2-A-to-B-checkpoint', 'mm2-A-to-B-heartbeat'];
const REVERSE_SOURCE = 'mm2-B-to-A-source-failback';
const REVERSE = [REVERSE_SOURCE, 'mm2-B-to-A-checkpoint', 'mm2-B-to-A-heartbeat'];
const T = '2025-01-01T00:00:00.000Z';

type Stubs = FailbackStubs & Pick<Activities, 'waitForDrain' | 'failoverSnapshot' | 'findCopiedOnPrimary'>;

/** Calls of the divergent-records steps and of seed-reverse's offsets read, apart from `calls` (the order assertions predate them). */
const divergentCalls: Call[] = [];

/** describeFlow calls, apart from `calls`: the call-order assertions below predate the scope check. */
const flowCalls: Call[] = [];

// The happy-path answers of failback-stubs, recorded; the answers a scenario changes below.
const stubs: Stubs = {
  ...recording(failbackStubs, record),
  async findCopiedOnPrimary(input) {
    divergentCalls.push({ workflowId: wfId(), name: 'findCopiedOnPrimary', arg: input as Record<string, unknown> });
    const found = await failbackStubs.findCopiedOnPrimary(input);
    const o = scenarios.get(wfId())?.onPrimary;
    if (!o) return found;
    return {
      ...found,
      partitions: found.partitions.map((p) => ({
        ...p,
        status: o.status,
        ...(o.status === 'found' ? { lastCopied: o.lastCopied, copyOnPrimary: { topic: p.topic, offset: '125' } } : { reason: o.reason }),
        readOnPrimary: 12,
        readOnDr: 30,
      })),
    };
  },
  async readPrimaryPositions(input) {
    divergentCalls.push({ workflowId: wfId(), name: 'readPrimaryPositions', arg: input as Record<string, unknown> });
    const b = scenarios.get(wfId())?.billingBefore;
    return { readAt: T, groups: 2, positions: b ? [{ group: 'billing', topic: 'orders', partition: 0, offset: b }] : [] };
  },
  async getConnectorOffsets(input) {
    divergentCalls.push({ workflowId: wfId(), name: 'getConnectorOffsets', arg: input as Record<string, unknown> });
    const prev = scenarios.get(wfId())?.previousReverse;
    return prev ? [{ partition: { cluster: 'B', topic: 'orders', partition: 0 }, offset: prev }] : [];
  },
  async findDivergentRecords(input) {
    divergentCalls.push({ workflowId: wfId(), name: 'findDivergentRecords', arg: input as Record<string, unknown> });
    const n = scenarios.get(wfId())?.divergent ?? 0;
    const partitions =
      n === 0
        ? []
        : [
            {
              topic: 'orders',
              partition: 0,
              from: '100',
              to: '130',
              records: n,
              ranges: [['100', String(99 + n)] as [string, string]],
              fromDr: 30 - n,
              drTopic: 'orders',
              drEnd: '130',
            },
          ];
    // A group placed by translate-offsets past the divergent records (that had read some before
    // the failover when `before` says so), and one left before them (reads them twice).
    const before = input.before?.find((b) => b.group === 'billing');
    const readBefore = before ? Number(before.offset) - 100 : 0;
    const groups =
      n === 0
        ? []
        : [
            {
              group: 'billing',
              readsOriginals: 0,
              partitions: [
                {
                  topic: 'orders',
                  partition: 0,
                  position: '120',
                  from: 'placed' as const,
                  readsOriginals: 0,
                  ...(before ? { before: before.offset, readBefore } : {}),
                },
              ],
              ...(before ? { readBefore } : {}),
            },
            {
              group: 'legacy',
              readsOriginals: n,
              partitions: [{ topic: 'orders', partition: 0, position: '90', from: 'committed' as const, readsOriginals: n }],
            },
          ];
    return { checkedAt: T, records: n, partitions, readOnPrimary: 30, readOnDr: 30 - n, groups };
  },
  async copyDivergentRecords(input) {
    divergentCalls.push({ workflowId: wfId(), name: 'copyDivergentRecords', arg: input as Record<string, unknown> });
    const copied = input.partitions.reduce((n, p) => n + p.ranges.reduce((m, [a, b]) => m + Number(b) - Number(a) + 1, 0), 0);
    return {
      copied,
      written: copied,
      topics: input.choice === 'replay' ? ['orders'] : ['kafka-dr.quarantine.orders.internal'],
      ...(input.choice === 'quarantine' ? { exportPath: `/tmp/q/${input.workflowId}.json` } : {}),
    };
  },
  async describeFlow(input) {
    flowCalls.push({ workflowId: wfId(), name: 'describeFlow', arg: input as Record<string, unknown> });
    return scenarios.get(wfId())?.flowScope ?? OPEN_FLOW_SCOPE;
  },
  /** Only the conservation check after stop-reverse calls it (exact): nothing left on B. */
  async replicationLag(input) {
    record('replicationLag', input);
    return lagReport('0');
  },
  async clusterHealth(input) {
    const s = record('clusterHealth', input);
    const healthy = s.primaryHealthy !== false;
    return healthyCluster(input.cluster, {
      brokers: { count: healthy ? 3 : 2, ids: [1, 2, 3] },
      expectedBrokers: 3,
      healthy,
      problems: healthy ? [] : ['2 of 3 expected brokers', '4 under-replicated partitions'],
    });
  },
  async connectorStatus(input) {
    const s = record('connectorStatus', input);
    return { connector: input.connector, state: (s.forwardState ?? 'STOPPED') as never, workerId: 'w', tasks: [] };
  },
  async failoverSnapshot(input) {
    const s = record('failoverSnapshot', input);
    if (s.failoverUnusable) throw ApplicationFailure.create({ type: 'SeedUnavailable', nonRetryable: true, message: s.failoverUnusable });
    return { workflowId: input.workflowId, runId: 'run-1', takenAt: T, offsets: { orders: { '0': '100' } } };
  },
  async planFailbackSeedOffsets(input) {
    const s = record('planFailbackSeedOffsets', input);
    if (s.seedUnavailable && input.mode !== 'earliest') {
      throw ApplicationFailure.create({
        type: 'SeedUnavailable',
        nonRetryable: true,
        message:
          'cannot seed the reverse flow for 1 partition(s): orders-0 (no failover snapshot and no forward-flow offsets to derive the boundary from)',
      });
    }
    const fromSnapshot = input.snapshot !== undefined;
    return {
      seedFrom: fromSnapshot ? 'snapshot' : 'derived',
      sourceAlias: 'B',
      partitions: [
        fromSnapshot || !s.seedUnavailable
          ? {
              topic: 'orders',
              partition: 0,
              source: fromSnapshot ? 'snapshot' : 'derived',
              offset: '99',
              resumeAt: '100',
              exact: true,
              toCopy: '30',
            }
          : {
              topic: 'orders',
              partition: 0,
              source: 'earliest',
              offset: null,
              resumeAt: 'earliest',
              exact: true,
              toCopy: '130',
              note: 'seed: earliest',
            },
      ],
      skippedTopics: [],
      notes: ['n'],
      current: { orders: { '0': '130' } },
    } as never;
  },
  ...unplacedStubs(record, { exact: 1, translated: 0 }, '130'),
  async waitForDrain(input) {
    record('waitForDrain', input);
    return { polls: 4, consecutiveZero: 3, total: '0', maxLag: '0', anomalies: 0, nonZero: [], report: lagReport('0') } as never;
  },
};

/** failback-stubs' input (A primary, orders, billing, a snapshot seed, gates of 5 minutes); `overrides` replace fields. */
function input(overrides: Partial<FailbackInput> = {}): FailbackInput {
  return { ...failbackInput('5 minutes'), ...overrides };
}

describe('failback playbook: control flow with stub activities', { timeout: 300_000 }, () => {
  type Handle = WorkflowHandle<typeof failback>;
  const harness = usePlaybookHarness<typeof failback, Scenario>('failback', { name: 'failback', activities: stubs, scenarios });
  const { start, started } = harness;

  const failure = workflowFailure;

  const approveAll = (h: Handle) => approveGates(h, ['consumers-cutover', 'stop-producers', 'producers-cutover']);

  it('happy path: A validated first, reverse created STOPPED and seeded before resumed, consumers before producers, forward resumed last', async () => {
    const h = await start(input());
    const first = await gateOpen(h, 'consumers-cutover');
    assert.deepEqual(namesOf(h.workflowId), [
      'clusterHealth:A',
      ...FORWARD.map((c) => `connectorStatus:${c}`),
      'planFailbackSeedOffsets',
      'deployMirrorFlow',
      `waitForConnectorState:${REVERSE_SOURCE}`,
      `alterConnectorOffsets:${REVERSE_SOURCE}`,
      ...REVERSE.map((c) => `resumeConnector:${c}`),
      ...REVERSE.map((c) => `waitForConnectorState:${c}`),
      'waitForReverseCatchUp',
    ]);
    const deploy = callsOf(h.workflowId).find((c) => c.name === 'deployMirrorFlow')!;
    assert.equal(deploy.arg.initialState, 'STOPPED');
    assert.deepEqual((deploy.arg.plan as Record<string, unknown>).policy, { type: 'identity' });
    assert.equal((deploy.arg.plan as Record<string, unknown>).source, 'B');
    assert.equal((deploy.arg.plan as Record<string, unknown>).connect, 'connect-a');
    const seedCall = callsOf(h.workflowId).find((c) => c.name === 'planFailbackSeedOffsets')!;
    assert.deepEqual(seedCall.arg.snapshot, { orders: { '0': '100' } }, 'the failover snapshot accepted as is');
    const alter = callsOf(h.workflowId).find((c) => c.name === 'alterConnectorOffsets')!;
    assert.deepEqual(alter.arg.offsets, [{ partition: { cluster: 'B', topic: 'orders', partition: 0 }, offset: '99' }]);
    assert.equal(first.figures.seedFrom, 'snapshot');
    assert.equal(first.figures.lagAtConsumersGate, '5');
    assert.ok(!namesOf(h.workflowId).includes('applyOffsetTranslation'), 'consumers translated only after their gate');

    await h.signal(approveSignal, { gate: 'consumers-cutover', by: 'bob' });
    await gateOpen(h, 'stop-producers');
    assert.deepEqual(
      namesOf(h.workflowId).slice(-2),
      ['applyOffsetTranslation', 'findUnplacedPositions'],
      'consumers translated before the stop-producers gate',
    );
    const find = callsOf(h.workflowId).find((c) => c.name === 'findUnplacedPositions')!;
    assert.deepEqual([find.arg.source, find.arg.target, find.arg.readSource, find.arg.policy], ['B', 'A', true, 'identity']);
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'carol' });
    const third = await gateOpen(h, 'producers-cutover');
    assert.deepEqual(namesOf(h.workflowId).slice(-6), [
      'waitForQuietProducers:B',
      'waitForDrain',
      `stopConnector:${REVERSE_SOURCE}`,
      `waitForConnectorState:${REVERSE_SOURCE}`,
      // rpoRecords measured: B's records not on A, counted exactly with the reverse flow stopped.
      'replicationLag',
      'snapshotEndOffsets:A',
    ]);
    assert.equal(callsOf(h.workflowId).find((c) => c.name === 'replicationLag')!.arg.exact, true);
    assert.deepEqual(third.figures.cutover, { cluster: 'A', takenAt: T, offsets: { orders: { '0': '130' } } });
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'dave' });

    const report = (await h.result()) as PlaybookReport<FailbackFigures>;
    assert.equal(report.outcome, 'completed');
    const names = namesOf(h.workflowId);
    assert.deepEqual(names.slice(names.indexOf('snapshotEndOffsets:A') + 1), [
      'removeMirrorFlow',
      'planForwardResumeOffsets',
      'alterConnectorOffsets:mm2-A-to-B-source',
      ...FORWARD.map((c) => `resumeConnector:${c}`),
      ...FORWARD.map((c) => `waitForConnectorState:${c}`),
    ]);
    const fwdAlter = callsOf(h.workflowId).filter((c) => c.name === 'alterConnectorOffsets')[1]!;
    assert.deepEqual(fwdAlter.arg.offsets, [{ partition: { cluster: 'A', topic: 'orders', partition: 0 }, offset: '129' }]);
    const resume = callsOf(h.workflowId).find((c) => c.name === 'planForwardResumeOffsets')!;
    assert.deepEqual(resume.arg.endOffsets, { orders: { '0': '130' } });
    assert.deepEqual(
      report.steps.map((s) => s.name),
      [
        'check-primary',
        'check-forward',
        'check-scope',
        'plan-seed',
        'read-primary-positions',
        'deploy-reverse',
        'seed-reverse',
        'start-reverse',
        'catch-up',
        // consumers stop on dr before the translation reads its checkpoints, and start on the
        // primary only once their offsets are set there
        'hook:consumers-cutover:stop-consumers',
        'translate-offsets',
        'find-unplaced',
        'hook:consumers-cutover:start-consumers',
        'hook:stop-producers',
        'verify-quiet',
        'drain',
        'stop-reverse',
        'check-conservation',
        'snapshot-primary',
        // nothing on A that B never got: no gate
        'find-divergent',
        'hook:producers-cutover',
        'remove-reverse',
        'set-forward-offsets',
        'resume-forward',
      ],
    );
    assert.ok(report.steps.every((s) => s.state === 'completed'));
    assert.deepEqual(
      report.steps.filter((s) => s.name.startsWith('hook:')).map((s) => [s.details?.action, s.details?.from, s.details?.to]),
      [
        ['stop-consumers', 'B', 'A'],
        ['start-consumers', 'B', 'A'],
        ['stop-producers', 'B', 'A'],
        ['start-producers', 'B', 'A'],
      ],
    );
    assert.deepEqual(
      report.decisions.map((d) => d.gate),
      ['consumers-cutover', 'stop-producers', 'producers-cutover'],
    );
    assert.equal(report.figures.rpoRecords, 0);
    assert.ok(report.figures.rtoMs > 0);
    assert.deepEqual(report.figures.forwardOffsets, [
      { connector: 'mm2-A-to-B-source', topic: 'orders', partition: 0, offset: '129', skipped: '30' },
    ]);
    assert.deepEqual(
      report.figures.groupPositions!.map((p) => [p.group, p.outcome]),
      [['billing', 'exact']],
    );
    assert.deepEqual(
      report.figures.seed.map((s) => [s.topic, s.partition, s.source, s.offset, s.connector]),
      [['orders', 0, 'snapshot', '99', REVERSE_SOURCE]],
    );
    assert.equal(report.compensation, null);
  });

  it('A unhealthy: refused before any side effect', async () => {
    const h = await start(input(), { primaryHealthy: false });
    const cause = await failure(h);
    assert.equal(cause.type, 'PlaybookFailed');
    assert.match(cause.message, /primary A is not healthy: 2 of 3 expected brokers; 4 under-replicated partitions/);
    assert.deepEqual(namesOf(h.workflowId), ['clusterHealth:A']);
  });

  it('forward connectors not STOPPED: refused before any side effect (loop guard / offsets need them stopped)', async () => {
    const h = await start(input(), { forwardState: 'RUNNING' });
    const cause = await failure(h);
    assert.match(cause.message, /forward connectors must be STOPPED/);
    assert.ok(callsOf(h.workflowId).every((c) => !DESTRUCTIVE.has(c.name)));
  });

  for (const [gate, reached] of [
    ['consumers-cutover', 0],
    ['stop-producers', 1],
    ['producers-cutover', 2],
  ] as const) {
    it(`abort at ${gate}: the reverse connectors are deleted, the forward ones left stopped (with why)`, async () => {
      const h = await start(input());
      const gates = ['consumers-cutover', 'stop-producers', 'producers-cutover'];
      for (let i = 0; i < reached; i++) {
        await gateOpen(h, gates[i]!);
        await h.signal(approveSignal, { gate: gates[i]!, by: 'bob' });
      }
      await gateOpen(h, gate);
      await h.signal(abortSignal, { by: 'carol', reason: 'A flaky again' });
      const report = await h.result();
      assert.equal(report.outcome, 'aborted');
      assert.deepEqual(report.compensation!.undone, ['delete the reverse flow']);
      const removed = callsOf(h.workflowId).filter((c) => c.name === 'removeMirrorFlow');
      assert.deepEqual(
        removed.map((c) => [c.arg.connect, c.arg.name]),
        [['connect-a', 'mm2-B-to-A']],
      );
      const names = namesOf(h.workflowId);
      for (const c of FORWARD) assert.ok(!names.includes(`resumeConnector:${c}`), `${c} left stopped`);
      assert.ok(!names.includes('planForwardResumeOffsets'));
    });
  }

  it('rejected at stop-producers: reverse deleted, consumer offsets kept with why', async () => {
    const h = await start(input());
    await gateOpen(h, 'consumers-cutover');
    await h.signal(approveSignal, { gate: 'consumers-cutover', by: 'bob' });
    await gateOpen(h, 'stop-producers');
    await h.signal(rejectSignal, { gate: 'stop-producers', by: 'carol', reason: 'not today' });
    const report = await h.result();
    assert.equal(report.outcome, 'rejected');
    assert.deepEqual(report.compensation!.undone, ['delete the reverse flow']);
    assert.deepEqual(
      report.compensation!.leftAsIs.map((l) => l.name),
      ['consumer group offsets on primary'],
    );
  });

  it('after producers-cutover nothing is undone', async () => {
    const h = await start(input());
    await approveAll(h);
    await h.result();
    const s = await h.query(statusQuery);
    assert.deepEqual(s.compensations.registered, []);
    assert.deepEqual(s.compensations.leftAsIs.map((l) => l.name).sort(), ['consumer group offsets on primary', 'delete the reverse flow']);
  });

  it('a seed that cannot be derived fails clearly before any side effect', async () => {
    const h = await start(input({ seed: { mode: 'auto' } }), { seedUnavailable: true });
    const cause = await failure(h);
    assert.match(cause.message, /cannot seed the reverse flow for 1 partition\(s\): orders-0/);
    assert.ok(
      callsOf(h.workflowId).every((c) => !DESTRUCTIVE.has(c.name)),
      namesOf(h.workflowId).join(', '),
    );
    const seedCall = callsOf(h.workflowId).find((c) => c.name === 'planFailbackSeedOffsets')!;
    assert.equal(seedCall.arg.snapshot, undefined, 'no snapshot: derived');
  });

  it("seed 'earliest': the partitions that cannot be derived are copied from their first record", async () => {
    const h = await start(input({ seed: { mode: 'earliest' } }), { seedUnavailable: true });
    const s = await gateOpen(h, 'consumers-cutover');
    assert.deepEqual(
      (s.figures.seed as FailbackFigures['seed']).map((e) => [e.source, e.offset]),
      [['earliest', null]],
    );
    const alter = callsOf(h.workflowId).find((c) => c.name === 'alterConnectorOffsets')!;
    assert.deepEqual(alter.arg.offsets, [{ partition: { cluster: 'B', topic: 'orders', partition: 0 }, offset: null }]);
    await h.signal(abortSignal, { by: 'bob', reason: 'test over' });
    await h.result();
  });

  it('seed from a failover workflow ID: its snapshot is read first, seeds the reverse flow, and is named in the report', async () => {
    const h = await start(input({ seed: { mode: 'auto', failoverWorkflowId: 'kafka-dr-cutover-A~B' } }));
    await approveAll(h);
    const report = (await h.result()) as PlaybookReport<FailbackFigures>;
    assert.equal(report.outcome, 'completed');
    const names = namesOf(h.workflowId);
    assert.ok(names.indexOf('failoverSnapshot') < names.indexOf('planFailbackSeedOffsets'), names.join(', '));
    assert.deepEqual(callsOf(h.workflowId).find((c) => c.name === 'failoverSnapshot')!.arg, {
      workflowId: 'kafka-dr-cutover-A~B',
      primary: 'A',
      dr: 'B',
    });
    assert.deepEqual(callsOf(h.workflowId).find((c) => c.name === 'planFailbackSeedOffsets')!.arg.snapshot, { orders: { '0': '100' } });
    assert.deepEqual(report.figures.seedFailover, { workflowId: 'kafka-dr-cutover-A~B', runId: 'run-1', takenAt: T });
    assert.equal(report.figures.seedFrom, 'snapshot');
    // The consumers just stopped on B: translation waits (bounded) for reverse checkpoints covering their last commit.
    assert.deepEqual(callsOf(h.workflowId).find((c) => c.name === 'applyOffsetTranslation')!.arg.freshness, {
      policy: 'identity',
      waitSeconds: 20,
      settleSeconds: 11,
    });
  });

  it('a failover workflow that cannot seed (unknown, running, another pair) fails before any side effect, with the reason', async () => {
    const why = 'workflow kafka-dr-cutover-A~B run r is RUNNING, not COMPLETED: wait for the failover to finish, or give seed.snapshot';
    const h = await start(input({ seed: { mode: 'auto', failoverWorkflowId: 'kafka-dr-cutover-A~B' } }), { failoverUnusable: why });
    const cause = await failure(h);
    assert.equal(cause.type, 'PlaybookFailed');
    assert.ok(cause.message.includes(why), cause.message);
    assert.ok(
      callsOf(h.workflowId).every((c) => !DESTRUCTIVE.has(c.name)),
      namesOf(h.workflowId).join(', '),
    );
    assert.ok(!namesOf(h.workflowId).includes('planFailbackSeedOffsets'));
  });

  it('a seed with both a snapshot and a failover workflow ID is refused as bad input', async () => {
    const h = await start(input({ seed: { mode: 'auto', snapshot: { orders: { '0': '1' } }, failoverWorkflowId: 'fo-1' } }));
    const cause = await failure(h);
    assert.equal(cause.type, 'InvalidInput');
    assert.match(cause.message, /seed\.failoverWorkflowId: give either snapshot or failoverWorkflowId, not both/);
    assert.deepEqual(callsOf(h.workflowId), []);
  });

  it('dryRun: read-only steps and the plan; nothing destructive, no gate', async () => {
    const h = await start(input({ dryRun: true }), { primaryHealthy: false });
    const report = (await h.result()) as PlaybookReport<FailbackFigures>;
    assert.equal(report.outcome, 'completed');
    assert.deepEqual(report.decisions, []);
    assert.deepEqual(namesOf(h.workflowId), ['clusterHealth:A', ...FORWARD.map((c) => `connectorStatus:${c}`), 'planFailbackSeedOffsets']);
    const plan = report.figures.plan;
    assert.deepEqual(plan.reverse, { connect: 'connect-a', flow: 'mm2-B-to-A', connectors: REVERSE, initialState: 'STOPPED' });
    assert.deepEqual(
      plan.seed.map((s) => [s.topic, s.partition, s.offset]),
      [['orders', 0, '99']],
    );
    assert.deepEqual(
      plan.gates.map((g) => g.gate),
      ['consumers-cutover', 'stop-producers', 'producers-cutover'],
    );
    assert.equal(plan.blockers.length, 1);
    assert.match(plan.blockers[0]!, /primary A is not healthy/);
  });

  it('dryRun against the flow: an unhealthy primary and every disagreement with the forward flow listed at once, each naming its field', async () => {
    // A Default-policy flow with separator '_' mirroring orders and payments.
    const flowScope = sourceFlowScope({ 'replication.policy.separator': '_', topics: 'orders|payments' }, ['orders', 'payments']);
    const h = await start(input({ dryRun: true }), { primaryHealthy: false, flowScope });
    const report = (await h.result()) as PlaybookReport<FailbackFigures>;
    const blockers = report.figures.plan.blockers;
    assert.equal(blockers.length, 4, blockers.join('\n'));
    assert.match(blockers[0]!, /primary A is not healthy/);
    assert.match(blockers[1]!, /^policy: is 'identity' but the flow uses the DefaultReplicationPolicy/);
    assert.match(blockers[2]!, /^separator: is '\.' but the flow's replication\.policy\.separator is '_'/);
    assert.match(blockers[3]!, /^topics: the flow also mirrors 'payments'/);
    assert.deepEqual(
      flowCalls.filter((c) => c.workflowId === h.workflowId).map((c) => c.arg.listTopicsOn),
      ['A'],
    );
    assert.ok(callsOf(h.workflowId).every((c) => !DESTRUCTIVE.has(c.name)));

    // The input that says what the flow does passes the check, and the reverse flow gets the separator.
    const ok = await start(input({ dryRun: true, policy: 'default', separator: '_', excludeTopics: ['payments'] }), { flowScope });
    assert.deepEqual(((await ok.result()) as PlaybookReport<FailbackFigures>).figures.plan.blockers, []);
  });

  it('dryRun with an underivable seed: reported as a blocker', async () => {
    const h = await start(input({ dryRun: true, seed: { mode: 'auto' } }), { seedUnavailable: true });
    const report = (await h.result()) as PlaybookReport<FailbackFigures>;
    assert.equal(report.outcome, 'completed');
    assert.match(report.figures.plan.blockers.join(' '), /cannot seed the reverse flow/);
    assert.ok(callsOf(h.workflowId).every((c) => !DESTRUCTIVE.has(c.name)));
  });

  it('bad input fails at once, non-retryably, naming each field; zero activity calls', async () => {
    const h = await start({
      ...input(),
      dr: 'A',
      topics: [],
      seed: { mode: 'sometimes', snapshot: { cluster: 'C', offsets: { orders: { '0': '-1' } } } },
      forward: { connect: 'connect-b', connectors: ['x'], sourceConnectors: ['y'] },
    });
    const cause = await failure(h);
    assert.equal(cause.type, 'InvalidInput');
    assert.equal(cause.nonRetryable, true);
    for (const field of ['forward.sourceConnectors.0', 'topics', 'seed.mode', 'seed.snapshot.offsets.orders.0']) {
      assert.ok(cause.message.includes(field), `${field} in: ${cause.message}`);
    }
    assert.deepEqual(callsOf(h.workflowId), []);
  });

  it('dr equal to primary is refused', async () => {
    const h = await start(input({ dr: 'A' }));
    const cause = await failure(h);
    assert.match(cause.message, /dr: must differ from primary/);
    assert.deepEqual(callsOf(h.workflowId), []);
  });

  it('a snapshot of the wrong cluster is refused', async () => {
    const h = await start(
      input({ seed: { mode: 'auto', snapshot: { cluster: 'A', takenAt: T, offsets: { orders: { '0': '1' } }, missingTopics: [] } } }),
    );
    const cause = await failure(h);
    assert.match(cause.message, /seed.snapshot.cluster: is 'A'/);
  });

  it('a group with a commit on dr but no position on A: gate unplaced-groups before consumers start; the choice is applied on A', async () => {
    const unplaced: UnplacedPartition[] = [
      {
        group: 'parked',
        topic: 'orders',
        downstream: 'orders',
        partition: 0,
        committed: '100',
        sourceEnd: '130',
        lag: '30',
        why: 'no-checkpoint',
      },
    ];
    const h = await start(input({ groups: ['billing', 'parked'] }), { unplaced });
    await gateOpen(h, 'consumers-cutover');
    await h.signal(approveSignal, { gate: 'consumers-cutover', by: 'bob' });
    const s = await gateOpen(h, 'unplaced-groups');
    assert.match(s.openGate!.description, /parked orders\[0\]: lag 30 \(committed 100 of 130\)/);
    assert.deepEqual(s.openGate!.choices!.keys, ['parked']);
    assert.ok(!namesOf(h.workflowId).includes('placeUnplacedGroups'));
    assert.ok(!s.steps.some((x) => x.name === 'hook:consumers-cutover:start-consumers'), 'consumers not started before the decision');
    await h.signal(approveSignal, { gate: 'unplaced-groups', by: 'bob', choices: { parked: 'end' } });
    await gateOpen(h, 'stop-producers');
    assert.deepEqual(callsOf(h.workflowId).find((c) => c.name === 'placeUnplacedGroups')!.arg, {
      target: 'A',
      placements: [{ group: 'parked', choice: 'end', partitions: [{ topic: 'orders', partition: 0 }] }],
    });
    await h.signal(abortSignal, { by: 'bob', reason: 'test over' });
    const report = (await h.result()) as PlaybookReport<FailbackFigures>;
    const steps = report.steps.map((x) => x.name);
    assert.deepEqual(steps.slice(steps.indexOf('translate-offsets'), steps.indexOf('translate-offsets') + 4), [
      'translate-offsets',
      'find-unplaced',
      'place-unplaced',
      'hook:consumers-cutover:start-consumers',
    ]);
    assert.deepEqual(
      report.figures.groupPositions!.map((p) => [p.group, p.outcome]),
      [
        ['billing', 'exact'],
        ['parked', 'skipped 30 (end on 1 partition(s))'],
      ],
    );
  });

  it('divergent records on A: gate divergent-records before producers-cutover; quarantine copies them, the report names the choice and counts', async () => {
    const h = await start(input(), { divergent: 7 });
    await approveGates(h, ['consumers-cutover', 'stop-producers']);
    const s = await gateOpen(h, 'divergent-records');
    assert.match(s.openGate!.description, /7 record\(s\) on A never reached B.*orders-0: 7 at 100-106/);
    assert.deepEqual(s.openGate!.choices, { options: ['replay', 'quarantine', 'discard'], keys: ['records'], default: 'replay' });
    assert.equal((s.figures.divergent as { records: number }).records, 7);
    const find = divergentCalls.find((c) => c.workflowId === h.workflowId && c.name === 'findDivergentRecords')!;
    assert.deepEqual(find.arg.cutover, { orders: { '0': '130' } });
    assert.deepEqual(find.arg.reverseFrom, [{ topic: 'orders', partition: 0, from: '100' }]);
    assert.deepEqual(
      find.arg.placed,
      (s.figures.offsetsSet as unknown[]) ?? [],
      'the positions translate-offsets set: where the consumers started',
    );
    assert.match(s.openGate!.description, /read each copy once \(1 group\(s\)\); .* twice: legacy \(7\)\./);
    assert.deepEqual(
      (s.figures.divergent as { groups: Array<{ group: string; readsOriginals: number }> }).groups.map((g) => [g.group, g.readsOriginals]),
      [
        ['billing', 0],
        ['legacy', 7],
      ],
    );
    await h.signal(approveSignal, { gate: 'divergent-records', by: 'bob', choices: { records: 'quarantine' } });
    await gateOpen(h, 'producers-cutover');
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'dave' });
    const report = (await h.result()) as PlaybookReport<FailbackFigures>;
    assert.equal(report.outcome, 'completed');
    const copy = divergentCalls.find((c) => c.workflowId === h.workflowId && c.name === 'copyDivergentRecords')!;
    assert.equal(copy.arg.choice, 'quarantine');
    const steps = report.steps.map((x) => x.name);
    assert.deepEqual(steps.slice(steps.indexOf('snapshot-primary'), steps.indexOf('snapshot-primary') + 4), [
      'snapshot-primary',
      'find-divergent',
      'quarantine-divergent',
      'hook:producers-cutover',
    ]);
    const d = report.figures.divergent;
    assert.equal(d.choice, 'quarantine');
    assert.equal(d.by, 'bob');
    assert.equal(d.records, 7);
    assert.deepEqual(d.quarantine, {
      topics: ['kafka-dr.quarantine.orders.internal'],
      copied: 7,
      exportPath: `/tmp/q/${h.workflowId}.json`,
    });
  });

  it('divergent-records: a bare approve takes replay (loses nothing); discard copies nothing and is recorded', async () => {
    const bare = await start(input(), { divergent: 3 });
    const discard = await start(input(), { divergent: 4 });
    for (const h of [bare, discard]) {
      await approveGates(h, ['consumers-cutover', 'stop-producers']);
      await gateOpen(h, 'divergent-records');
    }
    await bare.signal(approveSignal, { gate: 'divergent-records', by: 'bob' });
    await discard.signal(approveSignal, { gate: 'divergent-records', by: 'bob', choices: { '*': 'discard' } });
    for (const h of [bare, discard]) {
      await gateOpen(h, 'producers-cutover');
      await h.signal(approveSignal, { gate: 'producers-cutover', by: 'dave' });
    }
    const r1 = (await bare.result()) as PlaybookReport<FailbackFigures>;
    const r2 = (await discard.result()) as PlaybookReport<FailbackFigures>;
    assert.equal(r1.figures.divergent.choice, 'replay');
    assert.deepEqual(r1.figures.divergent.replayed, { copied: 3, written: 3, topics: ['orders'] });
    assert.ok(r1.steps.some((x) => x.name === 'replay-divergent'));
    // Replay appends above A's end at the snapshot, where the Identity forward resume starts.
    const copy = divergentCalls.find((c) => c.workflowId === bare.workflowId && c.name === 'copyDivergentRecords')!;
    assert.equal((copy.arg.partitions as Array<{ after: string }>)[0]!.after, '130');
    const resume = callsOf(bare.workflowId).find((c) => c.name === 'planForwardResumeOffsets')!;
    assert.deepEqual(
      resume.arg.endOffsets,
      { orders: { '0': '130' } },
      'the forward resume is planned from the same snapshot, below the copies',
    );
    const steps = r1.steps.map((x) => x.name);
    assert.ok(steps.indexOf('snapshot-primary') < steps.indexOf('replay-divergent'));
    assert.ok(steps.indexOf('replay-divergent') < steps.indexOf('set-forward-offsets'));
    assert.equal(r2.figures.divergent.choice, 'discard');
    assert.equal(r2.figures.divergent.discarded, 4);
    assert.ok(!divergentCalls.some((c) => c.workflowId === discard.workflowId && c.name === 'copyDivergentRecords'));
    assert.equal(r2.steps.find((x) => x.name === 'copy-divergent')?.state, 'skipped');
  });

  it('divergent-records: groups that had read originals before the failover are named, from positions read before deploy-reverse', async () => {
    const h = await start(input(), { divergent: 7, billingBefore: '105' });
    await approveGates(h, ['consumers-cutover', 'stop-producers']);
    const s = await gateOpen(h, 'divergent-records');
    const read = divergentCalls.find((c) => c.workflowId === h.workflowId && c.name === 'readPrimaryPositions')!;
    assert.deepEqual(read.arg, { primary: 'A', forward: { connect: 'connect-b', sourceConnectors: [FORWARD[0]!] } });
    const find = divergentCalls.find((c) => c.workflowId === h.workflowId && c.name === 'findDivergentRecords')!;
    assert.deepEqual(find.arg.before, [{ group: 'billing', topic: 'orders', partition: 0, offset: '105' }]);
    assert.match(s.openGate!.description, /had read originals on A before the failover .* again: billing \(5\) duplicate\(s\)/);
    assert.match(s.openGate!.description, /read each copy once \(0 group\(s\)\)/);
    await h.signal(approveSignal, { gate: 'divergent-records', by: 'bob' });
    await gateOpen(h, 'producers-cutover');
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'dave' });
    const report = (await h.result()) as PlaybookReport<FailbackFigures>;
    const steps = report.steps.map((x) => x.name);
    assert.equal(steps.indexOf('read-primary-positions'), steps.indexOf('deploy-reverse') - 1);
    assert.deepEqual(report.steps.find((x) => x.name === 'read-primary-positions')?.details, { groups: 2, positionsPastReplicated: 1 });
    assert.equal(report.figures.divergent.groups?.find((g) => g.group === 'billing')?.readBefore, 5);
  });

  it('divergent records under the Default policy: no gate, left to the forward flow (which resumes where it stopped), nothing copied by us', async () => {
    const flowScope = sourceFlowScope({ topics: 'orders' }, ['orders']);
    const h = await start(input({ policy: 'default' }), { divergent: 5, flowScope });
    await approveGates(h, ['consumers-cutover', 'stop-producers', ['producers-cutover', 'dave']]);
    const report = (await h.result()) as PlaybookReport<FailbackFigures>;
    assert.equal(report.outcome, 'completed');
    assert.equal(report.figures.divergent.records, 5);
    assert.equal(report.figures.divergent.forwardFlow, 5);
    assert.equal(report.figures.divergent.choice, undefined);
    assert.ok(!report.decisions.some((d) => d.gate === 'divergent-records'));
    assert.ok(!divergentCalls.some((c) => c.workflowId === h.workflowId && c.name === 'copyDivergentRecords'));
  });

  it('a re-run seeds the reverse flow after what a previous attempt copied (its committed offset wins over the snapshot)', async () => {
    const h = await start(input(), { previousReverse: '117' });
    await gateOpen(h, 'consumers-cutover');
    const seedAlter = callsOf(h.workflowId).find((c) => c.name === 'alterConnectorOffsets')!;
    assert.deepEqual(seedAlter.arg.offsets, [{ partition: { cluster: 'B', topic: 'orders', partition: 0 }, offset: '117' }]);
    const s = await h.query(statusQuery);
    assert.deepEqual(s.figures.seedFromPrevious, [{ topic: 'orders', partition: 0, seed: '99', offset: '117' }]);
    await h.signal(abortSignal, { by: 'bob', reason: 'test over' });
    await h.result();
  });

  it('a re-run whose previous reverse offsets are gone seeds after the copy found on primary', async () => {
    const h = await start(input(), { onPrimary: { status: 'found', lastCopied: '121' } });
    await gateOpen(h, 'consumers-cutover');
    const search = divergentCalls.find((c) => c.workflowId === h.workflowId && c.name === 'findCopiedOnPrimary')!;
    assert.deepEqual(search.arg.partitions, [{ topic: 'orders', partition: 0, from: '100' }], 'searched from the seed on');
    const seedAlter = callsOf(h.workflowId).find((c) => c.name === 'alterConnectorOffsets')!;
    assert.deepEqual(seedAlter.arg.offsets, [{ partition: { cluster: 'B', topic: 'orders', partition: 0 }, offset: '121' }]);
    const s = await h.query(statusQuery);
    assert.deepEqual(s.figures.seedOrigin, [
      { topic: 'orders', partition: 0, origin: 'found-on-primary', offset: '121', copyOnPrimary: { topic: 'orders', offset: '125' } },
    ]);
    const step = s.steps.find((x) => x.name === 'seed-reverse')!;
    assert.deepEqual(step.details!.origins, { 'found-on-primary': 1 });
    assert.match(String((step.details!.search as Record<string, unknown>).bound), /after the seed/);
    await h.signal(abortSignal, { by: 'bob', reason: 'test over' });
    await h.result();
  });

  it('committed offsets past the seed are used without searching the primary', async () => {
    const h = await start(input(), { previousReverse: '117', onPrimary: { status: 'ambiguous', reason: 'would refuse' } });
    await gateOpen(h, 'consumers-cutover');
    assert.ok(!divergentCalls.some((c) => c.workflowId === h.workflowId && c.name === 'findCopiedOnPrimary'));
    const s = await h.query(statusQuery);
    assert.deepEqual(s.figures.seedOrigin, [{ topic: 'orders', partition: 0, origin: 'committed', offset: '117' }]);
    await h.signal(abortSignal, { by: 'bob', reason: 'test over' });
    await h.result();
  });

  it('refuses (SeedAmbiguous) when what a previous attempt copied cannot be told, before any offset is set', async () => {
    const h = await start(input(), { onPrimary: { status: 'ambiguous', reason: 'the last copy matches 2 dr records (120, 124)' } });
    const err = await failure(h);
    assert.equal(err.type, 'PlaybookFailed');
    assert.equal((err.cause as ApplicationFailure | undefined)?.type, 'SeedAmbiguous');
    assert.match(err.message, /for 1 partition\(s\)/);
    assert.match(err.message, /orders-0 \(the last copy matches 2 dr records \(120, 124\); read 12 on primary, 30 on dr\)/);
    assert.match(err.message, /seed\.onPrimary 'ignore'/);
    assert.ok(!namesOf(h.workflowId).includes('alterConnectorOffsets:' + REVERSE_SOURCE), 'no offset set on a guess');
    assert.ok(!namesOf(h.workflowId).some((n) => n.startsWith('resumeConnector')), 'nothing started');
    assert.ok(namesOf(h.workflowId).includes('removeMirrorFlow'), 'the STOPPED reverse flow is removed again');
  });

  it("seed.onPrimary 'ignore' copies from the seed without searching", async () => {
    const h = await start(input({ seed: { mode: 'auto', onPrimary: 'ignore', snapshot: { orders: { '0': '100' } } } }), {
      onPrimary: { status: 'ambiguous', reason: 'would refuse' },
    });
    await gateOpen(h, 'consumers-cutover');
    assert.ok(!divergentCalls.some((c) => c.workflowId === h.workflowId && c.name === 'findCopiedOnPrimary'));
    const seedAlter = callsOf(h.workflowId).find((c) => c.name === 'alterConnectorOffsets')!;
    assert.deepEqual(seedAlter.arg.offsets, [{ partition: { cluster: 'B', topic: 'orders', partition: 0 }, offset: '99' }]);
    await h.signal(abortSignal, { by: 'bob', reason: 'test over' });
    await h.result();
  });

  it('replays every history recorded above with the same bundle', async () => {
    assert.equal(await replayAll(harness.worker.bundle, started), started.length);
  });
});
