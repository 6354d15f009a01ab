import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMPONENTS, portsOf, type ComponentName, type StackConfig } from './config';
import { componentDir, componentSpec, formatArgs } from './components';
import { StackError } from './errors';
import { checkHealth, type Health } from './health';
import { checkTools, connectBasicAuthExtension, install } from './install';
import { ensureSecureMaterial, secureFormatArgs } from './secure';
import { logFile, portInUse, processesMentioning, rssMiB, runningProcess, startDetached, stopProcess, tail } from './processes';

/**
 * The local DR stack: Kafka A and B, connect-a and connect-b, the Temporal dev
 * server. `up` is idempotent (running components are reused), `down` stops only
 * what this stack dir started, `status` says what is up and healthy.
 */

export interface ComponentStatus {
  component: ComponentName;
  address: string;
  state: 'healthy' | 'unhealthy' | 'stopped';
  pid?: number;
  rssMiB?: number;
  detail: string;
  log: string;
}

export interface UpReport {
  components: Array<ComponentStatus & { action: 'reused' | 'started' | 'failed' | 'not-started'; secondsToHealthy?: number }>;
  installSeconds: number;
  totalSeconds: number;
}

type Log = (line: string) => void;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kafka cluster ids are 16 random bytes in URL-safe base64; Kafka avoids a leading '-'. */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function dependsOn(name: ComponentName): ComponentName | undefined {
  if (name === 'connect-a') return 'kafka-a';
  if (name === 'connect-b') return 'kafka-b';
  return undefined;
}

async function assertPortsFree(config: StackConfig, toStart: ComponentName[]): Promise<void> {
  for (const { component, setting, port } of portsOf(config)) {
    if (!toStart.includes(component)) continue;
    if (await portInUse(port)) {
      throw new StackError(
        'port-taken',
        `port ${port} (${setting}, for ${component}) is already in use by another process: stop it or set ${setting} to a free port`,
      );
    }
  }
}

