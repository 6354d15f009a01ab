import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { Activities } from '../../activities';
import type { PlaybookReport } from '../../src/model/gates';
import type { RecreateFigures, RecreateTopicInput } from '../../src/model/recreate-topic-input';
import type { recreateTopic } from '../../workflows/recreate-topic';
import { abortSignal, approveSignal, rejectSignal } from '../../workflows/framework';
import { gateOpen, replayAll, usePlaybookHarness } from '../helpers/playbook';
import { eventually } from '../helpers/stack';
import type { FlowScope } from '../../src/mm2/flow-scope';
import type { PairState } from '../../src/model/pair-state';
import { cutoverWorkflowId } from '../../src/model/workflow-ids';
import { OPEN_FLOW_SCOPE } from '../replay/stubs';
import { PlaybookConflictError, startFailover } from '../../src/client/playbooks';

/** recreate-topic's control flow on the dev server with stub activities; histories replayed at the end. */

type Call = { workflowId: string; name: string; arg: Record<string, unknown> };
const calls: Call[] = [];
interface Scenario {
  notDetected?: boolean;
  /** Hold the STOPPED wait until the test says so (abort after stop). */
  holdStopped?: boolean;
  /** pairCutoverState's answer (default idle). */
  pair?: PairState;
  /** The source connector's state (default RUNNING). */
  connectorState?: 'RUNNING' | 'STOPPED';
  /** describeTopics says the mirror on B does not exist. */
  mirrorAbsent?: boolean;
  flowScope?: FlowScope;
  /** Hold the drain wait until released (the lock is held meanwhile). */
  holdDrain?: boolean;
}
const scenarios = new Map<string, Scenario>();
const released = new Set<string>();
const DESTRUCTIVE = new Set(['stopConnector', 'resumeConnector', 'deleteTopic', 'alterConnectorOffsets', 'resetConsumerGroup']);

const wfId = () => Context.current().info.workflowExecution?.workflowId ?? '';
function record(name: string, arg: unknown): Scenario {
  calls.push({ workflowId: wfId(), name, arg: arg as Record<string, unknown> });
  return scenarios.get(wfId()) ?? {};
}

type Stubs = Pick<
  Activities,
  | 'detectTopicRecreation'
  | 'describeTopics'
  | 'getConnectorOffsets'
  | 'stopConnector'
  | 'resumeConnector'
  | 'waitForConnectorState'
  | 'deleteTopic'
  | 'alterConnectorOffsets'
  | 'waitForTopic'
  | 'auditTopicDrift'
  | 'waitForDrain'
  | 'resetConsumerGroup'
  | 'pairCutoverState'
  | 'connectorStatus'
  | 'describeFlow'
