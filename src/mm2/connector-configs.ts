import * as path from 'node:path';
import type { ConnectorConfig } from '../connect/client';
import type { Profile, ReplicationPlan, TopicGroup, Tuning } from '../model/replication-plan';
import type { ResolvedKafkaCluster } from '../registry/load';
import { KAFKA_DR_TOPICS_EXCLUDE, replicationPolicy, type PolicySpec } from './policy';

/**
 * MirrorMaker 2 connector configs for a Connect cluster that writes to the target.
 * One place decides the settings every MM2 connector of a flow must agree on
 * (aliases, bootstrap servers, replication policy, internal-topic replication).
 */

export interface ClusterEndpoint {
  alias: string;
  bootstrapServers: string;
}

export interface MirrorFlow {
  source: ClusterEndpoint;
  target: ClusterEndpoint;
  /** Connector name prefix, e.g. `mm2-A-to-B`. */
  name: string;
  /** Topic allowlist (MM2 regexes, comma separated semantics). */
  topics: string[];
  /** Consumer group allowlist for checkpoints. */
  groups: string[];
  policy: 'default' | 'identity';
  /** Replication factor for mirrored and internal topics (1 on a single-broker stack). */
  replicationFactor: number;
  /** Seconds between topic/group refreshes and checkpoint/heartbeat emission. */
  intervalSeconds: number;
}

const POLICY_CLASS = {
  default: 'org.apache.kafka.connect.mirror.DefaultReplicationPolicy',
  identity: 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy',
} as const;

const BYTES = 'org.apache.kafka.connect.converters.ByteArrayConverter';

/**
 * MM2's source consumer reads read_committed: aborted records are not replicated, and
 * records of an open transaction wait for its commit. The consumer's default,
 * read_uncommitted, copies aborted records to the target as ordinary ones (measured:
 * 20 aborted records on B after a failover). Markers are never replicated either way.
 */
export const READ_COMMITTED = { 'source.consumer.isolation.level': 'read_committed' } as const;

/**
 * The isolation level a MirrorSourceConnector's source consumer gets from its config:
 * `source.consumer.*` wins over `consumer.*` (MirrorConnectorConfig.sourceConsumerConfig);
 * neither set is the Kafka consumer's default, read_uncommitted.
 */
export function sourceConsumerIsolation(config: Readonly<Record<string, string | undefined>>): string {
  return (config['source.consumer.isolation.level'] ?? config['consumer.isolation.level'] ?? 'read_uncommitted').trim().toLowerCase();
}

function common(flow: MirrorFlow): ConnectorConfig {
  return {
    'source.cluster.alias': flow.source.alias,
    'target.cluster.alias': flow.target.alias,
    'source.cluster.bootstrap.servers': flow.source.bootstrapServers,
    'target.cluster.bootstrap.servers': flow.target.bootstrapServers,
    'replication.policy.class': POLICY_CLASS[flow.policy],
    // Bytes in, bytes out: a converter that re-encodes would change the records.
    'key.converter': BYTES,
    'value.converter': BYTES,
    'header.converter': BYTES,
    'tasks.max': '1',
  };
}

export function mirrorSourceConfig(flow: MirrorFlow): ConnectorConfig {
  return {
    ...common(flow),
    'connector.class': 'org.apache.kafka.connect.mirror.MirrorSourceConnector',
    topics: flow.topics.join(','),
    'replication.factor': String(flow.replicationFactor),
    'offset-syncs.topic.replication.factor': String(flow.replicationFactor),
    'refresh.topics.interval.seconds': String(flow.intervalSeconds),
    // 0: an offset sync for every gap, so checkpoints translate exactly, not approximately.
    'offset.lag.max': '0',
    // Without an authorizer on the clusters, ACL sync only logs errors.
    'sync.topic.acls.enabled': 'false',
    ...READ_COMMITTED,
  };
}

export function mirrorCheckpointConfig(flow: MirrorFlow): ConnectorConfig {
  return {
    ...common(flow),
    'connector.class': 'org.apache.kafka.connect.mirror.MirrorCheckpointConnector',
    topics: flow.topics.join(','),
    groups: flow.groups.join(','),
    'checkpoints.topic.replication.factor': String(flow.replicationFactor),
    'emit.checkpoints.interval.seconds': String(flow.intervalSeconds),
    'refresh.groups.interval.seconds': String(flow.intervalSeconds),
    // kafka-dr applies translated offsets itself, at the cutover gate, not continuously.
    'sync.group.offsets.enabled': 'false',
  };
}

