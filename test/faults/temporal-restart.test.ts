import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import { createActivities, createDeps } from '../../activities';
import { ConnectClient, inState } from '../../src/connect/client';
import type { FailoverFigures, FailoverInput } from '../../src/model/failover-input';
import type { PlaybookReport } from '../../src/model/gates';
import { stackRegistry } from '../../src/registry/load';
import type { failover } from '../../workflows/failover';
import { decideUpdate } from '../../workflows/framework';
import {
  activityRuns,
  assertStackHealthy,
  quietSdkLogs,
  autoApprove,
  pendingActivity,
  startComponents,
  stopComponent,
} from '../helpers/faults';
import { eventually, kafka, stack, uniqueId } from '../helpers/stack';
import { gateOpen as gateOpenOf } from '../helpers/playbook';
import { withWorker } from '../helpers/worker';

/**
 * Issue 6, item 3: the Temporal dev server is killed (SIGKILL: no shutdown) twice during a
 * planned failover and restarted on its SQLite file, while the worker keeps running:
 * once while the playbook waits at its first gate, once while an activity
 * (waitForQuietProducers) runs. Pass: the same run resumes (same run ID, the gate still
 * open after the restart, its approval counted) and completes with 0 records lost and
 * the forward flow stopped.
 */

const PARTITIONS = 2;
const RECORDS = 40;