>;
/** The pair guard's reads, apart from `calls` (whose order assertions predate the guard). */
const guardCalls: Call[] = [];
const guard = (name: string, arg: unknown): Scenario => {
  guardCalls.push({ workflowId: wfId(), name, arg: arg as Record<string, unknown> });
  return scenarios.get(wfId()) ?? {};
};
const stubs: Stubs = {
  async pairCutoverState(input) {
    const s = guard('pairCutoverState', input);
    return { ...(s.pair ?? { state: 'idle' }), workflowId: cutoverWorkflowId(input.source, input.target) };
  },
  async connectorStatus(input) {
    const s = guard('connectorStatus', input);
    return { connector: input.connector, state: s.connectorState ?? 'RUNNING', workerId: 'w', tasks: [] };
  },
  async describeFlow(input) {
    return guard('describeFlow', input).flowScope ?? OPEN_FLOW_SCOPE;
  },
  async detectTopicRecreation(input) {
    const s = record('detectTopicRecreation', input);
    const detected = !s.notDetected;
    return {
      source: 'A',
      target: 'B',
      checkedAt: '2025-01-01T00:00:00.000Z',
      topics: [
        {
          topic: 'orders',
          remoteTopic: 'A.orders',
          recreationSuspected: detected,
          sourcePartitions: 2,
          targetPartitions: 1,
          findings: detected
            ? [{ kind: 'end-below-committed', partition: 0, message: 'orders-0: end 5 below last replicated 19 + 1' }]
            : [],
          partitions: [],
          summary: detected ? 'orders was recreated on A' : 'orders looks like the log MM2 copied',
        },
      ],
      recreated: detected ? ['orders'] : [],
      notes: [],
    };
  },
  async describeTopics(input) {
    const s = record('describeTopics', input);
    if (s.mirrorAbsent && input.cluster === 'B')
      return Object.fromEntries(input.topics.map((t) => [t, { topic: t, exists: false as const }]));
    return Object.fromEntries(
      input.topics.map((t) => [
        t,
        { topic: t, exists: true as const, partitions: input.cluster === 'A' ? 2 : 1, replicationFactor: 1, configs: {} as never },
      ]),
    );
  },
  async getConnectorOffsets(input) {
    record('getConnectorOffsets', input);
    return [
      { partition: { cluster: 'A', topic: 'orders', partition: 0 }, offset: '19' },
      { partition: { cluster: 'A', topic: 'other', partition: 0 }, offset: '7' },
    ];
  },
  async stopConnector(input) {
    record('stopConnector', input);
  },
  async resumeConnector(input) {
    record('resumeConnector', input);
  },
  async waitForConnectorState(input) {
    const s = record('waitForConnectorState', input);
    if (s.holdStopped && input.state === 'STOPPED') {
      while (!released.has(wfId())) await new Promise((r) => setTimeout(r, 50));
    }
    return { connector: input.connector, state: input.state, workerId: 'w', tasks: [] };
  },
  async deleteTopic(input) {
    record('deleteTopic', input);
    return { cluster: input.cluster, topic: input.topic, action: 'deleted', goneAfterMs: 120 };
  },
  async alterConnectorOffsets(input) {
    record('alterConnectorOffsets', input);
    return { altered: input.offsets.length, message: 'ok' };
  },
  async waitForTopic(input) {
    record('waitForTopic', input);
    return { cluster: input.cluster, topic: input.topic, partitions: input.partitions ?? 1, waitedMs: 900 };
  },
  async auditTopicDrift(input) {
    record('auditTopicDrift', input);
    return { topicsCompared: 1, findings: [], missingOnTarget: [], missingOnSource: [], counts: { error: 0, warn: 0, info: 0 } };
  },
  async waitForDrain(input) {
    const s = record('waitForDrain', input);
    if (s.holdDrain) {
      while (!released.has(wfId())) await new Promise((r) => setTimeout(r, 50));
    }
    return {
      polls: 3,
      consecutiveZero: 2,
      total: '0',
      maxLag: '0',
      anomalies: 0,
      nonZero: [],
      report: {
        source: 'A',
        partitions: [],
        total: '0',
        maxLag: '0',
        anomalies: 0,
        drained: true,
        missingTopics: [],
        measuredAt: '2025-01-01T00:00:00.000Z',
      },
    } as never;
  },
  async resetConsumerGroup(input) {
    record('resetConsumerGroup', input);
    return {
      group: input.group,
      topic: input.topic,
      offsets: [
        { partition: 0, offset: '0' },
        { partition: 1, offset: '0' },
      ],
    };
  },
};

const callsOf = (id: string) => calls.filter((c) => c.workflowId === id);
const namesOf = (id: string) => callsOf(id).map((c) => c.name + (c.arg.state ? `:${String(c.arg.state)}` : ''));

function input(overrides: Partial<RecreateTopicInput> = {}): RecreateTopicInput {
  return {
    source: 'A',
    target: 'B',
    connect: 'connect-b',
    sourceConnector: 'mm2-A-to-B-source-orders',
    topic: 'orders',
    groups: ['billing'],
    requestedBy: 'alice',
    gate: { deadline: '5 minutes' },
    ...overrides,
  };
}

