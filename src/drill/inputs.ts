import type { DeployReplicationInput } from '../model/deploy-input';
import type { FailbackInput } from '../model/failback-input';
import type { FailoverInput, FailoverSnapshot } from '../model/failover-input';
import type { Compression } from '../model/replication-plan';
import type { DrillTopic } from './records';
import { drillGroups } from './extra-groups';

/**
 * The playbook inputs the drill starts, built from its names. Pure. The same shapes as
 * docs/examples/*.json, tuned for a laptop: Identity replication (the clients use the
 * same topic names on both clusters, as most DR setups do), 1 s MM2 intervals so
 * checkpoints and heartbeats are fresh, short quiet windows, gates guarded four-eyes
 * (the drill requests as one identity and approves as another).
 */

export const DRILL_REQUESTER = 'kafka-dr-drill';
export const DRILL_APPROVER = 'drill-approver';

export interface DrillNames {
  id: string;
  topics: DrillTopic[];
  group: string;
  flow: string;
  reverseFlow: string;
}

export function drillNames(id: string): DrillNames {
  return {
    id,
    topics: [
      { name: `drill-${id}-orders`, partitions: 3, compacted: false },
      { name: `drill-${id}-accounts`, partitions: 2, compacted: true },
    ],
    group: `drill-${id}-svc`,
    flow: `drill-${id}`,
    reverseFlow: `drill-${id}-back`,
  };
}

const INTERVALS = { refreshTopicsSeconds: 2, refreshGroupsSeconds: 2, emitCheckpointsSeconds: 1, emitHeartbeatsSeconds: 1 };

const gate = { approvers: [DRILL_APPROVER], fourEyes: true, deadline: '10 minutes' };

/** The drill's topic group; `codec` (the drill's --codec) sets its MM2 producer compression. */
function topicGroup(name: string, n: DrillNames, codec: Compression | undefined) {
  return { name, topics: n.topics.map((t) => t.name), ...(codec ? { tuning: { compression: codec } } : {}) };
}

/** `replicationFactor`: the stack's (1 single-node, 3 HA) for every topic MM2 creates. */
export function deployInput(n: DrillNames, codec?: Compression, replicationFactor = 1): DeployReplicationInput {
  return {
    plan: {
      source: 'A',
      target: 'B',
      connect: 'connect-b',
      name: n.flow,
      policy: { type: 'identity' },
      topicGroups: [topicGroup('drill', n, codec)],
      groups: drillGroups(n),
      replicationFactor,
      intervals: INTERVALS,
    },
    requestedBy: DRILL_REQUESTER,
    waitSeconds: 180,
  };
}

/** The forward flow's connectors as deploy-replication names them. */
export function forwardConnectors(n: DrillNames): { connect: string; connectors: string[]; sourceConnectors: string[] } {
  const source = `${n.flow}-source-drill`;
  return { connect: 'connect-b', connectors: [source, `${n.flow}-checkpoint`, `${n.flow}-heartbeat`], sourceConnectors: [source] };
}

export function failoverInput(n: DrillNames, mode: 'planned' | 'unplanned'): FailoverInput {
  return {
    source: 'A',
    target: 'B',
    mode,
    forward: forwardConnectors(n),
    topics: n.topics.map((t) => t.name),
    groups: drillGroups(n),
    policy: 'identity',
    requestedBy: DRILL_REQUESTER,
    gates: { 'stop-producers': gate, 'consumers-cutover': gate, 'producers-cutover': gate },
    lagThreshold: 100_000,
    quietSeconds: 3,
    // Unplanned: A was stopped by the drill; two probes confirm it without a long wait.
    ...(mode === 'unplanned' ? { probeAttempts: 2 } : {}),
  };
}

/** Failback B→A seeded from the failover's snapshot of B (its report's figures.snapshots.target). */
export function failbackInput(n: DrillNames, snapshot: FailoverSnapshot, codec?: Compression, replicationFactor = 1): FailbackInput {
  return {
    primary: 'A',
    dr: 'B',
    forward: forwardConnectors(n),
    reverse: {
      connect: 'connect-a',
      name: n.reverseFlow,
      replicationFactor,
      intervals: INTERVALS,
      topicGroups: [topicGroup('failback', n, codec)],
    },
    topics: n.topics.map((t) => t.name),
    groups: drillGroups(n),
    policy: 'identity',
    seed: { mode: 'auto', snapshot },
    requestedBy: DRILL_REQUESTER,
    gates: { 'consumers-cutover': gate, 'stop-producers': gate, 'producers-cutover': gate },
    // The producer keeps writing to B until stop-producers: the reverse flow trails it by
    // about one Connect offset flush, never exactly 0.
    lagThreshold: 1_000,
    catchUpTimeoutSeconds: 300,
    quietSeconds: 3,
  };
}
