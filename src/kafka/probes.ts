import { createHash } from 'node:crypto';
import { ConfigResourceTypes, type Admin, type Kafka } from 'kafkajs';
import type { HeadroomHealth, QuorumHealth } from './quorum-headroom';

/**
 * Kafka probes: what a playbook asks a cluster before it moves anything.
 * Evaluation (is this cluster fit for a failback? have producers stopped?) is pure
 * and unit-tested; the admin helpers at the bottom only fetch.
 *
 * Offsets are decimal strings everywhere here: they cross the activity boundary into
 * Temporal history as JSON, where a bigint cannot go and a number loses precision
 * past 2^53.
 */

// ---------------------------------------------------------------------------
// Cluster health
// ---------------------------------------------------------------------------

export interface PartitionState {
  topic: string;
  partition: number;
  /** -1 when the partition has no leader. */
  leader: number;
  replicas: number[];
  isr: number[];
}

/** One metadata view of a cluster: live brokers, controller, every partition (internal topics included). */
export interface ClusterSnapshot {
  brokerIds: number[];
  /** null when the cluster reports none. */
  controllerId: number | null;
  partitions: PartitionState[];
  /** Which read produced it (see readClusterSnapshot). */
  source: 'admin' | 'raw-metadata';
}

export interface ClusterHealth {
  cluster: string;
  brokers: { count: number; ids: number[] };
  expectedBrokers: number;
  /** Where expectedBrokers came from: the activity input or the cluster registry. */
  expectedBrokersFrom: 'input' | 'registry';
  controllerId: number | null;
  underReplicated: Array<{ topic: string; partition: number; replicas: number[]; isr: number[] }>;
  offline: Array<{ topic: string; partition: number }>;
  /** Broker ids that partitions are assigned to but that are not up: the brokers to look at first. */
  brokersMissingFromAssignments: number[];
  /** Topics and partitions seen (internal topics included), so "0 under-replicated" is not mistaken for "looked at nothing". */
  topicCount: number;
  partitionCount: number;
  healthy: boolean;
  /** One human line per problem, worst first; empty when healthy. */
  problems: string[];
  /**
   * The KRaft controller quorum (DescribeQuorum). Absent in results recorded before the
   * quorum check existed; `lost` is a problem, `degraded` a warning.
   */
  quorum?: QuorumHealth;
  /** Disk headroom of every broker's log dirs (DescribeLogDirs); absent as for quorum. */
  headroom?: HeadroomHealth;
  /** Reported, not refused: a voter behind while the quorum holds its majority. */
  warnings?: string[];
}

/** How many partition names a problem line spells out before it says "and N more". */
export const MAX_LISTED_PARTITIONS = 10;

/** The activity input wins; otherwise the registry's count for the cluster. */
export function resolveExpectedBrokers(
  fromInput: number | undefined,
  fromRegistry: number,
): { expectedBrokers: number; expectedBrokersFrom: 'input' | 'registry' } {
  return fromInput === undefined
    ? { expectedBrokers: fromRegistry, expectedBrokersFrom: 'registry' }
    : { expectedBrokers: fromInput, expectedBrokersFrom: 'input' };
}

