import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import { ConnectRestError, type ConnectClient } from '../src/connect/client';
import { classified, FailureType, invalidInput } from '../src/failures';
import {
  buildHeartbeatEmitter,
  buildMirrorConnectors,
  CREATED_BY_KEY,
  heartbeatEmitterName,
  MIRROR_CHECKPOINT_CLASS,
  MIRROR_HEARTBEAT_CLASS,
  MIRROR_SOURCE_CLASS,
  sameConnectorConfig,
  type MirrorConnectorKind,
  type MirrorConnectorSpec,
} from '../src/mm2/connector-configs';
import { checkReplicationLoop, flowSpecFromPlan, sourceConnectorFromConfig, type FoundSourceConnector } from '../src/mm2/loop-guard';
import { readOffsetSyncHistory } from '../src/mm2/offset-syncs';
import { replicationPolicy } from '../src/mm2/policy';
import { parseReplicationPlan, PolicySchema, type ReplicationPlan } from '../src/model/replication-plan';
import type { Registry } from '../src/registry/load';
import { AliasSchema } from '../src/registry/schema';
import type { ActivityDeps } from './deps';
import { activityContext, heartbeat, parseArgs } from './support';

/**
 * MM2 flow activities: deploy a replication plan's connectors (behind the loop guard),
 * remove them, read MM2's offset syncs. Inputs carry aliases, names and plans only; the
 * connector configs (which hold credentials) are built, PUT and forgotten inside the
 * activity and never returned.
 */

const DeployInput = z
  .object({
    plan: z.unknown(),
    /** STOPPED: new connectors are created stopped (Connect 3.7+), so offsets can be seeded first; existing ones keep their state. */
    initialState: z.enum(['RUNNING', 'STOPPED']).default('RUNNING'),
    /** Also deploy the flow's heartbeat emitter on the Connect cluster that writes to the source (buildHeartbeatEmitter). */
    heartbeatEmitter: z.boolean().default(false),
  })
  .strict();
export type DeployMirrorFlowInput = z.input<typeof DeployInput>;

export interface DeployedConnector {
  name: string;
  kind: MirrorConnectorKind;
  group?: string;
  /** The Connect cluster it is on when that is not the plan's (the heartbeat emitter). */
  connect?: string;
  /** unchanged: the config on Connect already was the wanted one, nothing was sent. */
  action: 'created' | 'updated' | 'unchanged';
}

export interface DeployMirrorFlowResult {
  flow: string;
  connect: string;
  connectors: DeployedConnector[];
  /** `<flow>-source-*` connectors on the same Connect cluster that the plan no longer lists (left as they are). */
  stale: string[];
  /** MirrorSourceConnectors in either direction between the two clusters the loop guard compared against. */
  checkedConnectors: number;
  /** Asked for an emitter and none could be placed: why (the replicated heartbeat age then does not measure this flow). */
  emitterSkipped?: string;
}

/** Where a plan's heartbeat emitter runs: `sourceConnect`, else the registry's only Connect cluster writing to the source. */
export function placeHeartbeatEmitter(registry: Registry, plan: ReplicationPlan): { connect: string } | { skipped: string } {
  if (plan.sourceConnect !== undefined) {
    const c = registry.connect(plan.sourceConnect);
    if (c.writesTo !== plan.source) {
      throw invalidInput(
        `sourceConnect: Connect cluster '${plan.sourceConnect}' writes to ${c.writesTo}, not to the plan's source ${plan.source}: ` +
          `the heartbeat emitter writes into the source through its Connect worker's producer`,
      );
    }
    return { connect: plan.sourceConnect };
  }
  const candidates = registry
    .connectWritingTo(plan.source)
    .map((c) => c.name)
    .sort();
  if (candidates.length === 1) return { connect: candidates[0]! };
  if (candidates.length === 0) {
    return {
      skipped:
        `no Connect cluster in the registry writes to ${plan.source}: no heartbeat emitter, so ${plan.source}.heartbeats on ${plan.target} ` +
        `does not measure this flow (add one with writesTo: ${plan.source} and deploy again)`,
    };
  }
  throw invalidInput(
    `sourceConnect: several Connect clusters write to ${plan.source} (${candidates.join(', ')}): name the one to run the heartbeat emitter`,
  );
}

