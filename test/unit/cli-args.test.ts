import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli, type CliRun } from '../helpers/cli';

/**
 * Every verb's bad arguments: one clear message naming the flag or field, exit 2, and
 * nothing started. The CLI points at a port where no Temporal listens, so a case that
 * got past validation would exit 5 (unreachable) instead of 2: exit 2 proves the
 * refusal came before any connection.
 */

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const EXAMPLES = path.join(REPO_ROOT, 'docs', 'examples');
const NOWHERE = ['--address', '127.0.0.1:1', '--namespace', 'default'];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-cli-args-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
function file(name: string, text: string): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
}

const cli = (...argv: string[]) => runCli([...NOWHERE, ...argv]);
/** The A → B flow on connect-b, as recreate-topic, audit and deploy spell it. */
const A_TO_B_ON_CONNECT_B = ['--source', 'A', '--target', 'B', '--connect', 'connect-b'];

function refused(run: CliRun, pattern: RegExp): void {
  assert.equal(run.code, 2, `exit 2, got ${run.code}: ${run.stderr}`);
  assert.match(run.stderr, /^kafka-dr: /m);
  assert.match(run.stderr, pattern);
  assert.doesNotMatch(run.stderr, /Temporal is unreachable/, 'refused before connecting to Temporal');
  assert.equal(run.stdout, '', 'nothing on stdout');
}

const failoverFlags = [
  '--source',
  'A',
  '--target',
  'B',
  '--mode',
  'planned',
  '--connect',
  'connect-b',
  '--connectors',
  'mm2-src,mm2-cp',
  '--source-connectors',
  'mm2-src',
  '--topics',
  'orders',
  '--groups',
  'billing',
];

