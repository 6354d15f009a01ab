import { ApplicationFailure } from '@temporalio/activity';
import type { Admin } from 'kafkajs';
import { z } from 'zod';
import { classified, FailureType } from '../src/failures';
import { groupMatcher, literalGroupNames, readLatestCheckpoints, checkpointsTopic } from '../src/mm2/checkpoints';
import {
  activeGroupReason,
  groupOutcomes,
  offsetsToApply,
  planOffsets,
  type GroupOutcome,
  type OffsetPlan,
  type TargetGroup,
  type TargetPartitionOffsets,
} from '../src/offsets/translation';
import {
  checkpointStaleness,
  decideOnStaleness,
  staleFingerprint,
  type SourceCommit,
  type StalenessDecision,
  type StalenessReport,
} from '../src/offsets/staleness';
import { mirroredTopic, upstreamTopic } from '../src/model/failover-input';
import type { ActivityDeps } from './deps';
import { activityAttempt, heartbeat, parseArgs, sleep } from './support';
import { fetchOffsetsOfTopics } from '../src/kafka/topic-offsets';
import { GroupHasMembersError } from '../src/kafka/group-commit';
import { inBatches } from '../src/concurrency';
import { readExactPlacements } from './exact-positions';

/**
 * Consumer-group offset translation from MM2 checkpoints: plan (read-only, the dry run)
 * and apply (admin offset commits on the target). Inputs carry cluster aliases only.
 */

const OffsetTranslationInputSchema = z
  .strictObject({
    /** Alias of the cluster the groups consumed from (names the checkpoints topic). */
    source: z.string().min(1),
    /** Alias of the cluster where the checkpoints live and the groups are set. */
    target: z.string().min(1),
    /** Group allowlist: regexes (whole-name match) or plain names. */
    groups: z.array(z.string().min(1)).min(1),
    /** Only these topics (upstream or downstream names). */
    topics: z.array(z.string().min(1)).min(1).optional(),
    allowRewind: z.boolean().optional(),
    /** The flow's `replication.policy.separator` (default '.'): names the checkpoints topic and the Default-policy mirrors. */
    separator: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,8}$/, 'must be 1-8 of letters, digits, . _ -')
      .optional(),
    /** The forward flow's replication policy (names the mirrored topics); defaults to freshness.policy. */
    policy: z.enum(['default', 'identity']).optional(),
    /**
     * Exact positions: each group's next record on the source, found on the target by its
     * content (src/offsets/exact-positions.ts); the checkpoint only where none is verified.
     * Needs both clusters up and the policy. Default: on when `freshness` is given (the
     * source is up: planned failover, failback).
     */
    exact: z.boolean().optional(),
    /**
     * Compare the checkpoints with the groups' commits on the source first (the source must
     * be reachable); while they are older, read them again for up to `waitSeconds` (0: only
     * report). `policy` maps the source topics to their mirrored names.
     */
    freshness: z
      .strictObject({
        policy: z.enum(['default', 'identity']),
        waitSeconds: z.number().int().min(0).max(600),
        /** Stop waiting once the stale checkpoints have not moved for this long (a couple of checkpoint intervals). */
        settleSeconds: z.number().int().min(1).max(600).optional(),
      })
      .optional(),
  })
  .superRefine((v, ctx) => {
    if (v.source === v.target) ctx.addIssue({ code: 'custom', path: ['target'], message: 'must differ from source' });
    if ((v.exact ?? v.freshness !== undefined) && !(v.policy ?? v.freshness?.policy)) {
      ctx.addIssue({
        code: 'custom',
        path: ['policy'],
        message: 'exact positions need the replication policy (policy or freshness.policy)',
      });
    }
    try {
      groupMatcher(v.groups);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['groups'], message: (err as Error).message });
    }
  });
export type OffsetTranslationInput = z.input<typeof OffsetTranslationInputSchema>;
type ParsedInput = z.output<typeof OffsetTranslationInputSchema>;

export interface AppliedOffset {
  group: string;
  topic: string;
  partition: number;
  offset: string;
}

export interface AppliedOffsetPlan extends OffsetPlan {
  /** The offsets set: what this attempt wrote and, on a retry, what it found already set (an earlier attempt may have written it). */
  applied: AppliedOffset[];
  appliedAt: string;
  /** Per group: partitions placed exactly, from a checkpoint (with the records re-read at most), left out. */
  outcomes?: GroupOutcome[];
  /** When `freshness` was asked: how the checkpoints compared with the source commits when applied (partitions placed exactly left out). */
  freshness?: StalenessReport & { waitedMs: number; decision: StalenessDecision };
}

