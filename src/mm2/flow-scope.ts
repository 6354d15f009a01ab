import {
  compileTopicPatterns,
  DEFAULT_SEPARATOR,
  MM2_TOPICS_EXCLUDE_DEFAULT,
  parseConnectList,
  policyTypeOfClass,
  replicationPolicy,
  topicScope,
  type PolicyType,
} from './policy';

/**
 * What a running MM2 flow mirrors, read from its connectors' configs instead of taken on
 * the operator's word: the replication policy and separator (so mirror names are MM2's),
 * the set of source topics its MirrorSourceConnectors select, and the checkpoint
 * connector's groups allowlist. A playbook input that disagrees with it is refused,
 * naming the field: a failover told `policy: default` for an Identity flow would snapshot
 * and translate topics that do not exist, and a topic the input forgets is stopped with
 * the flow but neither drained nor translated.
 *
 * Pure: the activity (describeFlow) reads the configs and the source's topic list.
 */

/** The config keys kafka-dr reads (never the whole config: it holds client credentials). */
export const FLOW_CONFIG_KEYS = [
  'connector.class',
  'source.cluster.alias',
  'target.cluster.alias',
  'topics',
  'topics.exclude',
  'groups',
  'groups.exclude',
  'groups.blacklist',
  'replication.policy.class',
  'replication.policy.separator',
  'replication.policy.internal.topic.separator.enabled',
] as const;

/** One forward connector's config (only FLOW_CONFIG_KEYS), or null when Connect does not know it. */
export interface FlowConnectorConfig {
  name: string;
  config: Partial<Record<(typeof FLOW_CONFIG_KEYS)[number], string>> | null;
}

/** MM2's `groups.exclude` default (MirrorCheckpointConfig in 4.1). */
export const MM2_GROUPS_EXCLUDE_DEFAULT = ['console-consumer-.*', 'connect-.*', '__.*'];

export interface FlowScope {
  /** Policy and separator every connector of the flow uses (undefined when they disagree or a class is not modelled). */
  policy: PolicyType | undefined;
  separator: string;
  sourceAlias: string | undefined;
  targetAlias: string | undefined;
  /** The MirrorSourceConnectors' `topics` and `topics.exclude`, as configured. */
  topicPatterns: string[];
  topicExcludes: string[];
  /** The checkpoint connector's `groups` and `groups.exclude` (null: no checkpoint connector among them). */
  groupPatterns: string[] | null;
  groupExcludes: string[] | null;
  /** Of the listed source topics (null when none were listed), those the flow mirrors, sorted. */
  mirroredTopics: string[] | null;
  /** Mirror name on the target per mirrored topic. */
  mirrors: Record<string, string>;
  /** Why the flow cannot be read as one flow (missing connector, policies that disagree): each names its field. */
  problems: Refusal[];
}

/** An input field that disagrees with the flow, and what to do. */
export interface Refusal {
  /** The input field, dot separated (`policy`, `topics`, `forward.connectors`). */
  field: string;
  message: string;
}

/** `field: message`, the form blockers and refusals take (the CLI maps the field to its flag). */
export const formatRefusal = (r: Refusal) => `${r.field}: ${r.message}`;

const isSource = (c: FlowConnectorConfig) => (c.config?.['connector.class'] ?? '').endsWith('MirrorSourceConnector');
const isCheckpoint = (c: FlowConnectorConfig) => (c.config?.['connector.class'] ?? '').endsWith('MirrorCheckpointConnector');
const quoted = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(', ');

/**
 * The flow's scope from its connectors' configs. `sourceTopics`: the topic names on the
 * source cluster (undefined: not listed, e.g. the source is down; then `mirroredTopics` is null).
 */