export function mirrorHeartbeatConfig(flow: MirrorFlow): ConnectorConfig {
  return {
    ...common(flow),
    'connector.class': 'org.apache.kafka.connect.mirror.MirrorHeartbeatConnector',
    'heartbeats.topic.replication.factor': String(flow.replicationFactor),
    'emit.heartbeats.interval.seconds': String(flow.intervalSeconds),
  };
}

/** The three connectors of one flow, by name. */
export function mirrorConnectors(flow: MirrorFlow): Record<string, ConnectorConfig> {
  return {
    [`${flow.name}-source`]: mirrorSourceConfig(flow),
    [`${flow.name}-checkpoint`]: mirrorCheckpointConfig(flow),
    [`${flow.name}-heartbeat`]: mirrorHeartbeatConfig(flow),
  };
}

/**
 * DefaultReplicationPolicy prefixes the source alias; Identity keeps the name (except
 * heartbeats topics, which Identity names like Default, as MM2 does). See ./policy.
 */
export function remoteTopicName(policy: MirrorFlow['policy'], sourceAlias: string, topic: string, separator = '.'): string {
  return replicationPolicy({ type: policy, separator }, sourceAlias).formatRemoteTopic(sourceAlias, topic);
}

// Plan-based builder: one MirrorSourceConnector per topic group, one checkpoint and one
// heartbeat connector. Which client keys reach which MM2 client in Connect mode:
// see docs/mm2-internals.md#where-mm2-connector-settings-go

/**
 * Connector config key naming the workflow run (`<workflowId>/<runId>`) that created the
 * connector. Connect stores it with the config and MM2 ignores it. A retried deploy reads
 * it back to know which connectors its own earlier attempt created: a heartbeat saying
 * so can be lost with a worker that dies right after the create, and then the playbook's
 * compensation would leave that connector behind.
 */
export const CREATED_BY_KEY = 'kafka-dr.created-by';

/** Whether a stored connector config is the wanted one: Connect adds `name`, and the creator mark is ours. */
export function sameConnectorConfig(existing: ConnectorConfig, wanted: ConnectorConfig): boolean {
  const keys = new Set([...Object.keys(existing), ...Object.keys(wanted)]);
  keys.delete('name');
  keys.delete(CREATED_BY_KEY);
  for (const k of keys) if (existing[k] !== wanted[k]) return false;
  return true;
}

export const MIRROR_SOURCE_CLASS = 'org.apache.kafka.connect.mirror.MirrorSourceConnector';
export const MIRROR_CHECKPOINT_CLASS = 'org.apache.kafka.connect.mirror.MirrorCheckpointConnector';
export const MIRROR_HEARTBEAT_CLASS = 'org.apache.kafka.connect.mirror.MirrorHeartbeatConnector';

/** `emitter`: the heartbeat connector that writes into the flow's SOURCE (see buildHeartbeatEmitter). */
export type MirrorConnectorKind = 'source' | 'checkpoint' | 'heartbeat' | 'emitter';

export interface MirrorConnectorSpec {
  name: string;
  kind: MirrorConnectorKind;
  /** The topic group, for source connectors. */
  group?: string;
  /** Contains revealed credentials when the clusters use SASL/TLS: PUT it to Connect, never log it. */
  config: ConnectorConfig;
}

export interface FlowEndpoints {
  source: ResolvedKafkaCluster;
  target: ResolvedKafkaCluster;
}

/**
 * Client settings per profile (default, high-throughput: lz4, low-latency); a group's `tuning`
 * overrides single values. kafka-dr reads every codec (src/kafka/compression.ts). Why
 * compression is opt-in and offset.lag.max is 0 by default:
 * see docs/mm2-internals.md#tuning-profiles
 */