/** `orders-3, orders-4, ... and 12 more` (topic-partition, Kafka's own notation). */
export function listPartitions(parts: Array<{ topic: string; partition: number }>, max = MAX_LISTED_PARTITIONS): string {
  const shown = parts.slice(0, max).map((p) => `${p.topic}-${p.partition}`);
  const rest = parts.length - shown.length;
  return rest > 0 ? `${shown.join(', ')} and ${rest} more` : shown.join(', ');
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

const byTopicPartition = (a: { topic: string; partition: number }, b: { topic: string; partition: number }) =>
  a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;

/**
 * Is the cluster fit to take traffic (the failback precheck)? Every broker the
 * registry expects is up, a controller is active, and no partition is offline or
 * under-replicated. More brokers than expected is not a problem (a scale-out or a
 * rolling replacement in flight); fewer is.
 */
export function evaluateClusterHealth(
  cluster: string,
  snapshot: ClusterSnapshot,
  expected: { expectedBrokers: number; expectedBrokersFrom: 'input' | 'registry' },
  checks: { quorum?: QuorumHealth; headroom?: HeadroomHealth } = {},
): ClusterHealth {
  const ids = [...new Set(snapshot.brokerIds)].sort((a, b) => a - b);
  const up = new Set(ids);
  const partitions = [...snapshot.partitions].sort(byTopicPartition);

  // Offline first: a partition without a leader takes no reads or writes. It is not
  // also listed as under-replicated (Kafka's own URP metric counts led partitions only).
  const offline = partitions.filter((p) => p.leader < 0).map((p) => ({ topic: p.topic, partition: p.partition }));
  const underReplicated = partitions
    .filter((p) => p.leader >= 0 && p.isr.length < p.replicas.length)
    .map((p) => ({ topic: p.topic, partition: p.partition, replicas: p.replicas, isr: p.isr }));
  const missing = [...new Set(partitions.flatMap((p) => p.replicas).filter((id) => !up.has(id)))].sort((a, b) => a - b);
  const controllerId = snapshot.controllerId !== null && snapshot.controllerId >= 0 ? snapshot.controllerId : null;

  const problems: string[] = [];
  if (ids.length < expected.expectedBrokers) {
    const where = expected.expectedBrokersFrom === 'input' ? 'as asked' : 'per the cluster registry';
    const hint = missing.length > 0 ? `; partitions are assigned to ${plural(missing.length, 'broker')} not up: ${missing.join(', ')}` : '';
    problems.push(`${ids.length} of ${expected.expectedBrokers} brokers up (${expected.expectedBrokers} expected ${where}${hint})`);
  } else if (missing.length > 0) {
    problems.push(`partitions are assigned to ${plural(missing.length, 'broker')} not up: ${missing.join(', ')}`);
  }
  if (controllerId === null) problems.push('no active controller (metadata changes and leader elections cannot happen)');
  if (offline.length > 0) {
    problems.push(`${plural(offline.length, 'offline partition')} (no leader): ${listPartitions(offline)}`);
  }
  if (underReplicated.length > 0) {
    problems.push(`${plural(underReplicated.length, 'under-replicated partition')}: ${listPartitions(underReplicated)}`);
  }
  const warnings: string[] = [];
  if (checks.quorum?.status === 'lost') problems.push(`controller quorum lost: ${checks.quorum.summary}`);
  if (checks.quorum?.status === 'degraded') warnings.push(`controller quorum degraded: ${checks.quorum.summary}`);
  if (checks.headroom) problems.push(...checks.headroom.problems);

  return {
    cluster,
    brokers: { count: ids.length, ids },
    expectedBrokers: expected.expectedBrokers,
    expectedBrokersFrom: expected.expectedBrokersFrom,
    controllerId,
    underReplicated,
    offline,
    brokersMissingFromAssignments: missing,
    topicCount: new Set(partitions.map((p) => p.topic)).size,
    partitionCount: partitions.length,
    healthy: problems.length === 0,
    problems,
    ...(checks.quorum ? { quorum: checks.quorum } : {}),
    ...(checks.headroom ? { headroom: checks.headroom } : {}),
    ...(checks.quorum || checks.headroom ? { warnings } : {}),
  };
}

// ---------------------------------------------------------------------------
// Topic descriptions
// ---------------------------------------------------------------------------

/** The topic configs drift audits and topic recreation compare. */
export const TOPIC_CONFIG_NAMES = ['retention.ms', 'cleanup.policy', 'min.insync.replicas', 'max.message.bytes'] as const;
export type TopicConfigName = (typeof TOPIC_CONFIG_NAMES)[number];

export type TopicDescription =
  | { topic: string; exists: false }
  | {
      topic: string;
      exists: true;
      partitions: number;
      /** The largest replica count of any partition (they differ only mid-reassignment). */
      replicationFactor: number;
      /** Effective values (topic override or broker default); null when the broker did not report one. */
      configs: Record<TopicConfigName, string | null>;
    };

export function describeTopic(
  topic: string,
  partitions: Array<{ replicas: number[] }>,
  configEntries: Array<{ configName: string; configValue: string | null }>,
): TopicDescription {
  const configs = Object.fromEntries(TOPIC_CONFIG_NAMES.map((n) => [n, null])) as Record<TopicConfigName, string | null>;
  for (const e of configEntries) {
    if ((TOPIC_CONFIG_NAMES as readonly string[]).includes(e.configName)) configs[e.configName as TopicConfigName] = e.configValue ?? null;
  }
  return {
    topic,
    exists: true,
    partitions: partitions.length,
    replicationFactor: Math.max(0, ...partitions.map((p) => p.replicas.length)),
    configs,
  };
}

// ---------------------------------------------------------------------------
// Offsets
// ---------------------------------------------------------------------------

export interface PartitionOffsets {
  partition: number;
  /** Earliest offset still stored (log start). */
  low: string;
  /** End offset: the offset the next record will get. */
  high: string;
}

/** topic → partition (as a string key, JSON-style) → end offset. */
export type EndOffsetMap = Record<string, Record<string, string>>;

export function highsOf(offsets: Record<string, PartitionOffsets[]>): EndOffsetMap {
  const out: EndOffsetMap = {};
  for (const topic of Object.keys(offsets).sort()) {
    out[topic] = Object.fromEntries(
      [...offsets[topic]!].sort((a, b) => a.partition - b.partition).map((p) => [String(p.partition), p.high]),
    );
  }
  return out;
}

/** Sorted `topic-partition=high` lines: the canonical form both the digest and the diff use. */
function canonicalEntries(highs: EndOffsetMap): Array<[string, string]> {
  const entries: Array<[string, string]> = [];
  for (const [topic, parts] of Object.entries(highs)) {
    for (const [partition, high] of Object.entries(parts)) entries.push([`${topic}-${partition}`, high]);
  }
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A short fingerprint of a set of end offsets. Heartbeat details carry it instead of
 * the offsets themselves: a few thousand partitions would make every heartbeat large,
 * and "did anything move since the last poll" is all a retry needs to know.
 */
export function offsetsDigest(highs: EndOffsetMap): string {
  const h = createHash('sha256');
  for (const [k, v] of canonicalEntries(highs)) h.update(`${k}=${v}\n`);
  return h.digest('hex').slice(0, 16);
}

/** Partitions (`topic-partition`) whose end offset differs, appeared or disappeared between two polls. */
export function changedPartitions(before: EndOffsetMap, after: EndOffsetMap): string[] {
  const a = new Map(canonicalEntries(before));
  const b = new Map(canonicalEntries(after));
  const changed = new Set<string>();
  for (const [k, v] of b) if (a.get(k) !== v) changed.add(k);
  for (const k of a.keys()) if (!b.has(k)) changed.add(k);
  return [...changed].sort();
}

// ---------------------------------------------------------------------------
// Quiet producers
// ---------------------------------------------------------------------------

/** What waitForQuietProducers heartbeats; enough to resume the quiet window after a retry. */
export interface QuietHeartbeat {
  polls: number;
  /** ISO time of the poll that last saw an end offset move (the start of the current quiet window). */
  lastChangeAt: string;
  /** Partitions that moved in the last poll, at most MAX_LISTED_CHANGES of them. */
  changedPartitions: string[];
  /** How many moved in the last poll (changedPartitions may be cut short). */
  changedCount: number;
  partitions: number;
  offsetsDigest: string;
}

export const MAX_LISTED_CHANGES = 20;

/** The note a resumed attempt reports when the offsets moved while no attempt was watching. */
export const MOVED_WHILE_RETRYING = 'moved since the previous attempt (which partitions is not known)';

export interface QuietWindow {
  polls: number;
  lastChangeAtMs: number;
  digest: string;
  partitions: number;
  /** Null right after a resume: the previous attempt left only the digest. */
  highs: EndOffsetMap | null;
  changed: string[];
}

/**
 * Feeds one poll into the quiet window. The first poll of a fresh wait starts the
 * window (when the producers last wrote before we looked is unknown, so the wait is
 * at least the full quiet period). Any moved partition restarts it; so does a change
 * seen only as a different digest after a resume.
 */
export function observeOffsets(window: QuietWindow | undefined, highs: EndOffsetMap, nowMs: number): QuietWindow {
  const digest = offsetsDigest(highs);
  const partitions = canonicalEntries(highs).length;
  if (!window) return { polls: 1, lastChangeAtMs: nowMs, digest, partitions, highs, changed: [] };
  let changed: string[];
  if (window.highs) changed = changedPartitions(window.highs, highs);
  else changed = digest === window.digest ? [] : [MOVED_WHILE_RETRYING];
  return {
    polls: window.polls + 1,
    lastChangeAtMs: changed.length > 0 ? nowMs : window.lastChangeAtMs,
    digest,
    partitions,
    highs,
    changed,
  };
}

export function isQuiet(window: QuietWindow, nowMs: number, quietMs: number): boolean {
  return nowMs - window.lastChangeAtMs >= quietMs;
}

export function quietHeartbeat(window: QuietWindow): QuietHeartbeat {
  return {
    polls: window.polls,
    lastChangeAt: new Date(window.lastChangeAtMs).toISOString(),
    changedPartitions: window.changed.slice(0, MAX_LISTED_CHANGES),
    changedCount: window.changed.length,
    partitions: window.partitions,
    offsetsDigest: window.digest,
  };
}

/**
 * The quiet window a previous attempt heartbeated, or undefined to start fresh
 * (first attempt, or details this version cannot read). Resuming keeps the window's
 * start, so a worker crash does not cost another full quiet period when nothing moved.
 */
export function resumeQuietWindow(details: unknown): QuietWindow | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const d = details as Partial<QuietHeartbeat>;
  const at = typeof d.lastChangeAt === 'string' ? Date.parse(d.lastChangeAt) : NaN;
  if (!Number.isFinite(at) || typeof d.offsetsDigest !== 'string' || typeof d.polls !== 'number') return undefined;
  return {
    polls: d.polls,
    lastChangeAtMs: at,
    digest: d.offsetsDigest,
    partitions: typeof d.partitions === 'number' ? d.partitions : 0,
    highs: null,
    changed: [],
  };
}

// ---------------------------------------------------------------------------
// Admin helpers (I/O; exercised by test/integration/kafka-probes.test.ts)
// ---------------------------------------------------------------------------

interface ErrorChain {
  type?: string;
  cause?: unknown;
}

/** True when `err` or anything in its kafkajs cause chain is a broker error of `type`. */
export function hasKafkaErrorType(err: unknown, type: string): boolean {
  for (let e = err as ErrorChain | undefined, depth = 0; e && depth < 10; e = e.cause as ErrorChain | undefined, depth++) {
    if (e.type === type) return true;
  }
  return false;
}

/**
 * Brokers, controller and every partition. The kafkajs admin API comes first; but
 * kafkajs rejects a whole Metadata response when any one partition has no leader
 * (tulios/kafkajs#1460), so on exactly the degraded cluster this probe exists for,
 * describeCluster and fetchTopicMetadata fail with LEADER_NOT_AVAILABLE. Then the
 * same Metadata request is read without that check (readRawMetadata).
 */
export async function readClusterSnapshot(admin: Admin, kafka: Kafka): Promise<ClusterSnapshot> {
  try {
    const cluster = await admin.describeCluster();
    // No topic list: one Metadata request for all topics, internal ones included, so a
    // topic deleted between "list" and "describe" cannot fail the probe.
    const { topics } = await admin.fetchTopicMetadata();
    return {
      brokerIds: cluster.brokers.map((b) => b.nodeId),
      controllerId: cluster.controller,
      partitions: topics.flatMap((t) =>
        t.partitions.map((p) => ({ topic: t.name, partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr })),
      ),
      source: 'admin',
    };
  } catch (err) {
    if (!hasKafkaErrorType(err, 'LEADER_NOT_AVAILABLE')) throw err;
    return readRawMetadata(kafka);
  }
}

/** The slice of kafkajs 2.2.x internals readRawMetadata touches. */
interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  brokerPool: {
    seedBroker: {
      lookupRequest(
        apiKey: number,
        definition: unknown,
      ): (args: { topics: string[]; allowAutoTopicCreation: boolean }) => {
        request: unknown;
        response: { decode(raw: Buffer): Promise<unknown> };
      };
      connectionPool: { send(request: unknown): Promise<unknown> };
    };
  };
}

