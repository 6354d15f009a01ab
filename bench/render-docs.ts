import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * docs/benchmarks.md, generated from bench/results/*.json so that no figure is copied by
 * hand: `node dist/bench/render-docs.js` writes it (`--check` only compares), and
 * `npm run bench` rewrites it after a run. test/unit/benchmarks-doc.test.ts fails when
 * the committed page and the committed results disagree.
 */

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Result files, by benchmark name (the file name without `.json`), sorted by name. */
export function loadResults(resultsDir: string): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const file of fs
    .readdirSync(resultsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    out[file.slice(0, -'.json'.length)] = JSON.parse(fs.readFileSync(path.join(resultsDir, file), 'utf8')) as Json;
  }
  return out;
}

/** Thousands separated by commas, whatever the locale (the page must not depend on it). */
function num(n: number, digits = 0): string {
  const [int, frac] = n.toFixed(digits).split('.');
  const grouped = int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}

const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
/** Long durations in minutes, as a person reads them. */
const long = (ms: number) => (ms >= 120_000 ? `about ${Math.round(ms / 60_000)} min` : s(ms));
const pct = (share: number) => `${(share * 100).toFixed(1)} %`;
const range = (lo: number, hi: number, unit = '') => (lo === hi ? `${num(lo)}${unit}` : `${num(lo)}–${num(hi)}${unit}`);

