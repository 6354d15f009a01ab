import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { ChaosReport } from '../../src/drill/chaos';
import { runDrill } from '../../src/drill/run';

/**
 * `kafka-dr drill --chaos` on the real stack: MM2 paused while a burst and transactions
 * (some aborted) land on A, then a planned failover; a straggler producer nobody stopped
 * writes to A during the DR period; the failback finds its records (divergent-records) and
 * the drill's bare approval replays them to B. Pass: every straggler record counted as
 * divergent and on B, no aborted record seen, rpoRecords measured, and `lost` 0 (it
 * counts only what no playbook accounted for).
 */
describe('kafka-dr drill --chaos on the real stack', { timeout: 900_000 }, () => {
  it('accounts for the straggler, the lagging MM2 and the transactions: lost 0', async (t) => {
    const reportsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-dr-drill-chaos-'));
    const lines: string[] = [];
    const result = await runDrill({ mode: 'planned', reportsDir, drPeriodSeconds: 10, chaos: true }, (l) => lines.push(l));
    const r = result.report;
    const c = r['chaos'] as ChaosReport | undefined;
    t.diagnostic(
      `drill ${r.drillId}: ${Math.round(r.durationMs / 1000)} s; lost ${r.lost}, duplicates ${r.duplicates}; chaos ${JSON.stringify(c)}`,
    );
    assert.equal(r.outcome, 'passed', `${r.error ?? ''}\n${lines.slice(-25).join('\n')}`);
    assert.ok(c, 'the report has the chaos figures');
    assert.equal(r.lost, 0, `lost sequences: ${JSON.stringify(r.lostSample)}`);
    assert.ok(c.lagBurst > 0 && c.lagMax > 0, `MM2 lagged: ${JSON.stringify(c)}`);
    assert.ok(c.transactions.committedRecords > 0 && c.transactions.abortedRecords > 0);
    assert.equal(c.transactions.abortedSeen, 0, 'no aborted record reached the group or B');
    assert.ok(c.stragglers.written > 0);
    assert.deepEqual(c.divergent, { records: c.stragglers.written, choice: 'replay', by: 'drill-approver' });
    assert.equal(c.stragglers.onB, c.stragglers.written, 'every straggler record replayed to B');
    assert.equal(c.unaccounted, 0);
    assert.equal(c.rpoRecords.failover, 0, 'measured by the planned failover');
    assert.equal(typeof c.rpoRecords.failback, 'number');
  });
});