describe('Temporal server killed and restarted mid-playbook', { timeout: 600_000 }, () => {
  const id = uniqueId();
  const topic = `tr-${id}`;
  const mirrored = `A.${topic}`;
  const group = `tr-svc-${id}`;
  const name = `tr-${id}`;
  const connectors = [`${name}-source-main`, `${name}-checkpoint`, `${name}-heartbeat`];
  const activities = createActivities(createDeps(stackRegistry(stack), 'test-temporal-restart'));
  const connectB = new ConnectClient(stack.connect['connect-b'].url);
  const kafkaA = kafka('A');
  const kafkaB = kafka('B');
  let adminA: Admin;
  let adminB: Admin;

  const ends = async (admin: Admin, t: string) =>
    (await admin.fetchTopicOffsets(t)).sort((a, b) => a.partition - b.partition).map((o) => Number(o.high));
  const retrying = async <T>(what: string, fn: () => Promise<T>): Promise<T> =>
    (await eventually(what, async () => ({ value: await fn() }), 60_000, 1000)).value;

  before(async () => {
    quietSdkLogs();
    adminA = kafkaA.admin();
    adminB = kafkaB.admin();
    await Promise.all([adminA.connect(), adminB.connect()]);
    await adminA.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
  });

  after(async () => {
    // A failed test must not leave the server down for the next file.
    await startComponents().catch((err: unknown) => console.error(`restarting the stack: ${String(err)}`));
    for (const n of connectors) await connectB.delete(n).catch(() => undefined);
    await adminA.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await adminB.deleteTopics({ topics: [mirrored] }).catch(() => undefined);
    await Promise.all([adminA.disconnect(), adminB.disconnect()]);
  });

  it('the same run resumes after each restart and completes: gate state kept, 0 lost, forward flow stopped', async (t) => {
    await retrying('the forward flow deployed', () =>
      activities.deployMirrorFlow({
        plan: {
          source: 'A',
          target: 'B',
          connect: 'connect-b',
          name,
          policy: { type: 'default' },
          topicGroups: [{ name: 'main', topics: [topic] }],
          groups: [group],
          replicationFactor: 1,
          intervals: { refreshTopicsSeconds: 1, refreshGroupsSeconds: 1, emitCheckpointsSeconds: 1, emitHeartbeatsSeconds: 1 },
        },
      }),
    );
    await eventually(
      'the forward connectors RUNNING',
      async () => {
        const states = await Promise.all(
          connectors.map(async (n) => inState(await connectB.status(n), 'RUNNING', n.endsWith('-checkpoint'))),
        );
        return states.every(Boolean) ? true : undefined;
      },
      90_000,
    );
    const producer = kafkaA.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: RECORDS }, (_, i) => ({ value: `seq=${i}`, partition: i % PARTITIONS })),
    });
    await producer.disconnect();

    const input: FailoverInput = {
      source: 'A',
      target: 'B',
      mode: 'planned',
      forward: { connect: 'connect-b', connectors, sourceConnectors: [connectors[0]!] },
      topics: [topic],
      groups: [group],
      requestedBy: 'alice',
      gates: {
        'stop-producers': { deadline: '10 minutes' },
        'consumers-cutover': { deadline: '10 minutes' },
        'producers-cutover': { deadline: '10 minutes' },
      },
      quietSeconds: 8,
    };
    const timeline: string[] = [];
    const t0 = Date.now();
    const mark = (what: string) => timeline.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);
    const restartTemporal = async (when: string) => {
      const how = await stopComponent('temporal', { kill: true });
      mark(`temporal ${how} ${when}`);
      await startComponents();
      mark('temporal healthy again');
    };

    const report = await withWorker(async ({ client, taskQueue }) => {
      const h = await client.workflow.start<typeof failover>('failover', {
        taskQueue,
        workflowId: `temporal-restart-${id}`,
        args: [input],
        workflowExecutionTimeout: '9 minutes',
      });
      const runId = h.firstExecutionRunId;
      const gateOpen = (gate: string) => gateOpenOf(h, gate, 180_000, { intervalMs: 500, failIfFinished: true });

      // 1. While the playbook waits at a gate (a durable condition with a deadline timer).
      await gateOpen('stop-producers');
      await restartTemporal('at the stop-producers gate');
      const reopened = await gateOpen('stop-producers');
      assert.equal(reopened.decisions.length, 0);
      await h.executeUpdate(decideUpdate, { args: [{ gate: 'stop-producers', decision: 'approve', by: 'bob' }] });

      // 2. While an activity runs: the quiet-producers wait (8 s) after the approval.
      await eventually(
        'waitForQuietProducers running',
        async () => ((await pendingActivity(h, 'waitForQuietProducers'))?.attempt ? true : undefined),
        120_000,
        200,
      );
      await restartTemporal('during waitForQuietProducers');

      const approver = autoApprove(h, ['consumers-cutover', 'producers-cutover'], 'carol');
      try {
        const result = (await h.result()) as PlaybookReport<FailoverFigures>;
        mark(result.outcome);
        const described = await h.describe();
        assert.equal(described.runId, runId, 'the same run completed: no new run started');
        const quiet = (await activityRuns(h)).filter((r) => r.type === 'waitForQuietProducers');
        t.diagnostic(
          `waitForQuietProducers: ${quiet.map((r) => `attempt ${r.attempt} ${r.outcome}${r.lastFailure ? ` after "${r.lastFailure}"` : ''}`).join('; ')}`,
        );
        return result;
      } finally {
        await approver.stop();
      }
    });
    t.diagnostic(timeline.join('; '));

    assert.equal(report.outcome, 'completed', `${report.reason ?? ''} ${JSON.stringify(report.steps ?? report)}`);
    assert.deepEqual(
      report.decisions.map((d) => [d.gate, d.decision, d.by]),
      [
        ['stop-producers', 'approved', 'bob'],
        ['consumers-cutover', 'approved', 'carol'],
        ['producers-cutover', 'approved', 'carol'],
      ],
    );
    // 0 lost: B holds what A holds, per partition; the forward flow is stopped.
    const onA = await ends(adminA, topic);
    assert.equal(
      onA.reduce((a, b) => a + b, 0),
      RECORDS,
    );
    assert.deepEqual(await ends(adminB, mirrored), onA);
    assert.equal(report.figures.rpoRecords, 0);
    for (const n of connectors) assert.equal((await retrying(`${n} status`, () => connectB.status(n))).connector.state, 'STOPPED', n);
    await assertStackHealthy();
  });
});