/** The plan's connectors with the Connect cluster each goes to: the flow's on plan.connect, the emitter (when asked and placed) on the source side. */
/** A flow connector as deploy and plan results list it: `connect` only when not the plan's own. */
export function connectorEntry<A extends string>(
  spec: MirrorConnectorSpec & { connect: string },
  planConnect: string,
  action: A,
): { name: string; kind: MirrorConnectorKind; group?: string; connect?: string; action: A } {
  return {
    name: spec.name,
    kind: spec.kind,
    ...(spec.group ? { group: spec.group } : {}),
    ...(spec.connect !== planConnect ? { connect: spec.connect } : {}),
    action,
  };
}

export function flowConnectorSpecs(
  registry: Registry,
  plan: ReplicationPlan,
  withEmitter: boolean,
): { specs: Array<MirrorConnectorSpec & { connect: string }>; emitterSkipped?: string } {
  const endpoints = { source: registry.cluster(plan.source), target: registry.cluster(plan.target) };
  const specs = buildMirrorConnectors(plan, endpoints).map((s) => ({ ...s, connect: plan.connect }));
  if (!withEmitter) return { specs };
  const placed = placeHeartbeatEmitter(registry, plan);
  if ('skipped' in placed) return { specs, emitterSkipped: placed.skipped };
  return { specs: [...specs, { ...buildHeartbeatEmitter(plan, endpoints), connect: placed.connect }] };
}

const FlowNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must be a flow name (connector name prefix)');

const RemoveInput = z
  .object({
    connect: z.string().min(1, 'names a Connect cluster from the registry'),
    name: FlowNameSchema,
    /** Only these topic groups' source connectors (default: every `<name>-source-*` MM2 connector). */
    groups: z.array(z.string().min(1)).optional(),
  })
  .strict();
export type RemoveMirrorFlowInput = z.input<typeof RemoveInput>;

export interface RemoveMirrorFlowResult {
  connectors: Array<{ name: string; action: 'deleted' | 'absent' }>;
  /** Connectors with the flow's names that are not MM2 connectors: left alone. */
  notMirrorMaker: string[];
  /** Connect clusters that did not answer when looking for the flow's heartbeat emitter (it may still run there). */
  emitterNotChecked?: string[];
}

const OffsetSchema = z.string().regex(/^\d+$/, 'must be a decimal offset');
const ReadSyncsInput = z
  .object({
    /** Cluster holding the offset-syncs topic: the flow's source (MM2's default location). */
    cluster: AliasSchema,
    /** The flow's target alias: the topic is `mm2-offset-syncs.<targetAlias>.internal`. */
    targetAlias: AliasSchema,
    /** The flow's policy: a custom separator also renames the internal topics. */
    policy: PolicySchema.optional(),
    /** Only syncs of these upstream topics. */
    topics: z.array(z.string().min(1)).min(1).optional(),
    /** Also return, per partition, the latest sync at or below this upstream offset (e.g. a forward connector's committed offset). */
    upTo: z.array(z.object({ topic: z.string().min(1), partition: z.number().int().min(0), offset: OffsetSchema }).strict()).optional(),
  })
  .strict();
export type ReadOffsetSyncsInput = z.input<typeof ReadSyncsInput>;

export interface SyncEntry {
  topic: string;
  partition: number;
  upstreamOffset: string;
  downstreamOffset: string;
}

export interface ReadOffsetSyncsResult {
  syncTopic: string;
  /** False when the topic does not exist (no flow to that target ever ran from this cluster). */
  exists: boolean;
  records: number;
  /** The latest sync per topic-partition. */
  syncs: SyncEntry[];
  /** For each `upTo` entry that has one: the latest sync at or below its offset. */
  atOrBelow: Array<SyncEntry & { upTo: string }>;
}

