import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FrameworkToyInput } from '../fixtures/workflows/framework-playbook';
import { runCli, spawnCli, type CliRun } from '../helpers/cli';
import { startStubWorker, type StubWorker } from '../helpers/playbook';
import { eventually, uniqueId } from '../helpers/stack';
import {
  appliedTranslationOf,
  type FailoverPathStubs,
  groupPlanOf,
  healthyCluster,
  lagReport as lagReportOf,
  localTopicsAnswer,
  OPEN_FLOW_SCOPE,
  translationOf,
} from '../replay/stubs';

/**
 * `kafka-dr` against this stack's Temporal server, with the playbooks on a real worker
 * with stub activities (the clusters' side is proven by the e2e tests): start (dry run
 * and real), status and `status --watch` on a pipe, approve refused with the reason
 * and accepted, a second cutover of the pair refused naming the running one, list,
 * abort, report. Cluster aliases are unique per run, so re-runs never meet old
 * workflows.
 */

const run = uniqueId();
const A = `A-${run}`;
const B = `B-${run}`;
const PAIR_ID = `kafka-dr-cutover-${A}~${B}`;
const CONNECTORS = ['mm2-fwd-source', 'mm2-fwd-checkpoint', 'mm2-fwd-heartbeat'];

const lagReport = (total: string) => lagReportOf(total, { source: A, end: total, committed: '0', measuredAt: '2026-01-01T00:00:00.000Z' });

const T = '2026-01-01T00:00:00.000Z';
const groupPlan = groupPlanOf(`${A}.orders`, ['10']);

const stubs: FailoverPathStubs & Record<string, (...args: never[]) => Promise<unknown>> = {
  async clusterHealth(input) {
    return healthyCluster(input.cluster, { topicCount: 1, partitionCount: 1 });
  },
  // exact: the failover's conservation checks, with the forward flow stopped and nothing lost.
  async replicationLag(input) {
    return lagReport(input.exact ? '0' : '42');
  },
  async describeFlow() {
    return OPEN_FLOW_SCOPE;
  },
  async waitForQuietProducers(input) {
    return { cluster: input.cluster, quietSince: '2026-01-01T00:00:00.000Z', endOffsets: {}, polls: 1 };
  },
  async waitForDrain() {
    const { drained: _d, ...r } = lagReport('0');
    return { polls: 1, consecutiveZero: 3, total: '0', maxLag: '0', anomalies: 0, nonZero: [], report: { ...r, drained: true } };
  },
  async stopConnectors(input) {
    return { stopped: [...input.connectors] };
  },
  async resumeConnector() {},
  async snapshotEndOffsets(input) {
    return { cluster: input.cluster, takenAt: '2026-01-01T00:00:00.000Z', offsets: {}, missingTopics: [] };
  },
  async planOffsetTranslation() {
    return translationOf(groupPlan, { source: A, target: B, generatedAt: T });
  },
  async applyOffsetTranslation() {
    return appliedTranslationOf(groupPlan, '2026-01-01T00:00:01.000Z', { source: A, target: B, generatedAt: T });
  },
  async checkGroupsInFlow() {
    return { checkpointConnectors: ['mm2-fwd-checkpoint'], outside: [] };
  },
  async prepareLocalTopics(input) {
    return localTopicsAnswer(input);
  },
  async findUnplacedPositions(input) {
    return { unplaced: [], placed: { billing: { exact: 0, translated: 1 } }, sourceRead: input.readSource };
  },
  // The toy playbook's (test/fixtures/workflows/framework-playbook.ts): figures with lag per partition.
  async toyEffect(what: string) {
    return { what, lag: { 'orders-0': 5, 'orders-1': 0 } };
  },
  async toyUndo() {},
  async toyNotify() {},
};

const failoverFlags = (extra: string[] = []) => [
  'failover',
  '--source',
  A,
  '--target',
  B,
  '--mode',
  'planned',
  '--connect',
  'connect-b',
  '--connectors',
  CONNECTORS.join(','),
  '--source-connectors',
  CONNECTORS[0]!,
  '--topics',
  'orders',
  '--groups',
  'billing',
  '--requested-by',
  'alice',
  '--quiet-seconds',
  '1',
  '--gate-deadline',
  '10m',
  ...extra,
];

