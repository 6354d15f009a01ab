import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Kafka } from 'kafkajs';
import { loadStackConfig, type StackConfig } from '../../src/stack/config';
import '../../src/kafka/compression';
import { eventually as testEventually, kafka as testKafka, sleep, uniqueId } from '../../test/helpers/stack';

/**
 * What every benchmark shares: where the repo is, the stack it runs against, sizes
 * (full or `--quick`), medians and ratios, the printed table and the JSON result file.
 */

/** The repo root: the nearest parent holding kafka-dr's package.json (works from bench/ and from any build dir). */
export const REPO_ROOT = (() => {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'kafka-dr') return dir;
  }
  throw new Error(`kafka-dr's package.json not found above ${__dirname}`);
})();

export const stack: StackConfig = loadStackConfig(process.env, REPO_ROOT);

/** `--quick` or KDR_BENCH_QUICK=1: reduced sizes, to show a benchmark works. */
export const QUICK = process.argv.includes('--quick') || process.env.KDR_BENCH_QUICK === '1';

/** An integer option: `--name=N` on the command line, else KDR_BENCH_<NAME>, else the (quick or full) default. */
export function sizeOption(name: string, full: number, quick: number): number {
  const flag = process.argv.find((a) => a.startsWith(`--${name}=`));
  const env = process.env[`KDR_BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  const raw = flag ? flag.slice(name.length + 3) : env;
  if (raw === undefined || raw === '') return QUICK ? quick : full;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got '${raw}'`);
  return n;
}

export { sleep, uniqueId };

export const kafka = (alias: 'A' | 'B'): Kafka => testKafka(alias, `kafka-dr-bench-${alias}`);

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Rounds for the JSON and the table: ms to whole numbers, seconds and ratios to 2 decimals. */
export const round = (x: number, digits = 0) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

/** test/helpers/stack's `eventually`, polling every 250 ms by default. */
export const eventually = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 250): Promise<T> =>
  testEventually(what, probe, timeoutMs, intervalMs);

/** Prints rows as an aligned text table (the first row is the header). */
export function printTable(title: string, rows: Array<Array<string | number>>): void {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  console.log(`\n${title}`);
  cells.forEach((r, n) => {
    console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}

/** The machine the figures came from: load average says how noisy they are. */
export function machine(): Record<string, unknown> {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memGiB: round(os.totalmem() / 2 ** 30, 1),
    loadAvg1m: round(os.loadavg()[0]!, 2),
    node: process.version,
    kafka: stack.kafkaVersion,
    connectOffsetFlushMs: stack.connectOffsetFlushMs,
  };
}

/** Writes bench/results/<name>.json in the source tree (the latest figures, committed). */
export function writeResult(name: string, result: Record<string, unknown>): string {
  const dir = path.join(REPO_ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  const body = { benchmark: name, ranAt: new Date().toISOString(), quick: QUICK, machine: machine(), ...result };
  fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), file) || file}`);
  return file;
}

/** Runs a benchmark's main, exiting non-zero with one line when it fails. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}

/** Resident set size of a process in MiB (/proc), or undefined when it is gone. */
export function rssMiBOf(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
