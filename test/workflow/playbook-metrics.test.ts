import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Runtime } from '@temporalio/worker';
import { lagMetricsInterceptor } from '../../src/metrics/worker-metrics';
import { METRIC_GATE_WAIT, METRIC_HOOKS, METRIC_PLAYBOOKS_FINISHED, METRIC_REPLICATION_LAG } from '../../src/metrics/names';
import type { LagReport } from '../../src/offsets/lag';
import { rejectSignal } from '../../workflows/framework';
import { approveGates, gateOpen, startStubWorker, type StubWorker } from '../helpers/playbook';
import { freePort } from '../helpers/ports';
import { eventually, uniqueId } from '../helpers/stack';
import type { FrameworkToyActivities, FrameworkToyInput, frameworkToyPlaybook } from '../fixtures/workflows/framework-playbook';
import type { runActivity } from '../fixtures/workflows';

/**
 * kafka-dr's own metrics reach the same Prometheus endpoint as the SDK's: the workflow
 * half (gate wait, playbooks finished, hooks) through the workflow metric meter, the
 * worker half (replication lag) through the activity interceptor runWorker installs.
 * The stub worker's Runtime also serves a Prometheus endpoint, which the test scrapes.
 */

const lag: LagReport = {
  source: 'A',
  partitions: [
    { topic: 'orders', partition: 0, end: '100', committed: '57', lag: '42', state: 'behind' },
    { topic: 'orders', partition: 1, end: '10', committed: '9', lag: '0', state: 'caught-up' },
  ],
  total: '42',
  maxLag: '42',
  anomalies: 0,
  drained: false,
  missingTopics: [],
  measuredAt: '2026-11-22T08:00:00.000Z',
};

const toy: FrameworkToyActivities = {
  async toyEffect(what) {
    return { what, lag: {} };
  },
  async toyUndo() {},
  async toyNotify() {},
};

describe('playbook metrics on the Prometheus endpoint', { timeout: 300_000 }, () => {
  let port: number;
  let w: StubWorker;

  before(async () => {
    port = await freePort();
    w = await startStubWorker({
      name: 'metrics',
      activities: { ...toy, replicationLag: async () => lag },
      runtime: { telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${port}` } } } },
      interceptors: () => ({ activity: [lagMetricsInterceptor(Runtime.instance().metricMeter)] }),
    });
  });

  after(async () => {
    await w?.close();
  });

  const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const input = (): FrameworkToyInput => ({
    source: 'A',
    target: 'B',
    requestedBy: 'alice',
    cutover: true,
    gates: { 'stop-producers': { deadline: '5 minutes' }, 'producers-cutover': { deadline: '5 minutes' } },
  });

  it('gate wait, playbooks finished and hooks, tagged by playbook, gate and outcome', async () => {
    const start = () =>
      w.client.workflow.start<typeof frameworkToyPlaybook>('frameworkToyPlaybook', {
        taskQueue: w.taskQueue,
        workflowId: `metrics-${uniqueId()}`,
        args: [input()],
      });
    const done = await start();
    await approveGates(done, ['stop-producers', 'producers-cutover']);
    assert.equal((await done.result()).outcome, 'completed');
    const rejected = await start();
    await gateOpen(rejected, 'stop-producers');
    await rejected.signal(rejectSignal, { gate: 'stop-producers', by: 'bob', reason: 'not now' });
    assert.equal((await rejected.result()).outcome, 'rejected');

    const text = await eventually(
      'playbook metrics',
      async () => {
        const t = await scrape();
        return t.includes(`${METRIC_PLAYBOOKS_FINISHED}{`) && /outcome="rejected"/.test(t) ? t : undefined;
      },
      30_000,
      500,
    );
    const line = (name: string, ...tags: string[]) =>
      text.split('\n').find((l) => l.startsWith(`${name}{`) && tags.every((t) => l.includes(t)));
    assert.match(
      line(`${METRIC_GATE_WAIT}_count`, 'gate="stop-producers"', 'decision="approved"', 'playbook="framework-toy"') ?? '',
      / 1$/,
    );
    assert.match(line(`${METRIC_GATE_WAIT}_count`, 'gate="stop-producers"', 'decision="rejected"') ?? '', / 1$/);
    assert.match(line(METRIC_PLAYBOOKS_FINISHED, 'outcome="completed"', 'playbook="framework-toy"') ?? '', / 1$/);
    assert.match(line(METRIC_PLAYBOOKS_FINISHED, 'outcome="rejected"') ?? '', / 1$/);
    assert.match(line(METRIC_HOOKS, 'gate="stop-producers"', 'result="ok"') ?? '', / 1$/);
    assert.match(line(METRIC_HOOKS, 'gate="producers-cutover"', 'result="ok"') ?? '', / 1$/);
  });

  it('replication lag per source topic from a lag activity result', async () => {
    await w.client.workflow.execute<typeof runActivity>('runActivity', {
      taskQueue: w.taskQueue,
      workflowId: `metrics-lag-${uniqueId()}`,
      args: ['replicationLag', [{ connect: 'connect-b', connectors: ['x'], source: 'A' }], { startToCloseTimeout: '10s' }],
    });
    const text = await eventually(
      'lag gauge',
      async () => {
        const t = await scrape();
        return t.includes(`${METRIC_REPLICATION_LAG}{`) ? t : undefined;
      },
      30_000,
      500,
    );
    assert.match(text, new RegExp(`^${METRIC_REPLICATION_LAG}\\{source="A",topic="orders"\\} 42$`, 'm'));
  });
});