export const PROFILE_TUNING: Record<Profile, Required<Tuning>> = {
  default: {
    tasksMax: 2,
    batchSize: 65_536,
    lingerMs: 10,
    compression: 'none',
    fetchMinBytes: 1,
    fetchMaxWaitMs: 500,
    maxPollRecords: 1_000,
    offsetLagMax: 0,
  },
  'high-throughput': {
    tasksMax: 8,
    batchSize: 262_144,
    lingerMs: 50,
    // lz4: the cheapest codec per byte saved, where MM2's CPU is the limit. The
    // MirrorSourceConnector's producer also writes the replicated `<source>.heartbeats`,
    // which kafka-dr reads (freshness, RPO estimate) with its own lz4 codec.
    compression: 'lz4',
    fetchMinBytes: 65_536,
    fetchMaxWaitMs: 500,
    maxPollRecords: 5_000,
    offsetLagMax: 100,
  },
  'low-latency': {
    tasksMax: 4,
    batchSize: 16_384,
    lingerMs: 0,
    compression: 'none',
    fetchMinBytes: 1,
    fetchMaxWaitMs: 100,
    maxPollRecords: 500,
    offsetLagMax: 0,
  },
};

export function effectiveTuning(group: Pick<TopicGroup, 'profile' | 'tuning'>): Required<Tuning> {
  const base = PROFILE_TUNING[group.profile];
  const out: Required<Tuning> = { ...base };
  for (const [k, v] of Object.entries(group.tuning ?? {}) as Array<[keyof Tuning, Tuning[keyof Tuning]]>) {
    if (v !== undefined) (out as Record<keyof Tuning, unknown>)[k] = v;
  }
  return out;
}

const SASL_MODULES = {
  plain: { mechanism: 'PLAIN', module: 'org.apache.kafka.common.security.plain.PlainLoginModule' },
  'scram-sha-256': { mechanism: 'SCRAM-SHA-256', module: 'org.apache.kafka.common.security.scram.ScramLoginModule' },
  'scram-sha-512': { mechanism: 'SCRAM-SHA-512', module: 'org.apache.kafka.common.security.scram.ScramLoginModule' },
} as const;

// JAAS option values are double-quoted; Kafka's JaasConfig tokenizer reads \" and \\ inside quotes.
const jaasQuote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Config keys whose values are credentials or private keys. */
export const SENSITIVE_KEY =
  /(sasl\.jaas\.config|ssl\.key\.password|ssl\.keystore\.key|ssl\.keystore\.password|ssl\.truststore\.password)$/;

/** A copy fit for logs, dry-run output and workflow history. */
export function redactConnectorConfig(config: ConnectorConfig): ConnectorConfig {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, SENSITIVE_KEY.test(k) ? '[redacted]' : v]));
}

/**
 * How MM2 reaches one cluster: `<prefix>bootstrap.servers` and, when the registry says
 * so, TLS (PEM content inline: `ssl.truststore.type=PEM` + `ssl.truststore.certificates`,
 * and a PEM keystore for mutual TLS) and SASL (mechanism + a JAAS line carrying the
 * password). `rejectUnauthorized: false` can only disable hostname verification in Java
 * (`ssl.endpoint.identification.algorithm` empty); the certificate chain is still checked.
 */
export function clusterClientConfig(prefix: 'source.cluster.' | 'target.cluster.', cluster: ResolvedKafkaCluster): ConnectorConfig {
  const c: ConnectorConfig = { [`${prefix}bootstrap.servers`]: cluster.bootstrapServers.join(',') };
  const tls = cluster.tls;
  const sasl = cluster.sasl;
  // dir-provider: a `${dir:...}` reference the Connect worker resolves, never the content
  // (GET /connectors/x/config shows the config to anyone with REST access).
  const files = cluster.connectorSecrets === 'dir-provider' ? (cluster.files ?? {}) : undefined;
  const value = (file: string | undefined, content: string) => (files && file !== undefined ? dirRef(file) : content);
  if (tls || sasl) {
    c[`${prefix}security.protocol`] = tls ? (sasl ? 'SASL_SSL' : 'SSL') : 'SASL_PLAINTEXT';
  }
  if (tls) {
    if (tls.ca !== undefined) {
      c[`${prefix}ssl.truststore.type`] = 'PEM';
      c[`${prefix}ssl.truststore.certificates`] = value(files?.ca, tls.ca);
    }
    if (tls.cert !== undefined && tls.key !== undefined) {
      c[`${prefix}ssl.keystore.type`] = 'PEM';
      c[`${prefix}ssl.keystore.certificate.chain`] = value(files?.cert, tls.cert);
      c[`${prefix}ssl.keystore.key`] = value(files?.key, tls.key);
      if (tls.keyPassword) c[`${prefix}ssl.key.password`] = value(files?.keyPassword, tls.keyPassword.reveal());
    }
    if (!tls.rejectUnauthorized) c[`${prefix}ssl.endpoint.identification.algorithm`] = '';
  }
  if (sasl) {
    const { mechanism, module } = SASL_MODULES[sasl.mechanism];
    c[`${prefix}sasl.mechanism`] = mechanism;
    // reveal() (inline only): the one place the password leaves its Secret, straight into the config PUT to Connect.
    const password = files?.saslPassword !== undefined ? dirRef(files.saslPassword) : jaasQuote(sasl.password.reveal()).slice(1, -1);
    c[`${prefix}sasl.jaas.config`] = `${module} required username=${jaasQuote(sasl.username)} password="${password}";`;
  }
  return c;
}

