/**
 * `npm run test:unit`: the fast loop. The pure tests, the workflow tests with stub
 * activities and the replay tests, on a Temporal dev server this script starts on free
 * loopback ports (in-memory, gone when the run ends) — no JVM, no stack. With
 * KDR_TEMPORAL_ADDRESS set, the tests use that server instead (the stack's, in `npm test`).
 * Arguments replace the default test folders: `npm run test:unit -- dist/test/unit/lag.test.js`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadStackConfig, type StackConfig } from '../src/stack/config';
import { componentSpec } from '../src/stack/components';
import { temporalHealth } from '../src/stack/health';
import { installTemporal } from '../src/stack/install';
import { freePorts } from './helpers/ports';
import { REPO_ROOT, sleep } from './helpers/stack';

const FAST_TESTS = ['dist/test/unit', 'dist/test/workflow', 'dist/test/replay'];
const say = (line: string) => process.stderr.write(`test:unit: ${line}\n`);

/** A dev server of its own: the stack's settings, but a throwaway dir and free ports. */
async function startTemporal(): Promise<{ address: string; stop: () => void }> {
  const shared = loadStackConfig(process.env, REPO_ROOT);
  installTemporal(shared, say);
  const [port, uiPort, httpPort, metricsPort] = await freePorts(4);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-unit-temporal-'));
  const config: StackConfig = loadStackConfig(
    {
      ...process.env,
      KDR_STACK_DIR: dir,
      KDR_CACHE_DIR: shared.cacheDir,
      KDR_TEMPORAL_PORT: String(port),
      KDR_TEMPORAL_UI_PORT: String(uiPort),
      KDR_TEMPORAL_HTTP_PORT: String(httpPort),
      KDR_TEMPORAL_METRICS_PORT: String(metricsPort),
    },
    REPO_ROOT,
  );
  fs.mkdirSync(path.join(dir, 'data', 'temporal'), { recursive: true });
  const spec = componentSpec(config, 'temporal');
  const logPath = path.join(dir, 'temporal.log');
  const out = fs.openSync(logPath, 'a');
  const server: ChildProcess = spawn(spec.command, spec.args, { stdio: ['ignore', out, out] });
  const stop = () => {
    server.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const health = await temporalHealth(config);
    if (health.healthy) return { address: config.temporal.address, stop };
    if (server.exitCode !== null || Date.now() > deadline) {
      const log = fs.readFileSync(logPath, 'utf8').split('\n').slice(-5).join('\n');
      stop();
      throw new Error(`the Temporal dev server did not become healthy (${health.detail}); its log ends:\n${log}`);
    }
    await sleep(250);
  }
}

async function main(): Promise<number> {
  const t0 = Date.now();
  let address = process.env.KDR_TEMPORAL_ADDRESS;
  let stop = () => {};
  if (address) {
    say(`using the Temporal server at ${address} (KDR_TEMPORAL_ADDRESS)`);
  } else {
    ({ address, stop } = await startTemporal());
    say(`Temporal dev server of this run at ${address}, ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const files = process.argv.length > 2 ? process.argv.slice(2) : FAST_TESTS;
  try {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...files], {
      stdio: 'inherit',
      cwd: REPO_ROOT,
      env: { ...process.env, KDR_TEMPORAL_ADDRESS: address },
    });
    const code = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
    say(`finished in ${((Date.now() - t0) / 1000).toFixed(1)} s (exit ${code})`);
    return code;
  } finally {
    stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
