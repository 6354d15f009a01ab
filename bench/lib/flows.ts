import { createActivities, createDeps } from '../../activities';
import { ConnectClient, inState } from '../../src/connect/client';
import type { ReplicationPlanInput } from '../../src/model/replication-plan';
import { stackRegistry } from '../../src/registry/load';
import { eventually, stack } from './common';

/** The production activities, called directly (no worker) for setup and for the timed in-process runs. */
export const activities = createActivities(createDeps(stackRegistry(stack), 'kafka-dr-bench'));

export const connectClient = (name: 'connect-a' | 'connect-b') => new ConnectClient(stack.connect[name].url);

export interface Flow {
  name: string;
  connect: 'connect-a' | 'connect-b';
  source: 'A' | 'B';
  target: 'A' | 'B';
  sourceConnector: string;
  connectors: string[];
}

/** Connect answers 409/500 while it rebalances: retry the call a while. */
export const retrying = async <T>(what: string, fn: () => Promise<T>, timeoutMs = 90_000): Promise<T> =>
  (await eventually(what, async () => ({ value: await fn() }), timeoutMs, 1000)).value;

/**
 * Deploys an MM2 flow (source, checkpoint, heartbeat connectors) with kafka-dr's own
 * deployMirrorFlow and 1 s intervals, and waits until every connector RUNS.
 */
export async function deployFlow(args: {
  name: string;
  source: 'A' | 'B';
  topics: string[];
  groups: string[];
  policy: 'default' | 'identity';
}): Promise<Flow> {
  const target = args.source === 'A' ? 'B' : 'A';
  const connect = target === 'B' ? 'connect-b' : 'connect-a';
  const plan: ReplicationPlanInput = {
    source: args.source,
    target,
    connect,
    name: args.name,
    policy: { type: args.policy },
    topicGroups: [{ name: 'main', topics: args.topics }],
    groups: args.groups,
    replicationFactor: 1,
    intervals: { refreshTopicsSeconds: 1, refreshGroupsSeconds: 1, emitCheckpointsSeconds: 1, emitHeartbeatsSeconds: 1 },
  };
  const deployed = await retrying(`flow ${args.name} deployed`, () => activities.deployMirrorFlow({ plan }));
  const connectors = deployed.connectors.map((c) => c.name);
  const client = connectClient(connect);
  await eventually(
    `flow ${args.name} RUNNING on ${connect}`,
    async () => {
      const ok = await Promise.all(connectors.map(async (n) => inState(await client.status(n), 'RUNNING', n.endsWith('-checkpoint'))));
      return ok.every(Boolean) ? true : undefined;
    },
    120_000,
    500,
  );
  return { name: args.name, connect, source: args.source, target, sourceConnector: `${args.name}-source-main`, connectors };
}

export async function deleteFlow(flow: Flow): Promise<void> {
  const client = connectClient(flow.connect);
  await Promise.all(flow.connectors.map((n) => client.delete(n).catch(() => undefined)));
}
