import type { StartablePlaybook } from '../client/playbooks';
import { AUDIT_GATES } from '../model/audit-input';
import { FAILBACK_GATES } from '../model/failback-input';
import { FAILOVER_GATES } from '../model/failover-input';

/**
 * The flags of the playbook verbs and where each lands in the playbook's input. Pure:
 * the input is `--input FILE` (JSON, the same document the Temporal UI takes) with the
 * flags laid over it, then validated by the workflow's own zod schema; an error on a
 * field is reported with the flag that sets it.
 */

export type FlagKind = 'string' | 'list' | 'int' | 'number' | 'true' | 'json-file';
export type FieldPath = ReadonlyArray<string | number>;

export interface FieldFlag {
  /** `--source-connectors` */
  flag: string;
  /** Placeholder in help: `<alias>`. */
  arg?: string;
  kind: FlagKind;
  /** Where the value goes; `*` in a gate flag's path stands for every gate. */
  path: FieldPath;
  help: string;
  choices?: readonly string[];
}

export interface PlaybookVerb {
  /** The CLI verb. */
  verb: 'failover' | 'failback' | 'recreate-topic' | 'audit' | 'deploy';
  playbook: StartablePlaybook;
  summary: string;
  fields: readonly FieldFlag[];
  /** Where gate options live (`--approvers` etc. apply to each). */
  gatePaths: readonly FieldPath[];
  /** Changes clusters when not a dry run: asks for confirmation. */
  destructive: boolean;
  /** The ID is a lock (cutover per pair, recreation per topic): `--id` only for dry runs. */
  idIsLock: boolean;
  /** What a run will change, in one line for the confirmation prompt. */
  describe(input: Record<string, unknown>): string;
  example: string;
}

const list = (v: unknown) => (Array.isArray(v) ? v.map(String).join(', ') : String(v ?? '?'));
const rec = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

/** A flag that takes a value of `kind`: one table row per flag, in the order help lists them. */
const valued =
  (kind: Exclude<FlagKind, 'true'>) =>
  (flag: string, arg: string, path: FieldPath, help: string, choices?: readonly string[]): FieldFlag =>
    choices ? { flag, arg, kind, path, help, choices } : { flag, arg, kind, path, help };
const text = valued('string');
const names = valued('list');
const int = valued('int');
const num = valued('number');
const jsonFile = valued('json-file');
/** A flag without a value that sets `true`. */
const toggle = (flag: string, path: FieldPath, help: string): FieldFlag => ({ flag, kind: 'true', path, help });

/** `--approvers`, `--four-eyes`, `--gate-deadline`, `--escalate-after` for every gate of a playbook. */
export const GATE_FLAGS: readonly FieldFlag[] = [
  names(
    '--approvers',
    '<names>',
    ['*', 'approvers'],
    'who may approve or reject each gate (comma-separated; default: anyone who names themselves)',
  ),
  toggle('--four-eyes', ['*', 'fourEyes'], 'the requester may not approve their own gates'),
  text('--gate-deadline', '<duration>', ['*', 'deadline'], "how long each gate waits before the playbook aborts safely ('2h', '30m')"),
  text('--escalate-after', '<duration>', ['*', 'escalateAfter'], 'when an open gate calls its notification hook'),
];

const REQUESTED_BY = text(
  '--requested-by',
  '<name>',
  ['requestedBy'],
  'who asks for the run (four-eyes compares approvers against it; default: $KDR_OPERATOR or your login name)',
);
const POLICY = (path: FieldPath) =>
  text('--policy', '<policy>', path, "the flow's replication policy (default: default, mirrors named <source>.<topic>)", [
    'default',
    'identity',
  ]);
const SEPARATOR = text('--separator', '<sep>', ['separator'], "the flow's replication.policy.separator (Default policy; default .)");
const EXCLUDE_TOPICS = names(
  '--exclude-topics',
  '<names>',
  ['excludeTopics'],
  'topics the flow mirrors that this run leaves out on purpose (otherwise every mirrored topic must be in --topics)',
);

