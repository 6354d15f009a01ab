import { Context } from '@temporalio/activity';
import type { Activities } from '../../activities';
import type { DrainResult } from '../../activities/lag';
import type { FailbackInput } from '../../src/model/failback-input';
import { healthyCluster, OPEN_FLOW_SCOPE } from '../replay/stubs';

/**
 * Stub activities for a whole failback (names and result shapes of activities/*, the
 * happy path only), for counting history events in the time-skipping server. The drain
 * heartbeats like the real one for `drainHeartbeatMs` of real time (heartbeats are not
 * history events; the count must not move with it).
 */

const T = '2025-01-01T00:00:00.000Z';
const REVERSE = ['mm2-B-to-A-source-failback', 'mm2-B-to-A-checkpoint', 'mm2-B-to-A-heartbeat'];

/** The lag report of the failback stubs: B→A, orders-0 at 130. */
export const failbackLagReport = (total: string) => ({
  source: 'B',
  partitions: [{ topic: 'orders', partition: 0, end: '130', committed: '129', lag: total, state: 'caught-up' as const }],
  total,
  maxLag: total,
  anomalies: 0,
  drained: total === '0',
  missingTopics: [],
  measuredAt: T,
});

export type FailbackStubs = Pick<
  Activities,
  | 'clusterHealth'
  | 'connectorStatus'
  | 'planFailbackSeedOffsets'
  | 'deployMirrorFlow'
  | 'stopConnector'
  | 'waitForConnectorState'
  | 'alterConnectorOffsets'
  | 'resumeConnector'
  | 'waitForReverseCatchUp'
  | 'applyOffsetTranslation'
  | 'waitForQuietProducers'
  | 'snapshotEndOffsets'
  | 'removeMirrorFlow'
  | 'describeFlow'
  | 'replicationLag'
  | 'findUnplacedPositions'
  | 'placeUnplacedGroups'
  | 'planForwardResumeOffsets'
  | 'getConnectorOffsets'
  | 'readPrimaryPositions'
  | 'findDivergentRecords'
  | 'copyDivergentRecords'
  | 'findCopiedOnPrimary'
>;

/** A drain stub shaped like waitForDrain: heartbeats every 100 ms for `ms` of real time, then answers `report` drained. */
export async function heartbeatingDrain(ms: number, report: DrainResult['report']): Promise<DrainResult> {
  const ctx = Context.current();
  const started = Date.now();
  let polls = 0;
  do {
    polls++;
    ctx.heartbeat({ polls, consecutiveZero: 0, total: '1', maxLag: '1', anomalies: 0, nonZero: [] });
    await new Promise((r) => setTimeout(r, Math.min(100, ms)));
  } while (Date.now() - started < ms);
  return { polls, consecutiveZero: 3, total: '0', maxLag: '0', anomalies: 0, nonZero: [], report };
}

