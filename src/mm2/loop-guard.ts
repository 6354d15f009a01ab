import type { ConnectorConfig } from '../connect/client';
import type { ReplicationPlan } from '../model/replication-plan';
import type { MirrorFlow } from './connector-configs';
import {
  KAFKA_DR_TOPICS_EXCLUDE,
  MM2_TOPICS_EXCLUDE_DEFAULT,
  parseConnectList,
  policyTypeOfClass,
  replicationPolicy,
  topicScope,
  type PolicySpec,
} from './policy';

/**
 * The loop guard. IdentityReplicationPolicy keeps topic names, so MM2 cannot tell a
 * record that came from the other cluster from a local one: with A→B and B→A both
 * active for the same topics, every record is copied back and forth without end (and
 * with mixed policies, topic names can grow without end: A.orders, A.A.orders, ...).
 * Before a flow is deployed, kafka-dr simulates what both flows would do to the topics
 * that exist on the two clusters (and to the literal names in the allowlists, for
 * topics not created yet) and refuses when records would come back and go out again.
 * It also refuses a second, different connector copying the same topics in the same
 * direction (every record written twice).
 *
 * Pure: the activity gathers connector configs, states and topic names.
 */

/** What a flow replicates, as MM2 sees it. */
export interface FlowSpec {
  source: string;
  target: string;
  policy: PolicySpec;
  /** `topics` entries (regexes). */
  include: string[];
  /** `topics.exclude` entries; MM2's default when absent. */
  exclude?: string[];
}

/** A MirrorSourceConnector found on a Connect cluster. */
export interface FoundSourceConnector {
  connect: string;
  name: string;
  /** Connector state; UNKNOWN when the status could not be read (counted as active). */
  state: string;
  flow: FlowSpec;
  /** A policy class kafka-dr does not model; it is assumed unable to detect cycles. */
  unknownPolicyClass?: string;
}

export interface NewFlow extends FlowSpec {
  /** Flow name, for messages. */
  name: string;
  /** Connect cluster the flow is deployed to. */
  connect: string;
  /** The flow's own connector names there: redeploying a flow is not a conflict with itself. */
  connectors: string[];
}

export interface LoopGuardInput {
  flow: NewFlow;
  found: FoundSourceConnector[];
  /** Topic names per cluster alias (at least the flow's source and target). */
  topics: Record<string, string[]>;
  /** Kafka cluster ID per alias, where known: two aliases of one cluster are one cluster. */
  clusterIds?: Record<string, string>;
}

export interface FlowConflict {
  kind: 'loop' | 'double-replication';
  connect: string;
  connector: string;
  state: string;
  /** Topics (on either cluster) both flows would replicate. */
  topics: string[];
  /** Allowlist entries both flows list verbatim (covers topics that do not exist yet). */
  entries: string[];
  /** Why the overlap could not be computed, when it could not (refused to be safe). */
  unevaluable?: string;
  /** The reverse connector names the same two clusters with other aliases (`B→A`): MM2 cannot see the cycle. */
  otherAliases?: string;
}

export type LoopGuardResult =
  { ok: true; checked: number } | { ok: false; kind: 'loop' | 'double-replication'; message: string; conflicts: FlowConflict[] };

const SOURCE_CLASS = 'org.apache.kafka.connect.mirror.MirrorSourceConnector';
const LITERAL = /^[A-Za-z0-9._-]+$/;
// Hops a record may make (S→T, T→S) before the guard calls it a loop: a bounce back into
// a topic the forward flow does not read is duplication, not a loop; going out a second
// time is.
const LOOP_HOPS = 3;

/** Reads a connector config; undefined when it is not a MirrorSourceConnector. */
export function sourceConnectorFromConfig(
  connect: string,
  name: string,
  config: ConnectorConfig,
  state: string,
): FoundSourceConnector | undefined {
  if (config['connector.class'] !== SOURCE_CLASS && config['connector.class'] !== 'MirrorSourceConnector') return undefined;
  const policyClass = config['replication.policy.class'];
  const type = policyTypeOfClass(policyClass);
  const include = parseConnectList(config.topics ?? '.*');
  const exclude = config['topics.exclude'] ?? config['topics.blacklist'];
  return {
    connect,
    name,
    state,
    flow: {
      source: config['source.cluster.alias'] ?? 'source',
      target: config['target.cluster.alias'] ?? 'target',
      // An unknown class is treated like Identity: nothing says it detects cycles.
      policy: { type: type ?? 'identity', separator: config['replication.policy.separator'] || undefined },
      include,
      exclude: exclude === undefined ? undefined : parseConnectList(exclude),
    },
    unknownPolicyClass: type === undefined ? policyClass : undefined,
  };
}

