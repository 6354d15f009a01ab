import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/client';
import type { Activities } from '../../activities';
import { DeployReplicationInput, type DeployFigures } from '../../src/model/deploy-input';
import type { PlaybookReport, PlaybookStatus } from '../../src/model/gates';
import type { deployReplication } from '../../workflows/deploy-replication';
import { approveSignal, rejectSignal, statusQuery } from '../../workflows/framework';
import { replayAll, workflowFailure, usePlaybookHarness } from '../helpers/playbook';
import { eventually } from '../helpers/stack';
import { rawPlan } from '../helpers/inputs';

/**
 * deploy-replication's control flow on the dev server with stub activities: one worker,
 * one bundle, a workflow ID per test; every history is replayed at the end.
 */

type Call = { workflowId: string; name: string; arg: Record<string, unknown> };
const calls: Call[] = [];
interface Scenario {
  loop?: boolean;
  /** Connectors that already exist (unchanged). */
  existing?: string[];
  neverRunning?: string;
  /** The plan has a heartbeat emitter on connect-a. */
  emitter?: boolean;
}
const scenarios = new Map<string, Scenario>();
const WRITES = new Set(['deployMirrorFlow', 'deleteConnector']);

const wfId = () => Context.current().info.workflowExecution?.workflowId ?? '';
function record(name: string, arg: unknown): Scenario {
  calls.push({ workflowId: wfId(), name, arg: arg as Record<string, unknown> });
  return scenarios.get(wfId()) ?? {};
}

const NAMES = [
  { name: 'mm2-A-to-B-source-orders', kind: 'source' as const, group: 'orders' },
  { name: 'mm2-A-to-B-checkpoint', kind: 'checkpoint' as const },
  { name: 'mm2-A-to-B-heartbeat', kind: 'heartbeat' as const },
];
const EMITTER = { name: 'mm2-A-to-B-heartbeat-emitter', kind: 'emitter' as const, connect: 'connect-a' };
const namesFor = (s: Scenario) => (s.emitter ? [...NAMES, EMITTER] : NAMES);
const LOOP_MESSAGE = 'replication loop: mm2-B-to-A-source on connect-a replicates orders back to A with IdentityReplicationPolicy';

type Stubs = Pick<Activities, 'planMirrorFlow' | 'deployMirrorFlow' | 'waitForConnectorState' | 'waitForHeartbeats' | 'deleteConnector'>;
const stubs: Stubs = {
  async planMirrorFlow(input) {
    const s = record('planMirrorFlow', input);
    return {
      flow: 'mm2-A-to-B',
      connect: 'connect-b',
      connectors: namesFor(s).map((c) => ({ ...c, action: s.existing?.includes(c.name) ? ('unchanged' as const) : ('create' as const) })),
      stale: [],
      loopGuard: s.loop ? { ok: false, kind: 'loop', message: LOOP_MESSAGE, conflicts: [] } : { ok: true, checkedConnectors: 2 },
    };
  },
  async deployMirrorFlow(input) {
    const s = record('deployMirrorFlow', input);
    return {
      flow: 'mm2-A-to-B',
      connect: 'connect-b',
      connectors: namesFor(s).map((c) => ({ ...c, action: s.existing?.includes(c.name) ? ('unchanged' as const) : ('created' as const) })),
      stale: [],
      checkedConnectors: 2,
    };
  },
  async waitForConnectorState(input) {
    const s = record('waitForConnectorState', input);
    if (s.neverRunning === input.connector) {
      throw ApplicationFailure.create({
        type: 'ConnectorFailed',
        message: `task 0 of connector ${input.connector} on connect-b is FAILED: boom`,
        nonRetryable: true,
      });
    }
    return { connector: input.connector, state: input.state, workerId: 'w', tasks: [] };
  },
  async waitForHeartbeats(input) {
    record('waitForHeartbeats', input);
    return { target: 'B', sourceAlias: 'A', lastHeartbeatAt: '2025-01-01T00:00:01.000Z', ageMs: 800, waitedMs: 1500, remoteAgeMs: null };
  },
  async deleteConnector(input) {
    record('deleteConnector', input);
    return 'deleted';
  },
};

const callsOf = (id: string) => calls.filter((c) => c.workflowId === id);
const namesOf = (id: string) => callsOf(id).map((c) => c.name + (c.arg.connector ? `:${String(c.arg.connector)}` : ''));

function input(overrides: Partial<DeployReplicationInput> = {}): DeployReplicationInput {
  return {
    plan: rawPlan({ topicGroups: [{ name: 'orders', topics: ['orders'] }] }),
    requestedBy: 'alice',
    ...overrides,
  };
}

