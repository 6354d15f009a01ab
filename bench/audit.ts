import type { Admin } from 'kafkajs';
import type { AuditInput } from '../src/model/audit-input';
import type { PlaybookReport } from '../src/model/gates';
import { rawPlan } from '../test/helpers/inputs';
import { eventually, kafka, median, printTable, round, runMain, sizeOption, uniqueId, writeResult } from './lib/common';
import { activities, deleteFlow, retrying, type Flow } from './lib/flows';
import { startWorkerChild } from './lib/worker-child';

/**
 * Benchmark 5: one drift audit (the auditDrift workflow, report only, on a worker of its
 * own) of an MM2 flow A→B over T topics × 10 partitions on each cluster: `audit-bench-tNNNN`
 * on A and their mirrors `A.audit-bench-tNNNN` on B (created here, every 10th with a
 * different retention on B so there is drift to report). The flow's connectors are
 * deployed STOPPED by default (`--mm2=running` to run them): on a 2-core machine a
 * MirrorSourceConnector task over 10,000 empty partitions only adds load, and the audit
 * reads the same things either way (connector states, Connect's committed offsets, end
 * offsets, topic configs); a STOPPED connector is itself one finding. Topics are
 * deleted afterwards unless `--keep` (re-runs then skip the creation).
 */

const PARTITIONS = 10;
const PREFIX = 'audit-bench-t';
const log = (line: string) => console.error(`bench audit: ${line}`);

async function ensureTopics(admin: Admin, names: string[], drift: (name: string, i: number) => boolean): Promise<number> {
  const existing = new Set(await admin.listTopics());
  const missing = names.map((name, i) => ({ name, i })).filter((t) => !existing.has(t.name));
  for (let i = 0; i < missing.length; i += 100) {
    await admin.createTopics({
      topics: missing.slice(i, i + 100).map(({ name, i: n }) => ({
        topic: name,
        numPartitions: PARTITIONS,
        replicationFactor: 1,
        configEntries: drift(name, n) ? [{ name: 'retention.ms', value: '3600000' }] : [],
      })),
      waitForLeaders: false,
      timeout: 120_000,
    });
  }
  // Leaders elected before the audit: it times reads, not a broker still electing. (kafkajs'
  // own waitForLeaders fails on a 100-topic batch while the metadata is still spreading.)
  for (let i = 0; i < names.length; i += 100) {
    const batch = names.slice(i, i + 100);
    await eventually(
      `leaders for ${batch[0]}…`,
      async () => {
        const { topics } = await admin.fetchTopicMetadata({ topics: batch });
        return topics.every((t) => t.partitions.length === PARTITIONS && t.partitions.every((p) => p.leader >= 0)) ? true : undefined;
      },
      180_000,
      500,
    );
  }
  return missing.length;
}

async function main(): Promise<void> {
  const topics = sizeOption('topics', 1000, 100);
  const rounds = sizeOption('rounds', 2, 1);
  const running = process.argv.includes('--mm2=running');
  const keep = process.argv.includes('--keep');
  const names = Array.from({ length: topics }, (_, i) => `${PREFIX}${String(i).padStart(4, '0')}`);
  const adminA = kafka('A').admin();
  const adminB = kafka('B').admin();
  await Promise.all([adminA.connect(), adminB.connect()]);
  const flowName = `audit-bench-${uniqueId()}`;
  let flow: Flow | undefined;
  const w = await startWorkerChild();
  try {
    const t0 = Date.now();
    const createdA = await ensureTopics(adminA, names, () => false);
    const createdB = await ensureTopics(
      adminB,
      names.map((n) => `A.${n}`),
      (_, i) => i % 10 === 0,
    );
    log(`topics: ${createdA} created on A, ${createdB} on B (${topics} × ${PARTITIONS} partitions each) in ${Date.now() - t0} ms`);
    const deployed = await retrying('audit flow deployed', () =>
      activities.deployMirrorFlow({
        plan: rawPlan({ name: flowName, topicGroups: [{ name: 'main', topics: [`${PREFIX}.*`] }], groups: ['audit-bench-none'] }),
        initialState: running ? 'RUNNING' : 'STOPPED',
      }),
    );
    const connectors = deployed.connectors.map((c) => c.name);
    flow = { name: flowName, connect: 'connect-b', source: 'A', target: 'B', sourceConnector: `${flowName}-source-main`, connectors };
    const input: AuditInput = {
      flows: [
        {
          source: 'A',
          target: 'B',
          connect: 'connect-b',
          connectors: [flow.sourceConnector],
          otherConnectors: connectors.filter((c) => c !== flow!.sourceConnector),
          topics: names,
        },
      ],
      requestedBy: 'bench',
    };
    const runs: Array<{ ms: number; steps: Record<string, number>; findings: number }> = [];
    for (let r = 0; r < rounds; r++) {
      const start = Date.now();
      const report = (await w.client.workflow.execute('auditDrift', {
        taskQueue: w.taskQueue,
        workflowId: `bench-audit-${uniqueId()}`,
        args: [input],
        workflowExecutionTimeout: '30 minutes',
      })) as PlaybookReport<{ findings?: unknown[] }>;
      const ms = Date.now() - start;
      if (report.outcome !== 'completed') throw new Error(`audit ${report.outcome}: ${report.reason ?? ''}`);
      // Step names carry the flow: keep the check (connectors, lag, ...).
      const steps: Record<string, number> = {};
      for (const s of report.steps) {
        const check = s.name.split(' ')[0]!;
        steps[check] = (steps[check] ?? 0) + (s.durationMs ?? 0);
      }
      const findings = report.figures.findings?.length ?? 0;
      log(`round ${r + 1}/${rounds}: ${ms} ms, ${findings} findings, steps ${JSON.stringify(steps)}`);
      runs.push({ ms, steps, findings });
    }
    const auditMs = median(runs.map((x) => x.ms));
    const checks = [...new Set(runs.flatMap((x) => Object.keys(x.steps)))];
    const stepMedians = Object.fromEntries(checks.map((c) => [c, round(median(runs.map((x) => x.steps[c] ?? 0)))]));
    printTable(
      `Drift audit of ${topics} topics × ${PARTITIONS} partitions on each cluster (${rounds} round(s), medians; MM2 ${running ? 'RUNNING' : 'STOPPED'})`,
      [
        ['one audit', ...checks, 'findings', 'goal'],
        [`${round(auditMs)} ms`, ...checks.map((c) => `${stepMedians[c]} ms`), runs[0]?.findings ?? 0, '≤ 30 s'],
      ],
    );
    writeResult('audit', {
      what: 'one auditDrift workflow (report only) over T topics × 10 partitions on A and their mirrors on B',
      settings: { topics, partitions: PARTITIONS, rounds, mm2: running ? 'RUNNING' : 'STOPPED' },
      goal: 'the 1,000-topic audit ≤ 30 s',
      summary: { medianAuditMs: round(auditMs), medianStepMs: stepMedians, findings: runs[0]?.findings ?? 0 },
      runs,
    });
  } finally {
    await w.stop();
    if (flow) await deleteFlow(flow);
    if (!keep) {
      for (let i = 0; i < names.length; i += 100) {
        await adminA.deleteTopics({ topics: names.slice(i, i + 100) }).catch(() => undefined);
        await adminB.deleteTopics({ topics: names.slice(i, i + 100).map((n) => `A.${n}`) }).catch(() => undefined);
      }
    }
    await Promise.all([adminA.disconnect(), adminB.disconnect()]);
  }
}

runMain(main);