interface RawMetadataResponse {
  brokers: Array<{ nodeId: number }>;
  controllerId: number | null;
  topicMetadata: Array<{
    topicErrorCode: number;
    topic: string;
    partitionMetadata: Array<{ partitionErrorCode: number; partitionId: number; leader: number; replicas: number[]; isr: number[] }>;
  }>;
}

/**
 * One Metadata request (all topics) through kafkajs's own connection, TLS and SASL,
 * decoded without kafkajs's "any partition error fails everything" step. Uses
 * kafkajs 2.2.x internals (the client's private cluster factory, the request table);
 * the integration test pins it against the admin API on a healthy cluster, so a
 * kafkajs upgrade that moves them fails a test rather than a failback.
 */
export async function readRawMetadata(kafka: Kafka): Promise<ClusterSnapshot> {
  const factory = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  if (!factory) {
    throw new Error('cannot read metadata of a degraded cluster: this kafkajs version lacks the internals kafka-dr expects (2.2.x)');
  }
  const createCluster = (kafka as unknown as Record<symbol, (options: object) => InternalCluster>)[factory]!;
  /* eslint-disable @typescript-eslint/no-require-imports -- kafkajs publishes no types or exports for its protocol tables */
  const { requests } = require('kafkajs/src/protocol/requests') as { requests: { Metadata: unknown } };
  const apiKeys = require('kafkajs/src/protocol/requests/apiKeys') as { Metadata: number };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const cluster = createCluster({ allowAutoTopicCreation: false });
  await cluster.connect();
  try {
    const broker = cluster.brokerPool.seedBroker;
    // topics [] is sent as null: "all topics".
    const { request, response } = broker.lookupRequest(apiKeys.Metadata, requests.Metadata)({ topics: [], allowAutoTopicCreation: false });
    const data = (await broker.connectionPool.send({
      request,
      response: { decode: (raw: Buffer) => response.decode(raw), parse: (decoded: unknown) => Promise.resolve(decoded) },
    })) as RawMetadataResponse;
    return {
      brokerIds: data.brokers.map((b) => b.nodeId),
      controllerId: data.controllerId,
      partitions: data.topicMetadata
        // A topic-level error (e.g. being deleted right now) leaves no partitions to judge.
        .filter((t) => t.topicErrorCode === 0)
        .flatMap((t) =>
          t.partitionMetadata.map((p) => ({
            topic: t.topic,
            partition: p.partitionId,
            leader: p.leader,
            replicas: p.replicas,
            isr: p.isr,
          })),
        ),
      source: 'raw-metadata',
    };
  } finally {
    await cluster.disconnect().catch(() => undefined);
  }
}