describe('deploy-replication playbook: control flow with stub activities', { timeout: 300_000 }, () => {
  const pb = usePlaybookHarness<typeof deployReplication, Scenario>('deployReplication', { name: 'deploy', activities: stubs, scenarios });
  const { start, started } = pb;

  const failure = workflowFailure;

  it('happy path: plan, deploy, every connector RUNNING (checkpoint may have no tasks), heartbeat proven, report', async () => {
    const h = await start(input(), { existing: ['mm2-A-to-B-heartbeat'] });
    const report = (await h.result()) as PlaybookReport<DeployFigures>;
    assert.equal(report.outcome, 'completed');
    assert.deepEqual(namesOf(h.workflowId), [
      'planMirrorFlow',
      'deployMirrorFlow',
      ...NAMES.map((c) => `waitForConnectorState:${c.name}`),
      'waitForHeartbeats',
    ]);
    const waits = callsOf(h.workflowId).filter((c) => c.name === 'waitForConnectorState');
    assert.deepEqual(
      waits.map((w) => w.arg.allowNoTasks ?? false),
      [false, true, false],
    );
    const hb = callsOf(h.workflowId).find((c) => c.name === 'waitForHeartbeats')!;
    assert.equal(hb.arg.target, 'B');
    assert.equal(hb.arg.sourceAlias, 'A');
    assert.match(String(hb.arg.since), /^\d{4}-/);
    // The plan reaches the activity parsed (defaults filled, name derived).
    const deployed = callsOf(h.workflowId).find((c) => c.name === 'deployMirrorFlow')!;
    assert.equal((deployed.arg.plan as { name: string }).name, 'mm2-A-to-B');
    assert.equal(deployed.arg.heartbeatEmitter, true, 'deploy-replication asks for the heartbeat emitter');
    const f = report.figures;
    assert.deepEqual(f.created, ['mm2-A-to-B-source-orders', 'mm2-A-to-B-checkpoint']);
    assert.deepEqual(f.unchanged, ['mm2-A-to-B-heartbeat']);
    assert.deepEqual(f.updated, []);
    assert.equal(f.heartbeat.ageMs, 800);
    assert.deepEqual(f.loopGuard, { ok: true, checkedConnectors: 2 });
    assert.deepEqual(
      report.steps.map((s) => [s.name, s.state]),
      [
        ['plan', 'completed'],
        ['deploy', 'completed'],
        ['wait-running', 'completed'],
        ['heartbeats', 'completed'],
      ],
    );
  });

  it('loop refused: fails non-retryably with the loop guard message, nothing written', async () => {
    const h = await start(input(), { loop: true });
    const cause = await failure(h);
    assert.equal(cause.type, 'PlaybookFailed');
    assert.equal(cause.nonRetryable, true);
    assert.ok(cause.message.includes(LOOP_MESSAGE), cause.message);
    assert.ok(cause.cause instanceof ApplicationFailure && cause.cause.type === 'ReplicationLoop', String(cause.cause));
    assert.deepEqual(namesOf(h.workflowId), ['planMirrorFlow']);
  });

  it('bad plan: InvalidInput naming plan fields, zero activity calls', async () => {
    const h = await start({
      ...input(),
      plan: {
        source: 'A',
        target: 'A',
        connect: 'connect-b',
        policy: { type: 'mirror' },
        topicGroups: [{ name: 'Bad Name', topics: ['orders'] }],
      },
    });
    const cause = await failure(h);
    assert.equal(cause.type, 'InvalidInput');
    assert.equal(cause.nonRetryable, true);
    for (const field of ['plan.policy.type', 'plan.topicGroups.0.name'])
      assert.ok(cause.message.includes(field), `${field} in: ${cause.message}`);
    assert.deepEqual(callsOf(h.workflowId), []);
  });

  it("separator '_' is refused at once, naming plan.policy.separator and the collision; zero activity calls", async () => {
    const h = await start({ ...input(), plan: { ...input().plan, policy: { type: 'default', separator: '_' } } });
    const cause = await failure(h);
    assert.equal(cause.type, 'InvalidInput');
    assert.equal(cause.nonRetryable, true);
    assert.match(
      cause.message,
      /plan\.policy\.separator: '_' collides with '\.' in Kafka topic names.*mm2-offset-syncs_B_internal.*mm2-offset-syncs\.B\.internal/,
    );
    assert.deepEqual(callsOf(h.workflowId), []);
    // Any other separator passes the input check ('-' is deployed for real in guard-rails-e2e).
    assert.equal(
      DeployReplicationInput.safeParse({ ...input(), plan: { ...input().plan, policy: { type: 'default', separator: '-' } } }).success,
      true,
    );
  });

  it('RUNNING never reached: deletes the connectors this run created (not the pre-existing one), newest first', async () => {
    const h = await start(input(), { existing: ['mm2-A-to-B-heartbeat'], neverRunning: 'mm2-A-to-B-checkpoint' });
    const cause = await failure(h);
    assert.equal(cause.type, 'PlaybookFailed');
    assert.match(cause.message, /FAILED: boom/);
    const report = cause.details![0] as PlaybookReport<DeployFigures>;
    assert.deepEqual(report.compensation!.undone, ['delete connector mm2-A-to-B-checkpoint', 'delete connector mm2-A-to-B-source-orders']);
    const deleted = namesOf(h.workflowId).filter((n) => n.startsWith('deleteConnector'));
    assert.deepEqual(deleted, ['deleteConnector:mm2-A-to-B-checkpoint', 'deleteConnector:mm2-A-to-B-source-orders']);
    assert.ok(!namesOf(h.workflowId).includes('waitForHeartbeats'));
  });

  it('heartbeat emitter: waited for and deleted on its own Connect cluster (the source side)', async () => {
    const h = await start(input(), { emitter: true, neverRunning: EMITTER.name });
    const cause = await failure(h);
    assert.match(cause.message, /FAILED: boom/);
    const wait = callsOf(h.workflowId).find((c) => c.name === 'waitForConnectorState' && c.arg.connector === EMITTER.name)!;
    assert.equal(wait.arg.connect, 'connect-a');
    const deletes = callsOf(h.workflowId)
      .filter((c) => c.name === 'deleteConnector')
      .map((c) => [c.arg.connector, c.arg.connect]);
    assert.deepEqual(deletes, [
      [EMITTER.name, 'connect-a'],
      ['mm2-A-to-B-heartbeat', 'connect-b'],
      ['mm2-A-to-B-checkpoint', 'connect-b'],
      ['mm2-A-to-B-source-orders', 'connect-b'],
    ]);
  });

  it('dryRun: connectors it would create and the loop verdict, no write', async () => {
    const h = await start(input({ dryRun: true }), { loop: true, existing: ['mm2-A-to-B-heartbeat'] });
    const report = (await h.result()) as PlaybookReport<DeployFigures>;
    assert.equal(report.outcome, 'completed');
    assert.deepEqual(namesOf(h.workflowId), ['planMirrorFlow']);
    assert.ok(callsOf(h.workflowId).every((c) => !WRITES.has(c.name)));
    assert.deepEqual(
      report.figures.connectors.map((c) => [c.name, c.kind, c.action]),
      [
        ['mm2-A-to-B-source-orders', 'source', 'create'],
        ['mm2-A-to-B-checkpoint', 'checkpoint', 'create'],
        ['mm2-A-to-B-heartbeat', 'heartbeat', 'unchanged'],
      ],
    );
    assert.equal(report.figures.loopGuard.ok, false);
    assert.deepEqual(report.figures.blockers, [LOOP_MESSAGE]);
    assert.deepEqual(
      report.steps.map((s) => s.state),
      ['completed', 'skipped', 'skipped', 'skipped'],
    );
  });

  it('with a gate: nothing is written before approval; rejection writes nothing', async () => {
    const h = await start(input({ gate: { deadline: '5 minutes', approvers: ['bob'] } }));
    const s = await eventually(
      'deploy gate open',
      async () => {
        const st: PlaybookStatus = await h.query(statusQuery);
        return st.openGate?.name === 'deploy' ? st : undefined;
      },
      30_000,
      100,
    );
    assert.match(s.openGate!.description, /create mm2-A-to-B-source-orders/);
    await h.signal(rejectSignal, { gate: 'deploy', by: 'bob', reason: 'change freeze' });
    const report = await h.result();
    assert.equal(report.outcome, 'rejected');
    assert.deepEqual(namesOf(h.workflowId), ['planMirrorFlow']);
    // A second run, approved, deploys.
    const h2 = await start(input({ gate: { deadline: '5 minutes' } }));
    await eventually('gate open', async () => ((await h2.query(statusQuery)).openGate ? true : undefined), 30_000, 100);
    await h2.signal(approveSignal, { gate: 'deploy', by: 'bob' });
    assert.equal((await h2.result()).outcome, 'completed');
    assert.ok(namesOf(h2.workflowId).includes('deployMirrorFlow'));
  });

  it('replays every history recorded above with the same bundle', async () => {
    assert.equal(await replayAll(pb.worker.bundle, started), started.length);
  });
});
