import type { PrepareLocalTopicsInput, PrepareLocalTopicsResult } from '../../activities/local-topics';
import type { PlaceUnplacedInput } from '../../activities/unplaced';
import type { ClusterHealth } from '../../src/kafka/probes';
import type { UnplacedPartition } from '../../src/model/unplaced';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities';
import type { DriftReport } from '../../src/audit/drift';
import type { AuditInput } from '../../src/model/audit-input';
import type { FailoverInput } from '../../src/model/failover-input';
import { deriveFlowScope, type FlowScope } from '../../src/mm2/flow-scope';
import { defaultHookStubs } from '../helpers/hook-stubs';

/**
 * Stub activities with the real ones' names and result shapes, shared by the workflow
 * tests, the history recorder (record.ts) and the history-economy test. Answers depend
 * on a scenario looked up by workflow ID (a scheduled run's ID starts with the schedule's).
 */

export interface AuditScenario {
  /** Connector → state; default RUNNING with one RUNNING task. Missing: ConnectorNotFound. */
  connectors?: Record<string, { state: string; taskStates?: string[] } | 'missing'>;
  lagTotal?: string;
  heartbeatAgeMs?: number | null;
  drift?: DriftReport;
  recreated?: string[];
  /** MirrorSourceConnectors whose source consumer reads read_uncommitted. */
  readUncommitted?: string[];
  /** Cluster that answers ClusterUnreachable (non-retryable here so tests stay fast). */
  unreachable?: string;
  /** Group-partitions find-unplaced reports (failover): the unplaced-groups gate opens. */
  unplaced?: UnplacedPartition[];
}

export type Call = { workflowId: string; name: string; arg: Record<string, unknown> };

export const AT = '2025-01-01T00:00:00.000Z';

/**
 * describeFlow's answer for a flow whose configs kafka-dr could not model (policy unknown,
 * nothing listed): checkFlowScope then refuses nothing, so stubbed playbooks run as before.
 */
export const OPEN_FLOW_SCOPE: FlowScope = {
  policy: undefined,
  separator: '.',
  sourceAlias: undefined,
  targetAlias: undefined,
  topicPatterns: ['.*'],
  topicExcludes: [],
  groupPatterns: null,
  groupExcludes: null,
  mirroredTopics: null,
  mirrors: {},
  problems: [],
};

/**
 * describeFlow's answer for the A → B flow whose one source connector, mm2-A-to-B-source,
 * carries `config` (topics, policy, separator) on top of the MirrorSourceConnector basics.
 */
export function sourceFlowScope(config: Record<string, string>, sourceTopics: string[]): FlowScope {
  return deriveFlowScope({
    connectors: [
      {
        name: 'mm2-A-to-B-source',
        config: {
          'connector.class': 'org.apache.kafka.connect.mirror.MirrorSourceConnector',
          'source.cluster.alias': 'A',
          'target.cluster.alias': 'B',
          ...config,
        },
      },
    ],
    sourceConnectors: ['mm2-A-to-B-source'],
    sourceTopics,
  });
}

/** A lag report of orders-0 from `source`: end 10 + total, committed 9 unless told. */
export function lagReport(total: string, o: { source?: string; end?: string; committed?: string; measuredAt?: string } = {}) {
  return {
    source: o.source ?? 'A',
    partitions: [
      {
        topic: 'orders',
        partition: 0,
        end: o.end ?? String(10 + Number(total)),
        committed: o.committed ?? '9',
        lag: total,
        state: (total === '0' ? 'caught-up' : 'behind') as 'caught-up' | 'behind',
      },
    ],
    total,
    maxLag: total,
    anomalies: 0,
    drained: total === '0',
    missingTopics: [] as string[],
    measuredAt: o.measuredAt ?? AT,
  };
}

export const NO_DRIFT: DriftReport = {
  topicsCompared: 1,
  findings: [],
  missingOnTarget: [],
  missingOnSource: [],
  counts: { error: 0, warn: 0, info: 0 },
};

