import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { printTable, REPO_ROOT, runMain } from './lib/common';
import { headlineRows, loadResults, writeBenchmarksDoc } from './render-docs';

/**
 * `npm run bench`: every benchmark, one process each (so one's clients and memory do not
 * colour the next), in order; arguments (`--quick`, `--rounds=N`, ...) pass through.
 * Then the headline figure of each against its goal, as a table, and docs/benchmarks.md
 * regenerated from the results (bench/render-docs.ts). `--only=drain,audit` runs a subset.
 */

const BENCHES = ['history', 'drain', 'orchestration', 'offsets', 'audit'] as const;

function runOne(name: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, `${name}.js`), ...args], { stdio: 'inherit', env: process.env });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<void> {
  const only = process.argv
    .find((a) => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
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
  const rows = headlineRows(loadResults(path.join(REPO_ROOT, 'bench', 'results')));
  printTable('Benchmarks: latest figures (bench/results/*.json) against the goals', [
    ['figure', 'measured (median)', 'goal', 'met'],
    ...rows,
  ]);
  writeBenchmarksDoc(REPO_ROOT);
  console.log('\ndocs/benchmarks.md regenerated from bench/results');
  if (failed.length > 0) throw new Error(`failed: ${failed.join(', ')}`);
}

runMain(main);
