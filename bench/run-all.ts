import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { printTable, REPO_ROOT, runMain } from './lib/common';

/**
 * `npm run bench`: every benchmark, one process each (so one's clients and memory do not
 * colour the next), in order; arguments (`--quick`, `--rounds=N`, ...) pass through.
 * Then the headline figure of each against its goal, as a table and as the Markdown the
 * README's "Benchmarks" section holds. `--only=drain,audit` runs a subset.
 */

const BENCHES = ['history', 'drain', 'orchestration', 'offsets', 'audit'] as const;

function runOne(name: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, `${name}.js`), ...args], { stdio: 'inherit', env: process.env });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function load(name: string): Json | undefined {
  const file = path.join(REPO_ROOT, 'bench', 'results', `${name}.json`);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Json) : undefined;
}

const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

/** One row per figure: benchmark, measured, goal, met? */
function headline(): string[][] {
  const rows: string[][] = [];
  const drain = load('drain');
  for (const d of drain?.summary ?? []) {
    rows.push([`drain detection, flush ${d.flushMs} ms`, `${s(d.medianCommitToDrainEndMs)} after the commit (${s(d.medianAckToDrainEndMs)} after the last ack)`, `≤ ${s(d.goalMs)}`, d.medianAckToDrainEndMs <= d.goalMs ? 'yes' : 'no']);
  }
  const o = load('orchestration');
  if (o) {
    rows.push(['orchestration overhead, failover + failback', `${s(o.kafkaDr.overheadMs)} (total ${s(o.kafkaDr.totalMs)})`, '≤ 5 s', o.kafkaDr.overheadMs <= 5000 ? 'yes' : 'no']);
    if (o.runbook) rows.push(['scripted runbook (CLI tools + curl), same steps', `${s(o.runbook.overheadMs)} overhead (total ${s(o.runbook.totalMs)}): ${o.ratios.overhead}× kafka-dr's`, '≥ 10×', o.ratios.overhead >= 10 ? 'yes' : 'no']);
  }
  const off = load('offsets');
  if (off) {
    const k = off.summary.kafkaDr;
    rows.push([
      `offset translation, ${off.summary.groupPartitions} group-partitions`,
      `${s(k.applyMs)}${k.applyExtrapolated ? ` (apply timed on ${k.applyTimedOnGroups} groups, extrapolated)` : ''}, ${k.groupPartitionsPerSecond}/s; per-group CLI ${s(off.summary.cli.extrapolatedTotalMs)} (extrapolated), ${off.summary.cli.groupPartitionsPerSecond}/s`,
      '10,000 in ≤ 10 s',
      off.summary.groupPartitions >= 10_000 && k.applyMs <= 10_000 ? 'yes' : 'no',
    ]);
  }
  const h = load('history');
  for (const x of h?.summary ?? []) {
    if (/24 h|full failback, instant/.test(x.scenario)) rows.push([`history: ${x.scenario}`, `${x.medianEvents} events (drain activity ${x.drainActivityEvents})`, '24 h drain ≤ 100 (warning 10,240)', x.drainActivityEvents <= 100 ? 'drain: yes' : 'no']);
  }
  const a = load('audit');
  if (a) rows.push([`drift audit, ${a.settings.topics} topics × ${a.settings.partitions} partitions`, s(a.summary.medianAuditMs), '≤ 30 s', a.settings.topics >= 1000 && a.summary.medianAuditMs <= 30_000 ? 'yes' : a.settings.topics < 1000 ? 'reduced size' : 'no']);
  const f = load('worker-footprint');
  if (f) rows.push(['worker RSS idle / during a failback', `${f.rssMiB.idle} / ${f.rssMiB.failbackPeak} MiB`, '≤ 300 MB during a failback', f.rssMiB.failbackPeak * 1.048576 <= 300 ? 'yes' : 'no']);
  return rows;
}

async function main(): Promise<void> {
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--only='));
  const failed: string[] = [];
  for (const name of BENCHES) {
    if (only && !only.includes(name)) continue;
    console.log(`\n===== bench ${name} ${args.join(' ')}`);
    const t0 = Date.now();
    const code = await runOne(name, args);
    console.log(`===== bench ${name}: ${code === 0 ? 'done' : `FAILED (exit ${code})`} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    if (code !== 0) failed.push(name);
  }
  const rows = headline();
  printTable('Benchmarks: latest figures (bench/results/*.json) against the goals', [['figure', 'measured (median)', 'goal', 'met'], ...rows]);
  console.log('\nMarkdown for the README:\n');
  console.log('| figure | measured (median) | goal | met |\n|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  if (failed.length > 0) throw new Error(`failed: ${failed.join(', ')}`);
}

runMain(main);