/** Runs `fn` over `items`, at most `limit` at a time (Connect is shared; no request storms). */
async function pooled<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const MM2_CLASSES = new Set([MIRROR_SOURCE_CLASS, MIRROR_CHECKPOINT_CLASS, MIRROR_HEARTBEAT_CLASS]);

/** Every MirrorSourceConnector on every Connect cluster of the registry, with its state. */
async function findSourceConnectors(deps: ActivityDeps): Promise<FoundSourceConnector[]> {
  const found: FoundSourceConnector[] = [];
  for (const connect of deps.registry.connectNames) {
    const client = deps.connect(connect);
    const names = await client.list();
    const results = await pooled(names, 4, async (name) => {
      // Connectors come and go while we look (other flows, other playbooks): gone is skipped.
      const config = await client.getConfig(name);
      if (!config) return undefined;
      const connector = sourceConnectorFromConfig(connect, name, config, 'UNKNOWN');
      if (!connector) return undefined;
      try {
        connector.state = (await client.status(name)).connector.state;
      } catch (err) {
        // No status yet (just created) or deleted meanwhile: UNKNOWN counts as active, to be safe.
        if (!(err instanceof ConnectRestError && err.status === 404)) throw err;
      }
      return connector;
    });
    for (const r of results) if (r) found.push(r);
  }
  return found;
}

/** The workflow run this activity serves (its retries serve the same one); undefined outside a workflow. */
function deployingRun(): string | undefined {
  const run = activityContext()?.info.workflowExecution;
  return run ? `${run.workflowId}/${run.runId}` : undefined;
}

/**
 * Kafka cluster ID per alias the registry knows among `aliases`: the loop guard then sees two
 * aliases of one cluster as one (MM2 cannot). An unreachable alias is left out (compared by name).
 */
export async function clusterIdsOf(
  deps: Pick<ActivityDeps, 'kafka' | 'registry'>,
  aliases: Iterable<string>,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const known = [...new Set(aliases)].filter((a) => deps.registry.hasCluster(a));
  await Promise.all(
    known.map(async (alias) => {
      try {
        out[alias] = (await deps.kafka.withAdmin(alias, (admin) => admin.describeCluster())).clusterId;
      } catch {
        // Unreachable now: this alias is compared by name only.
      }
    }),
  );
  return out;
}

async function listTopics(deps: ActivityDeps, alias: string): Promise<string[]> {
  return classified(() => deps.kafka.withAdmin(alias, (admin) => admin.listTopics()), { cluster: alias, registry: deps.registry });
}

async function isMirrorMaker(client: ConnectClient, name: string): Promise<boolean | undefined> {
  const config = await client.getConfig(name);
  if (!config) return undefined;
  return MM2_CLASSES.has(config['connector.class'] ?? '');
}

