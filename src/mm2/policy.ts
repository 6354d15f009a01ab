/**
 * MirrorMaker 2's replication policies, reimplemented so kafka-dr can name topics
 * exactly as the running MM2 does: which topic a record lands in on the target,
 * which cluster a topic came from, the names of MM2's internal topics, and which
 * topics MM2 never mirrors. Kafka 4.1's own classes
 * (org.apache.kafka.connect.mirror.DefaultReplicationPolicy, IdentityReplicationPolicy,
 * the ReplicationPolicy interface defaults, MirrorSourceConnector.isCycle and
 * shouldReplicateTopic) are the reference: test/unit/mm2-policy.test.ts holds a table
 * of their answers, produced by running those classes from the stack's jars.
 *
 * Pure: no I/O, safe to use anywhere.
 */

export const DEFAULT_POLICY_CLASS = 'org.apache.kafka.connect.mirror.DefaultReplicationPolicy';
export const IDENTITY_POLICY_CLASS = 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy';

export type PolicyType = 'default' | 'identity';

export interface PolicySpec {
  type: PolicyType;
  /** `replication.policy.separator`; MM2's default is '.'. */
  separator?: string;
  /**
   * `replication.policy.internal.topic.separator.enabled` (default true): internal topics
   * use the custom separator too (`mm2-offset-syncs_B_internal`); false keeps '.'.
   */
  internalTopicSeparator?: boolean;
}

export const DEFAULT_SEPARATOR = '.';
export const HEARTBEATS_TOPIC = 'heartbeats';

/**
 * MM2's `topics.exclude` default (MirrorSourceConfig.TOPICS_EXCLUDE_DEFAULT in 4.1).
 * Connect's own storage topics (`connect-configs`, ...) are NOT in it.
 */
export const MM2_TOPICS_EXCLUDE_DEFAULT = ['mm2.*\\.internal', '.*\\.replica', '__.*'];

/**
 * What kafka-dr puts in every MirrorSourceConnector's `topics.exclude`: MM2's default,
 * the pre-3.0 MM2 default for `-internal`/`.internal` topics, and Kafka Connect's storage
 * topics (defaults `connect-configs|offsets|status` and the `connect-<cluster>-<kind>`
 * naming most deployments use). Mirroring another Connect cluster's offsets topic into
 * a cluster that has its own Connect worker would corrupt that worker's state, and with
 * an IdentityReplicationPolicy the names would collide exactly.
 */
export const KAFKA_DR_TOPICS_EXCLUDE = [
  ...MM2_TOPICS_EXCLUDE_DEFAULT,
  '.*[-.]internal',
  'connect-(configs|offsets|status)',
  'connect-.+-(configs|offsets|status)',
];

export interface ReplicationPolicy {
  readonly type: PolicyType;
  readonly separator: string;
  /** The Java class MM2 instantiates (`replication.policy.class`). */
  readonly className: string;
  /** Name of `topic` from `sourceAlias` on the target (`A.orders`; Identity: `orders`). */
  formatRemoteTopic(sourceAlias: string, topic: string): string;
  /** Cluster a remote topic came from; undefined for a local topic. */
  topicSource(topic: string): string | undefined;
  /** Name one hop upstream; undefined for a local topic. */
  upstreamTopic(topic: string): string | undefined;
  /** Name on the cluster it was first produced to (follows every hop). */
  originalTopic(topic: string): string;
  heartbeatsTopic(): string;
  /** `mm2-offset-syncs.<alias>.internal` (with the internal separator). */
  offsetSyncsTopic(clusterAlias: string): string;
  /** `<source>.checkpoints.internal` (with the internal separator). */
  checkpointsTopic(clusterAlias: string): string;
  isHeartbeatsTopic(topic: string): boolean;
  isCheckpointsTopic(topic: string): boolean;
  isMM2InternalTopic(topic: string): boolean;
  /** MM2 never replicates these, whatever the allowlist says. */
  isInternalTopic(topic: string): boolean;
}

/**
 * Java's `Pattern.compile(Pattern.quote(sep)).split(topic)`: a leading empty part is
 * kept (a match at index 0 has positive width), trailing empty parts are dropped.
 */