export function deriveFlowScope(args: {
  connectors: readonly FlowConnectorConfig[];
  sourceConnectors: readonly string[];
  sourceTopics?: readonly string[];
  /** The input field naming the connectors (`forward.connectors`, `sourceConnector`). */
  connectorsField?: string;
}): FlowScope {
  const field = args.connectorsField ?? 'forward.connectors';
  const problems: Refusal[] = [];
  const missing = args.connectors.filter((c) => c.config === null).map((c) => c.name);
  if (missing.length > 0) {
    problems.push({
      field,
      message: `${quoted(missing)} not found on the Connect cluster: name the flow's connectors as Connect lists them`,
    });
  }
  const present = args.connectors.filter((c) => c.config !== null);
  const sources = present.filter((c) => args.sourceConnectors.includes(c.name));
  const notSource = sources.filter((c) => !isSource(c)).map((c) => c.name);
  if (notSource.length > 0) {
    problems.push({
      field,
      message: `${quoted(notSource)} ${notSource.length === 1 ? 'is' : 'are'} not a MirrorSourceConnector: list only the flow's MirrorSourceConnectors as its source connectors`,
    });
  }

  // Policy and separator: every connector of the flow must agree (MM2 names topics with each).
  const policies = new Map<string, string[]>();
  const separators = new Map<string, string[]>();
  for (const c of present) {
    const cls = c.config!['replication.policy.class'];
    const type = policyTypeOfClass(cls);
    const key = type ?? `unknown class ${cls}`;
    policies.set(key, [...(policies.get(key) ?? []), c.name]);
    const sep = c.config!['replication.policy.separator'] || DEFAULT_SEPARATOR;
    separators.set(sep, [...(separators.get(sep) ?? []), c.name]);
  }
  let policy: PolicyType | undefined;
  if (policies.size > 1) {
    problems.push({
      field,
      message: `the flow's connectors disagree on replication.policy.class (${[...policies].map(([p, n]) => `${p}: ${n.join(', ')}`).join('; ')}): redeploy the flow with one policy`,
    });
  } else if (policies.size === 1) {
    const [only] = policies.keys();
    if (only === 'default' || only === 'identity') policy = only;
    else
      problems.push({
        field,
        message: `the flow uses replication.policy.${only!}, which kafka-dr does not model (only Default and Identity)`,
      });
  }
  let separator = DEFAULT_SEPARATOR;
  if (separators.size > 1) {
    problems.push({
      field,
      message: `the flow's connectors disagree on replication.policy.separator (${[...separators].map(([s, n]) => `'${s}': ${n.join(', ')}`).join('; ')}): redeploy the flow with one separator`,
    });
  } else if (separators.size === 1) {
    separator = [...separators.keys()][0]!;
  }

  const first = sources[0] ?? present[0];
  const sourceAlias = first?.config?.['source.cluster.alias'];
  const targetAlias = first?.config?.['target.cluster.alias'];
  const topicPatterns = [...new Set(sources.flatMap((c) => parseConnectList(c.config!.topics ?? '.*')))];
  const topicExcludes = [
    ...new Set(
      sources.flatMap((c) =>
        c.config!['topics.exclude'] === undefined ? MM2_TOPICS_EXCLUDE_DEFAULT : parseConnectList(c.config!['topics.exclude']),
      ),
    ),
  ];
  const checkpoint = present.find(isCheckpoint);
  const groupPatterns = checkpoint ? parseConnectList(checkpoint.config!.groups ?? '.*') : null;
  // `groups.blacklist` is the pre-3.0 name of `groups.exclude`.
  const excludeValue = checkpoint ? (checkpoint.config!['groups.exclude'] ?? checkpoint.config!['groups.blacklist']) : undefined;
  const groupExcludes = checkpoint ? (excludeValue === undefined ? MM2_GROUPS_EXCLUDE_DEFAULT : parseConnectList(excludeValue)) : null;

  let mirroredTopics: string[] | null = null;
  const mirrors: Record<string, string> = {};
  if (args.sourceTopics && policy && sources.length > 0) {
    const selects = sourceSelectors(sources, policy, separator);
    const internalSep = first?.config?.['replication.policy.internal.topic.separator.enabled'] !== 'false';
    const names = replicationPolicy({ type: policy, separator, internalTopicSeparator: internalSep }, sourceAlias);
    mirroredTopics = [...args.sourceTopics].filter((t) => selects.some((s) => s(t))).sort();
    for (const t of mirroredTopics) mirrors[t] = names.formatRemoteTopic(sourceAlias ?? '', t);
  }
  return {
    policy,
    separator,
    sourceAlias,
    targetAlias,
    topicPatterns,
    topicExcludes,
    groupPatterns,
    groupExcludes,
    mirroredTopics,
    mirrors,
    problems,
  };
}