function parse(input: unknown): ParsedInput {
  return parseArgs(OffsetTranslationInputSchema, input, 'offset translation input');
}

function preconditionFailed(message: string): ApplicationFailure {
  // Retryable: the operator (or a playbook gate) can make it true, e.g. by stopping consumers.
  return ApplicationFailure.create({ type: FailureType.PreconditionFailed, message });
}

/** The group descriptions kafkajs returns, reduced to what the plan needs. */
async function describeTargetGroups(admin: Admin, groups: string[]): Promise<Map<string, { state: string; members: number }>> {
  const out = new Map<string, { state: string; members: number }>();
  if (groups.length === 0) return out;
  const { groups: described } = await admin.describeGroups(groups);
  for (const g of described) out.set(g.groupId, { state: g.state, members: g.members.length });
  return out;
}

async function buildPlan(deps: ActivityDeps, input: ParsedInput): Promise<OffsetPlan> {
  // Both aliases must be known even though only the target is contacted: the source
  // alias names the checkpoints topic, and a typo there would read nothing.
  deps.registry.cluster(input.source);
  deps.registry.cluster(input.target);
  heartbeat({ phase: 'reading checkpoints', read: 0 });
  const read = await readLatestCheckpoints(
    deps.kafka.get(input.target),
    input.source,
    { groups: input.groups, topics: input.topics, ...(input.separator ? { separator: input.separator } : {}) },
    { onProgress: (n) => heartbeat({ phase: 'reading checkpoints', read: n }) },
  );
  const policy = input.policy ?? input.freshness?.policy;
  const exact = (input.exact ?? input.freshness !== undefined) && policy !== undefined;
  if (!read.topicExists && !exact) {
    throw preconditionFailed(
      `${checkpointsTopic(input.source, input.separator)} does not exist on ${input.target}: deploy MM2's checkpoint connector for ` +
        `${input.source}→${input.target} (with these groups in its allowlist) and let it emit before translating offsets`,
    );
  }
  heartbeat({ phase: 'describing groups', checkpoints: read.checkpoints.length });
  const checkpointGroups = [...new Set(read.checkpoints.map((c) => c.consumerGroupId))];

  return deps.kafka.withAdmin(input.target, async (admin) => {
    const existing = new Set(await admin.listTopics());
    // The flow's topics by their upstream names: those asked for, else those checkpointed.
    const upstreamTopics = exact
      ? [
          ...new Set(
            (input.topics ?? read.checkpoints.map((c) => c.topic)).map((t) => upstreamTopic(policy, input.source, t, input.separator)),
          ),
        ].sort()
      : [];
    const downstream = [
      ...new Set([
        ...read.checkpoints.map((c) => c.topic),
        ...upstreamTopics.map((t) => mirroredTopic(policy!, input.source, t, input.separator)),
      ]),
    ].sort();
    const topics = downstream.filter((t) => existing.has(t));
    const targetOffsets: TargetPartitionOffsets[] = [];
    for (const [topic, partitions] of (await fetchOffsetsOfTopics(deps.kafka.get(input.target), topics)).offsets) {
      for (const p of partitions) targetOffsets.push({ topic, ...p });
    }
    let exactRead: Awaited<ReturnType<typeof readExactPlacements>> | undefined;
    if (exact) {
      exactRead = await classified(
        () =>
          readExactPlacements(deps.kafka, {
            source: input.source,
            target: input.target,
            policy: policy!,
            ...(input.separator ? { separator: input.separator } : {}),
            groups: input.groups,
            knownGroups: checkpointGroups,
            upstreamTopics,
            targetTopics: new Set(topics),
            targetOffsets: new Map(targetOffsets.map((o) => [`${o.topic}\u0000${o.partition}`, { low: o.low, high: o.high }])),
            beat: heartbeat,
          }),
        { cluster: input.source, registry: deps.registry },
      );
    }
    const groupNames = [...new Set([...checkpointGroups, ...literalGroupNames(input.groups), ...(exactRead?.groups ?? [])])].sort();
    const described = await describeTargetGroups(admin, groupNames);
    const groups: TargetGroup[] = [];
    const topicsOf = new Map<string, Set<string>>();
    for (const [group, topic] of [
      ...read.checkpoints.map((c) => [c.consumerGroupId, c.topic] as const),
      ...(exactRead?.placements.map((p) => [p.group, p.topic] as const) ?? []),
    ]) {
      if (!topicsOf.has(group)) topicsOf.set(group, new Set());
      topicsOf.get(group)!.add(topic);
    }
    // One OffsetFetch per group, several at once (1,000 one after the other cost seconds).
    await inBatches(groupNames, GROUPS_IN_FLIGHT, async (group) => {
      const d = described.get(group) ?? { state: 'Dead', members: 0 };
      const groupTopics = [...(topicsOf.get(group) ?? [])].sort().filter((t) => existing.has(t));
      const committed: TargetGroup['committed'] = [];
      if (groupTopics.length > 0) {
        for (const t of await admin.fetchOffsets({ groupId: group, topics: groupTopics })) {
          for (const p of t.partitions) {
            // kafkajs reports "no committed offset" as -1.
            const offset = BigInt(p.offset);
            committed.push({ topic: t.topic, partition: p.partition, offset: offset < 0n ? null : offset });
          }
        }
      }
      groups.push({ group, state: d.state, members: d.members, committed });
    });
    const plan = planOffsets({
      source: input.source,
      target: input.target,
      checkpoints: read.checkpoints,
      groups,
      targetOffsets,
      allowRewind: input.allowRewind ?? false,
      checkpointsRead: read.recordsRead,
      generatedAt: new Date().toISOString(),
      ...(exactRead ? { exact: exactRead.placements } : {}),
    });
    const readPasses = { checkpoints: 1, offsetSyncs: exactRead?.syncPasses ?? 0 };
    if (!exactRead) return { ...plan, readPasses };
    return {
      ...plan,
      readPasses,
      exactReads: {
        syncsRead: exactRead.syncsRead,
        sourceRecordsRead: exactRead.sourceRecordsRead,
        targetRecordsRead: exactRead.targetRecordsRead,
        attempted: exactRead.placements.length,
        verified: exactRead.placements.filter((p) => p.outcome.method === 'exact').length,
      },
    };
  });
}

