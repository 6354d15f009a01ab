import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { Admin } from 'kafkajs';
import { readLatestCheckpoints } from '../src/mm2/checkpoints';
import { mirrorConnectors } from '../src/mm2/connector-configs';
import type { FailbackFigures, FailbackInput } from '../src/model/failback-input';
import type { FailoverFigures, FailoverInput } from '../src/model/failover-input';
import type { PlaybookReport, StepRecord } from '../src/model/gates';
import { approveSignal, statusQuery } from '../workflows/framework';
import {
  eventually,
  kafka,
  median,
  printTable,
  REPO_ROOT,
  round,
  runMain,
  sizeOption,
  sleep,
  stack,
  uniqueId,
  writeResult,
} from './lib/common';
import { connectClient, deleteFlow, deployFlow, type Flow } from './lib/flows';
import { startWorkerChild, type WorkerChild } from './lib/worker-child';

/**
 * Benchmark 2 (and 6): orchestration overhead of a planned failover A→B + failback B→A
 * on the local stack with instant approvals, side by side with the same steps as a
 * scripted runbook (bench/runbook/failover-failback.sh: Kafka's CLI tools, curl, jq),
 * alternating per round, each on a fresh topic, group and MM2 flow (setup untimed).
 *
 * Inherent waits (the floors no orchestrator can remove), subtracted from both totals:
 * the two quiet windows (quietSeconds each) and one Connect offset flush interval per
 * lag wait (failover drain, failback catch-up, failback drain). Everything else is
 * overhead: tool/JVM start-up, REST and admin round trips, polling granularity,
 * Connect's own stop/start latency (both sides pay that), workflow tasks and gates.
 *
 * The kafka-dr worker runs in a process of its own; its RSS idle and during the
 * failback is benchmark 6 (bench/results/worker-footprint.json).
 */

const PARTITIONS = 3;
const RECORDS = 300;
const DR_RECORDS = 100;
const QUIET_S = 1;

interface Scenario {
  id: string;
  topic: string;
  group: string;
  forward: Flow;
  adminA: Admin;
  adminB: Admin;
}

interface RunResult {
  mode: 'kafka-dr' | 'runbook';
  failoverMs: number;
  failbackMs: number;
  totalMs: number;
  overheadMs: number;
  steps: Array<{ name: string; ms: number }>;
  worker?: { failbackPeakRssMiB: number };
}

const log = (line: string) => console.error(`bench orchestration: ${line}`);

async function ends(admin: Admin, topic: string): Promise<number[]> {
  return (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition).map((o) => Number(o.high));
}

