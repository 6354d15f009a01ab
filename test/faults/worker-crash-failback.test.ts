import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { FailbackFigures } from '../../src/model/failback-input';
import type { PlaybookReport } from '../../src/model/gates';
import { stackRegistryDocument } from '../../src/registry/load';
import type { failback } from '../../workflows/failback';
import { ChildWorker, type ChildEvent, type PausePoint } from '../helpers/child-worker';
import { assertNothingReplayed, TOTAL, useFailbackScenario } from '../helpers/failback-scenario';
import { FaultProxy } from '../helpers/fault-proxy';
import { activityRuns, assertStackHealthy, autoApprove, failOrphanedAttempt } from '../helpers/faults';
import { sum } from '../helpers/mirror-pair';
import { sleep, stack } from '../helpers/stack';
import { startPlaybook } from '../helpers/worker';

/**
 * Issue 6, item 1: the worker is SIGKILLed in each failback step that changes something
 * (connector create, offset PATCH, drain wait, group offset apply, forward resume), one
 * after the other in one failback run, and restarted each time. The worker runs as a
 * child process with the real activities on the real stack; it stops at an exact call
 * (child-worker-main.ts) and the test kills it there.
 *
 * Setup as test/integration/failback-e2e.test.ts (Identity, 50 records forward, 30 on B
 * during the DR period, the group consumed all 80 on B). The pass condition is that
 * run's end state: A holds each of the 80 records once, the group's offsets on A are its
 * position on B, the reverse flow is gone, the forward source resumes at A's end at
 * cutover; plus each reverse connector was created by exactly one POST, and every killed
 * activity shows attempt 2 in the history.
 *
 * Two child workers share the task queue: after each kill the other goes on and a
 * replacement starts. A killed worker's attempt stays "started" until its timeout: 30 s
 * of heartbeat for the drain (left to Temporal), a minute of start-to-close for the
 * destructive calls. Those the test fails through the async-completion API right after
 * the kill, as the timeout would (KDR_FAULTS_REAL_TIMEOUTS=1 waits for the real ones).
 */

const REAL_TIMEOUTS = process.env.KDR_FAULTS_REAL_TIMEOUTS === '1';