/** `${dir:<dir>:<file>}`: Kafka's DirectoryConfigProvider (registered as `dir` on the worker) reads the file. */
export function dirRef(file: string): string {
  return `\${dir:${path.dirname(file)}:${path.basename(file)}}`;
}

export function planPolicy(plan: Pick<ReplicationPlan, 'policy'>): PolicySpec {
  return { type: plan.policy.type, separator: plan.policy.separator };
}

function planCommon(plan: ReplicationPlan, endpoints: FlowEndpoints): ConnectorConfig {
  const policy = replicationPolicy(planPolicy(plan), plan.source);
  return {
    'source.cluster.alias': plan.source,
    'target.cluster.alias': plan.target,
    ...clusterClientConfig('source.cluster.', endpoints.source),
    ...clusterClientConfig('target.cluster.', endpoints.target),
    'replication.policy.class': policy.className,
    'replication.policy.separator': policy.separator,
    // Bytes in, bytes out: a converter that re-encodes would change the records.
    'key.converter': BYTES,
    'value.converter': BYTES,
    'header.converter': BYTES,
  };
}

/**
 * The connectors of a plan, in deploy order: one MirrorSourceConnector per topic group
 * (`<name>-source-<group>`), then `<name>-checkpoint` and `<name>-heartbeat`.
 */