/**
 * Partition metadata of the topics that exist, and the names of those that do not.
 * One request for the lot; only when some topic is unknown, one request per topic
 * to tell which (kafkajs fails the whole request on one unknown topic).
 */
export async function topicMetadataOrMissing(
  admin: Admin,
  topics: string[],
): Promise<{ found: Map<string, Array<{ partitionId: number; replicas: number[] }>>; missing: string[] }> {
  const found = new Map<string, Array<{ partitionId: number; replicas: number[] }>>();
  const missing: string[] = [];
  try {
    const md = await admin.fetchTopicMetadata({ topics });
    for (const t of md.topics) found.set(t.name, t.partitions);
  } catch (err) {
    if (!hasKafkaErrorType(err, 'UNKNOWN_TOPIC_OR_PARTITION')) throw err;
    for (const topic of topics) {
      try {
        const md = await admin.fetchTopicMetadata({ topics: [topic] });
        for (const t of md.topics) found.set(t.name, t.partitions);
      } catch (e) {
        if (!hasKafkaErrorType(e, 'UNKNOWN_TOPIC_OR_PARTITION')) throw e;
        missing.push(topic);
      }
    }
  }
  for (const topic of topics) if (!found.has(topic) && !missing.includes(topic)) missing.push(topic);
  return { found, missing };
}

