import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { runDrill, type DrillReport } from '../../src/drill/run';
import { parseXml } from '../helpers/xml';

/**
 * The README's main command on the real stack: the planned drill (deploy A→B, failover,
 * DR period on B, failback; MM2 writing zstd) with the synthetic producer and consumer
 * group switched at every gate. Pass: not one acknowledged record lost, every phase timed
 * in order, the three report files written and the timeline one bar per phase.
 */
describe('kafka-dr drill (planned) on the real stack', { timeout: 900_000 }, () => {
  it('fails over and back losing no record, and writes the JSON, Markdown and SVG reports', async (t) => {
    const reportsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-dr-drill-'));
    const lines: string[] = [];
    // zstd: MM2 writes both flows' mirrors and replicated heartbeats in it, which the
    // playbooks and the drill's clients read through kafka-dr's codecs (issue 16).
    const result = await runDrill({ mode: 'planned', reportsDir, drPeriodSeconds: 10, codec: 'zstd' }, (l) => lines.push(l));
    const r = result.report;
    assert.equal(r.codec, 'zstd');
    t.diagnostic(
      `drill ${r.drillId}: ${Math.round(r.durationMs / 1000)} s; produced ${r.produced}, consumed ${r.consumed}, lost ${r.lost}, ` +
        `duplicates ${r.duplicates}, rpoRecords ${r.rpoRecords}; failback translation ${JSON.stringify(r.playbooks?.['failback']?.figures['translation'])}`,
    );
    assert.equal(r.outcome, 'passed', `${r.error ?? ''}\n${lines.slice(-20).join('\n')}`);
    assert.equal(result.exitCode, 0);

    // Loss accounting.
    assert.equal(r.lost, 0, `lost sequences: ${JSON.stringify(r.lostSample)}`);
    assert.ok(r.produced > 0);
    assert.ok(r.consumed >= r.produced, `consumed ${r.consumed} < produced ${r.produced}`);
    assert.equal(r.rpoRecords, 0, 'every record A acknowledged before the failover is on B');
    assert.ok(
      (r.producedOn?.A ?? 0) > 0 && (r.producedOn?.B ?? 0) > 0,
      `the producer wrote to both clusters: ${JSON.stringify(r.producedOn)}`,
    );
    assert.ok(
      (r.consumedOn?.A ?? 0) > 0 && (r.consumedOn?.B ?? 0) > 0,
      `the group read from both clusters: ${JSON.stringify(r.consumedOn)}`,
    );

    // Every playbook completed; the clients were switched at all six cutover gates.
    assert.deepEqual(
      Object.entries(r.playbooks ?? {}).map(([name, p]) => [name, p.outcome]),
      [
        ['deploy', 'completed'],
        ['failover', 'completed'],
        ['failback', 'completed'],
      ],
    );
    // The playbooks' cutover hooks switched them, in runbook order. In both playbooks the
    // group stops at its gate and starts on the other cluster after translate-offsets, a hook each.
    assert.deepEqual(
      (r.switches ?? []).map((s) => `${s.playbook}/${s.gate}/${s.action}`),
      [
        'failover/stop-producers/stop-producers',
        'failover/consumers-cutover/stop-consumers',
        'failover/consumers-cutover/start-consumers',
        'failover/producers-cutover/start-producers',
        'failback/consumers-cutover/stop-consumers',
        'failback/consumers-cutover/start-consumers',
        'failback/stop-producers/stop-producers',
        'failback/producers-cutover/start-producers',
      ],
    );
    // With the group stopped on B first, the reverse checkpoints catch up with its final
    // commit, and the translation sets offsets that re-read nothing the group had committed.
    // Partitions placed exactly (by content) are not compared with the checkpoints (issue 13).
    const translation = r.playbooks?.['failback']?.figures['translation'] as { decision?: string; exactPartitions?: number } | undefined;
    assert.equal(translation?.decision, 'apply', `failback translation: ${JSON.stringify(translation)}`);

    // The lagging group (stopped a few seconds before each playbook, behind at both cutovers) and
    // the group committed on some partitions only (issue 13): exact, nothing lost or repeated.
    const x = r.extraGroups;
    assert.ok(x, 'the planned drill reports its extra groups');
    assert.ok(x.lagging.consumed > 0 && x.lagging.behind['failover']! > 0 && x.lagging.behind['failback']! > 0, JSON.stringify(x.lagging));
    assert.deepEqual([x.lagging.lost, x.lagging.duplicates], [0, 0], JSON.stringify(x.lagging));
    assert.deepEqual(x.partial.positions, { failover: `${x.partial.group}: exact`, failback: `${x.partial.group}: exact` });
    assert.equal(r.duplicates, 0, 'every group-partition placed exactly: the group repeats nothing');

    // Phases present and in order.
    const top = r.phases.filter((p) => p.parent === undefined);
    const names = top.map((p) => p.name);
    for (const expected of ['stack', 'topics', 'deploy', 'failover', 'DR period on B', 'failback', 'verification']) {
      assert.ok(names.includes(expected), `phase ${expected} in ${names.join(', ')}`);
    }
    for (let i = 1; i < top.length; i++) {
      assert.ok(Date.parse(top[i]!.startedAt) >= Date.parse(top[i - 1]!.endedAt), `${top[i]!.name} starts after ${top[i - 1]!.name} ends`);
    }
    for (const p of r.phases) assert.ok(Date.parse(p.endedAt) >= Date.parse(p.startedAt), `${p.name} ends after it starts`);
    assert.ok(
      r.phases.some((p) => p.parent === 'failover' && p.name === 'gate stop-producers'),
      'the failover gates are in the timeline',
    );
    // Steps of a second or more are in the timeline; the drain usually takes less now, so
    // it is checked in the failover's own figures (drained with producers quiet: 0 lost).
    const failover = r.playbooks?.['failover']?.figures as
      { drainMs?: number; groupPositions?: Array<{ leftOut: number; earliest: number; end: number }> } | undefined;
    assert.equal(typeof failover?.drainMs, 'number', 'the failover drained');
    // The drill's group has a position on every partition it committed: no unplaced-groups gate.
    assert.ok(
      (failover?.groupPositions ?? []).length > 0 && failover!.groupPositions!.every((g) => g.leftOut + g.earliest + g.end === 0),
      JSON.stringify(failover?.groupPositions),
    );
    assert.ok(
      r.phases.some((p) => p.parent === 'failover' && p.name === 'gate producers-cutover'),
      'all three failover gates are in the timeline',
    );

    // Files.
    const json = JSON.parse(fs.readFileSync(result.files.json, 'utf8')) as DrillReport;
    assert.equal(json.lost, 0);
    assert.equal(json.drillId, r.drillId);
    const md = fs.readFileSync(result.files.markdown, 'utf8');
    assert.match(md, /^# kafka-dr drill \(planned\): PASSED/);
    assert.ok(md.includes(`| ${r.produced} | ${r.consumed} | 0 | ${r.duplicates} | 0 |`));
    const svg = parseXml(fs.readFileSync(result.files.svg, 'utf8'));
    assert.equal(svg[0]!.tag, 'svg');
    const bars = svg.filter((e) => e.tag === 'rect' && e.attrs.class === 'bar');
    assert.deepEqual(
      bars.map((b) => b.attrs['data-phase']),
      r.phases.map((p) => p.name),
      'one bar per phase',
    );
    assert.ok(path.basename(result.files.json).startsWith('drill-'));
  });
});
