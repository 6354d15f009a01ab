import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ensureAuditSchedule } from '../../src/client/schedules';
import type { AuditFigures } from '../../src/model/audit-input';
import type { PlaybookReport } from '../../src/model/gates';
import type { auditDrift } from '../../workflows/audit-drift';
import { approveSignal, rejectSignal } from '../../workflows/framework';
import { gateOpen, replayAll, usePlaybookHarness } from '../helpers/playbook';
import { eventually, uniqueId } from '../helpers/stack';
import { auditInput, createStubs, SOME_DRIFT, type AuditScenario, type Call } from '../replay/stubs';

/**
 * The audit-drift playbook on the real Temporal dev server with stub activities: one
 * worker, one bundle, a workflow ID per test; a Schedule created, updated, triggered
 * and deleted. Every history is replayed at the end.
 */

const calls: Call[] = [];
const scenarios = new Map<string, AuditScenario>();
const scenarioOf = (id: string): AuditScenario => {
  for (const [prefix, s] of scenarios) if (id.startsWith(prefix)) return s;
  return {};
};
const namesOf = (id: string) => calls.filter((c) => c.workflowId === id).map((c) => c.name);

describe('audit-drift playbook: control flow with stub activities', { timeout: 300_000 }, () => {
  type Handle = WorkflowHandle<typeof auditDrift>;
  const pb = usePlaybookHarness<typeof auditDrift, AuditScenario>('auditDrift', {
    name: 'audit',
    activities: createStubs(scenarioOf, calls),
    workflowsPath: require.resolve('../../workflows'),
    scenarios,
  });
  const { start, started } = pb;

  it('healthy flow, repair false: every check in runbook order, no findings, no gate, completes', async () => {
    const h = await start(auditInput());
    const report: PlaybookReport<AuditFigures> = await h.result();
    assert.equal(report.outcome, 'completed');
    assert.deepEqual(namesOf(h.workflowId), [
      'connectorStatus',
      'connectorStatus',
      'replicationLag',
      'replicationFreshness',
      'auditTopicDrift',
      'detectTopicRecreation',
    ]);
    assert.equal(report.figures.worst, 'ok');
    assert.deepEqual(report.figures.findings, []);
    assert.equal(report.figures.repairOutcome, 'not-requested');
    assert.deepEqual(report.decisions, []);
    assert.equal(report.figures.flows[0]!.lagTotal, '0');
    const drift = calls.find((c) => c.workflowId === h.workflowId && c.name === 'auditTopicDrift')!;
    assert.deepEqual(drift.arg, { source: 'A', target: 'B', topics: ['orders'], remoteTopic: { policy: 'default' } });
  });

  it('finds failed task, paused connector, lag, stale heartbeat, drift and recreation with severities; proposes target repairs without a gate', async () => {
    const h = await start(auditInput(), {
      connectors: {
        'mm2-A-to-B-source': { state: 'RUNNING', taskStates: ['RUNNING', 'FAILED'] },
        'mm2-A-to-B-checkpoint': { state: 'PAUSED' },
      },
      lagTotal: '5000',
      heartbeatAgeMs: 120_000,
      drift: SOME_DRIFT,
      recreated: ['orders'],
      readUncommitted: ['mm2-A-to-B-source'],
    });
    const report = await h.result();
    assert.equal(report.outcome, 'completed');
    const f = report.figures;
    const by = (check: string) => f.findings.filter((x) => x.check === check).map((x) => [x.subject, x.severity]);
    assert.deepEqual(by('connector'), [
      ['mm2-A-to-B-source/1', 'error'],
      ['mm2-A-to-B-checkpoint', 'warn'],
      ['mm2-A-to-B-source', 'warn'],
    ]);
    assert.match(
      f.findings.find((x) => x.subject === 'mm2-A-to-B-source')!.message,
      /reads read_uncommitted: aborted transactional records are replicated to B.*source\.consumer\.isolation\.level=read_committed/,
    );
    assert.deepEqual(by('lag'), [['A->B', 'error']]); // 5000 > 10 × lagMax 100
    assert.deepEqual(by('freshness'), [['A.heartbeats', 'warn']]); // 120 s: above 30 s, below 10×
    assert.deepEqual(by('recreation'), [['orders', 'error']]);
    assert.deepEqual(by('drift'), [
      ['A.orders:min.insync.replicas', 'warn'],
      ['A.orders:retention.ms', 'warn'],
      ['A.orders:replication.factor', 'info'],
    ]);
    assert.deepEqual(f.counts, { error: 3, warn: 5, info: 1 });
    assert.equal(f.worst, 'error');
    // Sorted by severity first.
    assert.deepEqual([...new Set(f.findings.map((x) => x.severity))], ['error', 'warn', 'info']);
    assert.match(f.findings.find((x) => x.subject === 'mm2-A-to-B-source/1')!.message, /RecordTooLargeException/);
    assert.deepEqual(
      f.repairs.map((r) => r.action),
      ['would set retention.ms=604800000 on B topic A.orders (now 3600000)', 'would set min.insync.replicas=2 on B topic A.orders (now 1)'],
    );
    assert.equal(f.repairOutcome, 'not-requested');
    assert.equal(report.steps.find((s) => s.name === 'repair')!.state, 'skipped');
  });

  it('repair true: gate describes the target-only repairs; approved → applied on the target (B) only, nothing else', async () => {
    const h = await start(
      auditInput({ repair: true, requestedBy: 'alice', gates: { repair: { approvers: ['bob'], fourEyes: true, deadline: '5 minutes' } } }),
      { drift: SOME_DRIFT },
    );
    const s = await gateOpen(h, 'repair');
    assert.match(s.openGate!.description, /target only: would set retention\.ms=604800000 on B topic A\.orders/);
    assert.equal(s.figures.worst, 'warn');
    assert.ok(!namesOf(h.workflowId).includes('repairTopicConfigs'), 'nothing changed before the approval');
    await h.signal(approveSignal, { gate: 'repair', by: 'bob', comment: 'ok' });
    const report = await h.result();
    assert.equal(report.outcome, 'completed');
    assert.equal(report.figures.repairOutcome, 'applied');
    assert.deepEqual(
      report.decisions.map((d) => [d.gate, d.decision, d.by]),
      [['repair', 'approved', 'bob']],
    );
    const repairCalls = calls.filter((c) => c.workflowId === h.workflowId && c.name === 'repairTopicConfigs');
    // The two repairable findings (retention.ms, min.insync.replicas), never replication.factor, on B only.
    assert.deepEqual(
      repairCalls.map((c) => c.arg),
      [
        {
          cluster: 'B',
          repairs: [
            { topic: 'A.orders', setting: 'retention.ms', to: '604800000' },
            { topic: 'A.orders', setting: 'min.insync.replicas', to: '2' },
          ],
        },
      ],
    );
    assert.deepEqual(
      report.figures.repairsApplied.map((a) => [a.cluster, a.topic, a.setting, a.value]),
      [
        ['B', 'A.orders', 'retention.ms', '604800000'],
        ['B', 'A.orders', 'min.insync.replicas', '2'],
      ],
    );
    assert.equal(report.steps.find((x) => x.name === 'apply-repairs')!.state, 'completed');
  });

  it('repair true, rejected: outcome rejected, findings still in the report', async () => {
    const h = await start(auditInput({ repair: true, gates: { repair: { deadline: '5 minutes' } } }), { drift: SOME_DRIFT });
    await gateOpen(h, 'repair');
    await h.signal(rejectSignal, { gate: 'repair', by: 'bob', reason: 'change window closed' });
    const report = await h.result();
    assert.equal(report.outcome, 'rejected');
    assert.equal(report.figures.repairs.length, 2);
    assert.equal(report.figures.counts.warn, 2);
  });

  it('repair true with nothing repairable: no gate', async () => {
    const h = await start(auditInput({ repair: true }));
    const report = await h.result();
    assert.equal(report.figures.repairOutcome, 'none-needed');
    assert.deepEqual(report.decisions, []);
  });

  it('a check that cannot run is an error finding, not a failed audit', async () => {
    const h = await start(auditInput(), { connectors: { 'mm2-A-to-B-checkpoint': 'missing' }, unreachable: 'B' });
    const report = await h.result();
    assert.equal(report.outcome, 'completed');
    const errors = report.figures.findings.filter((x) => x.severity === 'error').map((x) => [x.check, x.message.slice(0, 40)]);
    assert.deepEqual(errors.map((e) => e[0]).sort(), ['connector', 'drift', 'freshness']);
    assert.ok(report.figures.findings.some((x) => /ConnectorNotFound/.test(x.message)));
    assert.ok(report.figures.findings.some((x) => /ClusterUnreachable/.test(x.message)));
    // The rest still ran.
    assert.ok(namesOf(h.workflowId).includes('detectTopicRecreation'));
  });

  it('bad input fails at once, non-retryably, naming each field; zero activity calls', async () => {
    const h = await start({
      ...auditInput({ repair: true, dryRun: true, lagMax: -1 }),
      flows: [{ source: 'A', target: 'A', connect: 'connect-b', connectors: [], topics: ['bad topic'] }],
    });
    const err = await h.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    const cause = err.cause;
    assert.ok(cause instanceof ApplicationFailure);
    assert.equal(cause.type, 'InvalidInput');
    assert.equal(cause.nonRetryable, true);
    for (const field of ['flows.0.connectors', 'flows.0.topics.0', 'flows.0.target', 'lagMax', 'repair']) {
      assert.ok(cause.message.includes(field), `${field} in: ${cause.message}`);
    }
    assert.deepEqual(namesOf(h.workflowId), []);
  });

  it('ensureAuditSchedule creates, updates (idempotent) and the scheduled run completes without a gate', async () => {
    const scheduleId = `audit-test-schedule-${uniqueId()}`;
    const workflowId = `audit-sched-${uniqueId()}`;
    scenarios.set(workflowId, { drift: SOME_DRIFT });
    const input = auditInput();
    const opts = { scheduleId, input, every: '1h', taskQueue: pb.worker.taskQueue, workflowId, note: 'kafka-dr test' };
    try {
      assert.deepEqual(await ensureAuditSchedule(pb.worker.client, opts), { scheduleId, created: true });
      assert.deepEqual(await ensureAuditSchedule(pb.worker.client, { ...opts, every: '30m' }), { scheduleId, created: false });
      const handle = pb.worker.client.schedule.getHandle(scheduleId);
      const d = await handle.describe();
      assert.equal(d.spec.intervals?.[0]?.every, 30 * 60_000);
      assert.equal(d.action.type, 'startWorkflow');
      assert.equal(d.action.type === 'startWorkflow' ? d.action.workflowType : '', 'auditDrift');
      await handle.trigger();
      const run = await eventually(
        'scheduled run started',
        async () => (await handle.describe()).info.recentActions[0]?.action.workflow,
        30_000,
        200,
      );
      const h: Handle = pb.worker.client.workflow.getHandle(run.workflowId, run.firstExecutionRunId);
      started.push(h);
      const report = await h.result();
      assert.equal(report.outcome, 'completed');
      assert.equal(report.figures.repairOutcome, 'not-requested');
      assert.equal(report.figures.repairs.length, 2);
      await assert.rejects(
        ensureAuditSchedule(pb.worker.client, { ...opts, input: auditInput({ repair: true }) }),
        /repair must be false on a schedule/,
      );
      await assert.rejects(
        ensureAuditSchedule(pb.worker.client, { ...opts, input: { ...input, flows: [] } }),
        /flows: must list at least one flow/,
      );
    } finally {
      await pb.worker.client.schedule
        .getHandle(scheduleId)
        .delete()
        .catch(() => undefined);
    }
  });

  it('replays every history recorded above with the same bundle', async () => {
    assert.equal(await replayAll(pb.worker.bundle, started), started.length);
  });
});