export function buildMirrorConnectors(plan: ReplicationPlan, endpoints: FlowEndpoints): MirrorConnectorSpec[] {
  if (endpoints.source.alias !== plan.source || endpoints.target.alias !== plan.target) {
    throw new Error(`endpoints ${endpoints.source.alias}→${endpoints.target.alias} do not match the plan's ${plan.source}→${plan.target}`);
  }
  const common = planCommon(plan, endpoints);
  const rf = String(plan.replicationFactor);
  const exclude = KAFKA_DR_TOPICS_EXCLUDE.join(',');
  const sources = plan.topicGroups.map((group, index): MirrorConnectorSpec => {
    const t = effectiveTuning(group);
    return {
      name: `${plan.name}-source-${group.name}`,
      kind: 'source',
      group: group.name,
      config: {
        'connector.class': MIRROR_SOURCE_CLASS,
        ...common,
        'tasks.max': String(t.tasksMax),
        topics: group.topics.join(','),
        'topics.exclude': exclude,
        'replication.factor': rf,
        'offset-syncs.topic.replication.factor': rf,
        'refresh.topics.interval.seconds': String(plan.intervals.refreshTopicsSeconds),
        'sync.topic.configs.enabled': String(plan.syncTopicConfigs),
        // ACL sync needs an authorizer and DESCRIBE_ACLS on both sides; kafka-dr leaves ACLs
        // to the clusters' owners (without an authorizer MM2 logs an error every interval).
        'sync.topic.acls.enabled': 'false',
        'offset.lag.max': String(t.offsetLagMax),
        // Every MirrorSourceConnector copies heartbeats whatever its allowlist: one per flow
        // is enough (Kafka 3.9+ key; older versions ignore it and copy them N times).
        'heartbeats.replication.enabled': String(index === 0),
        'producer.override.batch.size': String(t.batchSize),
        'producer.override.linger.ms': String(t.lingerMs),
        'producer.override.compression.type': t.compression,
        'source.consumer.fetch.min.bytes': String(t.fetchMinBytes),
        'source.consumer.fetch.max.wait.ms': String(t.fetchMaxWaitMs),
        'source.consumer.max.poll.records': String(t.maxPollRecords),
        ...READ_COMMITTED,
      },
    };
  });
  const allTopics = [...new Set(plan.topicGroups.flatMap((g) => g.topics))];
  const checkpoint: MirrorConnectorSpec = {
    name: `${plan.name}-checkpoint`,
    kind: 'checkpoint',
    config: {
      'connector.class': MIRROR_CHECKPOINT_CLASS,
      ...common,
      'tasks.max': '1',
      // Checkpoints only for the flow's topics: the union of the groups' allowlists.
      topics: allTopics.join(','),
      'topics.exclude': exclude,
      groups: plan.groups.join(','),
      ...(plan.groupsExclude ? { 'groups.exclude': plan.groupsExclude.join(',') } : {}),
      'checkpoints.topic.replication.factor': rf,
      'emit.checkpoints.interval.seconds': String(plan.intervals.emitCheckpointsSeconds),
      'refresh.groups.interval.seconds': String(plan.intervals.refreshGroupsSeconds),
      // kafka-dr applies translated offsets itself, at the cutover gate: MM2's sync writes
      // only to empty groups and never moves one backwards.
      'sync.group.offsets.enabled': 'false',
    },
  };
  const heartbeat: MirrorConnectorSpec = {
    name: `${plan.name}-heartbeat`,
    kind: 'heartbeat',
    config: {
      'connector.class': MIRROR_HEARTBEAT_CLASS,
      ...common,
      'tasks.max': '1',
      'heartbeats.topic.replication.factor': rf,
      'emit.heartbeats.interval.seconds': String(plan.intervals.emitHeartbeatsSeconds),
    },
  };
  return [...sources, checkpoint, heartbeat];
}

/** Name of a flow's heartbeat emitter (on the Connect cluster that writes to the source). */
export function heartbeatEmitterName(flowName: string): string {
  return `${flowName}-heartbeat-emitter`;
}

/**
 * The flow's heartbeat emitter: a MirrorHeartbeatConnector run by a Connect cluster that
 * writes to the flow's SOURCE, configured as the reverse pair (source alias = the flow's
 * target, target alias = the flow's source), as MM2's dedicated mode runs one for every
 * pair. It writes `heartbeats` on the source, keyed (target, source); the flow's first
 * MirrorSourceConnector replicates that topic to `<source>.heartbeats` on the target
 * (Identity names it the same: IdentityReplicationPolicy defers to Default for heartbeats).
 * So the newest heartbeat there is as old as this flow's replication, which is what an
 * unplanned failover reports. It only needs the source (MirrorHeartbeatConnector opens
 * an admin on its target cluster alone, Kafka 4.1), so it keeps beating while the target side is
 * down and stops when the source does: the gap it leaves is the replication's.
 */
export function buildHeartbeatEmitter(plan: ReplicationPlan, endpoints: FlowEndpoints): MirrorConnectorSpec {
  const policy = replicationPolicy(planPolicy(plan), plan.target);
  return {
    name: heartbeatEmitterName(plan.name),
    kind: 'emitter',
    config: {
      'connector.class': MIRROR_HEARTBEAT_CLASS,
      'source.cluster.alias': plan.target,
      'target.cluster.alias': plan.source,
      // No `source.cluster.*`: the connector never connects to its "source" (the flow's
      // target), so the target's credentials stay off the source side's Connect.
      ...clusterClientConfig('target.cluster.', endpoints.source),
      'replication.policy.class': policy.className,
      'replication.policy.separator': policy.separator,
      'key.converter': BYTES,
      'value.converter': BYTES,
      'header.converter': BYTES,
      'tasks.max': '1',
      'heartbeats.topic.replication.factor': String(plan.replicationFactor),
      'emit.heartbeats.interval.seconds': String(plan.intervals.emitHeartbeatsSeconds),
    },
  };
}