/** The planned groups' committed offsets on the source, for the topics the plan covers. */
async function sourceCommits(
  deps: ActivityDeps,
  input: ParsedInput,
  plan: OffsetPlan,
  policy: 'default' | 'identity',
): Promise<SourceCommit[]> {
  const wanted = [
    ...new Set(
      [...(input.topics ?? []), ...plan.groups.flatMap((g) => g.partitions.map((p) => p.topic))].map((t) =>
        upstreamTopic(policy, input.source, t, input.separator),
      ),
    ),
  ].sort();
  return classified(
    () =>
      deps.kafka.withAdmin(input.source, async (admin) => {
        const existing = new Set(await admin.listTopics());
        const topics = wanted.filter((t) => existing.has(t));
        const out: SourceCommit[] = [];
        if (topics.length === 0) return out;
        for (const group of plan.groups) {
          for (const t of await admin.fetchOffsets({ groupId: group.group, topics })) {
            for (const p of t.partitions) {
              const offset = BigInt(p.offset);
              out.push({ group: group.group, topic: t.topic, partition: p.partition, offset: offset < 0n ? null : offset });
            }
          }
        }
        return out;
      }),
    { cluster: input.source, registry: deps.registry },
  );
}

const FRESHNESS_POLL_MS = 1_000;

/**
 * Plans, and with `freshness` re-plans until the checkpoints cover every source commit or
 * the wait is over (pure decision: src/offsets/staleness.ts).
 */
async function planWhenFresh(
  deps: ActivityDeps,
  input: ParsedInput,
): Promise<{ plan: OffsetPlan; freshness?: AppliedOffsetPlan['freshness'] }> {
  const fresh = input.freshness;
  let plan = await buildPlan(deps, input);
  if (!fresh) return { plan };
  const started = Date.now();
  let fingerprint: string | undefined;
  let changedAt = started;
  for (;;) {
    // Partitions placed from a checkpoint (or not at all): the checkpoint's upstream offset
    // against the source commit. Exact ones do not depend on the checkpoints.
    const checkpoints = plan.groups.flatMap((g) =>
      g.partitions
        .filter((p) => p.method !== 'exact' && (p.checkpointUpstream ?? p.upstream) !== null && p.checkpoint !== null)
        .map((p) => ({
          consumerGroupId: g.group,
          topic: p.topic,
          partition: p.partition,
          upstreamOffset: BigInt((p.checkpointUpstream ?? p.upstream)!),
        })),
    );
    const report = checkpointStaleness({
      checkpoints,
      committed: await sourceCommits(deps, input, plan, fresh.policy),
      downstreamTopic: (t) => mirroredTopic(fresh.policy, input.source, t, input.separator),
      // Their commits must not count as "no checkpoint yet" (that waited for nothing and reported apply-stale).
      exact: plan.groups.flatMap((g) =>
        g.partitions.filter((p) => p.method === 'exact').map((p) => ({ group: g.group, topic: p.topic, partition: p.partition })),
      ),
    });
    const now = Date.now();
    const print = staleFingerprint(report);
    if (print !== fingerprint) {
      fingerprint = print;
      changedAt = now;
    }
    const waitedMs = now - started;
    const decision = decideOnStaleness(report, {
      waitedMs,
      maxWaitMs: fresh.waitSeconds * 1000,
      unchangedMs: now - changedAt,
      ...(fresh.settleSeconds !== undefined ? { settleMs: fresh.settleSeconds * 1000 } : {}),
    });
    if (decision !== 'wait') return { plan, freshness: { ...report, waitedMs, decision } };
    heartbeat({ phase: 'waiting for fresher checkpoints', stale: report.stale.length, behindTotal: report.behindTotal, waitedMs });
    await sleep(FRESHNESS_POLL_MS);
    const before = plan.readPasses;
    plan = await buildPlan(deps, input);
    // The passes of this attempt, over every poll (the freshness wait re-reads on purpose).
    if (before && plan.readPasses) {
      plan.readPasses = {
        checkpoints: before.checkpoints + plan.readPasses.checkpoints,
        offsetSyncs: before.offsetSyncs + plan.readPasses.offsetSyncs,
      };
    }
  }
}