describe('recreate-topic playbook: control flow with stub activities', { timeout: 300_000 }, () => {
  type Handle = WorkflowHandle<typeof recreateTopic>;
  const pb = usePlaybookHarness<typeof recreateTopic, Scenario>('recreateTopic', { name: 'recreate', activities: stubs, scenarios });
  const { start, started } = pb;
  const recreateGateOpen = (h: Handle) => gateOpen(h, 'recreate');

  it("happy path: detect, gate, stop, delete the mirror, reset only that topic's offsets, resume, verify, catch up, reset groups", async () => {
    const h = await start(input());
    const s = await recreateGateOpen(h);
    // check-pair reads B's mirror first (is the pair failed over?), then detect and check-source.
    assert.deepEqual(namesOf(h.workflowId), ['describeTopics', 'detectTopicRecreation', 'describeTopics']);
    assert.deepEqual(
      guardCalls
        .filter((c) => c.workflowId === h.workflowId)
        .map((c) => c.name)
        .sort(),
      ['connectorStatus', 'describeFlow', 'pairCutoverState'],
    );
    assert.match(s.openGate!.description, /stop connector mm2-A-to-B-source-orders on connect-b, delete B's A.orders/);
    assert.match(s.openGate!.description, /2 partition/);
    assert.equal(s.figures.detected, true);
    await h.signal(approveSignal, { gate: 'recreate', by: 'bob' });
    const report = (await h.result()) as PlaybookReport<RecreateFigures>;
    assert.equal(report.outcome, 'completed');
    assert.deepEqual(namesOf(h.workflowId), [
      'describeTopics',
      'detectTopicRecreation',
      'describeTopics',
      'describeTopics',
      'stopConnector',
      'waitForConnectorState:STOPPED',
      'deleteTopic',
      'getConnectorOffsets',
      'alterConnectorOffsets',
      'resumeConnector',
      'waitForConnectorState:RUNNING',
      'waitForTopic',
      'auditTopicDrift',
      'waitForDrain',
      'resetConsumerGroup',
    ]);
    const del = callsOf(h.workflowId).find((c) => c.name === 'deleteTopic')!;
    assert.deepEqual(
      { cluster: del.arg.cluster, topic: del.arg.topic, sourceAlias: del.arg.sourceAlias },
      { cluster: 'B', topic: 'A.orders', sourceAlias: 'A' },
    );
    const alter = callsOf(h.workflowId).find((c) => c.name === 'alterConnectorOffsets')!;
    assert.deepEqual(alter.arg.offsets, [{ partition: { cluster: 'A', topic: 'orders', partition: 0 }, offset: null }]);
    assert.equal(callsOf(h.workflowId).find((c) => c.name === 'waitForTopic')!.arg.partitions, 2);
    assert.deepEqual(callsOf(h.workflowId).find((c) => c.name === 'waitForDrain')!.arg.topics, ['orders']);
    const reset = callsOf(h.workflowId).find((c) => c.name === 'resetConsumerGroup')!;
    assert.deepEqual(reset.arg, { cluster: 'B', group: 'billing', topic: 'A.orders', to: 'earliest' });
    const f = report.figures;
    assert.equal(f.offsetsReset, 1);
    assert.equal(f.deletedMirror, 'deleted');
    assert.equal(f.mirrorPartitions, 2);
    assert.equal(f.proceededWithoutDetection, false);
    assert.equal(f.groupsReset.length, 1);
    assert.deepEqual(
      report.decisions.map((d) => [d.gate, d.decision, d.by]),
      [['recreate', 'approved', 'bob']],
    );
  });

  it('rejected at the gate: nothing changed', async () => {
    const h = await start(input());
    await recreateGateOpen(h);
    await h.signal(rejectSignal, { gate: 'recreate', by: 'carol', reason: 'wrong topic' });
    const report = await h.result();
    assert.equal(report.outcome, 'rejected');
    assert.deepEqual(report.compensation!.undone, []);
    assert.ok(
      callsOf(h.workflowId).every((c) => !DESTRUCTIVE.has(c.name)),
      namesOf(h.workflowId).join(', '),
    );
  });

  it('aborted after the stop (before the delete): the connector is resumed, the mirror untouched', async () => {
    const h = await start(input(), { holdStopped: true });
    await recreateGateOpen(h);
    await h.signal(approveSignal, { gate: 'recreate', by: 'bob' });
    await eventually(
      'stop requested',
      async () => (namesOf(h.workflowId).includes('waitForConnectorState:STOPPED') ? true : undefined),
      30_000,
      50,
    );
    await h.signal(abortSignal, { by: 'carol', reason: 'consumers still reading' });
    released.add(h.workflowId);
    const report = await h.result();
    assert.equal(report.outcome, 'aborted');
    assert.deepEqual(report.compensation!.undone, ['resume connector', 'release the pair lock']);
    const names = namesOf(h.workflowId);
    assert.ok(!names.includes('deleteTopic') && !names.includes('alterConnectorOffsets'), names.join(', '));
    assert.equal(names.filter((n) => n === 'resumeConnector').length, 1);
  });

  it("not detected: proceeds on the operator's request and says so", async () => {
    const h = await start(input({ groups: [], resetGroupsTo: 'none' }), { notDetected: true });
    const s = await recreateGateOpen(h);
    assert.equal(s.figures.detected, false);
    assert.equal(s.figures.proceededWithoutDetection, true);
    assert.match(
      JSON.stringify(s.steps.find((x) => x.name === 'detect')!.details),
      /no recreation of orders on A detected: proceeding because the operator asked/,
    );
    await h.signal(approveSignal, { gate: 'recreate', by: 'bob' });
    const report = await h.result();
    assert.equal(report.outcome, 'completed');
    assert.equal(report.steps.find((x) => x.name === 'reset-groups')!.state, 'skipped');
    assert.ok(!namesOf(h.workflowId).includes('resetConsumerGroup'));
  });

  it('dryRun: the plan (offsets it would reset, the mirror, groups, the gate), no gate opened, nothing changed', async () => {
    const h = await start(input({ dryRun: true }));
    const report = (await h.result()) as PlaybookReport<RecreateFigures>;
    assert.equal(report.outcome, 'completed');
    assert.deepEqual(report.decisions, []);
    assert.ok(
      callsOf(h.workflowId).every((c) => !DESTRUCTIVE.has(c.name)),
      namesOf(h.workflowId).join(', '),
    );
    const plan = report.figures.plan;
    assert.deepEqual(plan.offsetsToReset, [{ partition: 0, offset: '19' }]);
    assert.deepEqual(plan.deleteTopic, { cluster: 'B', topic: 'A.orders', exists: true, partitions: 1 });
    assert.equal(plan.sourcePartitions, 2);
    assert.deepEqual(plan.groupsToReset, ['billing']);
    assert.match(plan.gate.description, /delete B's A.orders/);
  });

  it('bad input: InvalidInput naming each field, zero activity calls', async () => {
    const h = await start({ ...input(), target: 'A', topic: 'bad topic!', groups: ['connect-x', 'connect-x'], sourceConnector: '' });
    const err = await h.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'InvalidInput');
    assert.equal(err.cause.nonRetryable, true);
    for (const field of ['target: must differ', 'topic:', 'groups', 'sourceConnector'])
      assert.ok(err.cause.message.includes(field), `${field} in ${err.cause.message}`);
    assert.deepEqual(callsOf(h.workflowId), []);
  });

  it('refused while the pair is failed over (Temporal), before the gate, saying to fail back first; nothing changed', async () => {
    const h = await start(input(), { pair: { state: 'failed-over', runId: 'r1', at: '2025-01-01T00:00:00.000Z' } });
    const err = await h.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
    assert.match(err.cause.message, /the pair is failed over .*fail back first/);
    assert.ok(
      callsOf(h.workflowId).every((c) => !DESTRUCTIVE.has(c.name)),
      namesOf(h.workflowId).join(', '),
    );
  });

  it('refused when the connector is STOPPED and the topic exists on B (how a failover leaves it); a half-done recreation (mirror gone) may re-run', async () => {
    const h = await start(input(), { connectorState: 'STOPPED' });
    const err = await h.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
    assert.match(
      err.cause.message,
      /sourceConnector: mm2-A-to-B-source-orders on connect-b is STOPPED while B's A.orders exists.*fail back first/,
    );
    assert.ok(callsOf(h.workflowId).every((c) => !DESTRUCTIVE.has(c.name)));

    const rerun = await start(input({ groups: [], resetGroupsTo: 'none' }), { connectorState: 'STOPPED', mirrorAbsent: true });
    await recreateGateOpen(rerun);
    await rerun.signal(rejectSignal, { gate: 'recreate', by: 'carol', reason: 'test over' });
    assert.equal((await rerun.result()).outcome, 'rejected');
  });

  it('dryRun lists every blocker at once: failed over, connector stopped, policy mismatch', async () => {
    const flowScope: FlowScope = { ...OPEN_FLOW_SCOPE, policy: 'identity', sourceAlias: 'A', targetAlias: 'B' };
    const h = await start(input({ dryRun: true }), {
      pair: { state: 'failed-over', runId: 'r1', at: '2025-01-01T00:00:00.000Z' },
      connectorState: 'STOPPED',
      flowScope,
    });
    const report = (await h.result()) as PlaybookReport<RecreateFigures>;
    assert.equal(report.outcome, 'completed');
    const blockers = report.figures.plan.blockers;
    assert.equal(blockers.length, 3, blockers.join('\n'));
    assert.match(blockers[0]!, /the pair is failed over/);
    assert.match(blockers[1]!, /^sourceConnector: .* is STOPPED/);
    assert.match(blockers[2]!, /^policy: is 'default' but the flow uses the IdentityReplicationPolicy/);
    assert.ok(callsOf(h.workflowId).every((c) => !DESTRUCTIVE.has(c.name)));
  });

  it('holds the pair lock from approval to the end: the cutover ID is taken meanwhile and free after', async () => {
    const h = await start(input({ groups: [], resetGroupsTo: 'none' }), { holdDrain: true });
    await recreateGateOpen(h);
    await h.signal(approveSignal, { gate: 'recreate', by: 'bob' });
    await eventually('catch-up reached', async () => (namesOf(h.workflowId).includes('waitForDrain') ? true : undefined), 30_000, 50);
    const lock = pb.worker.client.workflow.getHandle(cutoverWorkflowId('A', 'B'));
    const held = await lock.describe();
    assert.equal(held.type, 'pairLock');
    assert.equal(held.status.name, 'RUNNING');
    // A failover of the pair cannot start now; the client says who holds the lock.
    await assert.rejects(
      startFailover(
        pb.worker.client,
        {
          source: 'A',
          target: 'B',
          mode: 'planned',
          forward: { connect: 'connect-b', connectors: ['s'], sourceConnectors: ['s'] },
          topics: ['orders'],
          groups: ['g'],
          requestedBy: 'alice',
        },
        { taskQueue: pb.worker.taskQueue },
      ),
      (e: Error) =>
        e instanceof PlaybookConflictError &&
        e.message.startsWith(`${h.workflowId} (recreate-topic orders) holds the cutover lock of the pair, kafka-dr-cutover-A~B`),
    );
    released.add(h.workflowId);
    assert.equal((await h.result()).outcome, 'completed');
    assert.equal((await lock.describe()).status.name, 'COMPLETED');
  });

  it('refused at lock-pair when a cutover of the pair runs (after the gate), nothing changed', async () => {
    const blocker = await pb.worker.client.workflow.start('pairLock', {
      taskQueue: pb.worker.taskQueue,
      workflowId: cutoverWorkflowId('A', 'B'),
      args: [{ holder: 'test', reason: 'stands in for a running failover' }],
    });
    try {
      const h = await start(input());
      await recreateGateOpen(h);
      await h.signal(approveSignal, { gate: 'recreate', by: 'bob' });
      const err = await h.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
      assert.match(err.cause.message, /a failover or failback of A~B is running \(kafka-dr-cutover-A~B\).*fail back first/);
      assert.ok(callsOf(h.workflowId).every((c) => !DESTRUCTIVE.has(c.name)));
    } finally {
      await blocker.terminate('test over');
    }
  });

  it('replays every history recorded above with the same bundle', async () => {
    assert.equal(await replayAll(pb.worker.bundle, started), started.length);
  });
});
