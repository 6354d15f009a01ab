import * as fs from 'node:fs';
import { Context } from '@temporalio/activity';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../src/model/search-attributes';
import { createStubs, failoverInput } from '../test/replay/stubs';
import { approveSignal } from '../workflows/framework';
import { median, printTable, runMain, sizeOption, stack, uniqueId, writeResult } from './lib/common';
import { failbackInput, failbackLagReport, failbackStubs, heartbeatingDrain } from '../test/helpers/failback-stubs';
import { gateOpen } from '../test/helpers/playbook';

/**
 * Benchmark 4: history economy. The real failover and failback workflows with stub
 * activities in the time-skipping test server (as test/workflow/history-economy.test.ts):
 * the operators take 1 h or 24 h (skipped) at the stop-producers gate, then the drain
 * runs as one heartbeating activity (a poll per 100 ms for `drain-ms` of real time).
 * The test server does not skip time while an activity runs, so a drain cannot itself
 * last 24 h of skipped time here; what keeps a long drain cheap is that heartbeats are
 * not history events, which the `drain events` column shows (the drain activity's own
 * events, whatever it heartbeats) and the instant-vs-heartbeating rows confirm.
 */

const WARNING = 10_240;
const RUNS = new Map<string, number>();

function histogram(history: temporal.api.history.v1.IHistory): Record<string, number> {
  const byType: Record<string, number> = {};
  for (const e of history.events ?? []) {
    const name = (temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, '');
    byType[name] = (byType[name] ?? 0) + 1;
  }
  return byType;
}

/** Events of the waitForDrain activity: scheduled + started + completed, however long it heartbeated. */
function drainEvents(history: temporal.api.history.v1.IHistory): number {
  const events = history.events ?? [];
  const drain = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'waitForDrain');
  if (!drain) return 0;
  const id = String(drain.eventId);
  return (
    1 +
    events.filter(
      (e) =>
        String(e.activityTaskStartedEventAttributes?.scheduledEventId ?? e.activityTaskCompletedEventAttributes?.scheduledEventId ?? '') ===
        id,
    ).length
  );
}

