import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ALL_KAFKA_COMPONENTS,
  clusterOf,
  clusterProcesses,
  componentsOf,
  isKafkaComponent,
  persistedTopology,
  portsOf,
  quorumVoters,
  topologyFile,
  type ComponentName,
  type KafkaComponent,
  type StackConfig,
} from './config';
import { componentDir, componentSpec, formatArgs } from './components';
import { StackError } from './errors';
import { checkHealth, kafkaHealth, type Health } from './health';
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

/** The Kafka nodes a Connect worker needs healthy before it starts. */
function dependsOn(config: StackConfig, name: ComponentName): KafkaComponent[] {
  if (name === 'connect-a') return config.kafka.A.nodes.map((n) => n.component);
  if (name === 'connect-b') return config.kafka.B.nodes.map((n) => n.component);
  return [];
}

/**
 * A stack dir holds one topology: its Kafka data was formatted for that voter set, so
 * bringing it up as the other would start nodes that can never form a quorum.
 */
export function assertTopology(config: StackConfig): void {
  const recorded = persistedTopology(config.stackDir);
  const formatted = (name: ComponentName) => fs.existsSync(path.join(config.dataDir, name, 'log', 'meta.properties'));
  const hasData = formatted('kafka-a');
  const fix = `run 'kafka-dr stack down' and remove ${config.dataDir}, or use another KDR_STACK_DIR`;
  if (hasData && (recorded ?? 'single') !== config.topology) {
    throw new StackError(
      'bad-config',
      `KDR_TOPOLOGY=${config.topology}: the stack in ${config.stackDir} was brought up as ${recorded ?? 'single'}; ${fix}`,
    );
  }
  // An HA dir from before the split roles: its brokers were the voters, a voter set these controllers do not share.
  const firstController = config.kafka.A.controllers[0];
  if (hasData && firstController && !formatted(firstController.component)) {
    throw new StackError(
      'bad-config',
      `the HA stack in ${config.stackDir} was formatted with combined broker+controller nodes, this kafka-dr runs dedicated controllers; ${fix}`,
    );
  }
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

async function formatIfNeeded(config: StackConfig, name: KafkaComponent, log: Log): Promise<void> {
  const dir = componentDir(config, name);
  if (fs.existsSync(path.join(dir, 'log', 'meta.properties'))) return;
  // Every node of a cluster is formatted with the same id, kept in node 1's dir.
  const firstDir = componentDir(config, config.kafka[clusterOf(name)].nodes[0]!.component);
  fs.mkdirSync(firstDir, { recursive: true });
  const idFile = path.join(firstDir, 'cluster.id');
  if (!fs.existsSync(idFile)) fs.writeFileSync(idFile, newClusterId());
  const clusterId = fs.readFileSync(idFile, 'utf8').trim();
  log(`formatting ${name} storage (cluster id ${clusterId})`);
  const out = fs.openSync(logFile(config, name), 'a');
  const code = await new Promise<number | null>((resolve) => {
    const secureArgs = config.secure ? secureFormatArgs(config, clusterOf(name)) : [];
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
  assertTopology(config);
  const components = componentsOf(config);
  const running = new Set(components.filter((c) => runningProcess(config, c)));
  const toStart = components.filter((c) => !running.has(c));
  await assertPortsFree(config, toStart);
  fs.mkdirSync(config.stackDir, { recursive: true });
  fs.writeFileSync(topologyFile(config.stackDir), `${config.topology}\n`);

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
      const dep = dependsOn(config, name).filter((d) => results.get(d)?.state !== 'healthy');
      if (dep.length > 0) {
        results.set(name, {
          ...(await statusOf(config, name)),
          action: 'not-started',
          detail: `not started: ${dep.join(', ')} ${dep.length === 1 ? 'is' : 'are'} not healthy`,
        });
        return;
      }
      const dir = writeFiles(config, name);
      if (isKafkaComponent(name)) await formatIfNeeded(config, name, log);
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

  // Kafka and Temporal have no dependencies; each Connect worker needs its cluster's brokers.
  // A cluster's processes start together: no controller is elected before a majority of
  // voters runs, and no broker is healthy before a controller is.
  const cluster = (alias: 'A' | 'B') => Promise.all(clusterProcesses(config.kafka[alias]).map((n) => bringUp(n.component)));
  await Promise.all([bringUp('temporal'), cluster('A').then(() => bringUp('connect-a')), cluster('B').then(() => bringUp('connect-b'))]);

  const report: UpReport = {
    components: components.map((c) => results.get(c)!),
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
  return Promise.all(componentsOf(config).map((c) => statusOf(config, c)));
}

export async function down(config: StackConfig, log: Log): Promise<Array<{ component: ComponentName; result: string }>> {
  const results: Array<{ component: ComponentName; result: string }> = [];
  const stop = async (name: ComponentName, graceMs: number) => {
    const result = await stopProcess(config, name, graceMs);
    if (result !== 'not-running') log(`${name}: ${result}`);
    if (result !== 'not-running' || componentsOf(config).includes(name)) results.push({ component: name, result });
  };
  // Connect first: a worker that loses its broker mid-shutdown waits out its timeouts.
  await Promise.all([stop('connect-a', 20_000), stop('connect-b', 20_000)]);
  // Every node name of any topology: KDR_TOPOLOGY set otherwise than the stack was
  // brought up must not leave nodes behind.
  await Promise.all([...ALL_KAFKA_COMPONENTS.map((n) => stop(n, 30_000)), stop('temporal', 10_000)]);
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

/** Brokers and controllers of one cluster, for `stack status`. */
export interface ClusterSummary {
  cluster: 'A' | 'B';
  topology: StackConfig['topology'];
  /** Broker ids the cluster's metadata lists (null: no node answered). */
  brokers: number[] | null;
  expectedBrokers: number;
  /** KRaft voters (the dedicated controllers, or every node with combined roles) and the ones whose process runs. */
  controllers: { voters: number[]; running: number[]; quorum: number };
}

/** Per cluster: registered brokers (from any node) and running controllers (from the processes). */
export async function clusterSummaries(config: StackConfig, rows: ComponentStatus[]): Promise<ClusterSummary[]> {
  return Promise.all(
    (['A', 'B'] as const).map(async (alias) => {
      const running = (n: { component: ComponentName }) => rows.find((r) => r.component === n.component)?.state !== 'stopped';
      const nodes = config.kafka[alias].nodes;
      const voters = quorumVoters(config.kafka[alias]);
      const up = nodes.filter(running);
      const health = up.length > 0 ? await kafkaHealth(up.map((n) => n.bootstrap)) : undefined;
      return {
        cluster: alias,
        topology: config.topology,
        brokers: health?.brokers ?? null,
        expectedBrokers: nodes.length,
        controllers: {
          voters: voters.map((n) => n.nodeId),
          running: voters.filter(running).map((n) => n.nodeId),
          quorum: Math.floor(voters.length / 2) + 1,
        },
      };
    }),
  );
}

/** One line per cluster: "cluster A (ha): brokers 3/3 [1,2,3]; controllers 3/3 running [101,102,103], quorum needs 2". */
export function formatClusters(summaries: ClusterSummary[]): string {
  return summaries
    .map((s) => {
      const brokers =
        s.brokers === null
          ? `brokers 0/${s.expectedBrokers} (no node answers)`
          : `brokers ${s.brokers.length}/${s.expectedBrokers} [${s.brokers.join(',')}]`;
      const c = s.controllers;
      const quorum = c.running.length >= c.quorum ? `quorum needs ${c.quorum}` : `QUORUM LOST (needs ${c.quorum})`;
      return `cluster ${s.cluster} (${s.topology}): ${brokers}; controllers ${c.running.length}/${c.voters.length} running [${c.running.join(',')}], ${quorum}`;
    })
    .join('\n');
}

/** The Kafka processes of a cluster, brokers first, then its dedicated controllers (what "all of cluster A" means). */
export function clusterComponents(config: StackConfig, alias: 'A' | 'B'): KafkaComponent[] {
  return clusterProcesses(config.kafka[alias]).map((n) => n.component);
}

/**
 * Stops every Kafka process of a cluster at once, brokers and controllers: the whole
 * cluster lost. `graceMs` 0 (the default) is a crash, SIGKILL right behind the SIGTERM;
 * give it 30_000 for a controlled shutdown. Connect and Temporal are left alone.
 */
export async function killCluster(
  config: StackConfig,
  alias: 'A' | 'B',
  graceMs = 0,
): Promise<Array<{ component: KafkaComponent; result: string }>> {
  const names = clusterComponents(config, alias);
  const results = await Promise.all(names.map((n) => stopProcess(config, n, graceMs)));
  return names.map((component, i) => ({ component, result: results[i]! }));
}

/**
 * Starts the cluster's stopped Kafka processes again and waits until they are healthy
 * (`up`, which reuses everything still running and so restarts only what is down: a
 * Connect worker that died with its cluster comes back too). Throws as `up` does.
 */
export async function startCluster(config: StackConfig, alias: 'A' | 'B', log: Log): Promise<UpReport> {
  const report = await up(config, log);
  const mine = new Set<ComponentName>(clusterComponents(config, alias));
  return { ...report, components: report.components.filter((c) => mine.has(c.component)) };
}