/** kafka-b's SASL password: generated once per stack dir, readable by this user only. */
export function ensureSaslPassword(config: StackConfig): void {
  const sasl = config.kafka.B.sasl;
  if (!sasl || fs.existsSync(sasl.passwordFile)) return;
  fs.mkdirSync(path.dirname(sasl.passwordFile), { recursive: true, mode: 0o700 });
  // base64url: no quote or backslash, so it sits in a JAAS line unescaped.
  fs.writeFileSync(sasl.passwordFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
}

function writeFiles(config: StackConfig, name: ComponentName): string {
  const dir = componentDir(config, name);
  fs.mkdirSync(dir, { recursive: true });
  if (name === 'kafka-b') ensureSaslPassword(config);
  for (const [file, content] of Object.entries(componentSpec(config, name).files)) {
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

async function formatIfNeeded(config: StackConfig, name: 'kafka-a' | 'kafka-b', log: Log): Promise<void> {
  const dir = componentDir(config, name);
  if (fs.existsSync(path.join(dir, 'log', 'meta.properties'))) return;
  const idFile = path.join(dir, 'cluster.id');
  if (!fs.existsSync(idFile)) fs.writeFileSync(idFile, newClusterId());
  const clusterId = fs.readFileSync(idFile, 'utf8').trim();
  log(`formatting ${name} storage (cluster id ${clusterId})`);
  const out = fs.openSync(logFile(config, name), 'a');
  const code = await new Promise<number | null>((resolve) => {
    const secureArgs = config.secure ? secureFormatArgs(config, name === 'kafka-a' ? 'A' : 'B') : [];
    const child = spawn('java', [...formatArgs(config, name, clusterId), ...secureArgs], { stdio: ['ignore', out, out] });
    child.on('exit', resolve);
    child.on('error', () => resolve(-1));
  });
  fs.closeSync(out);
  if (code !== 0) {
    throw new StackError('start-failed', `formatting ${name} storage failed (exit ${code}); see ${logFile(config, name)}`);
  }
}

async function waitHealthy(config: StackConfig, name: ComponentName, deadline: number): Promise<Health> {
  let last: Health = { healthy: false, detail: 'not checked yet' };
  for (;;) {
    const record = runningProcess(config, name);
    if (!record) {
      const why = tail(logFile(config, name), 40)
        .reverse()
        .find((l) => /ERROR|Exception|error:|FATAL/i.test(l));
      return { healthy: false, detail: `process exited${why ? `: ${why.trim().slice(0, 300)}` : ''}` };
    }
    last = await checkHealth(config, name);
    if (last.healthy || Date.now() > deadline) return last;
    await sleep(1000);
  }
}

export async function up(config: StackConfig, log: Log): Promise<UpReport> {
  const started = Date.now();
  checkTools(config);
  const running = new Set(COMPONENTS.filter((c) => runningProcess(config, c)));
  const toStart = COMPONENTS.filter((c) => !running.has(c));
  await assertPortsFree(config, toStart);

  const installStart = Date.now();
  install(config, log);
  if (config.secure) {
    connectBasicAuthExtension(config, log);
    ensureSecureMaterial(config, log);
  }
  const installSeconds = (Date.now() - installStart) / 1000;

  const results = new Map<ComponentName, UpReport['components'][number]>();
  const deadline = () => Date.now() + config.startupTimeoutMs;

  const bringUp = async (name: ComponentName): Promise<void> => {
    try {
      await bringUpOnce(name);
    } catch (err) {
      // One broken component must not hide the state of the others: record it, go on.
      const detail = err instanceof Error ? err.message : String(err);
      results.set(name, { ...(await statusOf(config, name)), state: 'unhealthy', action: 'failed', detail });
      log(`${name}: FAILED — ${detail}`);
    }
  };

  const bringUpOnce = async (name: ComponentName): Promise<void> => {
    const t0 = Date.now();
    const spec = componentSpec(config, name);
    let action: 'reused' | 'started' = 'reused';
    if (!running.has(name)) {
      const dep = dependsOn(name);
      if (dep && results.get(dep)?.state !== 'healthy') {
        results.set(name, {
          ...(await statusOf(config, name)),
          action: 'not-started',
          detail: `not started: ${dep} is not healthy`,
        });
        return;
      }
      const dir = writeFiles(config, name);
      if (name === 'kafka-a' || name === 'kafka-b') await formatIfNeeded(config, name, log);
      startDetached(config, spec, dir);
      action = 'started';
      log(`started ${name} (${spec.address}), waiting until healthy`);
    }
    const health = await waitHealthy(config, name, deadline());
    const status = await statusOf(config, name, health);
    results.set(name, {
      ...status,
      action: health.healthy ? action : 'failed',
      secondsToHealthy: health.healthy ? (Date.now() - t0) / 1000 : undefined,
    });
    log(`${name}: ${health.healthy ? 'healthy' : 'NOT healthy'} — ${health.detail}`);
  };

  // Brokers and Temporal have no dependencies; each Connect worker needs its cluster.
  await Promise.all([
    bringUp('temporal'),
    bringUp('kafka-a').then(() => bringUp('connect-a')),
    bringUp('kafka-b').then(() => bringUp('connect-b')),
  ]);

  const report: UpReport = {
    components: COMPONENTS.map((c) => results.get(c)!),
    installSeconds,
    totalSeconds: (Date.now() - started) / 1000,
  };
  const bad = report.components.filter((c) => c.state !== 'healthy');
  if (bad.length > 0) {
    const list = bad.map((c) => `${c.component} (${c.detail})`).join('; ');
    throw Object.assign(
      new StackError('start-failed', `stack is half up: ${list}; logs in ${config.logDir}; run 'npm run stack:down' to clean up`),
      { report },
    );
  }
  return report;
}

export async function statusOf(config: StackConfig, name: ComponentName, known?: Health): Promise<ComponentStatus> {
  const spec = componentSpec(config, name);
  const record = runningProcess(config, name);
  const base = { component: name, address: spec.address, log: logFile(config, name) };
  if (!record) {
    // Something else may hold the port: say so instead of calling it "stopped and free".
    const foreign = await portInUse(portsOf(config).find((p) => p.component === name)!.port);
    return { ...base, state: 'stopped', detail: foreign ? 'not started by this stack, but its port is in use' : 'not running' };
  }
  const health = known ?? (await checkHealth(config, name));
  return {
    ...base,
    state: health.healthy ? 'healthy' : 'unhealthy',
    pid: record.pid,
    rssMiB: rssMiB(record.pid),
    detail: health.detail,
  };
}

export function status(config: StackConfig): Promise<ComponentStatus[]> {
  return Promise.all(COMPONENTS.map((c) => statusOf(config, c)));
}

export async function down(config: StackConfig, log: Log): Promise<Array<{ component: ComponentName; result: string }>> {
  const results: Array<{ component: ComponentName; result: string }> = [];
  const stop = async (name: ComponentName, graceMs: number) => {
    const result = await stopProcess(config, name, graceMs);
    if (result !== 'not-running') log(`${name}: ${result}`);
    results.push({ component: name, result });
  };
  // Connect first: a worker that loses its broker mid-shutdown waits out its timeouts.
  await Promise.all([stop('connect-a', 20_000), stop('connect-b', 20_000)]);
  await Promise.all([stop('kafka-a', 30_000), stop('kafka-b', 30_000), stop('temporal', 10_000)]);
  // A lost PID file must not hide a process: every stack process names the data dir
  // in its command line, so anything still carrying it was left behind.
  const leftovers = processesMentioning(`${config.dataDir}${path.sep}`);
  if (leftovers.length > 0) {
    throw new StackError(
      'start-failed',
      `processes of this stack are still running without a PID file: ${leftovers.map((p) => p.pid).join(', ')} (kill them by hand)`,
    );
  }
  return results;
}

/** True when every component is running and healthy (the test harness reuses such a stack). */
export async function isUp(config: StackConfig): Promise<boolean> {
  return (await status(config)).every((s) => s.state === 'healthy');
}
