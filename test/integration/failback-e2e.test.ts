import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FailbackFigures } from '../../src/model/failback-input';
import type { PlaybookReport } from '../../src/model/gates';
import type { failback } from '../../workflows/failback';
import { approveSignal, decideUpdate } from '../../workflows/framework';
import { assertNothingReplayed, PARTITIONS, TOTAL, useFailbackScenario } from '../helpers/failback-scenario';
import { sum } from '../helpers/mirror-pair';
import { e2eGateOpen } from '../helpers/playbook';
import { sleep } from '../helpers/stack';
import { startPlaybook, withWorker } from '../helpers/worker';
import { captureHistory } from '../replay/capture';

/**
 * A failback B→A after a (simulated) failover, on the real stack, Identity policy:
 * the forward flow A→B copied 50 records, was stopped at the failover, B took 30
 * records of its own; the failback playbook copies exactly those 30 back to A, moves
 * the cutover and resumes the forward flow from A's end at cutover, so nothing
 * that came back from B is replayed to B.
 */

describe('failback B→A end to end on the real stack (Identity)', { timeout: 300_000 }, () => {
  const scenario = useFailbackScenario('failback-e2e', 'fb');
  const { id, topic, group, forwardSource } = scenario;

  it('copies back only the DR-period records, cuts over and resumes the forward flow from the cutover boundary', async (t) => {
    // 1-4. The forward flow A→B deployed by kafka-dr, 50 records drained to B, the failover
    // (simulated), the DR period: 30 records on B, all 80 consumed there by the group.
    const { snapshot, consumedOnB } = await scenario.failOver();

    // 5. The failback playbook on a real worker; the test answers its gates.
    const input = scenario.input(snapshot, '5 minutes', 120);
    const report = await withWorker(async (ctx) => {
      const h = await startPlaybook<typeof failback>(ctx, 'failback', `failback-e2e-${id}`, input);
      const gateOpen = (gate: string) => e2eGateOpen(h, gate, 120_000);

      await gateOpen('consumers-cutover');
      await h.executeUpdate(decideUpdate, {
        args: [{ gate: 'consumers-cutover', decision: 'approve', by: 'approver', comment: 'consumers stopped on B' }],
      });
      await gateOpen('stop-producers');
      await h.signal(approveSignal, { gate: 'stop-producers', by: 'approver' });
      await gateOpen('producers-cutover');
      await h.signal(approveSignal, { gate: 'producers-cutover', by: 'approver' });
      const result = (await h.result()) as PlaybookReport<FailbackFigures>;
      await captureHistory(h, 'failback-snapshot-seed-identity');
      return result;
    });

    // 6. The outcome.
    assert.equal(report.outcome, 'completed', `${report.reason ?? ''} ${JSON.stringify(report.steps ?? report)}`);

    // A holds each seq once, the group's position, the reverse flow gone, the forward flow resumed at the cutover.
    const onAEnds = await scenario.assertFailedBack(report, consumedOnB);

    // The seed came from the snapshot, per partition.
    assert.equal(report.figures.seedFrom, 'snapshot');
    assert.deepEqual(
      report.figures.seed.map((s) => [s.topic, s.partition, s.source]).sort(),
      [...Array(PARTITIONS).keys()].map((p) => [topic, p, 'snapshot']),
    );

    // G's position moved to A through the reverse checkpoints: right after the last record it consumed on B.
    assert.deepEqual(
      report.figures.offsetsSet.map((o) => [o.group, o.topic, o.partition, Number(o.offset)]).sort(),
      consumedOnB.map((o, p) => [group, topic, p, o]),
      `offsets set: ${JSON.stringify(report.figures.offsetsSet)}, skipped: ${JSON.stringify(report.figures.groupsSkipped)}`,
    );
    assert.deepEqual(
      report.figures.forwardOffsets.map((o) => [o.connector, o.topic, o.partition, o.offset]).sort(),
      onAEnds.map((e, p) => [forwardSource, topic, p, String(e - 1)]),
    );

    // Nothing replayed to B: it still holds 80 records a few seconds after the resume.
    await sleep(5_000);
    assert.deepEqual(await scenario.ends('B'), await scenario.ends('A'), 'B holds what A holds (80): no replay of the 30');
    assert.equal(sum(await scenario.ends('B')), TOTAL);
    // And the forward flow copies what producers write to A now.
    await assertNothingReplayed(scenario);

    const f = report.figures;
    t.diagnostic(
      `seed toCopy ${f.seed.map((s) => `${s.partition}:${s.toCopy}`).join(',')}; lagAtConsumersGate ${f.lagAtConsumersGate}; catchUpMs ${f.catchUpMs}; ` +
        `offsetsSet ${f.offsetsSet.length}; drainMs ${f.drainMs}; cutover ${JSON.stringify(f.cutover.offsets)}; rtoMs ${f.rtoMs}; durationMs ${report.durationMs}`,
    );
    assert.deepEqual(
      report.decisions.map((d) => [d.gate, d.decision, d.by]),
      [
        ['consumers-cutover', 'approved', 'approver'],
        ['stop-producers', 'approved', 'approver'],
        ['producers-cutover', 'approved', 'approver'],
      ],
    );
  });
});
