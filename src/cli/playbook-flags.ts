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

/** `--approvers`, `--four-eyes`, `--gate-deadline`, `--escalate-after` for every gate of a playbook. */
export const GATE_FLAGS: readonly FieldFlag[] = [
  {
    flag: '--approvers',
    arg: '<names>',
    kind: 'list',
    path: ['*', 'approvers'],
    help: 'who may approve or reject each gate (comma-separated; default: anyone who names themselves)',
  },
  { flag: '--four-eyes', kind: 'true', path: ['*', 'fourEyes'], help: 'the requester may not approve their own gates' },
  {
    flag: '--gate-deadline',
    arg: '<duration>',
    kind: 'string',
    path: ['*', 'deadline'],
    help: "how long each gate waits before the playbook aborts safely ('2h', '30m')",
  },
  {
    flag: '--escalate-after',
    arg: '<duration>',
    kind: 'string',
    path: ['*', 'escalateAfter'],
    help: 'when an open gate calls its notification hook',
  },
];

const REQUESTED_BY: FieldFlag = {
  flag: '--requested-by',
  arg: '<name>',
  kind: 'string',
  path: ['requestedBy'],
  help: 'who asks for the run (four-eyes compares approvers against it; default: $KDR_OPERATOR or your login name)',
};
const POLICY = (path: FieldPath): FieldFlag => ({
  flag: '--policy',
  arg: '<policy>',
  kind: 'string',
  path,
  choices: ['default', 'identity'],
  help: "the flow's replication policy (default: default, mirrors named <source>.<topic>)",
});

const SEPARATOR: FieldFlag = {
  flag: '--separator',
  arg: '<sep>',
  kind: 'string',
  path: ['separator'],
  help: "the flow's replication.policy.separator (Default policy; default .)",
};
const EXCLUDE_TOPICS: FieldFlag = {
  flag: '--exclude-topics',
  arg: '<names>',
  kind: 'list',
  path: ['excludeTopics'],
  help: 'topics the flow mirrors that this run leaves out on purpose (otherwise every mirrored topic must be in --topics)',
};

