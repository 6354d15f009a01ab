import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { runDrill, type DrillReport } from '../../src/drill/run';

/**
 * Issue 6, item 9: loss accounting under repetition. The planned drill (failover then
 * failback with scripted approvals, sequence-numbered producer and consumer group) runs
 * five times in a row on the same stack: 0 lost every time; duplicates are reported (a
 * count, possibly 0), and nothing a run leaves behind spoils the next one.
 */

const RUNS = Number(process.env.KDR_DRILL_REPEAT_RUNS ?? 5);

describe(`the planned drill ${RUNS} times in a row on one stack (issue 6.9)`, { timeout: RUNS * 600_000 }, () => {
  const reportsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-drill-repeat-'));
  const reports: DrillReport[] = [];

  after(() => {
    // One line per run: the figures docs/guarantees.md quotes.
    for (const r of reports) {
      console.log(
        `drill ${r.drillId}: ${r.outcome}, produced ${r.produced}, consumed ${r.consumed}, lost ${r.lost}, duplicates ${r.duplicates}, ${Math.round(r.durationMs / 1000)} s`,
      );
    }
    fs.rmSync(reportsDir, { recursive: true, force: true });
  });

  for (let run = 1; run <= RUNS; run++) {
    it(`run ${run}: passes with 0 lost, duplicates counted`, { timeout: 600_000 }, async () => {
      const lines: string[] = [];
      const result = await runDrill({ mode: 'planned', reportsDir, drPeriodSeconds: 5 }, (line) => lines.push(line));
      const r = result.report;
      reports.push(r);
      assert.equal(r.outcome, 'passed', `drill ${r.drillId} failed: ${r.error ?? ''}\n${lines.slice(-20).join('\n')}`);
      assert.equal(result.exitCode, 0);
      assert.equal(r.lost, 0, `lost sample: ${JSON.stringify(r.lostSample)}`);
      assert.equal(r.rpoRecords, 0);
      assert.ok(r.produced > 0, 'the producer wrote records');
      assert.ok(Number.isInteger(r.duplicates) && r.duplicates >= 0, `duplicates reported: ${String(r.duplicates)}`);
      // Every acknowledged record was consumed at least once: consumed = produced - lost + duplicates (+ unacknowledged seen).
      assert.ok(r.consumed >= r.produced, `consumed ${r.consumed} >= produced ${r.produced}`);
      for (const p of ['deploy', 'failover', 'failback']) assert.equal(r.playbooks?.[p]?.outcome, 'completed', `${p} completed`);
      // The reports are written where asked, one set per run.
      assert.ok(fs.existsSync(result.files.json) && fs.existsSync(result.files.markdown));
      if (reports.length > 1) assert.notEqual(r.drillId, reports.at(-2)!.drillId, 'each run uses its own topics and group');
    });
  }
});