export function flowSpecFromPlan(plan: ReplicationPlan): FlowSpec {
  return {
    source: plan.source,
    target: plan.target,
    policy: { type: plan.policy.type, separator: plan.policy.separator },
    include: [...new Set(plan.topicGroups.flatMap((g) => g.topics))],
    exclude: [...KAFKA_DR_TOPICS_EXCLUDE],
  };
}

export function flowSpecFromMirrorFlow(flow: MirrorFlow): FlowSpec {
  return {
    source: flow.source.alias,
    target: flow.target.alias,
    policy: { type: flow.policy },
    include: [...flow.topics],
    exclude: [...MM2_TOPICS_EXCLUDE_DEFAULT],
  };
}

interface Hop {
  /** Does this flow copy `topic` (a name on its source cluster)? */
  reads(topic: string): boolean;
  /** The name it writes `topic` to on its target. */
  writes(topic: string): string;
}

function hopOf(flow: FlowSpec): Hop {
  const policy = replicationPolicy(flow.policy, flow.source);
  const scope = topicScope(policy, { include: flow.include, exclude: flow.exclude ?? MM2_TOPICS_EXCLUDE_DEFAULT }, flow.target);
  return { reads: scope, writes: (t) => policy.formatRemoteTopic(flow.source, t) };
}

const literals = (entries: string[]) => entries.filter((e) => LITERAL.test(e));

/**
 * Topics whose records would cross LOOP_HOPS times between the flow (S→T) and its
 * reverse (T→S). Starts from every topic on either cluster and every literal allowlist
 * entry (a topic that may be created later).
 */
function loopingTopics(forward: FlowSpec, reverse: FlowSpec, topics: Record<string, string[]>): string[] {
  const f = hopOf(forward);
  const r = hopOf(reverse);
  const names = [...literals(forward.include), ...literals(reverse.include)];
  const starts: Array<{ onSource: boolean; topic: string }> = [
    ...[...(topics[forward.source] ?? []), ...names].map((topic) => ({ onSource: true, topic })),
    ...[...(topics[forward.target] ?? []), ...names].map((topic) => ({ onSource: false, topic })),
  ];
  const found = new Set<string>();
  for (const start of starts) {
    let { onSource, topic } = start;
    let hops = 0;
    while (hops < LOOP_HOPS) {
      const hop = onSource ? f : r;
      if (!hop.reads(topic)) break;
      topic = hop.writes(topic);
      onSource = !onSource;
      hops++;
    }
    if (hops >= LOOP_HOPS) found.add(start.topic);
  }
  return [...found].sort();
}

/** Topics both flows (same direction) would copy. */
function sharedTopics(a: FlowSpec, b: FlowSpec, topics: Record<string, string[]>): string[] {
  const ha = hopOf(a);
  const hb = hopOf(b);
  const candidates = new Set([...(topics[a.source] ?? []), ...literals(a.include), ...literals(b.include)]);
  return [...candidates].filter((t) => ha.reads(t) && hb.reads(t)).sort();
}

const usesIdentity = (c: FoundSourceConnector, flow: FlowSpec) => c.flow.policy.type === 'identity' || flow.policy.type === 'identity';

function list(names: string[], max = 20): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

function policyName(c: FoundSourceConnector): string {
  if (c.unknownPolicyClass) return `${c.unknownPolicyClass} (not known to detect cycles)`;
  return c.flow.policy.type === 'identity' ? 'IdentityReplicationPolicy' : 'DefaultReplicationPolicy';
}

/**
 * Refuses the new flow when a reverse flow that is not STOPPED would make records loop
 * (see loopingTopics), or when another connector not STOPPED already copies the same
 * topics in the same direction. The message names the topics and the connectors.
 */