export const PLAYBOOK_VERBS: readonly PlaybookVerb[] = [
  {
    verb: 'failover',
    playbook: 'failover',
    summary: 'fail over source → target (planned: drain to 0; unplanned: source down, RPO estimated)',
    fields: [
      text('--source', '<alias>', ['source'], 'the cluster failing over (A)'),
      text('--target', '<alias>', ['target'], 'the DR cluster taking over (B)'),
      text('--mode', '<mode>', ['mode'], 'planned (source healthy, zero loss) or unplanned', ['planned', 'unplanned']),
      text('--connect', '<name>', ['forward', 'connect'], 'Connect cluster running the forward flow (e.g. connect-b)'),
      names('--connectors', '<names>', ['forward', 'connectors'], 'every forward connector to stop (comma-separated)'),
      names('--source-connectors', '<names>', ['forward', 'sourceConnectors'], 'the MirrorSourceConnectors among them'),
      names('--topics', '<names>', ['topics'], 'source topic names'),
      names('--groups', '<names>', ['groups'], 'consumer groups to move (names or regexes)'),
      POLICY(['policy']),
      SEPARATOR,
      EXCLUDE_TOPICS,
      int('--lag-threshold', '<records>', ['lagThreshold'], 'planned: largest forward lag at which it may start'),
      num('--quiet-seconds', '<s>', ['quietSeconds'], 'planned: how long source end offsets must stay put'),
      int('--probe-attempts', '<n>', ['probeAttempts'], 'unplanned: probes before the source is declared down'),
      toggle('--source-unreachable', ['sourceUnreachable'], 'unplanned: assert the source is down (no probe)'),
      REQUESTED_BY,
    ],
    gatePaths: FAILOVER_GATES.map((g) => ['gates', g]),
    destructive: true,
    idIsLock: true,
    describe: (i) => {
      const f = rec(i.forward);
      return `fail over ${String(i.source)} → ${String(i.target)} (${String(i.mode)}): stop ${list(f.connectors)} on ${String(f.connect)}, set offsets of ${list(i.groups)} on ${String(i.target)}; gates: ${(i.mode === 'planned' ? FAILOVER_GATES : FAILOVER_GATES.slice(1)).join(', ')}`;
    },
    example: 'kafka-dr failover --input docs/examples/failover.planned.json --requested-by alice',
  },
  {
    verb: 'failback',
    playbook: 'failback',
    summary: 'fail back dr → primary (reverse MM2 seeded with the DR-period delta, consumers before producers)',
    fields: [
      text('--primary', '<alias>', ['primary'], 'the cluster failed back to (A)'),
      text('--dr', '<alias>', ['dr'], 'the cluster failed over to (B)'),
      text('--forward-connect', '<name>', ['forward', 'connect'], 'Connect cluster of the stopped forward flow (e.g. connect-b)'),
      names('--forward-connectors', '<names>', ['forward', 'connectors'], 'every forward connector (resumed at the end)'),
      names('--forward-source-connectors', '<names>', ['forward', 'sourceConnectors'], 'the forward MirrorSourceConnectors'),
      text('--reverse-connect', '<name>', ['reverse', 'connect'], 'Connect cluster for the reverse flow (e.g. connect-a)'),
      text('--reverse-name', '<prefix>', ['reverse', 'name'], 'reverse connector name prefix (default mm2-<dr>-to-<primary>)'),
      int('--replication-factor', '<n>', ['reverse', 'replicationFactor'], "reverse flow's replication factor"),
      names('--topics', '<names>', ['topics'], 'topics copied back'),
      names('--groups', '<names>', ['groups'], 'consumer groups to move back'),
      SEPARATOR,
      EXCLUDE_TOPICS,
      POLICY(['policy']),
      text('--seed-mode', '<mode>', ['seed', 'mode'], 'how partitions without a boundary are seeded', ['auto', 'earliest']),
      jsonFile('--seed-snapshot', '<file>', ['seed', 'snapshot'], "JSON file: the failover report's figures.snapshots.target"),
      text(
        '--seed-from-failover',
        '<workflow-id>',
        ['seed', 'failoverWorkflowId'],
        "seed from that completed failover's snapshot (usually kafka-dr-cutover-<A>~<B>)",
      ),
      text('--seed-failover-run', '<run-id>', ['seed', 'failoverRunId'], 'that failover run, when not the newest of its ID'),
      text(
        '--seed-on-primary',
        '<search|ignore>',
        ['seed', 'onPrimary'],
        "a re-run without the previous reverse offsets: find its copy on primary, or 'ignore' it (copied again)",
        ['search', 'ignore'],
      ),
      int('--lag-threshold', '<records>', ['lagThreshold'], 'reverse lag at which the consumers gate opens'),
      int('--catch-up-timeout-seconds', '<s>', ['catchUpTimeoutSeconds'], 'how long the reverse flow may take to catch up'),
      num('--quiet-seconds', '<s>', ['quietSeconds'], 'how long dr end offsets must stay put'),
      int('--expected-brokers', '<n>', ['expectedBrokers'], "primary's expected broker count"),
      REQUESTED_BY,
    ],
    gatePaths: FAILBACK_GATES.map((g) => ['gates', g]),
    destructive: true,
    idIsLock: true,
    describe: (i) =>
      `fail back ${String(i.dr)} → ${String(i.primary)}: create reverse MM2 on ${String(rec(i.reverse).connect)}, move ${list(i.groups)} back, then resume the forward flow; gates: ${FAILBACK_GATES.join(', ')}`,
    example: 'kafka-dr failback --input docs/examples/failback.json --requested-by alice',
  },
  {
    verb: 'recreate-topic',
    playbook: 'recreate-topic',
    summary: "re-mirror a topic that was deleted and recreated on the source (deletes the target's mirror)",
    fields: [
      text('--source', '<alias>', ['source'], 'cluster where the topic was recreated'),
      text('--target', '<alias>', ['target'], 'cluster holding the mirror'),
      text('--connect', '<name>', ['connect'], 'Connect cluster running the flow'),
      text('--source-connector', '<name>', ['sourceConnector'], 'the MirrorSourceConnector replicating the topic'),
      text('--topic', '<name>', ['topic'], "the topic's name on the source"),
      POLICY(['policy']),
      text('--separator', '<sep>', ['separator'], 'DefaultReplicationPolicy separator (default .)'),
      names('--groups', '<names>', ['groups'], 'consumer groups on the target reading the mirror'),
      text('--reset-groups-to', '<where>', ['resetGroupsTo'], 'where those groups restart', ['earliest', 'none']),
      int('--wait-seconds', '<s>', ['waitSeconds'], 'how long to wait for each state change'),
      REQUESTED_BY,
    ],
    gatePaths: [['gate']],
    destructive: true,
    idIsLock: true,
    describe: (i) =>
      `recreate the mirror of ${String(i.topic)} on ${String(i.target)}: delete it and re-copy from ${String(i.source)} after gate 'recreate'`,
    example: 'kafka-dr recreate-topic --input docs/examples/recreate-topic.json --dry-run',
  },
  {
    verb: 'audit',
    playbook: 'audit-drift',
    summary: 'audit MM2 flows: connector states, lag, heartbeat freshness, topic config drift, recreation (read-only)',
    fields: [
      text('--source', '<alias>', ['flows', 0, 'source'], "the flow's source cluster"),
      text('--target', '<alias>', ['flows', 0, 'target'], "the flow's target cluster"),
      text('--connect', '<name>', ['flows', 0, 'connect'], 'Connect cluster running the flow'),
      names('--connectors', '<names>', ['flows', 0, 'connectors'], "the flow's MirrorSourceConnectors"),
      names('--other-connectors', '<names>', ['flows', 0, 'otherConnectors'], 'checkpoint/heartbeat connectors to check too'),
      names('--topics', '<names>', ['flows', 0, 'topics'], 'source topics to compare with their mirrors'),
      POLICY(['flows', 0, 'policy']),
      int('--freshness-max-age-ms', '<ms>', ['freshnessMaxAgeMs'], 'heartbeat age above which a flow is flagged'),
      int('--lag-max', '<records>', ['lagMax'], 'total lag above which a flow is flagged'),
      toggle('--repair', ['repair'], 'ask (gate repair) before proposing repairs'),
      REQUESTED_BY,
    ],
    gatePaths: AUDIT_GATES.map((g) => ['gates', g]),
    destructive: false,
    idIsLock: false,
    describe: (i) =>
      `audit ${(Array.isArray(i.flows) ? i.flows : []).map((f) => `${String(rec(f).source)}→${String(rec(f).target)}`).join(', ')}`,
    example: 'kafka-dr audit --source A --target B --connect connect-b --connectors mm2-A-to-B-source-orders --topics orders --wait',
  },
  {
    verb: 'deploy',
    playbook: 'deploy-replication',
    summary: 'deploy an MM2 flow from a replication plan (refuses a loop, waits RUNNING and heartbeats)',
    fields: [
      jsonFile('--plan', '<file>', ['plan'], 'replication plan JSON (docs/replication-plan.example.json)'),
      text('--source', '<alias>', ['plan', 'source'], 'source cluster'),
      text('--target', '<alias>', ['plan', 'target'], 'target cluster'),
      text('--connect', '<name>', ['plan', 'connect'], 'Connect cluster writing to the target'),
      text('--name', '<prefix>', ['plan', 'name'], 'connector name prefix (default mm2-<source>-to-<target>)'),
      text('--policy', '<policy>', ['plan', 'policy', 'type'], 'replication policy', ['default', 'identity']),
      names('--topics', '<names>', ['plan', 'topicGroups', 0, 'topics'], 'topics (names or regexes) of one topic group'),
      text('--topic-group', '<name>', ['plan', 'topicGroups', 0, 'name'], 'name of that group (default: main)'),
      names('--groups', '<regexes>', ['plan', 'groups'], 'consumer groups to checkpoint'),
      int('--replication-factor', '<n>', ['plan', 'replicationFactor'], 'replication factor of mirrored and internal topics'),
      int('--wait-seconds', '<s>', ['waitSeconds'], 'how long to wait for RUNNING and the first heartbeat'),
      REQUESTED_BY,
    ],
    gatePaths: [['gate']],
    destructive: true,
    idIsLock: true,
    describe: (i) => {
      const p = rec(i.plan);
      return `create or update MM2 connectors ${String(p.name ?? `mm2-${String(p.source)}-to-${String(p.target)}`)} on ${String(p.connect)} (${String(p.source)} → ${String(p.target)})`;
    },
    example: 'kafka-dr deploy --input docs/examples/deploy-replication.json --dry-run',
  },
];

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `over` laid onto `base`: objects merge key by key, lists of objects merge item by
 * item (so `--source` lands in the file's first flow), other values replace.
 */
export function mergeInput(base: unknown, over: unknown): unknown {
  if (isPlain(base) && isPlain(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in base ? mergeInput(base[k], v) : v;
    return out;
  }
  if (Array.isArray(base) && Array.isArray(over) && over.every(isPlain) && over.length > 0) {
    const out = [...base];
    over.forEach((v, i) => {
      out[i] = i < base.length ? mergeInput(base[i], v) : v;
    });
    return out;
  }
  return over === undefined ? base : over;
}

/** Sets `value` at `path`, creating objects (and lists for numeric keys) on the way. */
export function setPath(target: Record<string, unknown>, path: FieldPath, value: unknown): void {
  let node: Record<string | number, unknown> = target;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const nextIsIndex = typeof path[i + 1] === 'number';
    if (!(key in node) || typeof node[key] !== 'object' || node[key] === null) node[key] = nextIsIndex ? [] : {};
    node = node[key] as Record<string | number, unknown>;
  });
}