/** retention.ms shorter on B, min ISR differs: two repairable findings. */
export const SOME_DRIFT: DriftReport = {
  topicsCompared: 1,
  findings: [
    {
      topic: 'orders',
      remoteTopic: 'A.orders',
      setting: 'retention.ms',
      source: '604800000',
      target: '3600000',
      severity: 'warn',
      note: 'the target keeps less than the source',
    },
    {
      topic: 'orders',
      remoteTopic: 'A.orders',
      setting: 'min.insync.replicas',
      source: '2',
      target: '1',
      severity: 'warn',
      note: 'acks=all producers get different durability',
    },
    {
      topic: 'orders',
      remoteTopic: 'A.orders',
      setting: 'replication.factor',
      source: '3',
      target: '1',
      severity: 'info',
      note: 'replication factors differ',
    },
  ],
  missingOnTarget: [],
  missingOnSource: [],
  counts: { error: 0, warn: 2, info: 1 },
};

export function auditInput(overrides: Partial<AuditInput> = {}): AuditInput {
  return {
    flows: [
      {
        source: 'A',
        target: 'B',
        connect: 'connect-b',
        connectors: ['mm2-A-to-B-source'],
        otherConnectors: ['mm2-A-to-B-checkpoint'],
        topics: ['orders'],
      },
    ],
    freshnessMaxAgeMs: 30_000,
    lagMax: 100,
    requestedBy: 'audit-schedule',
    ...overrides,
  };
}

export function failoverInput(overrides: Partial<FailoverInput> = {}): FailoverInput {
  return {
    source: 'A',
    target: 'B',
    mode: 'planned',
    forward: {
      connect: 'connect-b',
      connectors: ['mm2-A-to-B-source', 'mm2-A-to-B-checkpoint', 'mm2-A-to-B-heartbeat'],
      sourceConnectors: ['mm2-A-to-B-source'],
    },
    topics: ['orders'],
    groups: ['billing'],
    requestedBy: 'alice',
    gates: {
      'stop-producers': { approvers: ['bob', 'carol'], deadline: '5 minutes' },
      'consumers-cutover': { fourEyes: true, deadline: '5 minutes' },
      'producers-cutover': { deadline: '5 minutes' },
    },
    quietSeconds: 1,
    ...overrides,
  };
}

const groupPlan = groupPlanOf('A.orders', ['10']);

type StubNames =
  | 'connectorStatus'
  | 'replicationLag'
  | 'replicationFreshness'
  | 'auditTopicDrift'
  | 'detectTopicRecreation'
  | 'clusterHealth'
  | 'waitForQuietProducers'
  | 'waitForDrain'
  | 'stopConnector'
  | 'stopConnectors'
  | 'resumeConnector'
  | 'waitForConnectorState'
  | 'snapshotEndOffsets'
  | 'planOffsetTranslation'
  | 'applyOffsetTranslation'
  | 'checkGroupsInFlow'
  | 'findUnplacedPositions'
  | 'placeUnplacedGroups'
  | 'repairTopicConfigs'
  | 'runCutoverHook'
  | 'notifyEscalation'
  | 'describeFlow'
  | 'prepareLocalTopics';
export type Stubs = Pick<Activities, StubNames>;

/** The activities a planned failover calls, as the CLI and failover workflow tests stub them. */
export type FailoverPathStubs = Pick<
  Activities,
  | 'clusterHealth'
  | 'replicationLag'
  | 'waitForQuietProducers'
  | 'waitForDrain'
  | 'stopConnectors'
  | 'resumeConnector'
  | 'snapshotEndOffsets'
  | 'planOffsetTranslation'
  | 'applyOffsetTranslation'
  | 'checkGroupsInFlow'
  | 'findUnplacedPositions'
  | 'describeFlow'
  | 'prepareLocalTopics'
>;