export const PLAYBOOK_VERBS: readonly PlaybookVerb[] = [
  {
    verb: 'failover',
    playbook: 'failover',
    summary: 'fail over source → target (planned: drain to 0; unplanned: source down, RPO estimated)',
    fields: [
      { flag: '--source', arg: '<alias>', kind: 'string', path: ['source'], help: 'the cluster failing over (A)' },
      { flag: '--target', arg: '<alias>', kind: 'string', path: ['target'], help: 'the DR cluster taking over (B)' },
      {
        flag: '--mode',
        arg: '<mode>',
        kind: 'string',
        path: ['mode'],
        choices: ['planned', 'unplanned'],
        help: 'planned (source healthy, zero loss) or unplanned',
      },
      {
        flag: '--connect',
        arg: '<name>',
        kind: 'string',
        path: ['forward', 'connect'],
        help: 'Connect cluster running the forward flow (e.g. connect-b)',
      },
      {
        flag: '--connectors',
        arg: '<names>',
        kind: 'list',
        path: ['forward', 'connectors'],
        help: 'every forward connector to stop (comma-separated)',
      },
      {
        flag: '--source-connectors',
        arg: '<names>',
        kind: 'list',
        path: ['forward', 'sourceConnectors'],
        help: 'the MirrorSourceConnectors among them',
      },
      { flag: '--topics', arg: '<names>', kind: 'list', path: ['topics'], help: 'source topic names' },
      { flag: '--groups', arg: '<names>', kind: 'list', path: ['groups'], help: 'consumer groups to move (names or regexes)' },
      POLICY(['policy']),
      SEPARATOR,
      EXCLUDE_TOPICS,
      {
        flag: '--lag-threshold',
        arg: '<records>',
        kind: 'int',
        path: ['lagThreshold'],
        help: 'planned: largest forward lag at which it may start',
      },
      {
        flag: '--quiet-seconds',
        arg: '<s>',
        kind: 'number',
        path: ['quietSeconds'],
        help: 'planned: how long source end offsets must stay put',
      },
      {
        flag: '--probe-attempts',
        arg: '<n>',
        kind: 'int',
        path: ['probeAttempts'],
        help: 'unplanned: probes before the source is declared down',
      },
      { flag: '--source-unreachable', kind: 'true', path: ['sourceUnreachable'], help: 'unplanned: assert the source is down (no probe)' },
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
      { flag: '--primary', arg: '<alias>', kind: 'string', path: ['primary'], help: 'the cluster failed back to (A)' },
      { flag: '--dr', arg: '<alias>', kind: 'string', path: ['dr'], help: 'the cluster failed over to (B)' },
      {
        flag: '--forward-connect',
        arg: '<name>',
        kind: 'string',
        path: ['forward', 'connect'],
        help: 'Connect cluster of the stopped forward flow (e.g. connect-b)',
      },
      {
        flag: '--forward-connectors',
        arg: '<names>',
        kind: 'list',
        path: ['forward', 'connectors'],
        help: 'every forward connector (resumed at the end)',
      },
      {
        flag: '--forward-source-connectors',
        arg: '<names>',
        kind: 'list',
        path: ['forward', 'sourceConnectors'],
        help: 'the forward MirrorSourceConnectors',
      },
      {
        flag: '--reverse-connect',
        arg: '<name>',
        kind: 'string',
        path: ['reverse', 'connect'],
        help: 'Connect cluster for the reverse flow (e.g. connect-a)',
      },
      {
        flag: '--reverse-name',
        arg: '<prefix>',
        kind: 'string',
        path: ['reverse', 'name'],
        help: 'reverse connector name prefix (default mm2-<dr>-to-<primary>)',
      },
      {
        flag: '--replication-factor',
        arg: '<n>',
        kind: 'int',
        path: ['reverse', 'replicationFactor'],
        help: "reverse flow's replication factor",
      },
      { flag: '--topics', arg: '<names>', kind: 'list', path: ['topics'], help: 'topics copied back' },
      { flag: '--groups', arg: '<names>', kind: 'list', path: ['groups'], help: 'consumer groups to move back' },
      SEPARATOR,
      EXCLUDE_TOPICS,
      POLICY(['policy']),
      {
        flag: '--seed-mode',
        arg: '<mode>',
        kind: 'string',
        path: ['seed', 'mode'],
        choices: ['auto', 'earliest'],
        help: 'how partitions without a boundary are seeded',
      },
      {
        flag: '--seed-snapshot',
        arg: '<file>',
        kind: 'json-file',
        path: ['seed', 'snapshot'],
        help: "JSON file: the failover report's figures.snapshots.target",
      },
      {
        flag: '--seed-from-failover',
        arg: '<workflow-id>',
        kind: 'string',
        path: ['seed', 'failoverWorkflowId'],
        help: "seed from that completed failover's snapshot (usually kafka-dr-cutover-<A>~<B>)",
      },
      {
        flag: '--seed-failover-run',
        arg: '<run-id>',
        kind: 'string',
        path: ['seed', 'failoverRunId'],
        help: 'that failover run, when not the newest of its ID',
      },
      {
        flag: '--seed-on-primary',
        arg: '<search|ignore>',
        kind: 'string',
        path: ['seed', 'onPrimary'],
        choices: ['search', 'ignore'],
        help: "a re-run without the previous reverse offsets: find its copy on primary, or 'ignore' it (copied again)",
      },
      {
        flag: '--lag-threshold',
        arg: '<records>',
        kind: 'int',
        path: ['lagThreshold'],
        help: 'reverse lag at which the consumers gate opens',
      },
      {
        flag: '--catch-up-timeout-seconds',
        arg: '<s>',
        kind: 'int',
        path: ['catchUpTimeoutSeconds'],
        help: 'how long the reverse flow may take to catch up',
      },
      { flag: '--quiet-seconds', arg: '<s>', kind: 'number', path: ['quietSeconds'], help: 'how long dr end offsets must stay put' },
      { flag: '--expected-brokers', arg: '<n>', kind: 'int', path: ['expectedBrokers'], help: "primary's expected broker count" },
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
      { flag: '--source', arg: '<alias>', kind: 'string', path: ['source'], help: 'cluster where the topic was recreated' },
      { flag: '--target', arg: '<alias>', kind: 'string', path: ['target'], help: 'cluster holding the mirror' },
      { flag: '--connect', arg: '<name>', kind: 'string', path: ['connect'], help: 'Connect cluster running the flow' },
      {
        flag: '--source-connector',
        arg: '<name>',
        kind: 'string',
        path: ['sourceConnector'],
        help: 'the MirrorSourceConnector replicating the topic',
      },
      { flag: '--topic', arg: '<name>', kind: 'string', path: ['topic'], help: "the topic's name on the source" },
      POLICY(['policy']),
      { flag: '--separator', arg: '<sep>', kind: 'string', path: ['separator'], help: 'DefaultReplicationPolicy separator (default .)' },
      { flag: '--groups', arg: '<names>', kind: 'list', path: ['groups'], help: 'consumer groups on the target reading the mirror' },
      {
        flag: '--reset-groups-to',
        arg: '<where>',
        kind: 'string',
        path: ['resetGroupsTo'],
        choices: ['earliest', 'none'],
        help: 'where those groups restart',
      },
      { flag: '--wait-seconds', arg: '<s>', kind: 'int', path: ['waitSeconds'], help: 'how long to wait for each state change' },
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
      { flag: '--source', arg: '<alias>', kind: 'string', path: ['flows', 0, 'source'], help: "the flow's source cluster" },
      { flag: '--target', arg: '<alias>', kind: 'string', path: ['flows', 0, 'target'], help: "the flow's target cluster" },
      { flag: '--connect', arg: '<name>', kind: 'string', path: ['flows', 0, 'connect'], help: 'Connect cluster running the flow' },
      { flag: '--connectors', arg: '<names>', kind: 'list', path: ['flows', 0, 'connectors'], help: "the flow's MirrorSourceConnectors" },
      {
        flag: '--other-connectors',
        arg: '<names>',
        kind: 'list',
        path: ['flows', 0, 'otherConnectors'],
        help: 'checkpoint/heartbeat connectors to check too',
      },
      { flag: '--topics', arg: '<names>', kind: 'list', path: ['flows', 0, 'topics'], help: 'source topics to compare with their mirrors' },
      POLICY(['flows', 0, 'policy']),
      {
        flag: '--freshness-max-age-ms',
        arg: '<ms>',
        kind: 'int',
        path: ['freshnessMaxAgeMs'],
        help: 'heartbeat age above which a flow is flagged',
      },
      { flag: '--lag-max', arg: '<records>', kind: 'int', path: ['lagMax'], help: 'total lag above which a flow is flagged' },
      { flag: '--repair', kind: 'true', path: ['repair'], help: 'ask (gate repair) before proposing repairs' },
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
      {
        flag: '--plan',
        arg: '<file>',
        kind: 'json-file',
        path: ['plan'],
        help: 'replication plan JSON (docs/replication-plan.example.json)',
      },
      { flag: '--source', arg: '<alias>', kind: 'string', path: ['plan', 'source'], help: 'source cluster' },
      { flag: '--target', arg: '<alias>', kind: 'string', path: ['plan', 'target'], help: 'target cluster' },
      { flag: '--connect', arg: '<name>', kind: 'string', path: ['plan', 'connect'], help: 'Connect cluster writing to the target' },
      {
        flag: '--name',
        arg: '<prefix>',
        kind: 'string',
        path: ['plan', 'name'],
        help: 'connector name prefix (default mm2-<source>-to-<target>)',
      },
      {
        flag: '--policy',
        arg: '<policy>',
        kind: 'string',
        path: ['plan', 'policy', 'type'],
        choices: ['default', 'identity'],
        help: 'replication policy',
      },
      {
        flag: '--topics',
        arg: '<names>',
        kind: 'list',
        path: ['plan', 'topicGroups', 0, 'topics'],
        help: 'topics (names or regexes) of one topic group',
      },
      {
        flag: '--topic-group',
        arg: '<name>',
        kind: 'string',
        path: ['plan', 'topicGroups', 0, 'name'],
        help: 'name of that group (default: main)',
      },
      { flag: '--groups', arg: '<regexes>', kind: 'list', path: ['plan', 'groups'], help: 'consumer groups to checkpoint' },
      {
        flag: '--replication-factor',
        arg: '<n>',
        kind: 'int',
        path: ['plan', 'replicationFactor'],
        help: 'replication factor of mirrored and internal topics',
      },
      {
        flag: '--wait-seconds',
        arg: '<s>',
        kind: 'int',
        path: ['waitSeconds'],
        help: 'how long to wait for RUNNING and the first heartbeat',
      },
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