export async function describeTopicsWith(admin: Admin, topics: string[]): Promise<Record<string, TopicDescription>> {
  const { found, missing } = await topicMetadataOrMissing(admin, topics);
  const existing = topics.filter((t) => found.has(t));
  const configs = new Map<string, Array<{ configName: string; configValue: string | null }>>();
  if (existing.length > 0) {
    const res = await admin.describeConfigs({
      resources: existing.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: [...TOPIC_CONFIG_NAMES] })),
      includeSynonyms: false,
    });
    for (const r of res.resources) configs.set(r.resourceName, r.configEntries);
  }
  const out: Record<string, TopicDescription> = {};
  for (const topic of topics) {
    out[topic] = missing.includes(topic)
      ? { topic, exists: false }
      : describeTopic(topic, found.get(topic) ?? [], configs.get(topic) ?? []);
  }
  return out;
}

/** Low and end offsets per partition of the topics that exist; the others by name. */
export async function fetchEndOffsets(
  admin: Admin,
  topics: string[],
): Promise<{ offsets: Record<string, PartitionOffsets[]>; missingTopics: string[] }> {
  const { found, missing } = await topicMetadataOrMissing(admin, topics);
  const existing = topics.filter((t) => found.has(t));
  const fetched = await Promise.all(existing.map(async (topic) => [topic, await admin.fetchTopicOffsets(topic)] as const));
  const offsets: Record<string, PartitionOffsets[]> = {};
  for (const [topic, parts] of fetched) {
    offsets[topic] = parts.map((p) => ({ partition: p.partition, low: p.low, high: p.high })).sort((a, b) => a.partition - b.partition);
  }
  return { offsets, missingTopics: missing };
}