export const failbackStubs: FailbackStubs = {
  async clusterHealth(input) {
    return healthyCluster(input.cluster);
  },
  async connectorStatus(input) {
    return { connector: input.connector, state: 'STOPPED' as never, workerId: 'w', tasks: [] };
  },
  async planFailbackSeedOffsets() {
    return {
      seedFrom: 'snapshot',
      sourceAlias: 'B',
      partitions: [{ topic: 'orders', partition: 0, source: 'snapshot', offset: '99', resumeAt: '100', exact: true, toCopy: '30' }],
      skippedTopics: [],
      notes: [],
      current: { orders: { '0': '130' } },
    } as never;
  },
  async deployMirrorFlow() {
    return {
      flow: 'mm2-B-to-A',
      connect: 'connect-a',
      connectors: REVERSE.map((name) => ({ name, kind: 'source' as never, action: 'created' as const })),
      stale: [],
      checkedConnectors: 1,
    };
  },
  async stopConnector() {},
  async waitForConnectorState(input) {
    return { connector: input.connector, state: input.state, workerId: 'w', tasks: [] };
  },
  async alterConnectorOffsets(input) {
    return { altered: input.offsets.length, message: 'ok' };
  },
  async resumeConnector() {},
  async waitForReverseCatchUp() {
    return { ...failbackLagReport('5'), polls: 2 };
  },
  async applyOffsetTranslation() {
    return {
      source: 'B',
      target: 'A',
      allowRewind: false,
      groups: [{ group: 'billing', state: 'Empty', members: 0, partitions: [] } as never],
      checkpointsRead: 1,
      generatedAt: T,
      applied: [{ group: 'billing', topic: 'orders', partition: 0, offset: '120' }],
      appliedAt: T,
    };
  },
  async waitForQuietProducers(input) {
    return { cluster: input.cluster, quietSince: T, endOffsets: {}, polls: 3 };
  },
  async snapshotEndOffsets(input) {
    return { cluster: input.cluster, takenAt: T, offsets: { orders: { '0': '130' } }, missingTopics: [] };
  },
  async removeMirrorFlow() {
    return { connectors: REVERSE.map((name) => ({ name, action: 'deleted' as const })), notMirrorMaker: [] };
  },
  async describeFlow() {
    return OPEN_FLOW_SCOPE;
  },
  /** Only the conservation check after stop-reverse asks: nothing left on B. */
  async replicationLag(input) {
    return { ...failbackLagReport('0'), source: input.source };
  },
  async findUnplacedPositions(input) {
    return { unplaced: [], placed: { billing: { exact: 0, translated: 1 } }, sourceRead: input.readSource };
  },
  async placeUnplacedGroups() {
    return { set: [] };
  },
  async getConnectorOffsets() {
    return [];
  },
  /** No group on the primary read past what the forward flow replicated. */
  async readPrimaryPositions() {
    return { readAt: T, groups: 0, positions: [] };
  },
  /** The happy path: dr received every record of the primary. */
  async findDivergentRecords() {
    return { checkedAt: T, records: 0, partitions: [], readOnPrimary: 0, readOnDr: 0 };
  },
  async copyDivergentRecords() {
    return { copied: 0, written: 0, topics: [] };
  },
  /** A first attempt: nothing of this failback's reverse flow is on the primary yet. */
  async findCopiedOnPrimary(input) {
    return {
      checkedAt: T,
      bound: 'primary: after the forward offsets; dr: after the seed',
      partitions: input.partitions.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        status: 'none' as const,
        readOnPrimary: 0,
        readOnDr: 0,
      })),
    };
  },
  async planForwardResumeOffsets() {
    return {
      sourceAlias: 'A',
      connectors: [
        { connector: 'mm2-A-to-B-source', partitions: [{ topic: 'orders', partition: 0, offset: '129', resumeAt: '130', skipped: '30' }] },
      ],
      skippedTopics: [],
      notes: [],
    };
  },
};

export function failbackInput(deadline: string): FailbackInput {
  return {
    primary: 'A',
    dr: 'B',
    forward: {
      connect: 'connect-b',
      connectors: ['mm2-A-to-B-source', 'mm2-A-to-B-checkpoint', 'mm2-A-to-B-heartbeat'],
      sourceConnectors: ['mm2-A-to-B-source'],
    },
    reverse: { connect: 'connect-a', replicationFactor: 1 },
    topics: ['orders'],
    groups: ['billing'],
    policy: 'identity',
    seed: { mode: 'auto', snapshot: { cluster: 'B', takenAt: T, offsets: { orders: { '0': '100' } }, missingTopics: [] } },
    requestedBy: 'alice',
    gates: { 'consumers-cutover': { deadline }, 'stop-producers': { deadline }, 'producers-cutover': { deadline } },
    quietSeconds: 1,
  };
}

/** `stubs` with `onCall(name, arg)` before each call: a test's call log over shared answers. */
export function recording<T extends object>(stubs: T, onCall: (name: string, arg: unknown) => unknown): T {
  return Object.fromEntries(
    Object.entries(stubs).map(([name, fn]) => [
      name,
      async (arg: unknown) => {
        onCall(name, arg);
        return (fn as (a: unknown) => Promise<unknown>)(arg);
      },
    ]),
  ) as T;
}
