import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import { ConnectRestError } from '../src/connect/client';
import { classified, FailureType, invalidInput } from '../src/failures';
import { sameConnectorConfig, type MirrorConnectorKind } from '../src/mm2/connector-configs';
import {
  checkReplicationLoop,
  flowSpecFromPlan,
  sourceConnectorFromConfig,
  type FlowConflict,
  type FoundSourceConnector,
} from '../src/mm2/loop-guard';
import { HEARTBEATS_TOPIC, replicationPolicy } from '../src/mm2/policy';
import { parseReplicationPlan } from '../src/model/replication-plan';
import { AliasSchema } from '../src/registry/schema';
import { createAuditActivities } from './audit';
import type { ActivityDeps } from './deps';
import { clusterIdsOf, connectorEntry, flowConnectorSpecs } from './mm2';
import { GroupHasMembersError } from '../src/kafka/group-commit';
import { heartbeat, onClusters, parseArgs, sleep } from './support';

/**
 * Topic and flow activities the deploy-replication and recreate-topic playbooks need on
 * top of the building blocks: delete a mirrored topic (never a source topic), wait for
 * a mirror to come back, reset a consumer group on a topic, preview a flow deploy
 * (dry run), and wait for a flow's heartbeats on the target.
 */

const TopicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name (1-249 letters, digits, . _ -)');
const PolicyRef = z.strictObject({
  type: z.enum(['default', 'identity']),
  separator: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,8}$/, 'must be 1-8 of letters, digits, . _ -')
    .optional(),
});

const DeleteTopicInput = z.strictObject({
  /** The cluster holding the mirror (the flow's target). */
  cluster: AliasSchema,
  /** The mirrored topic's name on `cluster`. */
  topic: TopicName,
  /** The flow's source alias: the topic must be its mirror under `policy`. */
  sourceAlias: AliasSchema,
  policy: PolicyRef,
  timeoutSeconds: z.number().int().min(1).max(3_600).default(120),
  pollMs: z.number().int().min(100).max(60_000).default(500),
});
export type DeleteTopicInput = z.input<typeof DeleteTopicInput>;

const WaitForTopicInput = z.strictObject({
  cluster: AliasSchema,
  topic: TopicName,
  /** Also wait until it has exactly this many partitions. */
  partitions: z.number().int().min(1).optional(),
  timeoutSeconds: z.number().int().min(1).max(3_600).default(300),
  pollMs: z.number().int().min(100).max(60_000).default(1_000),
});
export type WaitForTopicInput = z.input<typeof WaitForTopicInput>;

const ResetGroupInput = z.strictObject({
  cluster: AliasSchema,
  group: z.string().min(1).max(249),
  topic: TopicName,
  to: z.enum(['earliest', 'latest']),
});
export type ResetConsumerGroupInput = z.input<typeof ResetGroupInput>;

const PlanFlowInput = z.strictObject({
  plan: z.unknown(),
  /** Include the flow's heartbeat emitter (on the Connect cluster that writes to the source), as deployMirrorFlow would. */
  heartbeatEmitter: z.boolean().default(false),
});
export type PlanMirrorFlowInput = z.input<typeof PlanFlowInput>;

const HeartbeatsInput = z.strictObject({
  target: AliasSchema,
  /** The flow's source alias: the heartbeat key (source, target) to look for in the target's `heartbeats`. */
  sourceAlias: AliasSchema,
  /** Only heartbeats at or after this time count (ISO-8601): proves the new flow emits, not an old one. */
  since: z.string().datetime().optional(),
  timeoutSeconds: z.number().int().min(1).max(3_600).default(120),
  pollMs: z.number().int().min(200).max(60_000).default(2_000),
});
export type WaitForHeartbeatsInput = z.input<typeof HeartbeatsInput>;

export interface DeleteTopicResult {
  cluster: string;
  topic: string;
  action: 'deleted' | 'absent';
  /** ms from the delete request until the topic was no longer listed. */
  goneAfterMs: number;
}

export interface WaitForTopicResult {
  cluster: string;
  topic: string;
  partitions: number;
  waitedMs: number;
}

export interface ResetConsumerGroupResult {
  group: string;
  topic: string;
  /** Set when the group was not touched (members connected): say why. */
  skipped?: string;
  offsets: Array<{ partition: number; offset: string }>;
}