export function createMm2Activities(deps: ActivityDeps) {
  return {
    /**
     * Creates or updates the MM2 connectors of a replication plan on `plan.connect`, after
     * refusing a replication loop or a double replication (nothing is created then).
     * Safe to repeat: unchanged connectors are not touched, changed ones are PUT.
     */
    async deployMirrorFlow(input: DeployMirrorFlowInput): Promise<DeployMirrorFlowResult> {
      const { plan: rawPlan, initialState, heartbeatEmitter } = parseArgs(DeployInput, input);
      const parsed = parseReplicationPlan(rawPlan);
      if (!parsed.ok) throw invalidInput(`invalid replication plan: ${parsed.error}`);
      const plan = parsed.plan;
      return classified(
        async () => {
          const connectCluster = deps.registry.connect(plan.connect);
          if (connectCluster.writesTo !== plan.target) {
            const candidates = deps.registry.connectWritingTo(plan.target).map((c) => c.name);
            throw invalidInput(
              `connect: Connect cluster '${plan.connect}' writes to ${connectCluster.writesTo}, not to the plan's target ${plan.target}: ` +
                `MM2 writes replicated records through the Connect worker's own producer, so the flow must run on a Connect cluster ` +
                `that writes to ${plan.target} (${candidates.length > 0 ? `the registry has: ${candidates.join(', ')}` : 'the registry has none'})`,
            );
          }
          const { specs, emitterSkipped } = flowConnectorSpecs(deps.registry, plan, heartbeatEmitter);
          const names = specs.map((s) => s.name);

          // The loop guard looks at every Connect cluster: the reverse flow runs on the other side.
          const [found, sourceTopics, targetTopics] = await Promise.all([
            findSourceConnectors(deps),
            listTopics(deps, plan.source),
            listTopics(deps, plan.target),
          ]);
          const clusterIds = await clusterIdsOf(deps, [plan.source, plan.target, ...found.flatMap((c) => [c.flow.source, c.flow.target])]);
          const guard = checkReplicationLoop({
            flow: { ...flowSpecFromPlan(plan), name: plan.name, connect: plan.connect, connectors: names },
            found,
            topics: { [plan.source]: sourceTopics, [plan.target]: targetTopics },
            clusterIds,
          });
          if (!guard.ok) {
            throw ApplicationFailure.create({
              type: guard.kind === 'loop' ? FailureType.ReplicationLoop : FailureType.PreconditionFailed,
              message: guard.message,
              nonRetryable: true,
              details: [{ conflicts: guard.conflicts }],
            });
          }

          const connectors: DeployedConnector[] = [];
          // A retry after a failure mid-deploy (a Connect rebalance, a lost response, a worker
          // killed right after a create) finds the connectors an earlier attempt created
          // already in place. Each carries its creator run in its config (CREATED_BY_KEY), so
          // the report and the playbook's compensation still count them as created by this
          // run; the heartbeat says the same for connectors created before the mark existed.
          const run = deployingRun();
          const earlier = activityContext()?.info.heartbeatDetails as { created?: string[]; creating?: string } | undefined;
          const createdBefore = new Set([...(earlier?.created ?? []), ...(earlier?.creating ? [earlier.creating] : [])]);
          const created = () => connectors.filter((c) => c.action === 'created').map((c) => c.name);
          for (const spec of specs) {
            const client = deps.connect(spec.connect);
            const existing = await client.getConfig(spec.name);
            const ours =
              existing !== undefined && ((run !== undefined && existing[CREATED_BY_KEY] === run) || createdBefore.has(spec.name));
            let action: DeployedConnector['action'];
            if (existing === undefined) {
              heartbeat({ deployed: connectors.length, of: specs.length, created: [...createdBefore, ...created()], creating: spec.name });
              const config = run === undefined ? spec.config : { ...spec.config, [CREATED_BY_KEY]: run };
              // Created STOPPED, a connector copies nothing until its offsets are set and it is resumed.
              if (initialState === 'STOPPED') await client.create(spec.name, config, 'STOPPED');
              else await client.putConfig(spec.name, config);
              action = 'created';
            } else if (sameConnectorConfig(existing, spec.config)) {
              // A PUT of the same config would still restart the connector's tasks.
              action = ours ? 'created' : 'unchanged';
            } else {
              // An update keeps the connector's creator: it stays someone else's to delete.
              const creator = existing[CREATED_BY_KEY];
              await client.putConfig(spec.name, creator === undefined ? spec.config : { ...spec.config, [CREATED_BY_KEY]: creator });
              action = ours ? 'created' : 'updated';
            }
            connectors.push(connectorEntry(spec, plan.connect, action));
            heartbeat({ deployed: connectors.length, of: specs.length, created: [...new Set([...createdBefore, ...created()])] });
          }
          const stale = found
            .filter((c) => c.connect === plan.connect && c.name.startsWith(`${plan.name}-source-`) && !names.includes(c.name))
            .map((c) => c.name)
            .sort();
          return {
            flow: plan.name,
            connect: plan.connect,
            connectors,
            stale,
            checkedConnectors: guard.checked,
            ...(emitterSkipped ? { emitterSkipped } : {}),
          };
        },
        { registry: deps.registry },
      );
    },

    /**
     * Deletes a flow's MM2 connectors (`<name>-source-*`, `<name>-checkpoint`,
     * `<name>-heartbeat`) from a Connect cluster, and its heartbeat emitter
     * (`<name>-heartbeat-emitter`) from whichever Connect cluster of the registry runs it;
     * topics stay. Safe to repeat: gone counts as done.
     */
    async removeMirrorFlow(input: RemoveMirrorFlowInput): Promise<RemoveMirrorFlowResult> {
      const { connect, name, groups } = parseArgs(RemoveInput, input);
      return classified(
        async () => {
          deps.registry.connect(connect); // unknown name: UnknownCluster
          const client = deps.connect(connect);
          const fixed = [`${name}-checkpoint`, `${name}-heartbeat`];
          const existing = await client.list();
          const sources = groups
            ? groups.map((g) => `${name}-source-${g}`)
            : existing.filter((n) => n.startsWith(`${name}-source-`)).sort();
          const connectors: RemoveMirrorFlowResult['connectors'] = [];
          const notMirrorMaker: string[] = [];
          for (const n of [...sources, ...fixed]) {
            const mm2 = await isMirrorMaker(client, n);
            if (mm2 === false) {
              notMirrorMaker.push(n);
              continue;
            }
            connectors.push({ name: n, action: mm2 === undefined ? 'absent' : await client.delete(n) });
          }
          // The emitter runs on the source side, which the caller does not name: look on each
          // Connect cluster. One that does not answer (the source side may be down) is listed, not a failure.
          const emitter = heartbeatEmitterName(name);
          const emitterNotChecked: string[] = [];
          let emitterDeleted = false;
          for (const other of deps.registry.connectNames) {
            const c = deps.connect(other);
            try {
              const mm2 = await isMirrorMaker(c, emitter);
              if (mm2 === false) notMirrorMaker.push(`${emitter} (on ${other})`);
              else if (mm2 === true && (await c.delete(emitter)) === 'deleted') emitterDeleted = true;
            } catch (err) {
              if (other === connect) throw err;
              emitterNotChecked.push(other);
            }
          }
          if (emitterDeleted) connectors.push({ name: emitter, action: 'deleted' });
          return { connectors, notMirrorMaker, ...(emitterNotChecked.length > 0 ? { emitterNotChecked } : {}) };
        },
        { registry: deps.registry },
      );
    },

    /**
     * Reads MM2's offset syncs (`mm2-offset-syncs.<targetAlias>.internal` on `cluster`) to
     * their end offsets and returns the latest per topic-partition. Changes nothing; safe to repeat.
     */
    async readOffsetSyncs(input: ReadOffsetSyncsInput): Promise<ReadOffsetSyncsResult> {
      const args = parseArgs(ReadSyncsInput, input);
      const policy = replicationPolicy(args.policy ? { type: args.policy.type, separator: args.policy.separator } : { type: 'default' });
      const syncTopic = policy.offsetSyncsTopic(args.targetAlias);
      return classified(
        async () => {
          const topics = await listTopics(deps, args.cluster);
          if (!topics.includes(syncTopic)) return { syncTopic, exists: false, records: 0, syncs: [], atOrBelow: [] };
          const { history, records } = await readOffsetSyncHistory(deps.kafka.get(args.cluster), syncTopic, {
            topics: args.topics ? new Set(args.topics) : undefined,
            track: args.upTo?.map((u) => ({ topic: u.topic, partition: u.partition, upstream: BigInt(u.offset) })),
            onProgress: (read) => heartbeat({ syncTopic, read }),
          });
          const str = (s: { topic: string; partition: number; upstreamOffset: bigint; downstreamOffset: bigint }): SyncEntry => ({
            topic: s.topic,
            partition: s.partition,
            upstreamOffset: s.upstreamOffset.toString(),
            downstreamOffset: s.downstreamOffset.toString(),
          });
          const syncs = history.partitions().map(({ topic, partition }) => str(history.latest(topic, partition)!));
          const atOrBelow = (args.upTo ?? []).flatMap((u) => {
            const s = history.atOrBelow(u.topic, u.partition, BigInt(u.offset));
            return s ? [{ ...str(s), upTo: u.offset }] : [];
          });
          return { syncTopic, exists: true, records, syncs, atOrBelow };
        },
        { cluster: args.cluster, registry: deps.registry },
      );
    },
  };
}
