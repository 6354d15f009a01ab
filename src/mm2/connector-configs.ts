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

// ---------------------------------------------------------------------------------
// Plan-based builder: one MirrorSourceConnector per topic group, one checkpoint and one
// heartbeat connector, all with the same aliases, clusters and replication policy.
//
// Where each setting goes in Connect mode (checked against Kafka 4.1.1's MM2 and Connect):
// - `source.cluster.*` / `target.cluster.*`: MM2 keeps only client keys from them
//   (bootstrap, security.protocol, ssl.*, sasl.*: MirrorClientConfig.CLIENT_CONFIG_DEF)
//   and uses them for its own clients: the source consumer, source/target admins, the
//   offset-syncs producer.
// - The source consumer: `source.cluster.*`, then `consumer.*`, then `source.consumer.*`
//   (MirrorConnectorConfig.sourceConsumerConfig). kafka-dr uses `source.consumer.*`:
//   `consumer.*` also catches MM2's own `consumer.poll.timeout.ms`.
// - Replicated records (and checkpoints, heartbeats) are written by the Connect worker's
//   producer, to the cluster the worker writes to: it takes the worker's `producer.*`
//   and the connector's `producer.override.*`, the latter allowed by the worker's
//   `connector.client.config.override.policy` (default `All` in 4.1.1, read from
//   WorkerConfig; the stack's workers leave it unset; a worker set to `None` or
//   `Principal` refuses these keys when the connector is validated). MM2 also reads
//   `producer.*` for its offset-syncs producer, where `override.batch.size` & co. are
//   unknown keys it ignores with a warning.
// ---------------------------------------------------------------------------------

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

export type MirrorConnectorKind = 'source' | 'checkpoint' | 'heartbeat';

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
 * Client settings per profile; a group's `tuning` overrides single values.
 * - default: moderate batching (64 KiB / 10 ms), no compression, exact offset syncs.
 * - high-throughput: big batches and fetches (256 KiB / 50 ms, 64 KiB minimum fetch),
 *   gzip (see below), more tasks, and MM2's default `offset.lag.max` of 100: exact syncs would add up
 *   to one offset-sync write per replicated record; the price is that translated
 *   consumer offsets may trail by up to ~100 records per partition (duplicates after
 *   failover, never loss).
 * - low-latency: no linger, no compression, small fetch wait.
 * Compression is opt-in (high-throughput, or `tuning.compression`) because MM2 re-compresses
 * with its producer's codec whatever the source used, and every consumer of the mirrored
 * topics must support it: Java clients and librdkafka do, kafkajs reads only gzip without
 * codec plugins (found on the stack: an lz4 override made the mirrored batches unreadable
 * to kafkajs, which also proves the `producer.override.*` keys reach the producer).
 * `offset.lag.max` 0 elsewhere: MM2 then writes an offset sync as soon as a partition
 * moves, so checkpoints translate exactly (consumers resume on the very record) and the
 * failback seed can be derived exactly from the syncs.
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
    // gzip, not lz4: the MirrorSourceConnector's producer also writes the replicated
    // `<source>.heartbeats`, which kafka-dr reads with kafkajs (RPO estimate, audit), and
    // kafkajs decodes only gzip without codec plugins. lz4 once kafka-dr ships an lz4 codec.
    compression: 'gzip',
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
export const SENSITIVE_KEY = /(sasl\.jaas\.config|ssl\.key\.password|ssl\.keystore\.key|ssl\.keystore\.password|ssl\.truststore\.password)$/;

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
  if (tls || sasl) {
    c[`${prefix}security.protocol`] = tls ? (sasl ? 'SASL_SSL' : 'SSL') : 'SASL_PLAINTEXT';
  }
  if (tls) {
    if (tls.ca !== undefined) {
      c[`${prefix}ssl.truststore.type`] = 'PEM';
      c[`${prefix}ssl.truststore.certificates`] = tls.ca;
    }
    if (tls.cert !== undefined && tls.key !== undefined) {
      c[`${prefix}ssl.keystore.type`] = 'PEM';
      c[`${prefix}ssl.keystore.certificate.chain`] = tls.cert;
      c[`${prefix}ssl.keystore.key`] = tls.key;
      if (tls.keyPassword) c[`${prefix}ssl.key.password`] = tls.keyPassword.reveal();
    }
    if (!tls.rejectUnauthorized) c[`${prefix}ssl.endpoint.identification.algorithm`] = '';
  }
  if (sasl) {
    const { mechanism, module } = SASL_MODULES[sasl.mechanism];
    c[`${prefix}sasl.mechanism`] = mechanism;
    // reveal(): the one place the password leaves its Secret, straight into the config PUT to Connect.
    c[`${prefix}sasl.jaas.config`] =
      `${module} required username=${jaasQuote(sasl.username)} password=${jaasQuote(sasl.password.reveal())};`;
  }
  return c;
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
    throw new Error(
      `endpoints ${endpoints.source.alias}→${endpoints.target.alias} do not match the plan's ${plan.source}→${plan.target}`,
    );
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
