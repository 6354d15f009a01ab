import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadStackConfig, type StackConfig } from '../../src/stack/config';
import { processesMentioning } from '../../src/stack/processes';
import { down } from '../../src/stack/stack';
import { REPO_ROOT } from './stack';

/**
 * An HA stack of a test's own (test/ha: three brokers and three controllers per cluster),
 * beside the suite's single-node stack: its own dir and ports, the jars and the Temporal
 * CLI the suite's stack already downloaded.
 */

/**
 * The KDR_* settings of that stack: A's ports (and Temporal's) in `<a>xxx`, B's in
 * `<b>xxx` (a 23, b 24: 23092, 24092, ...). Keep both below 32 (the kernel's ephemeral
 * range starts at 32768) and apart from every other stack's.
 */
export function haStackEnv(stackDir: string, ports: { a: number; b: number }): Record<string, string> {
  const { a, b } = ports;
  return {
    KDR_TOPOLOGY: 'ha',
    KDR_STACK_DIR: stackDir,
    KDR_CACHE_DIR: loadStackConfig(process.env, REPO_ROOT).cacheDir,
    KDR_KAFKA_A_PORT: `${a}092`,
    KDR_KAFKA_A_CONTROLLER_PORT: `${a}093`,
    KDR_KAFKA_B_PORT: `${b}092`,
    KDR_KAFKA_B_CONTROLLER_PORT: `${b}093`,
    KDR_KAFKA_B_SASL_PORT: `${b}094`,
    KDR_CONNECT_A_PORT: `${a}083`,
    KDR_CONNECT_B_PORT: `${b}083`,
    KDR_TEMPORAL_PORT: `${a}233`,
    KDR_TEMPORAL_UI_PORT: `${a}234`,
    KDR_TEMPORAL_HTTP_PORT: `${a}243`,
    KDR_TEMPORAL_METRICS_PORT: `${a}244`,
  };
}

/** `env` put into process.env (the drill builds its registry from there) and the stack's config from it. */
export function haStackConfig(env: Record<string, string>): StackConfig {
  Object.assign(process.env, env);
  return loadStackConfig(process.env, REPO_ROOT);
}

/**
 * After the test: its log lines to `<logDir>/<logName>`, the stack down, any node left
 * (its PID file lost) killed, and the data dir removed.
 */
export async function haStackDown(config: StackConfig, logName: string, lines: string[]): Promise<void> {
  fs.mkdirSync(config.logDir, { recursive: true });
  fs.writeFileSync(path.join(config.logDir, logName), lines.join('\n') + '\n');
  try {
    await down(config, () => undefined);
  } finally {
    // A node whose PID file was lost: this test started it (its command line names the dir).
    for (const p of processesMentioning(`${config.dataDir}${path.sep}`)) process.kill(p.pid, 'SIGKILL');
    // Fresh clusters next time: formatting is quicker than replaying old logs.
    fs.rmSync(config.dataDir, { recursive: true, force: true });
  }
}