export interface PlannedConnector {
  name: string;
  kind: MirrorConnectorKind;
  group?: string;
  /** The Connect cluster it goes to when that is not the plan's (the heartbeat emitter). */
  connect?: string;
  action: 'create' | 'update' | 'unchanged';
}

export interface MirrorFlowPlan {
  flow: string;
  connect: string;
  connectors: PlannedConnector[];
  /** `<flow>-source-*` connectors the plan no longer lists (a deploy leaves them). */
  stale: string[];
  loopGuard:
    | { ok: true; checkedConnectors: number }
    | { ok: false; kind: 'loop' | 'double-replication'; message: string; conflicts: FlowConflict[] };
  /** Asked for the heartbeat emitter and none can be placed: why. */
  emitterSkipped?: string;
}

export interface HeartbeatProof {
  target: string;
  sourceAlias: string;
  /** Newest heartbeat keyed (sourceAlias, target) in the target's `heartbeats`. */
  lastHeartbeatAt: string;
  ageMs: number;
  waitedMs: number;
  /** Age of the newest heartbeat replicated from the source (`<source>.heartbeats`): not read yet (always null, see waitForHeartbeats). */
  remoteAgeMs: number | null;
}

function timedOut(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.PreconditionFailed, message, nonRetryable: true });
}

