import type { Activities } from '../../activities';
import { inState, type ConnectClient, type ConnectorConfig } from '../../src/connect/client';
import { mirrorHeartbeatConfig } from '../../src/mm2/connector-configs';
import type { ReplicationPlanInput } from '../../src/model/replication-plan';
import { eventually, stack } from './stack';

/**
 * MM2 scaffolding the end-to-end tests repeat: deploy a flow with kafka-dr's own
 * activity and wait until it runs, wait for connector states, retry Connect calls that
 * answer 409/500 while the workers rebalance (other tests share them).
 */

/** Connect answers 500/409 while it rebalances: retry `fn` for a while. */
export async function retrying<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  return (await eventually(what, async () => ({ value: await fn() }), timeoutMs, 1000)).value;
}

/** The connector names `deployMirrorFlow` creates for a plan: one source per topic group, checkpoint, heartbeat. */
export function flowConnectors(plan: Pick<ReplicationPlanInput, 'name' | 'topicGroups'> & { name: string }): {
  sources: string[];
  all: string[];
} {
  const sources = plan.topicGroups.map((g) => `${plan.name}-source-${g.name}`);
  return { sources, all: [...sources, `${plan.name}-checkpoint`, `${plan.name}-heartbeat`] };
}

/** Waits until every connector is in `state` (a checkpoint connector may have no task yet). */
export async function connectorsInState(
  connect: ConnectClient,
  names: string[],
  state: 'RUNNING' | 'STOPPED' | 'PAUSED',
  timeoutMs = 90_000,
): Promise<void> {
  await eventually(
    `${names.join(', ')} ${state}`,
    async () => {
      const states = await Promise.all(
        names.map(async (n) => inState(await connect.status(n), state, state === 'STOPPED' || n.endsWith('-checkpoint'))),
      );
      return states.every(Boolean) ? true : undefined;
    },
    timeoutMs,
  );
}

/** Deploys `plan` with the deployMirrorFlow activity (retrying a rebalance) and waits until its connectors run. */
export async function deployFlowRunning(
  activities: Pick<Activities, 'deployMirrorFlow'>,
  plan: ReplicationPlanInput & { name: string },
  connect: ConnectClient,
): Promise<string[]> {
  const deployed = await retrying(`flow ${plan.name} deployed`, () => activities.deployMirrorFlow({ plan }));
  const names = deployed.connectors.map((c) => c.name);
  await connectorsInState(connect, names, 'RUNNING');
  return names;
}

/**
 * A heartbeat connector for connect-a: `heartbeats` on A keyed (`sourceAlias`, A), as a
 * bidirectional setup's B→A flow writes them. An A→B flow mirrors them to B, where the
 * freshness check reads them.
 */
export function heartbeatsOnAConfig(name: string, sourceAlias: string): ConnectorConfig {
  return mirrorHeartbeatConfig({
    source: { alias: sourceAlias, bootstrapServers: stack.kafka.B.bootstrap },
    target: { alias: 'A', bootstrapServers: stack.kafka.A.bootstrap },
    name,
    topics: [],
    groups: [],
    policy: 'default',
    replicationFactor: 1,
    intervalSeconds: 1,
  });
}