function javaSplit(topic: string, separator: string): string[] {
  const parts = topic.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

class DefaultPolicy implements ReplicationPolicy {
  readonly type: PolicyType = 'default';
  readonly className: string = DEFAULT_POLICY_CLASS;
  readonly separator: string;
  private readonly internalSeparator: string;

  constructor(spec: PolicySpec) {
    this.separator = spec.separator ?? DEFAULT_SEPARATOR;
    if (this.separator === '') throw new Error('a replication policy separator cannot be empty');
    this.internalSeparator = spec.internalTopicSeparator === false ? '.' : this.separator;
  }

  formatRemoteTopic(sourceAlias: string, topic: string): string {
    return `${sourceAlias}${this.separator}${topic}`;
  }

  topicSource(topic: string): string | undefined {
    const parts = javaSplit(topic, this.separator);
    return parts.length < 2 ? undefined : parts[0];
  }

  upstreamTopic(topic: string): string | undefined {
    const source = this.topicSource(topic);
    return source === undefined ? undefined : topic.substring(source.length + this.separator.length);
  }

  originalTopic(topic: string): string {
    // Iterative form of the interface default (which recurses); stops when a policy
    // answers "same name" (Identity) so it cannot spin.
    let current = topic;
    for (;;) {
      const upstream = this.upstreamTopic(current);
      if (upstream === undefined || upstream === current) return current;
      current = upstream;
    }
  }

  heartbeatsTopic(): string {
    return HEARTBEATS_TOPIC;
  }

  private internalSuffix(): string {
    return `${this.internalSeparator}internal`;
  }

  private checkpointsSuffix(): string {
    return `${this.internalSeparator}checkpoints${this.internalSuffix()}`;
  }

  offsetSyncsTopic(clusterAlias: string): string {
    return `mm2-offset-syncs${this.internalSeparator}${clusterAlias}${this.internalSuffix()}`;
  }

  checkpointsTopic(clusterAlias: string): string {
    return `${clusterAlias}${this.checkpointsSuffix()}`;
  }

  isHeartbeatsTopic(topic: string): boolean {
    return this.heartbeatsTopic() === this.originalTopic(topic);
  }

  isCheckpointsTopic(topic: string): boolean {
    return topic.endsWith(this.checkpointsSuffix());
  }

  isMM2InternalTopic(topic: string): boolean {
    return (topic.startsWith('mm2') && topic.endsWith(this.internalSuffix())) || this.isCheckpointsTopic(topic);
  }

  isInternalTopic(topic: string): boolean {
    return topic.startsWith('__') || topic.startsWith('.') || this.isMM2InternalTopic(topic);
  }
}

/**
 * IdentityReplicationPolicy: names stay the same, except heartbeats (anything ending in
 * `heartbeats`), which are named like the Default policy so heartbeats still tell the
 * clusters apart. It cannot tell a remote topic from a local one: `topicSource` answers
 * the connector's own source alias for every topic, which is why MM2 cannot detect a
 * cycle with it and kafka-dr's loop guard must.
 */
class IdentityPolicy extends DefaultPolicy {
  override readonly type: PolicyType = 'identity';
  override readonly className: string = IDENTITY_POLICY_CLASS;

  constructor(
    spec: PolicySpec,
    private readonly sourceAlias: string | undefined,
  ) {
    super(spec);
  }

  private looksLikeHeartbeat(topic: string): boolean {
    return topic.endsWith(this.heartbeatsTopic());
  }

  override formatRemoteTopic(sourceAlias: string, topic: string): string {
    return this.looksLikeHeartbeat(topic) ? super.formatRemoteTopic(sourceAlias, topic) : topic;
  }

  override topicSource(topic: string): string | undefined {
    return this.looksLikeHeartbeat(topic) ? super.topicSource(topic) : this.sourceAlias;
  }

  override upstreamTopic(topic: string): string | undefined {
    return this.looksLikeHeartbeat(topic) ? super.upstreamTopic(topic) : topic;
  }
}

/**
 * The policy as a connector configures it. `sourceAlias` matters only for Identity
 * (MM2 passes the connector's `source.cluster.alias` to it): it is what `topicSource`
 * answers for non-heartbeat topics.
 */
export function replicationPolicy(spec: PolicySpec, sourceAlias?: string): ReplicationPolicy {
  return spec.type === 'identity' ? new IdentityPolicy(spec, sourceAlias) : new DefaultPolicy(spec);
}

/** The policy named by a connector config's class, or undefined for a class kafka-dr does not model. */
export function policyTypeOfClass(className: string | undefined): PolicyType | undefined {
  if (className === undefined || className === '' || className === DEFAULT_POLICY_CLASS) return 'default';
  if (className === IDENTITY_POLICY_CLASS) return 'identity';
  return undefined;
}

/**
 * MirrorSourceConnector.isCycle: true when `topic` (on the source cluster) came from
 * `targetAlias`, directly or through more hops, so copying it would send records back
 * where they came from. Never true under Identity (its upstream name is the same name).
 */
export function isCycle(policy: ReplicationPolicy, topic: string, targetAlias: string): boolean {
  let current = topic;
  for (;;) {
    const source = policy.topicSource(current);
    if (source === undefined) return false;
    if (source === targetAlias) return true;
    const upstream = policy.upstreamTopic(current);
    if (upstream === undefined || upstream === current) return false;
    current = upstream;
  }
}

/**
 * Compiles MM2 list entries (Java regexes, matched against the whole name) as one
 * matcher. Entries must also be valid JavaScript regexes; the plan schema refuses
 * those that are not. Returns undefined for an entry that does not compile.
 */
export function compileTopicPatterns(entries: readonly string[]): ((topic: string) => boolean) | undefined {
  const regexes: RegExp[] = [];
  for (const e of entries) {
    const trimmed = e.trim();
    if (trimmed === '') continue;
    try {
      regexes.push(new RegExp(`^(?:${trimmed})$`));
    } catch {
      return undefined;
    }
  }
  return (topic) => regexes.some((r) => r.test(topic));
}

/** Splits a Connect LIST value the way ConfigDef does (comma separated, trimmed, empties dropped). */
export function parseConnectList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export interface TopicFilterSpec {
  /** `topics` allowlist entries. */
  include: readonly string[];
  /** `topics.exclude` entries (default: MM2's default). */
  exclude?: readonly string[];
}

/**
 * MirrorSourceConnector.shouldReplicateTopic for a topic on the source cluster, with
 * one deliberate difference: heartbeats topics count only when `includeHeartbeats`
 * (MM2 replicates them whatever the allowlist; they are never a loop or a seed concern).
 * Throws when an allowlist entry does not compile (see compileTopicPatterns).
 */
export function shouldReplicateTopic(
  policy: ReplicationPolicy,
  topic: string,
  filter: TopicFilterSpec,
  targetAlias: string,
  options: { includeHeartbeats?: boolean } = {},
): boolean {
  return topicScope(policy, filter, targetAlias, options)(topic);
}

/** shouldReplicateTopic with the patterns compiled once, for many topics. */
export function topicScope(
  policy: ReplicationPolicy,
  filter: TopicFilterSpec,
  targetAlias: string,
  options: { includeHeartbeats?: boolean } = {},
): (topic: string) => boolean {
  const include = compileTopicPatterns(filter.include);
  const exclude = compileTopicPatterns(filter.exclude ?? MM2_TOPICS_EXCLUDE_DEFAULT);
  if (!include || !exclude) {
    throw new Error(`an allowlist entry of [${[...filter.include, ...(filter.exclude ?? [])].join(', ')}] does not compile as a regex`);
  }
  return (topic) => {
    const heartbeats = policy.isHeartbeatsTopic(topic);
    if (heartbeats && !options.includeHeartbeats) return false;
    const selected = (include(topic) && !exclude(topic)) || heartbeats;
    return selected && !policy.isInternalTopic(topic) && !isCycle(policy, topic, targetAlias);
  };
}

/** `DefaultReplicationPolicy` naming without a policy object (kept for existing callers). */
export function formatRemoteTopic(spec: PolicySpec, sourceAlias: string, topic: string): string {
  return replicationPolicy(spec, sourceAlias).formatRemoteTopic(sourceAlias, topic);
}