describe('kafka-dr CLI against Temporal with a real worker', { timeout: 600_000 }, () => {
  let harness: StubWorker;
  let tq: string[];
  const cli = (...argv: string[]): Promise<CliRun> => runCli([...tq, ...argv]);

  before(async () => {
    harness = await startStubWorker({ name: 'cli', activities: stubs });
    tq = ['--task-queue', harness.taskQueue];
  });

  after(async () => {
    await harness?.close();
  });

  it('a bad input starts nothing on the server (exit 2)', async () => {
    const bad = await cli(...failoverFlags(['--topics', 'bad topic', '--yes']));
    assert.equal(bad.code, 2, bad.stderr);
    // --topics adds to the list: 'orders' is topics.0, the bad name topics.1.
    assert.match(bad.stderr, /topics\.1 \(--topics\): must be a Kafka topic name/);
    await assert.rejects(harness.client.workflow.getHandle(PAIR_ID).describe(), WorkflowNotFoundError);
  });

  it('failover --dry-run --wait --json: the plan, on its own ID, without touching the pair lock', async () => {
    const dry = await cli(...failoverFlags(['--dry-run', '--wait', '--json']));
    assert.equal(dry.code, 0, dry.stderr);
    const report = JSON.parse(dry.stdout) as {
      workflowId: string;
      outcome: string;
      figures: { dryRun: boolean; plan: { connectorsToStop: { connectors: string[] } } };
    };
    assert.equal(report.workflowId, `${PAIR_ID}-dry-run`);
    assert.equal(report.outcome, 'completed');
    assert.equal(report.figures.dryRun, true);
    assert.deepEqual(report.figures.plan.connectorsToStop.connectors, CONNECTORS);
    const md = await cli('report', `${PAIR_ID}-dry-run`, '--markdown');
    assert.equal(md.code, 0, md.stderr);
    assert.match(md.stdout, /^# failover kafka-dr-cutover-.*-dry-run: completed/);
    assert.match(md.stdout, /- \*\*Dry run:\*\* nothing was changed/);
    assert.match(md.stdout, /\| stop-forward \| skipped \| .* \| dry run \|/);
  });

  it('a real failover: start, status with the open gate, refused and accepted approvals, one cutover per pair, list, watch, abort, report', async () => {
    const start = await cli(...failoverFlags(['--yes', '--approvers', 'bob,carol']));
    assert.equal(start.code, 0, start.stderr);
    assert.match(start.stdout, new RegExp(`^started: failover ${PAIR_ID} \\(run [0-9a-f-]+\\)$`, 'm'));
    assert.match(start.stdout, new RegExp(`follow it: kafka-dr status ${PAIR_ID} --watch`));

    // The same request again: the running one, not a second start.
    const again = await cli(...failoverFlags(['--yes', '--approvers', 'bob,carol', '--json']));
    assert.equal(again.code, 0, again.stderr);
    const firstRun = /\(run ([0-9a-f-]+)\)/.exec(start.stdout)![1];
    assert.deepEqual(
      (({ started, workflowId, runId }) => ({ started, workflowId, runId }))(JSON.parse(again.stdout) as Record<string, unknown>),
      {
        started: false,
        workflowId: PAIR_ID,
        runId: firstRun,
      },
    );

    await eventually(
      'gate stop-producers open',
      async () => {
        const s = await cli('status', PAIR_ID, '--json');
        return s.code === 0 && /"name": "stop-producers",\s+"description"/.test(s.stdout) ? s : undefined;
      },
      60_000,
      300,
    );
    const status = await cli('status', PAIR_ID);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^failover ${PAIR_ID} {2}RUNNING {2}phase \\S+$`, 'm'));
    assert.match(status.stdout, /\[x\] check-target +completed/);
    assert.match(status.stdout, /^Open gate: stop-producers/m);
    assert.match(
      status.stdout,
      /Approving it: confirm producers to orders on A-.* are stopped; kafka-dr then checks .* drains MM2 lag to 0 and stops mm2-fwd-source/,
    );
    assert.match(status.stdout, /approvers: bob, carol/);

    // A failback of the same pair (B→A) while the failover runs: refused, naming it.
    const failback = await cli(
      'failback',
      '--primary',
      A,
      '--dr',
      B,
      '--forward-connect',
      'connect-b',
      '--forward-connectors',
      CONNECTORS.join(','),
      '--forward-source-connectors',
      CONNECTORS[0]!,
      '--reverse-connect',
      'connect-a',
      '--topics',
      'orders',
      '--groups',
      'billing',
      '--yes',
    );
    assert.equal(failback.code, 6, failback.stderr);
    assert.match(
      failback.stderr,
      new RegExp(
        `^kafka-dr: failback not started: failover is already running as ${PAIR_ID} \\(run [0-9a-f-]+, started .*\\): one playbook at a time per ID \\(one cutover at a time per cluster pair\\)`,
        'm',
      ),
    );
    assert.match(failback.stderr, new RegExp(`kafka-dr status ${PAIR_ID} --watch`));
    // The same failover with another input is a conflict too, not "the same request".
    const other = await cli(...failoverFlags(['--yes', '--lag-threshold', '5']));
    assert.equal(other.code, 6, other.stderr);
    assert.match(other.stderr, /another failover with a different input is already running/);

    // Refused decisions come back with the workflow's reason, exit 4; accepted ones exit 0.
    const early = await cli('approve', PAIR_ID, 'consumers-cutover', '--as', 'bob');
    assert.equal(early.code, 4);
    assert.match(
      early.stderr,
      /^kafka-dr: approve refused: gate 'consumers-cutover' is not open yet \(the open gate is 'stop-producers'\)/m,
    );
    const stranger = await cli('approve', PAIR_ID, 'stop-producers', '--as', 'mallory');
    assert.equal(stranger.code, 4);
    assert.match(stranger.stderr, /approve refused: mallory may not decide gate 'stop-producers' \(approvers: bob, carol\)/);
    const unknown = await cli('reject', PAIR_ID, 'launch-missiles', '--as', 'bob', '--reason', 'no');
    assert.equal(unknown.code, 4);
    assert.match(
      unknown.stderr,
      /unknown gate 'launch-missiles' \(this playbook's gates: stop-producers, consumers-cutover, producers-cutover\)/,
    );
    const ok = await cli('approve', PAIR_ID, 'stop-producers', '--as', 'bob', '--comment', 'producers stopped');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^approved gate stop-producers of ${PAIR_ID} as bob at `));

    const listed = await cli('list', '--json', '--pair', `${B}~${A}`);
    assert.equal(listed.code, 0, listed.stderr);
    const rows = JSON.parse(listed.stdout) as Array<{ workflowId: string; playbook: string; clusterPair: string; status: string }>;
    assert.deepEqual(
      rows.map((r) => [r.workflowId, r.playbook, r.clusterPair, r.status]),
      [[PAIR_ID, 'failover', `${A}~${B}`, 'RUNNING']],
    );
    const table = await cli('list');
    assert.match(table.stdout, /^WORKFLOW ID +PLAYBOOK +PAIR +PHASE +STATUS +STARTED$/m);
    assert.match(table.stdout, new RegExp(`^${PAIR_ID} +failover +${A}~${B} +\\S+ +RUNNING`, 'm'));

    // status --watch on a pipe (a real child process): plain lines, appended on change, until it closes.
    const watcher = spawnCli([...tq, 'status', PAIR_ID, '--watch', '--interval', '0.3']);
    await eventually(
      'watch shows the consumers gate',
      async () =>
        /gate consumers-cutover waits: approving it will stop consumer groups billing on /.test(watcher.output().stdout) ? true : undefined,
      60_000,
      200,
    );

    const abort = await cli('abort', PAIR_ID, '--as', 'carol', '--reason', 'drill over');
    assert.equal(abort.code, 0, abort.stderr);
    assert.match(abort.stdout, new RegExp(`^abort accepted: ${PAIR_ID} aborted by carol: drill over; it compensates now`));

    const watched = await watcher.done;
    assert.equal(watched.code, 4, `watch exits 4 when the playbook ends aborted: ${watched.stderr}`);
    assert.doesNotMatch(watched.stdout, /\x1b\[/, 'no terminal escapes on a pipe');
    const lines = watched.stdout.trim().split('\n');
    for (const line of lines) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \S/, `timestamped line: ${line}`);
    const facts = lines.map((l) => l.replace(/^\S+ /, ''));
    assert.equal(new Set(facts).size, facts.length, 'each fact printed once');
    assert.ok(
      facts.some((f) => /^gate stop-producers: approved by bob at \S+ \S+: producers stopped$/.test(f)),
      'the approval',
    );
    assert.ok(
      facts.some((f) => /^step undo: resume forward connector mm2-fwd-source: completed \(/.test(f)),
      'the undo',
    );
    assert.match(facts[facts.length - 1]!, /^outcome aborted: .*aborted by carol: drill over$/);
    assert.ok(
      facts.indexOf('phase compensating') < facts.indexOf(`workflow ${PAIR_ID} failover COMPLETED`),
      'compensating seen before the close',
    );

    const again2 = await cli('abort', PAIR_ID, '--as', 'carol', '--reason', 'twice');
    assert.equal(again2.code, 4);
    assert.match(again2.stderr, /is not running \(COMPLETED\): nothing to abort/);

    const md = await cli('report', PAIR_ID);
    assert.equal(md.code, 0, md.stderr);
    assert.match(md.stdout, new RegExp(`^# failover ${PAIR_ID}: aborted`));
    assert.match(md.stdout, /\| stop-producers \| approved \| bob \| .* \| update \| producers stopped \|/);
    assert.match(md.stdout, /\| stop-forward \| compensated \|/);
    // Aborted at the consumers gate, which comes before the translation: nothing was set.
    assert.doesNotMatch(md.stdout, /## Offsets set/);
    assert.match(
      md.stdout,
      /- \*\*Undone:\*\* resume forward connector mm2-fwd-heartbeat, resume forward connector mm2-fwd-checkpoint, resume forward connector mm2-fwd-source/,
    );
    const json = await cli('report', PAIR_ID, '--json');
    assert.equal((JSON.parse(json.stdout) as { outcome: string }).outcome, 'aborted');

    const closed = await cli('status', PAIR_ID);
    assert.equal(closed.code, 0, closed.stderr);
    assert.match(closed.stdout, /COMPLETED {2}phase aborted/);
    assert.match(closed.stdout, /Outcome: aborted: .*aborted by carol: drill over/);

    // The pair is free again: the next cutover may start.
    const next = await cli(...failoverFlags(['--yes', '--json']));
    assert.equal(next.code, 0, next.stderr);
    assert.equal((JSON.parse(next.stdout) as { started: boolean }).started, true);
    const stop = await cli('abort', PAIR_ID, '--as', 'carol', '--reason', 'cleanup');
    assert.equal(stop.code, 0, stop.stderr);
  });

  it('status shows lag per partition from the step journal; reject ends the playbook (status --watch exit 4), report says why', async () => {
    const workflowId = `kafka-dr-cli-toy-${uniqueId()}`;
    const input: FrameworkToyInput = {
      source: A,
      target: B,
      requestedBy: 'alice',
      gates: { 'stop-producers': { deadline: '10m' }, 'producers-cutover': { deadline: '10m' } },
    };
    await harness.client.workflow.start('frameworkToyPlaybook', { taskQueue: harness.taskQueue, workflowId, args: [input] });
    const s = await eventually(
      'toy at its first gate',
      async () => {
        const r = await cli('status', workflowId);
        return /Open gate: stop-producers/.test(r.stdout) ? r : undefined;
      },
      60_000,
      300,
    );
    assert.match(s.stdout, /^Lag per partition$/m);
    assert.match(s.stdout, /orders +0 +5 +stop forward connectors\n {2}orders +1 +0 +stop forward connectors/);

    const reject = await cli('reject', workflowId, 'stop-producers', '--as', 'bob', '--reason', 'not today', '--json');
    assert.equal(reject.code, 0, reject.stderr);
    assert.deepEqual(
      (({ gate, decision, by, reason }) => ({ gate, decision, by, reason }))(JSON.parse(reject.stdout) as Record<string, unknown>),
      {
        gate: 'stop-producers',
        decision: 'rejected',
        by: 'bob',
        reason: 'not today',
      },
    );
    const watched = await cli('status', workflowId, '--watch', '--interval', '0.3');
    assert.equal(watched.code, 4, 'a rejected playbook: exit 4');
    assert.match(watched.stdout, /outcome rejected: gate 'stop-producers' rejected by bob: not today/);
    // On a terminal the view is redrawn in place (cleared and written whole) instead.
    const tty = await runCli([...tq, 'status', workflowId, '--watch'], { stdoutIsTTY: true });
    assert.equal(tty.code, 4);
    assert.ok(tty.stdout.startsWith('\x1b[H\x1b[2J'), 'redrawn from the top of the screen');
    assert.match(tty.stdout, /^Outcome: rejected: gate 'stop-producers' rejected by bob: not today$/m);
    assert.match(tty.stdout, /\nclosed\n$/);
    const md = await cli('report', workflowId);
    assert.match(md.stdout, /\| stop-producers \| rejected \| bob \| .* \| update \| not today \|/);
    assert.match(md.stdout, /\| orders \| 0 \| 5 \| stop forward connectors \|/);
  });

  it('unknown workflow: exit 2 naming it; report of a running playbook: exit 4', async () => {
    const missing = await cli('status', `no-such-${uniqueId()}`);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^kafka-dr: no workflow 'no-such-.*' in namespace default: `kafka-dr list --all` shows recent playbooks/m);
    const workflowId = `kafka-dr-cli-toy-${uniqueId()}`;
    await harness.client.workflow.start('frameworkToyPlaybook', {
      taskQueue: harness.taskQueue,
      workflowId,
      args: [
        {
          source: A,
          target: B,
          requestedBy: 'alice',
          gates: { 'stop-producers': { deadline: '10m' }, 'producers-cutover': { deadline: '10m' } },
        },
      ],
    });
    const running = await cli('report', workflowId);
    assert.equal(running.code, 4);
    assert.match(running.stderr, new RegExp(`${workflowId} is still running: its report exists once it closes`));
    await harness.client.workflow.getHandle(workflowId).terminate('test cleanup');
  });
});