/** One matcher per MirrorSourceConnector: each selects with its own allowlist (MM2's shouldReplicateTopic). */
function sourceSelectors(sources: readonly FlowConnectorConfig[], policy: PolicyType, separator: string): Array<(t: string) => boolean> {
  return sources.map((c) => {
    const cfg = c.config!;
    const p = replicationPolicy({ type: policy, separator }, cfg['source.cluster.alias']);
    try {
      return topicScope(
        p,
        {
          include: parseConnectList(cfg.topics ?? '.*'),
          exclude: cfg['topics.exclude'] === undefined ? MM2_TOPICS_EXCLUDE_DEFAULT : parseConnectList(cfg['topics.exclude']),
        },
        cfg['target.cluster.alias'] ?? '',
      );
    } catch {
      // A Java regex JavaScript cannot compile: select nothing here; the topic check then names the topics.
      return () => false;
    }
  });
}

/** A group name without regex characters: the only kind the allowlist check can judge. */
export const LITERAL_GROUP = /^[A-Za-z0-9._-]+$/;

/**
 * Why a MirrorCheckpointConnector with these `groups` / `groups.exclude` never checkpoints
 * `group`, or undefined when it does. MM2's rule: whole-name regexes, included and not
 * excluded. An entry JavaScript cannot compile (Java-only syntax) makes it undefined: the
 * check cannot tell, and a wrong refusal would block a good run. The one place this is
 * judged: check-scope (checkFlowScope) and, for runs from before it, checkGroupsInFlow.
 */
export function groupNotCheckpointed(group: string, include: readonly string[], exclude: readonly string[]): string | undefined {
  const included = compileTopicPatterns(include);
  const excluded = compileTopicPatterns(exclude);
  if (!included || !excluded) return undefined;
  if (!included(group)) return `not in its groups allowlist (groups=${include.join(', ')})`;
  if (excluded(group)) return `excluded by groups.exclude=${exclude.join(', ')}`;
  return undefined;
}

/** What a playbook input says about the flow (field names as in that input). */
export interface ScopeClaim {
  source: string;
  target: string;
  policy: PolicyType;
  /** The input's separator (undefined: MM2's default '.'). */
  separator?: string | undefined;
  topics: readonly string[];
  /** Mirrored topics deliberately left out of this run. */
  excludeTopics?: readonly string[] | undefined;
  groups?: readonly string[] | undefined;
  fields?: { source?: string; target?: string; topics?: string; excludeTopics?: string; separator?: string };
}

/**
 * Every way `claim` disagrees with `scope`, each naming the input field and what to do.
 * Empty: the input describes the flow. Topics are checked against the connectors'
 * allowlists (a topic missing on the source is another check's business); a mirrored
 * topic left out is found only when the source's topics were listed.
 */
