import type { ConnectorConfig } from '../connect/client';

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

/** DefaultReplicationPolicy prefixes the source alias; Identity keeps the name. */
export function remoteTopicName(policy: MirrorFlow['policy'], sourceAlias: string, topic: string, separator = '.'): string {
  return policy === 'identity' ? topic : `${sourceAlias}${separator}${topic}`;
}