/** Stubs for audit-drift and the planned failover path; `calls` collects every call. */
export function createStubs(scenarioOf: (workflowId: string) => AuditScenario, calls: Call[] = []): Stubs {
  const wfId = () => Context.current().info.workflowExecution?.workflowId ?? '';
  const record = (name: string, arg: unknown): AuditScenario => {
    const id = wfId();
    calls.push({ workflowId: id, name, arg: arg as Record<string, unknown> });
    return scenarioOf(id);
  };
  const unreachable = (s: AuditScenario, cluster: string) => {
    if (s.unreachable === cluster) {
      throw ApplicationFailure.create({
        type: 'ClusterUnreachable',
        message: `cluster ${cluster}: connection refused`,
        nonRetryable: true,
      });
    }
  };
  return {
    ...defaultHookStubs,
    async describeFlow() {
      return OPEN_FLOW_SCOPE;
    },
    async connectorStatus(input) {
      const s = record('connectorStatus', input);
      const c = s.connectors?.[input.connector] ?? { state: 'RUNNING' };
      if (c === 'missing') {
        throw ApplicationFailure.create({
          type: 'ConnectorNotFound',
          message: `connector ${input.connector} does not exist on ${input.connect}`,
          nonRetryable: true,
        });
      }
      const taskStates = c.taskStates ?? ['RUNNING'];
      return {
        connector: input.connector,
        state: c.state as never,
        workerId: '127.0.0.1:28083',
        tasks: taskStates.map((state, id) => ({
          id,
          state: state as never,
          workerId: '127.0.0.1:28083',
          ...(state === 'FAILED' ? { trace: 'org.apache.kafka.common.errors.RecordTooLargeException: too large' } : {}),
        })),
      };
    },
    async replicationLag(input) {
      const s = record('replicationLag', input);
      unreachable(s, input.source);
      // exact: the failover's conservation checks, with the forward flow stopped and nothing lost.
      return lagReport(input.exact ? '0' : (s.lagTotal ?? '0'));
    },
    async replicationFreshness(input) {
      const s = record('replicationFreshness', input);
      unreachable(s, input.target);
      const age = s.heartbeatAgeMs === undefined ? 1000 : s.heartbeatAgeMs;
      return {
        target: input.target,
        sourceAlias: input.sourceAlias,
        checkedAt: AT,
        topic: `${input.sourceAlias}.heartbeats`,
        lastHeartbeatAt: age === null ? null : AT,
        ageMs: age,
        from: age === null ? null : { source: input.sourceAlias, target: input.target },
        recordsRead: age === null ? 0 : 5,
        unreadableRecords: 0,
        emitters: [],
        ...(age === null ? { reason: 'topic A.heartbeats does not exist' } : {}),
      };
    },
    async auditTopicDrift(input) {
      const s = record('auditTopicDrift', input);
      unreachable(s, input.target);
      return s.drift ?? NO_DRIFT;
    },
    async detectTopicRecreation(input) {
      const s = record('detectTopicRecreation', input);
      const recreated = s.recreated ?? [];
      return {
        source: input.source,
        target: input.target,
        checkedAt: AT,
        topics: (input.topics ?? []).map((topic) => ({
          topic,
          remoteTopic: `${input.source}.${topic}`,
          recreationSuspected: recreated.includes(topic),
          sourcePartitions: 2,
          targetPartitions: 2,
          findings: recreated.includes(topic)
            ? [{ kind: 'end-below-committed' as const, partition: 0, message: 'end 3 < last replicated 10 + 1' }]
            : [],
          partitions: [],
          summary: recreated.includes(topic)
            ? `${topic} looks recreated on ${input.source} (end offset below what MM2 replicated)`
            : `${topic}: consistent`,
        })),
        recreated,
        notes: [],
        ...(s.readUncommitted
          ? { readUncommitted: s.readUncommitted.map((connector) => ({ connector, isolationLevel: 'read_uncommitted' })) }
          : {}),
      };
    },
    async clusterHealth(input) {
      record('clusterHealth', input);
      return healthyCluster(input.cluster);
    },
    async waitForQuietProducers(input) {
      record('waitForQuietProducers', input);
      return { cluster: input.cluster, quietSince: AT, endOffsets: {}, polls: 3 };
    },
    async waitForDrain(input) {
      record('waitForDrain', input);
      // Shaped like the real one: heartbeats its progress (heartbeats are not history events).
      const progress = { polls: 4, consecutiveZero: 3, total: '0', maxLag: '0', anomalies: 0, nonZero: [] };
      Context.current().heartbeat(progress);
      const { drained: _d, ...report } = lagReport('0');
      // The source end the snapshot stub reports (10), all replicated: no growth after the drain.
      const partitions = report.partitions.map((p) => ({ ...p, end: '10', committed: '9' }));
      return { ...progress, report: { ...report, partitions, drained: true } };
    },
    async stopConnector(input) {
      record('stopConnector', input);
    },
    ...connectorStubs(record),
    async snapshotEndOffsets(input) {
      record('snapshotEndOffsets', input);
      return {
        cluster: input.cluster,
        takenAt: AT,
        offsets: Object.fromEntries(input.topics.map((t) => [t, { '0': '10' }])),
        missingTopics: [],
      } as never;
    },
    async planOffsetTranslation(input) {
      record('planOffsetTranslation', input);
      return translationOf(groupPlan);
    },
    async repairTopicConfigs(input) {
      record('repairTopicConfigs', input);
      return { cluster: input.cluster, applied: input.repairs.map((r) => ({ topic: r.topic, setting: r.setting, value: r.to })) };
    },
    async prepareLocalTopics(input) {
      record('prepareLocalTopics', input);
      return localTopicsAnswer(input);
    },
    async checkGroupsInFlow(input) {
      record('checkGroupsInFlow', input);
      return { checkpointConnectors: ['mm2-A-to-B-checkpoint'], outside: [] };
    },
    ...unplacedStubs(record, { exact: 0, translated: 1 }, '10'),
    async applyOffsetTranslation(input) {
      record('applyOffsetTranslation', input);
      return appliedTranslationOf(groupPlan, AT) as never;
    },
  };
}

