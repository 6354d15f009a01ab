import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { processesMentioning } from '../../src/stack/processes';
import { spawnCli, type CliRun } from '../helpers/cli';
import { freePorts } from '../helpers/ports';
import { stack } from '../helpers/stack';

/**
 * `kafka-dr stack` as an operator meets it when something is wrong: each failure is
 * one line naming the setting, with an exit code scripts can branch on, and nothing
 * is started by a run that was refused. Runs a second stack in a temp dir on other
 * ports, sharing only the download cache with the main stack.
 */

async function otherStackEnv(dir: string): Promise<NodeJS.ProcessEnv> {
  const names = [
    'KDR_KAFKA_A_PORT',
    'KDR_KAFKA_A_CONTROLLER_PORT',
    'KDR_KAFKA_B_PORT',
    'KDR_KAFKA_B_CONTROLLER_PORT',
    // Picked too: unset it is B's port + 2, which nothing reserved (or, inherited from the
    // caller's environment, the caller's own stack's).
    'KDR_KAFKA_B_SASL_PORT',
    'KDR_CONNECT_A_PORT',
    'KDR_CONNECT_B_PORT',
    'KDR_TEMPORAL_PORT',
    'KDR_TEMPORAL_UI_PORT',
    'KDR_TEMPORAL_HTTP_PORT',
    'KDR_TEMPORAL_METRICS_PORT',
  ];
  const env: NodeJS.ProcessEnv = { ...process.env, KDR_STACK_DIR: dir, KDR_CACHE_DIR: stack.cacheDir };
  const ports = await freePorts(names.length);
  names.forEach((name, i) => (env[name] = String(ports[i])));
  return env;
}

const cli = (args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000) => spawnCli(args, env, timeoutMs).done;

/** The operator-facing error: the last `kafka-dr:` line on stderr. */
const errorLine = (run: CliRun) =>
  run.stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('kafka-dr: '))
    .pop() ?? '';

describe('kafka-dr stack refuses bad settings with one line and starts nothing', { timeout: 300_000 }, () => {
  const dirs: string[] = [];
  const tempStack = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-stack-'));
    dirs.push(dir);
    return dir;
  };
  const nothingStarted = (dir: string) => {
    assert.deepEqual(processesMentioning(path.join(dir, 'data') + path.sep), [], 'no process of the refused stack runs');
    const pids = path.join(dir, 'pids');
    assert.deepEqual(fs.existsSync(pids) ? fs.readdirSync(pids) : [], [], 'no PID file written');
  };

  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('names a malformed Kafka version (exit 2)', async () => {
    const dir = tempStack();
    const run = await cli(['stack', 'up'], { ...(await otherStackEnv(dir)), KDR_KAFKA_VERSION: 'latest' });
    assert.equal(run.code, 2);
    assert.match(errorLine(run), /^kafka-dr: KDR_KAFKA_VERSION=latest: .*4\.1\.1/);
    nothingStarted(dir);
  });

  it('refuses a Kafka version without the Connect offsets API (exit 2)', async () => {
    const dir = tempStack();
    const run = await cli(['stack', 'up'], { ...(await otherStackEnv(dir)), KDR_KAFKA_VERSION: '3.6.2' });
    assert.equal(run.code, 2);
    assert.match(errorLine(run), /KDR_KAFKA_VERSION=3\.6\.2: .*3\.7\.0 or newer/);
    nothingStarted(dir);
  });

  it('names a Kafka version Maven Central does not have (exit 2)', async () => {
    const dir = tempStack();
    const run = await cli(['stack', 'up'], { ...(await otherStackEnv(dir)), KDR_KAFKA_VERSION: '4.1.99' });
    assert.equal(run.code, 2, run.stderr);
    assert.match(errorLine(run), /KDR_KAFKA_VERSION=4\.1\.99: no such Kafka release on Maven Central/);
    nothingStarted(dir);
    assert.ok(!fs.existsSync(path.join(stack.cacheDir, 'kafka-4.1.99', 'libs', '.complete')), 'no half download cached as done');
  });

  it('names the port that is taken and the setting that moves it (exit 2)', async () => {
    const dir = tempStack();
    const env = await otherStackEnv(dir);
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(Number(env.KDR_CONNECT_B_PORT), '127.0.0.1', r));
    try {
      const run = await cli(['stack', 'up'], env);
      assert.equal(run.code, 2);
      assert.equal(
        errorLine(run),
        `kafka-dr: port ${env.KDR_CONNECT_B_PORT} (KDR_CONNECT_B_PORT, for connect-b) is already in use by another process: stop it or set KDR_CONNECT_B_PORT to a free port`,
      );
      nothingStarted(dir);
    } finally {
      squatter.close();
    }
  });

  it('refuses --secure with --topology ha in one line (exit 2), creating nothing', async () => {
    const dir = tempStack();
    const run = await cli(['stack', 'up', '--secure', '--topology', 'ha'], await otherStackEnv(dir));
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stderr.trim().split('\n').length, 1, `one line: ${run.stderr}`);
    assert.equal(errorLine(run), 'kafka-dr: --secure (KDR_SECURE) works with the single-node topology only, not --topology ha');
    nothingStarted(dir);
    assert.deepEqual(fs.readdirSync(dir), [], 'no topology file, data, secrets or certificates written');
  });

  it('refuses two components on one port (exit 2)', async () => {
    const dir = tempStack();
    const env = await otherStackEnv(dir);
    const run = await cli(['stack', 'status'], { ...env, KDR_CONNECT_A_PORT: env.KDR_KAFKA_A_PORT });
    assert.equal(run.code, 2);
    assert.match(errorLine(run), /KDR_CONNECT_A_PORT=\d+: the same port is already set for KDR_KAFKA_A_PORT/);
  });

  it('says which tool is missing and how to install it (exit 3)', async () => {
    const dir = tempStack();
    const run = await cli(['stack', 'up'], { ...(await otherStackEnv(dir)), PATH: '/nonexistent' });
    assert.equal(run.code, 3);
    assert.match(errorLine(run), /^kafka-dr: java not found on PATH: install a JDK 17\+/);
    nothingStarted(dir);
  });

  it('reports a half-started stack component by component, and stack down cleans it up', async () => {
    const dir = tempStack();
    // A heap smaller than the JVM's initial heap: every Kafka/Connect JVM refuses to
    // start, while the Temporal dev server (not a JVM) comes up.
    const env = { ...(await otherStackEnv(dir)), KDR_JVM_HEAP: '1m', KDR_STARTUP_TIMEOUT_S: '60' };
    const run = await cli(['stack', 'up'], env, 180_000);
    assert.equal(run.code, 1, run.stderr);
    const line = errorLine(run);
    assert.match(line, /^kafka-dr: stack is half up: /);
    assert.match(line, /kafka-a \(/);
    assert.match(line, /connect-b \(not started: kafka-b is not healthy\)/);
    assert.doesNotMatch(line, /temporal \(/, 'temporal came up and is not listed as failed');

    const status = await cli(['stack', 'status', '--json'], env);
    assert.equal(status.code, 1, 'status exits non-zero while the stack is not all healthy');
    const rows = JSON.parse(status.stdout) as Array<{ component: string; state: string }>;
    assert.deepEqual(Object.fromEntries(rows.map((r) => [r.component, r.state])), {
      'kafka-a': 'stopped',
      'kafka-b': 'stopped',
      'connect-a': 'stopped',
      'connect-b': 'stopped',
      temporal: 'healthy',
    });

    const down = await cli(['stack', 'down'], env);
    assert.equal(down.code, 0, down.stderr);
    nothingStarted(dir);
  });
});
