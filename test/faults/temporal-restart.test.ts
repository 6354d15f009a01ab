import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FailoverFigures } from '../../src/model/failover-input';
import type { PlaybookReport } from '../../src/model/gates';
import type { failover } from '../../workflows/failover';
import { decideUpdate } from '../../workflows/framework';
import {
  activityRuns,
  assertStackHealthy,
  autoApprove,
  faultTimeline,
  pendingActivity,
  startComponents,
  stopComponent,
  useFaultHooks,
} from '../helpers/faults';
import { endOffsets, planAtoB, plannedFailoverInput, produceSeq, useMirrorPair } from '../helpers/mirror-pair';
import { flowConnectors, retrying } from '../helpers/mm2';
import { eventually, uniqueId } from '../helpers/stack';
import { gateOpen as gateOpenOf } from '../helpers/playbook';
import { startPlaybook, withWorker } from '../helpers/worker';

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
  const plan = planAtoB(`tr-${id}`, [topic], [group], { type: 'default' });
  const connectors = flowConnectors(plan).all;
  const pair = useMirrorPair('temporal-restart', { topics: [{ topic, partitions: PARTITIONS }] });
  pair.leaves({ topics: { B: [mirrored] } });
  // A failed test must not leave the server down for the next file.
  useFaultHooks(pair);
  const { adminA, adminB, connectB } = pair;

  it('the same run resumes after each restart and completes: gate state kept, 0 lost, forward flow stopped', async (t) => {
    await pair.deployFlow(plan);
    await produceSeq(pair.kafkaA, topic, 0, RECORDS, PARTITIONS);

    const tenMinutes = { deadline: '10 minutes' };
    const input = plannedFailoverInput({
      forward: { connect: 'connect-b', connectors, sourceConnectors: [connectors[0]!] },
      topics: [topic],
      groups: [group],
      gates: { 'stop-producers': tenMinutes, 'consumers-cutover': tenMinutes, 'producers-cutover': tenMinutes },
      quietSeconds: 8,
    });
    const { timeline, mark } = faultTimeline();
    const restartTemporal = async (when: string) => {
      const how = await stopComponent('temporal', { kill: true });
      mark(`temporal ${how} ${when}`);
      await startComponents();
      mark('temporal healthy again');
    };

    const report = await withWorker(async (ctx) => {
      const h = await startPlaybook<typeof failover>(ctx, 'failover', `temporal-restart-${id}`, input, '9 minutes');
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
    const onA = await endOffsets(adminA, topic);
    assert.equal(
      onA.reduce((a, b) => a + b, 0),
      RECORDS,
    );
    assert.deepEqual(await endOffsets(adminB, mirrored), onA);
    assert.equal(report.figures.rpoRecords, 0);
    for (const n of connectors) assert.equal((await retrying(`${n} status`, () => connectB.status(n))).connector.state, 'STOPPED', n);
    await assertStackHealthy();
  });
});