/** One row per figure: figure, measured (median), goal, met. `npm run bench` prints the same rows. */
export function headlineRows(r: Record<string, Json | undefined>): string[][] {
  const rows: string[][] = [];
  for (const d of r.drain?.summary ?? []) {
    rows.push([
      `drain detection, flush ${d.flushMs / 1000} s`,
      `${s(d.medianCommitToDrainEndMs)} after the commit (${s(d.medianAckToDrainEndMs)} after the last acknowledged record)`,
      `≤ ${s(d.goalMs)}`,
      d.medianAckToDrainEndMs <= d.goalMs ? 'yes' : 'no',
    ]);
  }
  const o = r.orchestration;
  if (o) {
    const k = o.kafkaDr;
    rows.push([
      'orchestration overhead, failover + failback',
      `${s(k.overheadMs)} (total ${s(k.totalMs)}: failover ${s(k.failoverMs)}, failback ${s(k.failbackMs)})`,
      '≤ 5 s',
      k.overheadMs <= 5000 ? 'yes' : 'no',
    ]);
    if (o.runbook) {
      rows.push([
        'scripted runbook, same steps',
        `${s(o.runbook.overheadMs)} overhead (total ${s(o.runbook.totalMs)}): ${o.ratios.overhead}× kafka-dr's`,
        '≥ 10×',
        o.ratios.overhead >= 10 ? 'yes' : 'no',
      ]);
    }
  }
  const off = r.offsets;
  if (off) {
    const k = off.summary.kafkaDr;
    const cli = off.summary.cli;
    const applied = k.applyExtrapolated
      ? `apply timed on ${num(k.applyTimedOnGroups)} groups, extrapolated`
      : `all ${num(off.settings.groups)} groups applied`;
    rows.push([
      `offset translation, ${num(off.summary.groupPartitions)} group-partitions (${num(off.settings.groups)} groups)`,
      `${s(k.applyMs)} read + plan + apply, ${applied} (${num(k.groupPartitionsPerSecond)} group-partitions/s; plan alone ${s(k.planMs)}); ` +
        `per-group CLI ${(cli.medianPerGroupMs / 1000).toFixed(2)} s per group, ${long(cli.extrapolatedTotalMs)} extrapolated (${num(cli.groupPartitionsPerSecond)}/s): ${num(off.summary.speedup)}×`,
      '≤ 10 s',
      off.summary.groupPartitions >= 10_000 && k.applyMs <= 10_000 ? 'yes' : 'no',
    ]);
    const x = off.summary.exact;
    if (x) {
      rows.push([
        `exact positions, ${num(off.summary.groupPartitions)} group-partitions, each verified by record content`,
        `${s(x.applyMs)} read + verify + plan + apply (plan alone ${s(x.planMs)}; ${num(x.verified)} verified, ${num(x.recordsRead)} records and ${num(x.syncsRead)} offset syncs read)`,
        '≤ 10 s',
        x.applyMs <= 10_000 ? 'yes' : 'no',
      ]);
    }
  }
  const h = r.history;
  if (h) {
    const planned = (h.summary as Json[]).filter((x) => /^planned failover, (1 h|24 h) wait/.test(x.scenario));
    const failback = (h.summary as Json[]).filter((x) => /^full failback/.test(x.scenario));
    const day = planned.find((x) => /24 h/.test(x.scenario));
    if (planned.length > 0) {
      const ev = planned.map((x) => x.medianEvents as number);
      rows.push([
        'history, planned failover with a 1 h or 24 h wait before the drain',
        `${range(Math.min(...ev), Math.max(...ev))} events (${pct(Math.max(...planned.map((x) => x.shareOfWarning as number)))} of the ${num(h.settings.warning)} warning); the drain itself is ${day?.drainActivityEvents ?? '-'} events however long it heartbeats`,
        '24 h drain ≤ 100',
        day && day.drainActivityEvents <= 100 ? `yes (drain: ${day.drainActivityEvents})` : 'no',
      ]);
    }
    if (failback.length > 0) {
      const ev = failback.map((x) => x.medianEvents as number);
      rows.push([
        'history, full failback (instant or 24 h wait)',
        `${range(Math.min(...ev), Math.max(...ev))} events (${pct(Math.max(...failback.map((x) => x.shareOfWarning as number)))})`,
        '',
        '',
      ]);
    }
  }
  const a = r.audit;
  if (a) {
    const steps = Object.entries(a.summary.medianStepMs as Record<string, number>)
      .filter(([, ms]) => ms > 0)
      .sort((x, y) => y[1] - x[1])
      .map(([name, ms]) => `${name} ${s(ms)}`)
      .join(', ');
    rows.push([
      `drift audit, ${num(a.settings.topics)} topics × ${a.settings.partitions} partitions`,
      `${s(a.summary.medianAuditMs)}: ${steps} (${a.summary.findings} findings)`,
      '≤ 30 s',
      a.settings.topics >= 1000 && a.summary.medianAuditMs <= 30_000 ? 'yes' : a.settings.topics < 1000 ? 'reduced size' : 'no',
    ]);
  }
  const f = r['worker-footprint'];
  if (f) {
    const m = f.rssMiB;
    const peaks = (m.failbackPeaks as number[] | undefined) ?? [m.failbackPeak as number];
    rows.push([
      'worker RSS: idle / peak during a failback',
      `${m.idle.toFixed(0)} / ${range(Math.round(Math.min(...peaks)), Math.round(Math.max(...peaks)))} MiB (${m.afterStartupPeak.toFixed(0)} MiB right after start-up)`,
      '≤ 300 MB',
      m.failbackPeak * 1.048576 <= 300 ? 'yes' : 'no',
    ]);
  }
  return rows;
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const WHAT_IS_TIMED = table(
  ['benchmark', 'what is timed'],
  [
    [
      '`history`',
      'history events of a whole failover and failback (stub activities, time-skipping server), 1 h and 24 h waits before the drain',
    ],
    [
      '`drain`',
      "last MM2 offset committed on Connect (50 ms polls of `GET /connectors/{n}/offsets`) → the playbooks' drain step done, for two offset flush intervals (it restarts the stack's Connect workers once so that connect-b runs one and connect-a the other, then rounds alternate without restarts, and it puts the original interval back at the end)",
    ],
    [
      '`orchestration`',
      "planned failover A→B + failback B→A with instant approvals, per step, against `bench/runbook/failover-failback.sh` (the same steps with Kafka's CLI tools from the stack's jars, curl and jq); inherent waits (2 quiet windows + 3 flush intervals) subtracted for the overhead. Also the worker's RSS (`worker-footprint.json`; `node dist/bench/footprint.js` alone)",
    ],
    [
      '`offsets`',
      "1,000 groups × 10 partitions: read checkpoints + plan, and apply, against `kafka-consumer-groups --reset-offsets --from-file` per group. Checkpoints are written into `A.checkpoints.internal` with kafka-dr's MM2 codec, not emitted by MM2. The CLI is timed on a sample of groups and extrapolated; kafka-dr's apply runs on all groups unless a 50-group probe says that would take over 2 minutes (then on a sample, extrapolated, and the JSON says so)",
    ],
    [
      '`audit`',
      "one `auditDrift` run (report only) over 1,000 topics × 10 partitions on A and their mirrors on B, the flow's connectors deployed STOPPED (`--mm2=running` to run them)",
    ],
  ],
);

function machineTable(r: Record<string, Json>): string {
  const rows = Object.entries(r).map(([name, x]) => {
    const m = x.machine ?? {};
    return [
      `\`${name}\``,
      String(x.ranAt ?? '-'),
      x.quick ? 'yes' : 'no',
      `${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB`,
      String(m.loadAvg1m),
      `Node ${String(m.node).replace(/^v/, '')}, Kafka ${m.kafka}, flush ${m.connectOffsetFlushMs} ms`,
    ];
  });
  return table(['result', 'ran at (UTC)', 'quick', 'machine', 'load (1 min)', 'versions'], rows);
}

function stepTable(o: Json): string {
  const k = o.kafkaDr.steps as Record<string, number>;
  const rb = (o.runbook?.steps ?? {}) as Record<string, number>;
  const names = [...Object.keys(k), ...Object.keys(rb).filter((n) => !(n in k))];
  // Each round's figure per step and mode, for the spread next to the median.
  const spread = (mode: string, name: string): string => {
    const ms = ((o.runs ?? []) as Json[])
      .filter((r) => r.mode === mode)
      .flatMap((r) => (r.steps as Json[]).filter((x) => x.name === name).map((x) => x.ms as number));
    return ms.length > 1 ? ` (${range(Math.min(...ms), Math.max(...ms))})` : '';
  };
  const cell = (mode: string, steps: Record<string, number>, n: string) =>
    steps[n] === undefined ? '–' : `${num(steps[n])}${spread(mode, n)}`;
  return table(
    ['step', 'kafka-dr, ms', 'scripted runbook, ms'],
    names.map((n) => [`\`${n}\``, cell('kafka-dr', k, n), cell('runbook', rb, n)]),
  );
}

function historyTable(h: Json): string {
  return table(
    ['scenario', 'events (median)', 'min–max', 'drain activity', 'share of the warning'],
    (h.summary as Json[]).map((x) => [
      x.scenario,
      String(x.medianEvents),
      range(x.min, x.max),
      String(x.drainActivityEvents),
      pct(x.shareOfWarning),
    ]),
  );
}

/** The whole page. Pure: the same results give the same bytes. */
export function renderBenchmarksDoc(r: Record<string, Json>): string {
  const parts: string[] = [];
  parts.push(`<!-- Generated by bench/render-docs.ts from bench/results/*.json: do not edit by hand.
     Regenerate with \`npx tsc -b && node dist/bench/render-docs.js\` (npm run bench does it after a run). -->

# Benchmarks

\`npm run bench\` runs the benchmarks in \`bench/\` on the local stack (started and stopped
again if it was not running), writes the latest figures to \`bench/results/<name>.json\` and
regenerates this page from them; \`npm run bench -- --quick\` runs reduced sizes,
\`--only=drain,audit\` a subset. Each one also runs alone after a build, e.g.
\`node dist/bench/drain.js [--quick] [--rounds=N]\`. Comparisons run side by side in one
process, alternating, and report medians; nothing here is a test assertion.

${WHAT_IS_TIMED}

## Latest figures

${table(['figure', 'measured (median)', 'goal', 'met'], headlineRows(r))}

Where and when each result was measured:

${machineTable(r)}`);
  if (r.orchestration) {
    parts.push(`## Orchestration, per step

Median of ${r.orchestration.settings.rounds} rounds, with the lowest and highest in brackets
(\`bench/results/orchestration.json\`); a dash: the runbook has no such step (gates and
hooks are kafka-dr's own). Inherent waits, subtracted for the overhead: ${r.orchestration.inherentWaits}.

${stepTable(r.orchestration)}`);
  }
  if (r.history) {
    parts.push(`## History size

What: ${r.history.what}. ${r.history.note ? `Note: ${r.history.note}.` : ''}

${historyTable(r.history)}`);
  }
  parts.push(NOTES);
  return `${parts.join('\n\n').trimEnd()}\n`;
}

/** Prose that explains the figures; it quotes no figure the tables above hold. */
const NOTES = `## Notes on the figures

Where the time goes, from the per-step figures above:

- **Orchestration overhead.** Most of it is Connect and MM2 doing their work: stopping the
  forward flow (tasks stop and commit), the reverse flow catching up on the DR-period
  records, deleting the reverse connectors, two translations (mostly reading the
  checkpoints topic), two drains. Gates, hooks, workflow tasks and every other step take
  a small fraction of a second each.
- **Runbook ratio.** On an idle machine the scripted runbook is fast too: its overhead is
  one JVM start per Kafka CLI call (about 1 s each) and the console consumer's 5 s idle
  timeout when it reads the checkpoints (twice). A loaded machine, where JVM starts cost
  more, gave 6.6× earlier. kafka-dr's advantage is not speed but what the runbook lacks:
  the gates, the journal, the exactly computed offsets, resuming after a crash.

## History of the figures

- The results committed on 2026-12-06 came from \`npm run bench\` (the whole set), then
  \`npm run bench -- --only=offsets,orchestration\` again after two fixes to the benchmarks
  themselves (the offsets probe, the runbook's tombstone handling), then
  \`npm run bench -- --only=history,orchestration\` (load average about 1) after the
  failback's consumers hook was split and the worker's workflow bundling moved to a child
  process. The split consumers hook adds a second step to the failback's history.
- Since the first figures (2026-11-22, a machine shared with eight other sessions): group
  offsets are committed with one OffsetCommit per group and no member (as
  \`kafka-consumer-groups --reset-offsets\` does) instead of kafkajs' \`setOffsets\`, which
  joined the group and waited 5 s for a fetch (apply: 5.2 s per group → 8 s for all 1,000);
  end offsets of many topics are read in one ListOffsets per broker instead of one metadata
  refresh per topic (audit 424 s → 3 s); the drain is proven by 2 zero-lag polls 500 ms
  apart instead of 3 polls 1 s apart (2.8 s → 0.6 s after the commit).
- **Worker RSS, fixed (303 → 244–256 MiB).** Until 2026-12-06 the worker bundled its
  workflows with webpack in its own process and kept about 130 MiB of heap from that
  (idle 294 MiB, 303 MiB during a failback). It now bundles in a child process
  (\`workers/workflow-bundle.ts\`); measured with \`node dist/bench/footprint.js\`.
`;

/** Writes docs/benchmarks.md under `repoRoot`; with `check`, only says whether it is up to date. */
export function writeBenchmarksDoc(repoRoot: string, check = false): boolean {
  const file = path.join(repoRoot, 'docs', 'benchmarks.md');
  const text = renderBenchmarksDoc(loadResults(path.join(repoRoot, 'bench', 'results')));
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  if (check) return current === text;
  if (current !== text) fs.writeFileSync(file, text);
  return true;
}

if (require.main === module) {
  // dist/bench/render-docs.js → the repo root is two levels up (bench/render-docs.ts: one).
  const root = [path.resolve(__dirname, '..', '..'), path.resolve(__dirname, '..')].find((d) =>
    fs.existsSync(path.join(d, 'bench', 'results')),
  );
  if (!root) throw new Error(`bench/results not found above ${__dirname}`);
  const check = process.argv.includes('--check');
  const ok = writeBenchmarksDoc(root, check);
  if (check && !ok) {
    console.error('docs/benchmarks.md is out of date with bench/results: run `node dist/bench/render-docs.js`');
    process.exitCode = 1;
  } else {
    console.log(check ? 'docs/benchmarks.md is up to date' : `wrote ${path.join(root, 'docs', 'benchmarks.md')}`);
  }
}