/** prepareLocalTopics' answer in every stub set: each topic created (will-create in a dry run), two partitions, each group set at 0. */
export function localTopicsAnswer(input: PrepareLocalTopicsInput): PrepareLocalTopicsResult {
  const dry = input.dryRun === true;
  const topics = input.topics.map((topic) => ({
    topic,
    mirror: `${input.source}${input.separator ?? '.'}${topic}`,
    action: (dry ? 'will-create' : 'created') as 'will-create' | 'created',
    partitions: 2,
    replicationFactor: null,
    configs: {},
    from: (input.readSource ? 'source' : 'mirror') as 'source' | 'mirror',
  }));
  const positions = input.groups.flatMap((group) =>
    topics.flatMap((t) =>
      [0, 1].map((partition) => ({
        group,
        topic: t.topic,
        partition,
        offset: '0',
        action: (dry ? 'will-set' : 'set') as 'will-set' | 'set',
      })),
    ),
  );
  return { topics, positions, skippedGroups: [] };
}

/** clusterHealth's answer in every stub set: one broker of one expected, healthy; `o` replaces fields. */
export function healthyCluster(cluster: string, o: Partial<ClusterHealth> = {}): ClusterHealth {
  return {
    cluster,
    brokers: { count: 1, ids: [1] },
    expectedBrokers: 1,
    expectedBrokersFrom: 'registry',
    controllerId: 1,
    underReplicated: [],
    offline: [],
    brokersMissingFromAssignments: [],
    topicCount: 3,
    partitionCount: 3,
    healthy: true,
    problems: [],
    ...o,
  } as ClusterHealth;
}

/**
 * find-unplaced and place-unplaced, recorded: the scenario's unplaced partitions (none unless
 * told), billing placed `placed`, each placement set at `high`.
 */
export function unplacedStubs(
  record: (name: string, arg: unknown) => { unplaced?: UnplacedPartition[] },
  placed: { exact: number; translated: number },
  high: string,
): Pick<Activities, 'findUnplacedPositions' | 'placeUnplacedGroups'> {
  return {
    async findUnplacedPositions(input) {
      const s = record('findUnplacedPositions', input);
      return { unplaced: s.unplaced ?? [], placed: { billing: placed }, sourceRead: input.readSource };
    },
    async placeUnplacedGroups(input) {
      record('placeUnplacedGroups', input);
      return placedAt(input, high);
    },
  };
}