export function createTopicsActivities(deps: ActivityDeps) {
  const { registry, kafka } = deps;
  const audit = createAuditActivities(deps);

  /** Every MirrorSourceConnector on every Connect cluster (the loop guard's view), as deployMirrorFlow gathers it. */
  async function findSourceConnectors(): Promise<FoundSourceConnector[]> {
    const found: FoundSourceConnector[] = [];
    for (const connect of registry.connectNames) {
      const client = deps.connect(connect);
      for (const name of await client.list()) {
        const config = await client.getConfig(name);
        if (!config) continue;
        const connector = sourceConnectorFromConfig(connect, name, config, 'UNKNOWN');
        if (!connector) continue;
        try {
          connector.state = (await client.status(name)).connector.state;
        } catch (err) {
          if (!(err instanceof ConnectRestError && err.status === 404)) throw err;
        }
        found.push(connector);
      }
    }
    return found;
  }

  return {
    /**
     * Deletes a MIRRORED topic on the flow's target and waits until it is no longer listed.
     * Refuses (InvalidInput, nothing deleted) a topic that is not the mirror of a source
     * topic under the policy, a topic on the source cluster itself, and MM2's internal or
     * heartbeats topics. Already gone returns 'absent': safe to repeat.
     */
    async deleteTopic(input: DeleteTopicInput): Promise<DeleteTopicResult> {
      const args = parseArgs(DeleteTopicInput, input);
      if (args.cluster === args.sourceAlias) {
        throw invalidInput(
          `cluster: ${args.cluster} is the flow's source: deleteTopic deletes mirrored copies on the target only, never a source topic`,
        );
      }
      const policy = replicationPolicy({ type: args.policy.type, separator: args.policy.separator }, args.sourceAlias);
      if (policy.isInternalTopic(args.topic) || policy.isHeartbeatsTopic(args.topic)) {
        throw invalidInput(`topic: ${args.topic} is an MM2 internal or heartbeats topic, not a mirrored copy`);
      }
      // Default policy: the name must say it came from sourceAlias. Identity names cannot say
      // so: the guard there is only "not on the source cluster".
      if (args.policy.type === 'default' && policy.topicSource(args.topic) !== args.sourceAlias) {
        throw invalidInput(
          `topic: ${args.topic} is not a mirror of a ${args.sourceAlias} topic under the default policy (expected ${policy.formatRemoteTopic(args.sourceAlias, '<topic>')}): refused, it may be a topic producers write to`,
        );
      }
      const started = Date.now();
      return onClusters(registry, [args.cluster], () =>
        kafka.withAdmin(args.cluster, async (admin) => {
          let action: DeleteTopicResult['action'] = 'absent';
          if ((await admin.listTopics()).includes(args.topic)) {
            try {
              await admin.deleteTopics({ topics: [args.topic], timeout: 30_000 });
              action = 'deleted';
            } catch (err) {
              // Deleted meanwhile (a retry of ours, or someone else): gone is what we want.
              if (
                !/UNKNOWN_TOPIC_OR_PARTITION|does not host this topic-partition/i.test(
                  String((err as Error)?.message) + JSON.stringify(err),
                )
              )
                throw err;
            }
          }
          const deadline = started + args.timeoutSeconds * 1_000;
          for (;;) {
            const topics = await admin.listTopics();
            if (!topics.includes(args.topic))
              return { cluster: args.cluster, topic: args.topic, action, goneAfterMs: Date.now() - started };
            if (Date.now() > deadline)
              throw timedOut(`topic ${args.topic} on ${args.cluster} is still listed ${args.timeoutSeconds}s after its deletion`);
            heartbeat({ topic: args.topic, waiting: 'gone' });
            await sleep(args.pollMs);
          }
        }),
      );
    },

    /**
     * Waits (heartbeating) until the topic exists on the cluster, with `partitions`
     * partitions when given; changes nothing, safe to repeat. Times out as PreconditionFailed.
     */
    async waitForTopic(input: WaitForTopicInput): Promise<WaitForTopicResult> {
      const args = parseArgs(WaitForTopicInput, input);
      const started = Date.now();
      return onClusters(registry, [args.cluster], () =>
        kafka.withAdmin(args.cluster, async (admin) => {
          let seen: number | null = null;
          for (;;) {
            if ((await admin.listTopics()).includes(args.topic)) {
              const md = await admin.fetchTopicMetadata({ topics: [args.topic] });
              seen = md.topics[0]?.partitions.length ?? 0;
              if (args.partitions === undefined ? seen > 0 : seen === args.partitions) {
                return { cluster: args.cluster, topic: args.topic, partitions: seen, waitedMs: Date.now() - started };
              }
            }
            if (Date.now() - started > args.timeoutSeconds * 1_000) {
              throw timedOut(
                `topic ${args.topic} on ${args.cluster} ${seen === null ? 'did not appear' : `has ${seen} partition(s), expected ${args.partitions}`} within ${args.timeoutSeconds}s`,
              );
            }
            heartbeat({ topic: args.topic, partitions: seen });
            await sleep(args.pollMs);
          }
        }),
      );
    },

    /**
     * Sets a consumer group's offsets on one topic to each partition's earliest (or latest)
     * offset, as computed numbers. A group with members is skipped (reported, not failed):
     * Kafka refuses offset commits from outside a live group. Safe to repeat.
     */
    async resetConsumerGroup(input: ResetConsumerGroupInput): Promise<ResetConsumerGroupResult> {
      const args = parseArgs(ResetGroupInput, input);
      return onClusters(registry, [args.cluster], () =>
        kafka.withAdmin(args.cluster, async (admin) => {
          const { groups } = await admin.describeGroups([args.group]);
          const members = groups[0]?.members.length ?? 0;
          if (members > 0) {
            return {
              group: args.group,
              topic: args.topic,
              skipped: `${members} member(s) connected: stop the consumers and reset it again`,
              offsets: [],
            };
          }
          const offsets = (await admin.fetchTopicOffsets(args.topic)).map((o) => ({
            partition: o.partition,
            offset: args.to === 'earliest' ? o.low : o.high,
          }));
          try {
            await kafka.withGroupCommitter(args.cluster, (committer) =>
              committer.commit(args.group, [{ topic: args.topic, partitions: offsets }]),
            );
          } catch (err) {
            // Consumers joined between the check and the commit: the same answer as above.
            if (err instanceof GroupHasMembersError)
              return {
                group: args.group,
                topic: args.topic,
                skipped: `${err.message}: stop the consumers and reset it again`,
                offsets: [],
              };
            throw err;
          }
          return { group: args.group, topic: args.topic, offsets: offsets.sort((a, b) => a.partition - b.partition) };
        }),
      );
    },

    /**
     * What deployMirrorFlow would do with a plan (create/update/unchanged per connector,
     * the loop guard's verdict), without writing anything: the dry run. Safe to repeat.
     */
    async planMirrorFlow(input: PlanMirrorFlowInput): Promise<MirrorFlowPlan> {
      const { plan: rawPlan, heartbeatEmitter } = parseArgs(PlanFlowInput, input);
      const parsed = parseReplicationPlan(rawPlan);
      if (!parsed.ok) throw invalidInput(`invalid replication plan: ${parsed.error}`);
      const plan = parsed.plan;
      return classified(
        async () => {
          const connectCluster = registry.connect(plan.connect);
          if (connectCluster.writesTo !== plan.target) {
            throw invalidInput(
              `connect: Connect cluster '${plan.connect}' writes to ${connectCluster.writesTo}, not to the plan's target ${plan.target}`,
            );
          }
          const { specs, emitterSkipped } = flowConnectorSpecs(registry, plan, heartbeatEmitter);
          const names = specs.map((s) => s.name);
          const listTopics = (alias: string) =>
            classified(() => kafka.withAdmin(alias, (a) => a.listTopics()), { cluster: alias, registry });
          const [found, sourceTopics, targetTopics] = await Promise.all([
            findSourceConnectors(),
            listTopics(plan.source),
            listTopics(plan.target),
          ]);
          const clusterIds = await clusterIdsOf(deps, [plan.source, plan.target, ...found.flatMap((c) => [c.flow.source, c.flow.target])]);
          const guard = checkReplicationLoop({
            flow: { ...flowSpecFromPlan(plan), name: plan.name, connect: plan.connect, connectors: names },
            found,
            topics: { [plan.source]: sourceTopics, [plan.target]: targetTopics },
            clusterIds,
          });
          const connectors: PlannedConnector[] = [];
          for (const spec of specs) {
            const existing = await deps.connect(spec.connect).getConfig(spec.name);
            const action = existing === undefined ? 'create' : sameConnectorConfig(existing, spec.config) ? 'unchanged' : 'update';
            connectors.push(connectorEntry(spec, plan.connect, action));
          }
          const stale = found
            .filter((c) => c.connect === plan.connect && c.name.startsWith(`${plan.name}-source-`) && !names.includes(c.name))
            .map((c) => c.name)
            .sort();
          const loopGuard: MirrorFlowPlan['loopGuard'] = guard.ok
            ? { ok: true, checkedConnectors: guard.checked }
            : { ok: false, kind: guard.kind, message: guard.message, conflicts: guard.conflicts };
          return { flow: plan.name, connect: plan.connect, connectors, stale, loopGuard, ...(emitterSkipped ? { emitterSkipped } : {}) };
        },
        { registry },
      );
    },

    /**
     * Waits until the target's `heartbeats` holds a heartbeat keyed (sourceAlias, target)
     * emitted at or after `since`: proof that the flow's heartbeat connector runs and
     * writes to the target. Reads only; safe to repeat. Times out as PreconditionFailed.
     */
    async waitForHeartbeats(input: WaitForHeartbeatsInput): Promise<HeartbeatProof> {
      const args = parseArgs(HeartbeatsInput, input);
      const started = Date.now();
      const since = args.since ? Date.parse(args.since) : 0;
      let last = 'no heartbeat read yet';
      for (;;) {
        heartbeat({ waiting: 'heartbeats', last });
        // Only the target's own `heartbeats` (where this flow's heartbeat connector writes):
        // `<source>.heartbeats` may hold batches another flow compressed with a codec
        // kafkajs cannot read (lz4), and it is not what proves this flow runs.
        const report = await audit.replicationFreshness({
          target: args.target,
          sourceAlias: args.sourceAlias,
          topic: HEARTBEATS_TOPIC,
          includeTargetHeartbeats: false,
        });
        const emitter = report.emitters.find((e) => e.source === args.sourceAlias && e.target === args.target);
        if (emitter && Date.parse(emitter.lastHeartbeatAt) >= since) {
          return {
            target: args.target,
            sourceAlias: args.sourceAlias,
            lastHeartbeatAt: emitter.lastHeartbeatAt,
            ageMs: emitter.ageMs,
            waitedMs: Date.now() - started,
            remoteAgeMs: null,
          };
        }
        last = emitter
          ? `newest (${args.sourceAlias}→${args.target}) heartbeat is from ${emitter.lastHeartbeatAt}, before ${args.since}`
          : `no (${args.sourceAlias}→${args.target}) heartbeat in ${args.target}'s heartbeats topic`;
        if (Date.now() - started > args.timeoutSeconds * 1_000) {
          throw timedOut(
            `no heartbeat of the ${args.sourceAlias}→${args.target} flow arrived on ${args.target} within ${args.timeoutSeconds}s: ${last} (is the heartbeat connector RUNNING?)`,
          );
        }
        heartbeat({ waiting: 'heartbeats', last });
        await sleep(args.pollMs);
      }
    },
  };
}