async function produce(alias: 'A' | 'B', topic: string, from: number, to: number): Promise<void> {
  const producer = kafka(alias).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const messages = [];
    for (let i = from; i < to; i++) messages.push({ key: `k${i}`, value: `seq=${i}`, partition: i % PARTITIONS });
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** The group "consumed everything" on `alias`: its offsets committed at the end (no members). */
async function commitAtEnd(admin: Admin, group: string, topic: string): Promise<void> {
  const e = await ends(admin, topic);
  await admin.setOffsets({ groupId: group, topic, partitions: e.map((offset, partition) => ({ partition, offset: String(offset) })) });
}

/** A topic on both clusters, the forward flow A→B (Identity) running, 300 records replicated, the group checkpointed on B. */
async function setUp(): Promise<Scenario> {
  const id = uniqueId();
  const topic = `orch-${id}`;
  const group = `orch-svc-${id}`;
  const adminA = kafka('A').admin();
  const adminB = kafka('B').admin();
  await Promise.all([adminA.connect(), adminB.connect()]);
  await adminA.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
  await adminB.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
  const forward = await deployFlow({ name: `orch-${id}`, source: 'A', topics: [topic], groups: [group], policy: 'identity' });
  await produce('A', topic, 0, RECORDS);
  await commitAtEnd(adminA, group, topic);
  await eventually(
    'B has the forward records',
    async () => ((await ends(adminB, topic)).reduce((a, b) => a + b, 0) === RECORDS ? true : undefined),
    120_000,
  );
  await eventually(
    'checkpoints of the group on B',
    async () => {
      const read = await readLatestCheckpoints(kafka('B'), 'A', { groups: [group], topics: [topic] });
      return read.checkpoints.length >= PARTITIONS ? true : undefined;
    },
    120_000,
    500,
  );
  return { id, topic, group, forward, adminA, adminB };
}

/** The DR period between failover and failback: producers wrote to B, the group read it all there. */
async function drPeriod(s: Scenario): Promise<void> {
  await produce('B', s.topic, RECORDS, RECORDS + DR_RECORDS);
  await commitAtEnd(s.adminB, s.group, s.topic);
}

async function tearDown(s: Scenario, reverseNames: string[]): Promise<void> {
  await deleteFlow(s.forward);
  const a = connectClient('connect-a');
  await Promise.all(reverseNames.map((n) => a.delete(n).catch(() => undefined)));
  for (const admin of [s.adminA, s.adminB]) {
    await admin.deleteGroups([s.group]).catch(() => undefined);
    await admin.deleteTopics({ topics: [s.topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

const inherentMs = () => 2 * QUIET_S * 1000 + 3 * stack.connectOffsetFlushMs;

/** Runs a playbook to the end, approving every gate as soon as it opens (50 ms status polls). */
async function runPlaybook<F extends Record<string, unknown>>(
  w: WorkerChild,
  name: 'failover' | 'failback',
  workflowId: string,
  input: unknown,
): Promise<{ report: PlaybookReport<F>; ms: number }> {
  const t0 = Date.now();
  const h = await w.client.workflow.start(name, {
    taskQueue: w.taskQueue,
    workflowId,
    args: [input],
    workflowExecutionTimeout: '15 minutes',
  });
  let finished = false;
  const result = h.result().finally(() => (finished = true));
  const approved = new Set<string>();
  while (!finished) {
    const s = await h.query(statusQuery).catch(() => undefined);
    const gate = s?.openGate?.name;
    if (gate && !approved.has(gate)) {
      approved.add(gate);
      await h.signal(approveSignal, { gate, by: 'bench-approver' });
    }
    await Promise.race([sleep(50), result.catch(() => undefined)]);
  }
  const report = (await result) as PlaybookReport<F>;
  const ms = Date.now() - t0;
  if (report.outcome !== 'completed')
    throw new Error(`${name} ${report.outcome}: ${report.reason ?? ''} ${JSON.stringify(report.steps.filter((x: StepRecord) => x.error))}`);
  return { report, ms };
}

const stepsOf = (prefix: string, steps: StepRecord[]) =>
  steps
    .filter((s) => s.durationMs !== undefined || s.endedAt)
    .map((s) => ({ name: `${prefix}/${s.name}`, ms: s.durationMs ?? Date.parse(s.endedAt!) - Date.parse(s.startedAt) }));

async function runKafkaDr(w: WorkerChild, rss: { idle: number[]; peak: number[] }): Promise<RunResult> {
  const s = await setUp();
  const reverseName = `orchr-${s.id}`;
  try {
    const gates = {
      'stop-producers': { deadline: '10 minutes' },
      'consumers-cutover': { deadline: '10 minutes' },
      'producers-cutover': { deadline: '10 minutes' },
    };
    const forward = { connect: 'connect-b', connectors: s.forward.connectors, sourceConnectors: [s.forward.sourceConnector] };
    const foInput: FailoverInput = {
      source: 'A',
      target: 'B',
      mode: 'planned',
      forward,
      topics: [s.topic],
      groups: [s.group],
      policy: 'identity',
      requestedBy: 'bench',
      gates,
      quietSeconds: QUIET_S,
    };
    rss.idle.push(w.rss().nowMiB ?? 0);
    const fo = await runPlaybook<FailoverFigures>(w, 'failover', `bench-failover-${s.id}`, foInput);
    await drPeriod(s);
    const snapshot = fo.report.figures.snapshots?.target;
    if (!snapshot) throw new Error('failover report has no target snapshot');
    const fbInput: FailbackInput = {
      primary: 'A',
      dr: 'B',
      forward,
      reverse: {
        connect: 'connect-a',
        name: reverseName,
        replicationFactor: 1,
        intervals: { refreshTopicsSeconds: 1, refreshGroupsSeconds: 1, emitCheckpointsSeconds: 1, emitHeartbeatsSeconds: 1 },
      },
      topics: [s.topic],
      groups: [s.group],
      policy: 'identity',
      seed: { mode: 'auto', snapshot },
      requestedBy: 'bench',
      gates,
      lagThreshold: 0,
      catchUpTimeoutSeconds: 300,
      quietSeconds: QUIET_S,
    };
    w.resetPeak();
    const fb = await runPlaybook<FailbackFigures>(w, 'failback', `bench-failback-${s.id}`, fbInput);
    rss.peak.push(w.rss().peakMiB);
    const totalMs = fo.ms + fb.ms;
    return {
      mode: 'kafka-dr',
      failoverMs: fo.ms,
      failbackMs: fb.ms,
      totalMs,
      overheadMs: totalMs - inherentMs(),
      steps: [...stepsOf('failover', fo.report.steps), ...stepsOf('failback', fb.report.steps)],
      worker: { failbackPeakRssMiB: round(w.rss().peakMiB, 1) },
    };
  } finally {
    await tearDown(s, [`${reverseName}-source-failback`, `${reverseName}-checkpoint`, `${reverseName}-heartbeat`]);
  }
}

const RUNBOOK_NAMES: Record<string, string> = {
  'translate-offsets-back': 'failback/translate-offsets',
  'verify-quiet-b': 'failback/verify-quiet',
  'drain-reverse': 'failback/drain',
};

async function runRunbook(): Promise<RunResult> {
  const s = await setUp();
  const reverseName = `orchr-${s.id}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-bench-runbook-'));
  const reverse = mirrorConnectors({
    source: { alias: 'B', bootstrapServers: stack.kafka.B.bootstrap },
    target: { alias: 'A', bootstrapServers: stack.kafka.A.bootstrap },
    name: reverseName,
    topics: [s.topic],
    groups: [s.group],
    policy: 'identity',
    replicationFactor: 1,
    intervalSeconds: 1,
  });
  for (const [name, config] of Object.entries(reverse))
    fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ name, config, initial_state: 'STOPPED' }));
  try {
    const env = {
      ...process.env,
      KAFKA_LIBS: stack.kafkaLibDir,
      BOOTSTRAP_A: stack.kafka.A.bootstrap,
      BOOTSTRAP_B: stack.kafka.B.bootstrap,
      CONNECT_A: stack.connect['connect-a'].url,
      CONNECT_B: stack.connect['connect-b'].url,
      TOPIC: s.topic,
      GROUP: s.group,
      PARTITIONS: String(PARTITIONS),
      QUIET_S: String(QUIET_S),
      FORWARD: [s.forward.sourceConnector, ...s.forward.connectors.filter((c) => c !== s.forward.sourceConnector)].join(' '),
      REVERSE_DIR: dir,
      REVERSE_SOURCE: `${reverseName}-source`,
    };
    const t0 = Date.now();
    const child = spawn('bash', [path.join(REPO_ROOT, 'bench', 'runbook', 'failover-failback.sh')], {
      env,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
    const steps: Array<{ name: string; ms: number }> = [];
    let phase = 'failover';
    let failoverDoneAt = 0;
    let drMs = 0;
    let failbackDoneAt = 0;
    for await (const line of readline.createInterface({ input: child.stdout! })) {
      const [kind, a, b, c] = line.split(' ');
      if (kind === 'STEP') steps.push({ name: RUNBOOK_NAMES[a!] ?? `${phase}/${a}`, ms: Number(c) - Number(b) });
      if (kind === 'FAILOVER_DONE') {
        failoverDoneAt = Number(a);
        phase = 'failback';
        const d0 = Date.now();
        await drPeriod(s);
        drMs = Date.now() - d0;
        child.stdin!.end('go\n');
      }
      if (kind === 'FAILBACK_DONE') failbackDoneAt = Number(a);
    }
    const code = await exited;
    if (code !== 0 || !failbackDoneAt) throw new Error(`runbook exited with ${code}`);
    const failoverMs = failoverDoneAt - t0;
    const failbackMs = failbackDoneAt - failoverDoneAt - drMs;
    const totalMs = failoverMs + failbackMs;
    return { mode: 'runbook', failoverMs, failbackMs, totalMs, overheadMs: totalMs - inherentMs(), steps };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await tearDown(s, Object.keys(reverse));
  }
}

export async function main(options: { only?: 'kafka-dr' } = {}): Promise<void> {
  const rounds = sizeOption('rounds', 3, 1);
  const withRunbook = options.only !== 'kafka-dr' && !process.argv.includes('--no-runbook');
  const w = await startWorkerChild();
  const results: RunResult[] = [];
  const rss = { startup: 0, idle: [] as number[], peak: [] as number[] };
  try {
    // The worker settles (bundle loaded, pollers up) before "idle" is read.
    await sleep(5000);
    rss.startup = w.rss().peakMiB;
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first, so drift in machine load does not favour one side.
      const order: Array<'kafka-dr' | 'runbook'> = withRunbook
        ? r % 2 === 0
          ? ['kafka-dr', 'runbook']
          : ['runbook', 'kafka-dr']
        : ['kafka-dr'];
      for (const mode of order) {
        const res = mode === 'kafka-dr' ? await runKafkaDr(w, rss) : await runRunbook();
        log(
          `round ${r + 1}/${rounds} ${mode}: total ${res.totalMs} ms (failover ${res.failoverMs}, failback ${res.failbackMs}), overhead ${res.overheadMs} ms`,
        );
        results.push(res);
      }
    }
  } finally {
    await w.stop();
  }
  const of = (mode: RunResult['mode']) => results.filter((r) => r.mode === mode);
  const med = (mode: RunResult['mode'], k: 'totalMs' | 'overheadMs' | 'failoverMs' | 'failbackMs') =>
    round(median(of(mode).map((r) => r[k])));
  const stepMedians = (mode: RunResult['mode']) => {
    const names = [...new Set(of(mode).flatMap((r) => r.steps.map((s) => s.name)))];
    return Object.fromEntries(
      names.map((n) => [n, round(median(of(mode).map((r) => r.steps.filter((s) => s.name === n).reduce((a, s) => a + s.ms, 0))))]),
    );
  };
  const kdr = {
    failoverMs: med('kafka-dr', 'failoverMs'),
    failbackMs: med('kafka-dr', 'failbackMs'),
    totalMs: med('kafka-dr', 'totalMs'),
    overheadMs: med('kafka-dr', 'overheadMs'),
    steps: stepMedians('kafka-dr'),
  };
  const rb = withRunbook
    ? {
        failoverMs: med('runbook', 'failoverMs'),
        failbackMs: med('runbook', 'failbackMs'),
        totalMs: med('runbook', 'totalMs'),
        overheadMs: med('runbook', 'overheadMs'),
        steps: stepMedians('runbook'),
      }
    : undefined;
  const ratios = rb ? { total: round(rb.totalMs / kdr.totalMs, 2), overhead: round(rb.overheadMs / kdr.overheadMs, 2) } : undefined;
  const rows: Array<Array<string | number>> = [['', 'kafka-dr', ...(rb ? ['scripted runbook', 'runbook / kafka-dr'] : [])]];
  for (const k of ['failoverMs', 'failbackMs', 'totalMs', 'overheadMs'] as const) {
    rows.push([k.replace('Ms', ' (ms)'), kdr[k], ...(rb ? [rb[k], round(rb[k] / kdr[k], 2)] : [])]);
  }
  printTable(
    `Failover + failback, instant approvals (${rounds} round(s), medians; inherent waits ${inherentMs()} ms subtracted for the overhead)`,
    rows,
  );
  const stepNames = [...new Set([...Object.keys(kdr.steps), ...Object.keys(rb?.steps ?? {})])];
  printTable('Per step (median ms)', [
    ['step', 'kafka-dr', ...(rb ? ['scripted runbook'] : [])],
    ...stepNames.map((n) => [n, kdr.steps[n] ?? '-', ...(rb ? [rb.steps[n] ?? '-'] : [])]),
  ]);
  const idle = round(median(rss.idle), 1);
  const peak = round(Math.max(...rss.peak), 1);
  printTable('kafka-dr worker RSS (MiB, own process)', [
    ['after start-up (peak)', 'idle (before each failover)', 'peak during a failback', 'goal'],
    [round(rss.startup, 1), idle, peak, '≤ 300 MB'],
  ]);
  const settings = {
    rounds,
    partitions: PARTITIONS,
    forwardRecords: RECORDS,
    drRecords: DR_RECORDS,
    quietSeconds: QUIET_S,
    connectOffsetFlushMs: stack.connectOffsetFlushMs,
  };
  if (options.only !== 'kafka-dr') {
    writeResult('orchestration', {
      what: 'planned failover A→B + failback B→A with instant approvals: kafka-dr playbooks vs a scripted runbook (Kafka CLI tools + curl), alternating',
      settings,
      inherentWaitsMs: inherentMs(),
      inherentWaits: '2 quiet windows (quietSeconds) + 3 Connect offset flush intervals (failover drain, failback catch-up and drain)',
      goal: 'overhead ≤ 5 s for the whole drill, ≥ 10× faster than the scripted runbook',
      kafkaDr: kdr,
      runbook: rb,
      ratios,
      runs: results,
    });
  }
  writeResult('worker-footprint', {
    what: 'RSS of the kafka-dr worker process (production activities, bundled workflows): after start-up, idle, and peak during a real failback',
    settings: { ...settings, sampleEveryMs: 200 },
    goal: 'worker RSS ≤ 300 MB during a failback',
    rssMiB: { afterStartupPeak: round(rss.startup, 1), idle, failbackPeak: peak, failbackPeaks: rss.peak.map((x) => round(x, 1)) },
  });
}

if (require.main === module) runMain(() => main());