export function checkFlowScope(claim: ScopeClaim, scope: FlowScope): Refusal[] {
  const f = {
    source: 'source',
    target: 'target',
    topics: 'topics',
    excludeTopics: 'excludeTopics',
    separator: 'separator',
    ...claim.fields,
  };
  const out: Refusal[] = [...scope.problems];
  if (scope.sourceAlias !== undefined && scope.sourceAlias !== claim.source) {
    out.push({
      field: f.source,
      message: `is '${claim.source}' but the flow's connectors replicate from '${scope.sourceAlias}' (source.cluster.alias): name the flow of this pair`,
    });
  }
  if (scope.targetAlias !== undefined && scope.targetAlias !== claim.target) {
    out.push({
      field: f.target,
      message: `is '${claim.target}' but the flow's connectors replicate to '${scope.targetAlias}' (target.cluster.alias): name the flow of this pair`,
    });
  }
  if (scope.policy !== undefined && scope.policy !== claim.policy) {
    out.push({
      field: 'policy',
      message:
        `is '${claim.policy}' but the flow uses the ${scope.policy === 'identity' ? 'IdentityReplicationPolicy' : 'DefaultReplicationPolicy'} ` +
        `(replication.policy.class): set policy to '${scope.policy}' (mirror names follow the policy)`,
    });
  }
  const claimedSep = claim.separator ?? DEFAULT_SEPARATOR;
  if (scope.policy === 'default' && claimedSep !== scope.separator) {
    out.push({
      field: f.separator,
      message: `is '${claimedSep}' but the flow's replication.policy.separator is '${scope.separator}': set separator to '${scope.separator}' (mirrors are named ${scope.sourceAlias ?? claim.source}${scope.separator}<topic>)`,
    });
  }
  // The groups allowlist does not depend on the policy: judged even when the rest cannot be.
  if (claim.groups && scope.groupPatterns && scope.groupExcludes) {
    const { groupPatterns, groupExcludes } = scope;
    // Only literal names can be checked: a regex in the input may match groups the allowlist has.
    const unchecked = claim.groups.filter(
      (g) => LITERAL_GROUP.test(g) && groupNotCheckpointed(g, groupPatterns, groupExcludes) !== undefined,
    );
    if (unchecked.length > 0) {
      out.push({
        field: 'groups',
        message:
          `${quoted(unchecked)} ${unchecked.length === 1 ? 'is' : 'are'} not checkpointed by the flow (groups=${scope.groupPatterns.join(',')}; groups.exclude=${scope.groupExcludes.join(',')}): ` +
          `no offsets can be translated for ${unchecked.length === 1 ? 'it' : 'them'}; remove ${unchecked.length === 1 ? 'it' : 'them'} or add ${unchecked.length === 1 ? 'it' : 'them'} to the flow's groups`,
      });
    }
  }
  if (scope.policy === undefined || scope.problems.length > 0) return out;

  const policy = replicationPolicy({ type: scope.policy, separator: scope.separator }, scope.sourceAlias ?? claim.source);
  let selects: (t: string) => boolean;
  try {
    selects = topicScope(policy, { include: scope.topicPatterns, exclude: scope.topicExcludes }, scope.targetAlias ?? claim.target);
  } catch {
    selects = () => false;
  }
  const outside = claim.topics.filter((t) => !selects(t));
  if (outside.length > 0) {
    out.push({
      field: f.topics,
      message:
        `${quoted(outside)} ${outside.length === 1 ? 'is' : 'are'} not mirrored by the flow (topics=${scope.topicPatterns.join(',')}; topics.exclude=${scope.topicExcludes.join(',')}): ` +
        `remove ${outside.length === 1 ? 'it' : 'them'} from topics, or add ${outside.length === 1 ? 'it' : 'them'} to the flow first`,
    });
  }
  const excluded = claim.excludeTopics ?? [];
  const notInFlow = excluded.filter((t) => !selects(t));
  if (notInFlow.length > 0) {
    out.push({
      field: f.excludeTopics,
      message: `${quoted(notInFlow)} ${notInFlow.length === 1 ? 'is' : 'are'} not mirrored by the flow: nothing to exclude, remove ${notInFlow.length === 1 ? 'it' : 'them'}`,
    });
  }
  if (scope.mirroredTopics) {
    const named = new Set([...claim.topics, ...excluded]);
    const left = scope.mirroredTopics.filter((t) => !named.has(t));
    if (left.length > 0) {
      out.push({
        field: f.topics,
        message:
          `the flow also mirrors ${quoted(left)}: the playbook stops the whole flow, so a topic left out would be neither drained nor translated; ` +
          `add ${left.length === 1 ? 'it' : 'them'} to topics, or to ${f.excludeTopics} to leave ${left.length === 1 ? 'it' : 'them'} out on purpose`,
      });
    }
  }
  return out;
}