describe('worker SIGKILLed in each failback step, then restarted', { timeout: 900_000 }, () => {
  const scenario = useFailbackScenario('worker-crash', 'wc');
  const { id, forwardSource, reverseName } = scenario;
  const reverseSource = `${reverseName}-source-failback`;
  let proxyA: FaultProxy;
  let proxyB: FaultProxy;
  let connection: Connection;
  let client: Client;

  before(async () => {
    // Pass-through proxies: the child worker's Connect calls are logged, to count creations.
    proxyA = await FaultProxy.start(stack.connect['connect-a'].url);
    proxyB = await FaultProxy.start(stack.connect['connect-b'].url);
    connection = await Connection.connect({ address: stack.temporal.address });
    client = new Client({ connection, namespace: stack.temporal.namespace });
  });

  scenario.pair.onCleanup(() => ChildWorker.killAll());
  after(async () => {
    await proxyA?.close();
    await proxyB?.close();
    await connection?.close();
  });

  it('completes with the uninterrupted end state: A holds each record once, group and forward offsets exact, each connector created once', async (t) => {
    // The forward flow, the failover (simulated, as in failback-e2e) and the DR period.
    const { snapshot, consumedOnB } = await scenario.failOver();

    // Where the worker dies, in runbook order. `after`: the side effect is done, its completion not reported.
    const kills: Array<{ step: string; point: PausePoint; orphan: 'fail' | 'heartbeat-timeout' }> = [
      // Mid-deploy: the first of the three reverse connectors exists, the other two do not.
      { step: 'deploy-reverse', point: { activity: 'deployMirrorFlow', call: 'connect.create', phase: 'after' }, orphan: 'fail' },
      {
        step: 'seed-reverse',
        point: { activity: 'alterConnectorOffsets', call: 'connect.alterOffsets', phase: 'after', argsContain: reverseSource },
        orphan: 'fail',
      },
      { step: 'translate-offsets', point: { activity: 'applyOffsetTranslation', call: 'kafka.commit', phase: 'after' }, orphan: 'fail' },
      // Mid-wait: after the drain's first poll (heartbeated), before its second.
      {
        step: 'drain',
        point: { activity: 'waitForDrain', call: 'connect.getOffsets', phase: 'before', nth: 2 },
        orphan: 'heartbeat-timeout',
      },
      {
        step: 'resume-forward',
        point: { activity: 'resumeConnector', call: 'connect.resume', phase: 'after', argsContain: forwardSource },
        orphan: 'fail',
      },
    ];
    const registry = stackRegistryDocument(stack);
    registry.connect['connect-a']!.url = proxyA.url;
    registry.connect['connect-b']!.url = proxyB.url;
    const taskQueue = `kafka-dr-faults-${id}`;
    // Every worker knows every point; a point used once is listed in `consumedFile`, so the
    // killed activity's retry on another worker runs through.
    const consumedFile = path.join(os.tmpdir(), `kafka-dr-faults-${id}.json`);
    const consumed: number[] = [];
    fs.writeFileSync(consumedFile, '[]');
    const startWorker = () => ChildWorker.start({ taskQueue, registry, pauseAt: kills.map((k) => k.point), consumedFile });

    const input = scenario.input(snapshot, '15 minutes', 300);
    // Two workers share the queue, as in production: when one is killed the other takes the
    // retry at once, and a replacement starts meanwhile (a restart without the wait).
    const workers = await Promise.all([startWorker(), startWorker()]);
    const replacements: Array<Promise<unknown>> = [];
    const handle = await startPlaybook<typeof failback>(
      { client, taskQueue },
      'failback',
      `worker-crash-failback-${id}`,
      input,
      '14 minutes',
    );
    const approver = autoApprove(handle, ['consumers-cutover', 'stop-producers', 'producers-cutover']);
    const timeline: string[] = [];
    const t0 = Date.now();
    try {
      for (const [i, kill] of kills.entries()) {
        const { worker, paused } = await nextPause(workers, consumed, 240_000);
        assert.equal(paused.point, i, `paused at ${JSON.stringify(paused)}, expected ${kill.step}`);
        assert.equal(paused.activity, kill.point.activity);
        consumed.push(i);
        fs.writeFileSync(consumedFile, JSON.stringify(consumed));
        await worker.kill();
        workers.splice(workers.indexOf(worker), 1);
        if (kill.orphan === 'fail' && !REAL_TIMEOUTS) {
          await failOrphanedAttempt(client, handle, kill.point.activity, `worker ${worker.pid} was SIGKILLed during ${kill.step} (test)`);
        }
        timeline.push(
          `${((Date.now() - t0) / 1000).toFixed(1)}s killed in ${kill.step} (${paused.call} ${paused.phase}, attempt ${paused.attempt})`,
        );
        replacements.push(startWorker().then((w) => workers.push(w)));
      }
      const report = (await handle.result()) as PlaybookReport<FailbackFigures>;
      timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${report.outcome}`);
      t.diagnostic(timeline.join('; '));
      assert.equal(report.outcome, 'completed', `${report.reason ?? ''} ${JSON.stringify(report.steps ?? report)}`);

      // Every killed activity was retried: attempt 2 ended it, after the kill's failure.
      const runs = await activityRuns(handle);
      for (const kill of kills) {
        const retried = runs.filter((r) => r.type === kill.point.activity && r.attempt >= 2);
        assert.ok(
          retried.length >= 1,
          `${kill.step}: ${kill.point.activity} retried after the kill: ${JSON.stringify(runs.filter((r) => r.type === kill.point.activity))}`,
        );
        assert.ok(retried.every((r) => r.outcome === 'completed'));
      }
      t.diagnostic(
        `retried: ${runs
          .filter((r) => r.attempt >= 2)
          .map((r) => `${r.type}#${r.attempt} after "${r.lastFailure}"`)
          .join('; ')}`,
      );

      // The uninterrupted run's end state (failback-e2e): each seq once on A, the group's
      // offsets on A its position on B, the reverse flow gone, the forward source resumed at A's end at cutover.
      await scenario.assertFailedBack(report, consumedOnB);
      t.diagnostic(
        `offsetsSet in the report: ${JSON.stringify(report.figures.offsetsSet)} (the retry after the kill finds them already set)`,
      );

      // Each reverse connector created by one POST, none refused as existing.
      const creates = proxyA.requests({ method: 'POST', path: '/connectors' });
      // Exactly three 201s: Connect answers a create of an existing connector with 409, never 201.
      assert.equal(creates.filter((r) => r.status === 201).length, 3, `POST /connectors on connect-a: ${JSON.stringify(creates)}`);

      // Nothing replayed to B, and a new record on A is copied once.
      await assertNothingReplayed(scenario);
      await sleep(2_000);
      assert.equal(sum(await scenario.ends('B')), TOTAL + 1, 'B holds 81 records: no replay of the 30');
    } finally {
      await approver.stop();
      await Promise.allSettled(replacements);
      await Promise.all(workers.map((w) => w.stop()));
      fs.rmSync(consumedFile, { force: true });
    }
    await assertStackHealthy();
  });
});

type Paused = Extract<ChildEvent, { event: 'paused' }>;

/** The first pause, among the live workers, at a point not used yet. */
async function nextPause(workers: ChildWorker[], used: number[], timeoutMs: number): Promise<{ worker: ChildWorker; paused: Paused }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const worker of workers) {
      const paused = worker.events.find((e): e is Paused => e.event === 'paused' && !used.includes(e.point));
      if (paused) return { worker, paused };
    }
    if (Date.now() > deadline) {
      throw new Error(
        `no worker paused within ${timeoutMs} ms; stderr: ${workers.map((w) => w.stderrTail.slice(-5).join(' | ')).join(' || ')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
