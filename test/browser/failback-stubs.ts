import type { Activities } from '../../activities';

/**
 * Just enough activities for a failback to reach its first gate (`consumers-cutover`),
 * and once that is approved, its second (`stop-producers`): the UI test is about what
 * the Temporal UI shows of a running playbook and what it sends, not about Kafka. Shapes follow activities/* (see test/workflow/failback.test.ts
 * for the full set and the checks on the calls).
 */

const T = '2025-01-01T00:00:00.000Z';
const REVERSE = ['mm2-B-to-A-source-failback', 'mm2-B-to-A-checkpoint', 'mm2-B-to-A-heartbeat'];

type GateStubs = Pick<
  Activities,
  | 'clusterHealth' | 'connectorStatus' | 'planFailbackSeedOffsets' | 'deployMirrorFlow' | 'stopConnector'
  | 'waitForConnectorState' | 'alterConnectorOffsets' | 'resumeConnector' | 'waitForReverseCatchUp' | 'applyOffsetTranslation'
  | 'removeMirrorFlow'
>;

export const failbackGateStubs: GateStubs = {
  async clusterHealth(input) {
    return {
      cluster: input.cluster, brokers: { count: 3, ids: [1, 2, 3] }, expectedBrokers: 3, expectedBrokersFrom: 'registry', controllerId: 1,
      underReplicated: [], offline: [], brokersMissingFromAssignments: [], topicCount: 3, partitionCount: 3, healthy: true, problems: [],
    } as never;
  },
  async connectorStatus(input) {
    return { connector: input.connector, state: 'STOPPED', workerId: 'w', tasks: [] };
  },
  async planFailbackSeedOffsets() {
    return {
      seedFrom: 'snapshot', sourceAlias: 'B',
      partitions: [{ topic: 'orders', partition: 0, source: 'snapshot', offset: '99', resumeAt: '100', exact: true, toCopy: '30' }],
      skippedTopics: [], notes: [], current: { orders: { '0': '130' } },
    } as never;
  },
  async deployMirrorFlow() {
    return { flow: 'mm2-B-to-A', connect: 'connect-a', connectors: REVERSE.map((name) => ({ name, kind: 'source' as never, action: 'created' as const })), stale: [], checkedConnectors: 1 };
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
    return {
      source: 'B', partitions: [{ topic: 'orders', partition: 0, end: '130', committed: '129', lag: '1', state: 'caught-up' as const }],
      total: '1', maxLag: '1', anomalies: 0, drained: false, missingTopics: [], measuredAt: T, polls: 1,
    };
  },
  async applyOffsetTranslation() {
    return {
      source: 'B', target: 'A', allowRewind: false, groups: [{ group: 'billing-svc', state: 'Empty', members: 0, partitions: [] } as never],
      checkpointsRead: 1, generatedAt: T, applied: [{ group: 'billing-svc', topic: 'orders', partition: 0, offset: '120' }], appliedAt: T,
    };
  },
  // Compensation after an abort deletes the reverse flow.
  async removeMirrorFlow() {
    return { connectors: REVERSE.map((name) => ({ name, action: 'deleted' as const })), notMirrorMaker: [] };
  },
};