describe('kafka-dr: bad arguments exit 2 with a message naming the flag, nothing started', () => {
  it('no verb, an unknown verb, an unknown option', async () => {
    const none = await runCli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Usage: kafka-dr/);
    refused(await cli('frobnicate'), /unknown command 'frobnicate'/);
    refused(await cli('failover', '--sauce', 'A'), /unknown option '--sauce'/);
  });

  it('--help on every verb exits 0 and lists its options', async () => {
    for (const verb of [
      ['failover'],
      ['failback'],
      ['recreate-topic'],
      ['audit'],
      ['deploy'],
      ['status'],
      ['approve'],
      ['reject'],
      ['abort'],
      ['list'],
      ['report'],
      ['stack'],
      ['stack', 'up'],
      ['stack', 'status'],
      ['stack', 'down'],
      ['worker'],
      ['drill'],
    ]) {
      const run = await runCli([...verb, '--help']);
      assert.equal(run.code, 0, `${verb.join(' ')} --help`);
      assert.match(run.stdout, new RegExp(`Usage: kafka-dr ${verb.join(' ')}`), verb.join(' '));
    }
    const failover = await runCli(['failover', '--help']);
    for (const flag of ['--input', '--dry-run', '--wait', '--json', '--id', '--yes', '--connectors', '--approvers'])
      assert.match(failover.stdout, new RegExp(flag));
  });

  it('failover: each missing field is named with its flag', async () => {
    const run = await cli('failover');
    refused(run, /invalid failover input, nothing started/);
    assert.match(run.stderr, /^ {2}source \(--source\): /m);
    assert.match(run.stderr, /^ {2}mode \(--mode\): /m);
    assert.match(run.stderr, /^ {2}forward \(--connect, --connectors, --source-connectors\): /m);
  });

  it('failover: a rule across fields names the field and why', async () => {
    const run = await cli('failover', ...failoverFlags, '--target', 'A');
    refused(run, /target \(--target\): must differ from source \('A'\)/);
    const planned = await cli('failover', ...failoverFlags, '--source-unreachable');
    refused(planned, /sourceUnreachable \(--source-unreachable\): a planned failover needs the source up/);
  });

  it('failover: a bad choice, a bad number, an empty list', async () => {
    refused(
      await cli('failover', '--mode', 'sideways'),
      /option '--mode <mode>' argument 'sideways' is invalid. Allowed choices are planned, unplanned/,
    );
    refused(
      await cli('failover', '--lag-threshold', '1.5'),
      /--lag-threshold <records>' argument '1.5' is invalid. must be a whole number/,
    );
    refused(await cli('failover', '--topics', ' , '), /--topics <names>' argument ' , ' is invalid. must list at least one name/);
    refused(await cli('failover', ...failoverFlags, '--lag-threshold', '0'), /lagThreshold \(--lag-threshold\): must be > 0/);
  });

  it('failover: gate flags land in every gate and are checked there', async () => {
    const run = await cli('failover', ...failoverFlags, '--gate-deadline', 'soon', '--yes');
    refused(run, /gates\.stop-producers\.deadline \(--gate-deadline\): must be a positive duration/);
    assert.match(run.stderr, /gates\.producers-cutover\.deadline \(--gate-deadline\)/);
  });

  it('--input: missing file, bad JSON, not an object, a field the schema does not know', async () => {
    refused(await cli('failover', '--input', path.join(tmp, 'nope.json')), /--input .*nope\.json: cannot read it \(no such file\)/);
    refused(await cli('failover', '--input', file('bad.json', '{"source": ')), /--input .*bad\.json: not valid JSON/);
    refused(await cli('failover', '--input', file('list.json', '[1]')), /--input .*list\.json: must hold one JSON object/);
    const extra = JSON.parse(fs.readFileSync(path.join(EXAMPLES, 'failover.planned.json'), 'utf8')) as Record<string, unknown>;
    refused(
      await cli('failover', '--yes', '--input', file('extra.json', JSON.stringify({ ...extra, colour: 'blue' }))),
      /\(input\): Unrecognized key: "colour"/,
    );
  });

  it('--id on a real cutover is refused (the ID is the pair lock)', async () => {
    const run = await cli('failover', '--input', path.join(EXAMPLES, 'failover.planned.json'), '--yes', '--id', 'mine');
    refused(run, /--id: a real failover runs as kafka-dr-cutover-A~B/);
  });

  it('a destructive start without --yes when stdin is not a terminal is refused; --dry-run needs no --yes', async () => {
    const run = await cli('failover', '--input', path.join(EXAMPLES, 'failover.planned.json'));
    refused(run, /stdin is not a terminal, so kafka-dr cannot ask: pass --yes/);
    const dry = await cli('failover', '--input', path.join(EXAMPLES, 'failover.planned.json'), '--dry-run');
    assert.equal(dry.code, 5, `a dry run goes straight to Temporal (unreachable here): ${dry.stderr}`);
    assert.match(dry.stderr, /Temporal is unreachable at 127\.0\.0\.1:1 \(namespace default\)/);
  });

  it('on a terminal it asks; anything but y/yes starts nothing (exit 1), yes goes on', async () => {
    const input = path.join(EXAMPLES, 'failover.planned.json');
    const no = await runCli([...NOWHERE, 'failover', '--input', input], { stdinIsTTY: true, answers: ['n'] });
    assert.equal(no.code, 1);
    assert.equal(no.prompts.length, 1);
    assert.match(no.stderr, /About to start failover kafka-dr-cutover-A~B on 127\.0\.0\.1:1/);
    assert.match(no.stderr, /stop mm2-A-to-B-source, mm2-A-to-B-checkpoint, mm2-A-to-B-heartbeat on connect-b/);
    assert.match(no.stderr, /not started \(not confirmed\)/);
    const yes = await runCli([...NOWHERE, 'failover', '--input', input], { stdinIsTTY: true, answers: ['yes'] });
    assert.equal(yes.code, 5, 'confirmed: it tried to reach Temporal');
  });

  it('failback, recreate-topic, audit, deploy: field errors name their flags', async () => {
    const fb = await cli('failback', '--primary', 'A', '--dr', 'A', '--topics', 'orders');
    refused(fb, /reverse \(--reverse-connect, --reverse-name, --replication-factor\): /);
    refused(
      await cli('failback', '--input', path.join(EXAMPLES, 'failback.json'), '--dr', 'A', '--yes'),
      /dr \(--dr\): must differ from primary \('A'\)/,
    );
    refused(await cli('failback', '--seed-snapshot', path.join(tmp, 'none.json')), /--seed-snapshot .*none\.json: cannot read it/);
    const both = await cli(
      'failback',
      '--input',
      path.join(EXAMPLES, 'failback.json'),
      '--seed-from-failover',
      'kafka-dr-cutover-A~B',
      '--yes',
    );
    refused(both, /seed\.failoverWorkflowId \(--seed-from-failover\): give either snapshot or failoverWorkflowId, not both/);

    refused(
      await cli('recreate-topic', ...A_TO_B_ON_CONNECT_B, '--source-connector', 'x', '--topic', 'bad topic'),
      /topic \(--topic\): must be a Kafka topic name/,
    );
    refused(await cli('recreate-topic', '--reset-groups-to', 'latest'), /Allowed choices are earliest, none/);

    refused(await cli('audit', ...A_TO_B_ON_CONNECT_B, '--topics', 'orders'), /flows\.0\.connectors \(--connectors\): /);
    refused(
      await cli('audit', ...A_TO_B_ON_CONNECT_B, '--connectors', 'c', '--topics', 'orders', '--repair', '--dry-run'),
      /repair \(--repair\): a dry run repairs nothing/,
    );

    refused(
      await cli('deploy', ...A_TO_B_ON_CONNECT_B, '--policy', 'default', '--topics', '__consumer_offsets'),
      /plan\.topicGroups\.0\.topics\.0 \(--topics\): '__consumer_offsets' is an internal topic/,
    );
    refused(await cli('deploy', '--plan', file('plan.json', '{}')), /plan\.source \(--source\): /);
  });

  it('approve, reject, abort: missing --as/--reason, a bad gate name, an empty name', async () => {
    refused(await cli('approve', 'wf', '--as', 'bob'), /missing required argument 'gate'/);
    refused(await cli('approve', 'wf', 'stop-producers'), /required option '--as <name>' not specified/);
    refused(
      await cli('approve', 'wf', 'Stop Producers', '--as', 'bob'),
      /value 'Stop Producers' is invalid for argument 'gate'. must be 1-63 lower-case letters/,
    );
    refused(await cli('approve', 'wf', 'stop-producers', '--as', ' '), /--as must not be empty/);
    refused(await cli('approve', 'wf', 'stop-producers', '--as', 'x'.repeat(129)), /--as: must be at most 128 characters/);
    refused(
      await cli('approve', 'wf', 'replication-gap', '--as', 'bob', '--choice', 'Accept Loss'),
      /--choice: a choice is a lowercase word like re-drain/,
    );
    refused(await cli('reject', 'wf', 'stop-producers', '--as', 'bob'), /required option '--reason <text>' not specified/);
    refused(await cli('abort', 'wf', '--as', 'bob'), /required option '--reason <text>' not specified/);
    refused(await cli('abort', '--as', 'bob', '--reason', 'x'), /missing required argument 'workflow-id'/);
    refused(
      await cli('approve', 'wf', 'unplaced-groups', '--as', 'bob', '--choice', 'g='),
      /--choice <\[key=\]choice>' argument 'g=' is invalid. must be <choice> or <key>=<choice>/,
    );
    refused(
      await cli('approve', 'wf', 'unplaced-groups', '--as', 'bob', '--choice', 'g=end', '--choice', 'g=earliest'),
      /argument 'g=earliest' is invalid. chooses twice for g/,
    );
  });

  it('status, list, report, stack, drill: bad arguments', async () => {
    refused(await cli('status'), /missing required argument 'workflow-id'/);
    refused(await cli('status', 'wf', '--interval', '0'), /--interval <seconds>' argument '0' is invalid/);
    refused(await cli('list', '--limit', 'many'), /--limit <n>' argument 'many' is invalid/);
    refused(await cli('list', '--pair', 'A-B'), /--pair A-B: must be two cluster aliases joined by ~/);
    refused(await cli('report', 'wf', '--json', '--markdown'), /option '--json' cannot be used with option '--markdown'/);
    refused(await cli('report'), /missing required argument 'workflow-id'/);
    refused(await cli('stack', 'sideways'), /unknown command 'sideways'/);
    refused(await cli('worker', '--task-queue', 'elsewhere'), /worker: --task-queue elsewhere: the worker polls 'kafka-dr'/);
    refused(await cli('drill', '--mode', 'chaos'), /Allowed choices are planned, unplanned/);
    refused(await cli('drill', '--reports-dir', ''), /drill: --reports-dir: /);
    refused(await cli('drill', '--dr-period-seconds', 'soon'), /drill: --dr-period-seconds: /);
    refused(await cli('drill', '--codec', 'lz5'), /Allowed choices are none, gzip, snappy, lz4, zstd/);
  });

  it('a bad KDR_* setting is named (exit 2) when the CLI needs the stack defaults', async () => {
    const run = await runCli(['list'], { env: { ...process.env, KDR_TEMPORAL_PORT: 'seven', TEMPORAL_ADDRESS: '' } });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /kafka-dr: KDR_TEMPORAL_PORT=seven: KDR_TEMPORAL_PORT must be a TCP port number/);
  });
});