/** The flags given (by attribute value) as an input object, gate flags copied into every gate. */
export function flagsToInput(
  spec: PlaybookVerb,
  values: ReadonlyMap<FieldFlag, unknown>,
  base: Record<string, unknown>,
): Record<string, unknown> {
  const over: Record<string, unknown> = {};
  for (const [field, value] of values) {
    if (value === undefined) continue;
    if (field.path[0] === '*') {
      for (const gatePath of spec.gatePaths) setPath(over, [...gatePath, ...field.path.slice(1)], value);
    } else {
      setPath(over, field.path, value);
    }
  }
  // A topic group built from --topics needs a name; the file's or --topic-group's wins over the default.
  const byFlag = (flag: string) => values.get(spec.fields.find((f) => f.flag === flag)!);
  if (spec.verb === 'deploy' && byFlag('--topics') !== undefined && byFlag('--topic-group') === undefined) {
    const groups = rec(base.plan).topicGroups;
    if (!(Array.isArray(groups) && rec(groups[0]).name !== undefined)) setPath(over, ['plan', 'topicGroups', 0, 'name'], 'main');
  }
  return mergeInput(base, over) as Record<string, unknown>;
}

/** The flag that sets an input field, for error messages (`--connectors (forward.connectors)`). */
export function flagForField(spec: PlaybookVerb, field: string): string | undefined {
  const parts = field.split('.');
  const matches = (path: FieldPath) => path.length <= parts.length && path.every((p, i) => String(p) === parts[i]);
  let best: { flag: string; len: number } | undefined;
  for (const f of [...spec.fields, ...GATE_FLAGS]) {
    const paths = f.path[0] === '*' ? spec.gatePaths.map((g) => [...g, ...f.path.slice(1)]) : [f.path];
    for (const p of paths) if (matches(p) && (!best || p.length > best.len)) best = { flag: f.flag, len: p.length };
  }
  if (best) return best.flag;
  // A missing object (`forward`): the flags that fill it.
  const within = [...spec.fields, ...GATE_FLAGS].filter(
    (f) => f.path[0] !== '*' && f.path.length > parts.length && parts.every((p, i) => String(f.path[i]) === p),
  );
  return within.length > 0 ? [...new Set(within.map((f) => f.flag))].join(', ') : undefined;
}

/**
 * A playbook's refusal or blocker with the flag after each input field it names
 * (`policy (--policy): is 'default' but ...`). Blockers and refusals name fields as
 * `field: why`, one per line or joined with '; '.
 */
export function withFlags(spec: PlaybookVerb, text: string): string {
  return text.replace(/(^|; |: )([a-z][A-Za-z]*(?:\.[A-Za-z]+)*): /g, (whole, before: string, field: string) => {
    const flag = flagForField(spec, field);
    return flag ? `${before}${field} (${flag}): ` : whole;
  });
}