export function checkReplicationLoop(input: LoopGuardInput): LoopGuardResult {
  const { flow, found, topics } = input;
  const cluster = (alias: string) => input.clusterIds?.[alias] ?? `alias ${alias}`;
  const own = new Set(flow.connectors.map((n) => `${flow.connect}/${n}`));
  const loops: FlowConflict[] = [];
  const doubles: FlowConflict[] = [];
  let checked = 0;
  for (const c of found) {
    if (own.has(`${c.connect}/${c.name}`)) continue;
    // STOPPED: no tasks, and it cannot start again without an explicit resume. PAUSED,
    // FAILED, UNASSIGNED count as active: they can run again at any moment.
    if (c.state === 'STOPPED') continue;
    const reverse = cluster(c.flow.source) === cluster(flow.target) && cluster(c.flow.target) === cluster(flow.source);
    const same = cluster(c.flow.source) === cluster(flow.source) && cluster(c.flow.target) === cluster(flow.target);
    if (!reverse && !same) continue;
    checked++;
    if (reverse && (c.flow.source !== flow.target || c.flow.target !== flow.source)) {
      // MM2 tells a record that came back by the alias in its topic name: under other names
      // heartbeats (always replicated) and, under Default, every topic cross without end.
      const otherAliases = `${c.flow.source}→${c.flow.target}`;
      loops.push({ kind: 'loop', connect: c.connect, connector: c.name, state: c.state, topics: [], entries: [], otherAliases });
      continue;
    }
    const identical = c.flow.include.filter((e) => flow.include.includes(e));
    let overlap: string[];
    try {
      overlap = reverse ? loopingTopics(flow, c.flow, topics) : sharedTopics(flow, c.flow, topics);
    } catch (err) {
      const conflict: FlowConflict = {
        kind: reverse ? 'loop' : 'double-replication',
        connect: c.connect,
        connector: c.name,
        state: c.state,
        topics: [],
        entries: identical,
        unevaluable: err instanceof Error ? err.message : String(err),
      };
      // Cannot tell: refuse a possible loop; a possible double replication is let through.
      if (reverse && usesIdentity(c, flow)) loops.push(conflict);
      continue;
    }
    if (reverse) {
      // Identical entries mean a loop for any future topic only when both keep names.
      const entries = c.flow.policy.type === 'identity' && flow.policy.type === 'identity' ? identical : [];
      if (overlap.length > 0 || entries.length > 0) {
        loops.push({ kind: 'loop', connect: c.connect, connector: c.name, state: c.state, topics: overlap, entries });
      }
    } else if (overlap.length > 0 || identical.length > 0) {
      doubles.push({
        kind: 'double-replication',
        connect: c.connect,
        connector: c.name,
        state: c.state,
        topics: overlap,
        entries: identical,
      });
    }
  }
  const arrow = `${flow.source}→${flow.target}`;
  const ownPolicy = flow.policy.type === 'identity' ? 'IdentityReplicationPolicy' : 'DefaultReplicationPolicy';
  if (loops.length > 0) {
    const parts = loops.map((c) => {
      const conn = found.find((f) => f.connect === c.connect && f.name === c.connector)!;
      const what = c.otherAliases
        ? `the same two Kafka clusters under other aliases (${c.otherAliases}), so MM2 cannot see the cycle: heartbeats topics ` +
          `(and under DefaultReplicationPolicy every topic) would cross without end, their names growing ` +
          `(${flow.source}.${conn.flow.source}.${flow.source}.heartbeats…); deploy this flow as ${conn.flow.target}→${conn.flow.source}, the aliases the reverse flow uses`
        : c.unevaluable
          ? `its allowlist cannot be evaluated (${c.unevaluable}), so a loop cannot be ruled out`
          : [
              c.topics.length > 0 ? `topics ${list(c.topics)}` : '',
              c.entries.length > 0 ? `allowlist entries ${c.entries.map((e) => `'${e}'`).join(', ')} in both flows` : '',
            ]
              .filter(Boolean)
              .join(' and ');
      return `reverse connector '${c.connector}' on ${c.connect} (${conn.flow.source}→${conn.flow.target}, ${policyName(conn)}, ${c.state}): ${what}`;
    });
    return {
      ok: false,
      kind: 'loop',
      conflicts: loops,
      message:
        `replication loop: flow '${flow.name}' (${arrow}, ${ownPolicy}) would send records back and forth with ${parts.join('; ')}. ` +
        `Stop or delete the reverse connector(s) first (a failback deletes its reverse flow before forward replication resumes), ` +
        `or use DefaultReplicationPolicy on both flows with the same cluster aliases, which lets MM2 detect cycles.`,
    };
  }
  if (doubles.length > 0) {
    const parts = doubles.map(
      (c) =>
        `'${c.connector}' on ${c.connect} (${c.state}) already copies ${[
          c.topics.length > 0 ? `topics ${list(c.topics)}` : '',
          c.entries.length > 0 ? `allowlist entries ${c.entries.map((e) => `'${e}'`).join(', ')}` : '',
        ]
          .filter(Boolean)
          .join(' and ')}`,
    );
    return {
      ok: false,
      kind: 'double-replication',
      conflicts: doubles,
      message:
        `double replication: flow '${flow.name}' (${arrow}) overlaps other ${arrow} connectors: ${parts.join('; ')}. ` +
        `Every record would be written twice. Remove the topics from one of the flows, or delete the other connector ` +
        `(a renamed topic group leaves its old connector behind: remove it).`,
    };
  }
  return { ok: true, checked };
}