/** stopConnectors, resumeConnector and waitForConnectorState, recorded: each connector gets to the state asked for at once. */
export function connectorStubs(
  record: (name: string, arg: unknown) => unknown,
): Pick<Activities, 'stopConnectors' | 'resumeConnector' | 'waitForConnectorState'> {
  return {
    async stopConnectors(input) {
      record('stopConnectors', input);
      return { stopped: [...input.connectors] };
    },
    async resumeConnector(input) {
      record('resumeConnector', input);
    },
    async waitForConnectorState(input) {
      record('waitForConnectorState', input);
      return { connector: input.connector, state: input.state, workerId: 'w', tasks: [] };
    },
  };
}

/** placeUnplacedGroups' answer: each placement set at `high` (choice end) or 0, the partition holding 0..`high`. */
export function placedAt(input: PlaceUnplacedInput, high: string) {
  return {
    set: input.placements.flatMap((pl) =>
      pl.partitions.map((p) => ({
        group: pl.group,
        topic: p.topic,
        partition: p.partition,
        choice: pl.choice,
        offset: pl.choice === 'end' ? high : '0',
        low: '0',
        high,
      })),
    ),
  };
}

/** The Connect and group writes both cutover playbooks make; a dry run or a refused gate makes none. */
export const CUTOVER_WRITES = [
  'stopConnector',
  'resumeConnector',
  'pauseConnector',
  'deleteConnector',
  'restartConnector',
  'applyOffsetTranslation',
  'alterConnectorOffsets',
  'resetConnectorOffsets',
  'placeUnplacedGroups',
];

/**
 * The call log of a test's stub set: `record(name, arg)` logs a call under its workflow ID
 * and returns that workflow's scenario; `namesOf` lists a run's calls with the connector or
 * cluster each one named.
 */
export function callLog<S extends object>(scenarios: Map<string, S>) {
  const calls: Call[] = [];
  const wfId = () => Context.current().info.workflowExecution?.workflowId ?? '';
  const callsOf = (workflowId: string) => calls.filter((c) => c.workflowId === workflowId);
  return {
    calls,
    wfId,
    record(name: string, arg: unknown): S {
      calls.push({ workflowId: wfId(), name, arg: arg as Record<string, unknown> });
      return scenarios.get(wfId()) ?? ({} as S);
    },
    callsOf,
    namesOf: (workflowId: string) =>
      callsOf(workflowId).map(
        (c) => c.name + (c.arg.connector ? `:${String(c.arg.connector)}` : c.arg.cluster ? `:${String(c.arg.cluster)}` : ''),
      ),
  };
}

/** The billing group's translation plan: set on each partition of `mirror` at its checkpoint (`ends[p]`). */
export function groupPlanOf(mirror: string, ends: string[]) {
  return {
    group: 'billing',
    state: 'Dead',
    members: 0,
    partitions: ends.map((to, partition) => ({ topic: mirror, partition, from: null, to, action: 'set', checkpoint: to, upstream: to })),
  };
}

type TranslationOf = { source?: string; target?: string; checkpointsRead?: number; generatedAt?: string };

/** planOffsetTranslation's answer: `plan` (groupPlanOf) from A to B unless told. */
export function translationOf(plan: ReturnType<typeof groupPlanOf>, o: TranslationOf = {}) {
  return {
    source: o.source ?? 'A',
    target: o.target ?? 'B',
    allowRewind: false,
    groups: [plan as never],
    checkpointsRead: o.checkpointsRead ?? 1,
    generatedAt: o.generatedAt ?? AT,
  };
}

/** applyOffsetTranslation's answer: `plan` applied, each partition at its checkpoint. */
export function appliedTranslationOf(plan: ReturnType<typeof groupPlanOf>, appliedAt: string, o: TranslationOf = {}) {
  return {
    ...translationOf(plan, o),
    applied: plan.partitions.map((p) => ({ group: plan.group, topic: p.topic, partition: p.partition, offset: p.to })),
    appliedAt,
  };
}