async function main(): Promise<void> {
  const drainMs = sizeOption('drain-ms', 3000, 1000);
  const rounds = sizeOption('rounds', 2, 1);
  if (!fs.existsSync(stack.temporalTestServerBin))
    throw new Error(`${stack.temporalTestServerBin} missing: run \`kafka-dr stack up\` (installs the time-skipping server)`);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: stack.temporalTestServerBin } },
  });
  try {
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(
        Object.keys(SEARCH_ATTRIBUTES).map((n) => [n, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
      ),
    });
    const taskQueue = `kafka-dr-bench-history-${uniqueId()}`;
    const fo = createStubs(() => ({ lagTotal: '42' }));
    const wfId = () => Context.current().info.workflowExecution?.workflowId ?? '';
    const isFailback = () => wfId().startsWith('history-failback');
    // Each activity name answers as the failover's or the failback's stub, by workflow.
    const names = new Set([...Object.keys(fo), ...Object.keys(failbackStubs)]);
    const activities: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const name of names) {
      activities[name] = (...args: unknown[]) => {
        const impl =
          ((isFailback() ? failbackStubs : fo) as Record<string, ((...a: unknown[]) => Promise<unknown>) | undefined>)[name] ??
          (fo as Record<string, ((...a: unknown[]) => Promise<unknown>) | undefined>)[name]!;
        return impl(...args);
      };
    }
    activities.waitForDrain = () =>
      heartbeatingDrain(RUNS.get(wfId()) ?? 0, { ...failbackLagReport('0'), source: isFailback() ? 'B' : 'A' });
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: new DefaultLogger('ERROR') }),
      activities,
    });

    const scenario = async (playbook: 'failover' | 'failback', wait: string | null, heartbeatMs: number) => {
      const workflowId = `history-${playbook}-${uniqueId()}`;
      RUNS.set(workflowId, heartbeatMs);
      const gates =
        playbook === 'failover'
          ? ['stop-producers', 'consumers-cutover', 'producers-cutover']
          : ['consumers-cutover', 'stop-producers', 'producers-cutover'];
      const input =
        playbook === 'failover'
          ? failoverInput({
              gates: {
                'stop-producers': { deadline: '48h' },
                'consumers-cutover': { deadline: '48h' },
                'producers-cutover': { deadline: '48h' },
              },
            })
          : failbackInput('48h');
      const h = await env.client.workflow.start(playbook, { taskQueue, workflowId, args: [input] });
      for (const gate of gates) {
        await gateOpen(h, gate, 60_000);
        // The operators take their time right before the drain (the wait is skipped).
        if (gate === 'stop-producers' && wait) await env.sleep(wait);
        await h.signal(approveSignal, { gate, by: 'bob' });
      }
      const report = (await h.result()) as { outcome: string };
      if (report.outcome !== 'completed') throw new Error(`${playbook} ${report.outcome}`);
      const history = await h.fetchHistory();
      return { events: history.events?.length ?? 0, drainEvents: drainEvents(history), byType: histogram(history) };
    };

    const scenarios: Array<{ name: string; playbook: 'failover' | 'failback'; wait: string | null; heartbeatMs: number }> = [
      { name: 'planned failover, instant drain', playbook: 'failover', wait: null, heartbeatMs: 0 },
      { name: `planned failover, drain heartbeating ${drainMs / 1000} s`, playbook: 'failover', wait: null, heartbeatMs: drainMs },
      { name: 'planned failover, 1 h wait before the drain', playbook: 'failover', wait: '1h', heartbeatMs: drainMs },
      { name: 'planned failover, 24 h wait before the drain', playbook: 'failover', wait: '24h', heartbeatMs: drainMs },
      { name: 'full failback, instant drain', playbook: 'failback', wait: null, heartbeatMs: 0 },
      { name: 'full failback, 24 h wait before the drain', playbook: 'failback', wait: '24h', heartbeatMs: drainMs },
    ];
    const results = await worker.runUntil(async () => {
      const out = new Map<string, Array<Awaited<ReturnType<typeof scenario>>>>();
      for (let r = 0; r < rounds; r++) {
        for (const s of scenarios) {
          const res = await scenario(s.playbook, s.wait, s.heartbeatMs);
          console.error(`bench history: ${s.name}: ${res.events} events (drain ${res.drainEvents})`);
          out.set(s.name, [...(out.get(s.name) ?? []), res]);
        }
      }
      return out;
    });
    const summary = scenarios.map((s) => {
      const rs = results.get(s.name)!;
      return {
        scenario: s.name,
        medianEvents: median(rs.map((x) => x.events)),
        min: Math.min(...rs.map((x) => x.events)),
        max: Math.max(...rs.map((x) => x.events)),
        drainActivityEvents: median(rs.map((x) => x.drainEvents)),
        shareOfWarning: Number((median(rs.map((x) => x.events)) / WARNING).toFixed(4)),
        byType: rs[rs.length - 1]!.byType,
      };
    });
    printTable(`History events (time-skipping server, ${rounds} round(s), Temporal warns at ${WARNING})`, [
      ['scenario', 'events (median)', 'range', 'drain activity events', '% of warning'],
      ...summary.map((s) => [
        s.scenario,
        s.medianEvents,
        `${s.min}-${s.max}`,
        s.drainActivityEvents,
        `${(s.shareOfWarning * 100).toFixed(2)} %`,
      ]),
    ]);
    writeResult('history', {
      what: 'history events of whole playbooks (stub activities, time-skipping server) against the 10,240-event warning',
      settings: { rounds, drainHeartbeatMs: drainMs, heartbeatEveryMs: 100, warning: WARNING },
      goal: 'a 24-hour drain ≤ 100 history events',
      note: 'the drain is one activity: 3 events however long it heartbeats; the 24 h is spent at the stop-producers gate (a durable timer) because the test server does not skip time while an activity runs',
      summary,
    });
  } finally {
    await env.teardown();
  }
}

runMain(main);