/** Groups committed at once: each is one request to its coordinator. */
const GROUPS_IN_FLIGHT = 16;

export function createOffsetsActivities(deps: ActivityDeps) {
  return {
    /** Plans target group offsets from MM2 checkpoints; reads only (the dry run), safe to repeat. */
    async planOffsetTranslation(input: OffsetTranslationInput): Promise<OffsetPlan> {
      const parsed = parse(input);
      return classified(() => buildPlan(deps, parsed), { cluster: parsed.target, registry: deps.registry });
    },

    /**
     * Sets target group offsets to the plan's computed values (never backwards without allowRewind,
     * never on a group with members); safe to repeat: values are recomputed, not incremented.
     */
    async applyOffsetTranslation(input: OffsetTranslationInput): Promise<AppliedOffsetPlan> {
      const parsed = parse(input);
      return classified(
        async () => {
          const { plan, freshness } = await planWhenFresh(deps, parsed);
          const applied: AppliedOffset[] = [];
          // A retry after an attempt that committed and then died (worker crash, timeout) finds
          // those offsets already in place ('unchanged'): report them as set, or the playbook's
          // report would say no offset was set when the earlier attempt set them all.
          if (activityAttempt() > 1) {
            for (const group of plan.groups) {
              if (group.skipped) continue;
              for (const p of group.partitions) {
                if (p.action === 'unchanged' && p.to !== null)
                  applied.push({ group: group.group, topic: p.topic, partition: p.partition, offset: p.to });
              }
            }
          }
          const pending = plan.groups
            .map((group) => ({ group: group.group, writes: offsetsToApply(group) }))
            .filter((g) => g.writes.length > 0);
          const done = (): AppliedOffsetPlan => ({
            ...plan,
            applied,
            appliedAt: new Date().toISOString(),
            outcomes: groupOutcomes(plan),
            ...(freshness ? { freshness } : {}),
          });
          if (pending.length === 0) return done();
          // Re-check right before writing: consumers may have started since the plan was made.
          // The broker checks again at each commit (it refuses a memberless commit to a group with members).
          await deps.kafka.withAdmin(parsed.target, async (admin) => {
            const now = await describeTargetGroups(
              admin,
              pending.map((g) => g.group),
            );
            for (const { group } of pending) {
              const reason = activeGroupReason({ group, ...(now.get(group) ?? { state: 'Dead', members: 0 }) }, parsed.target);
              if (reason) throw preconditionFailed(`${reason} (it was empty when planned; nothing was set for any group; retrying)`);
            }
          });
          heartbeat({ phase: 'applying', groups: pending.length });
          await deps.kafka.withGroupCommitter(parsed.target, (committer) =>
            inBatches(pending, GROUPS_IN_FLIGHT, async ({ group, writes }) => {
              try {
                await committer.commit(group, writes);
              } catch (err) {
                if (err instanceof GroupHasMembersError) {
                  throw preconditionFailed(
                    `group ${group} got consumers on ${parsed.target} while its offsets were being set (${err.message}): stop them there first` +
                      ` (offsets of ${new Set(applied.map((a) => a.group)).size} other group(s) were set; a retry recomputes them); retrying`,
                  );
                }
                throw err;
              }
              for (const w of writes)
                for (const p of w.partitions) applied.push({ group, topic: w.topic, partition: p.partition, offset: p.offset });
            }),
          );
          return done();
        },
        { cluster: parsed.target, registry: deps.registry },
      );
    },
  };
}
