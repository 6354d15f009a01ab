import { z } from 'zod';

/**
 * A replication plan: one MM2 flow from `source` to `target`, run on the Connect
 * cluster `connect` (which writes to `target`). Topics are split into groups, one
 * MirrorSourceConnector each, so a noisy high-throughput group cannot starve a
 * latency-sensitive one and each gets client settings that suit it. Workflows carry
 * plans (aliases and names only; the worker resolves addresses and credentials).
 *
 * Pure zod: imported by workflow code.
 */

// The registry's alias rule (src/registry/schema.ts), repeated so this module stays import-free.
const Alias = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 letters, digits, - or _ (it becomes part of topic names)');

// Connector names are `<name>-source-<group>`: keep both to characters every tool accepts.
const FlowName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must be 1-100 letters, digits, . _ or - (connector names derive from it)');
const GroupName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'must be 1-40 lower-case letters, digits or - (it ends the connector name)');

/**
 * One MM2 list entry: a Java regex matched against the whole topic/group name. Also
 * compiled as a JavaScript regex here, because kafka-dr evaluates allowlists itself
 * (loop guard, failback scope): a Java-only construct such as `(?i)` is refused.
 */
const ListEntry = z.string().superRefine((entry, ctx) => {
  if (entry.trim() === '') {
    ctx.addIssue({ code: 'custom', message: 'an empty entry matches nothing' });
    return;
  }
  if (entry !== entry.trim()) {
    ctx.addIssue({ code: 'custom', message: `'${entry}' has leading or trailing spaces (MM2 trims them; write it without)` });
    return;
  }
  if (entry.includes(',')) {
    ctx.addIssue({
      code: 'custom',
      message: `'${entry}' contains a comma: MM2 reads the list comma-separated and would split this entry (use one entry per regex, and {m} or alternation instead of {m,n})`,
    });
    return;
  }
  try {
    new RegExp(`^(?:${entry})$`);
  } catch (err) {
    ctx.addIssue({
      code: 'custom',
      message: `'${entry}' does not compile as a regex (${err instanceof Error ? err.message : String(err)}); entries must be valid Java and JavaScript regexes`,
    });
  }
});

const Positive = (max: number) => z.number().int().min(1).max(max);

/** Producer `compression.type` of the MirrorSourceConnector (kafka-dr reads every one: src/kafka/compression.ts). */
export const CompressionSchema = z.enum(['none', 'gzip', 'snappy', 'lz4', 'zstd']);
export type Compression = z.infer<typeof CompressionSchema>;

/** Client settings of one MirrorSourceConnector; each overrides its profile's default. */
export const TuningSchema = z
  .object({
    /** Connect tasks; MM2 runs at most one per topic-partition, extra tasks stay idle. */
    tasksMax: Positive(1000).optional(),
    /** Producer `batch.size` (bytes) of the Connect worker's producer that writes to the target. */
    batchSize: z
      .number()
      .int()
      .min(0)
      .max(16 * 1024 * 1024)
      .optional(),
    lingerMs: z.number().int().min(0).max(60_000).optional(),
    compression: CompressionSchema.optional(),
    /** Source consumer `fetch.min.bytes`. */
    fetchMinBytes: Positive(64 * 1024 * 1024).optional(),
    fetchMaxWaitMs: z.number().int().min(0).max(60_000).optional(),
    maxPollRecords: Positive(100_000).optional(),
    /** MM2 `offset.lag.max`: how far a partition may run before an offset sync is written at once. */
    offsetLagMax: z.number().int().min(0).max(1_000_000).optional(),
  })
  .strict();

export const ProfileSchema = z.enum(['default', 'high-throughput', 'low-latency']);

export const TopicGroupSchema = z
  .object({
    name: GroupName,
    topics: z.array(ListEntry).min(1, 'needs at least one topic or regex'),
    profile: ProfileSchema.default('default'),
    tuning: TuningSchema.optional(),
  })
  .strict();

export const PolicySchema = z
  .object({
    type: z.enum(['default', 'identity']),
    /** Default `.`; becomes part of topic names, so only topic-name characters. */
    separator: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,8}$/, 'must be 1-8 of letters, digits, . _ - (it becomes part of topic names)')
      .optional(),
  })
  .strict();

/**
 * Production defaults. MM2's own (topics/groups refresh every 600 s, checkpoints every
 * 60 s) are tuned for throughput of its control plane, not for DR: a topic created on the
 * source would go unreplicated for up to ten minutes, and consumers would fail over to
 * checkpoints up to a minute old (re-reading that minute). 60 s refresh costs one
 * metadata/list-groups request per minute; 5 s checkpoints cost one small record per
 * changed group-partition every 5 s; 1 s heartbeats (MM2's default) bound the RPO
 * estimate to about a second.
 */
export const IntervalsSchema = z
  .object({
    refreshTopicsSeconds: Positive(86_400).default(60),
    refreshGroupsSeconds: Positive(86_400).default(60),
    emitCheckpointsSeconds: Positive(86_400).default(5),
    emitHeartbeatsSeconds: Positive(86_400).default(1),
  })
  .strict();

// Literal names MM2 never mirrors (internal topics): listing one is a mistake worth naming.
const INTERNAL_LITERAL = /^(__.*|.*[-.]internal)$/;
const LITERAL = /^[A-Za-z0-9._-]+$/;

export const ReplicationPlanSchema = z
  .object({
    source: Alias,
    target: Alias,
    /** Connect cluster (registry name) that runs the flow; it must write to `target`. */
    connect: z.string().min(1, 'names the Connect cluster that writes to the target'),
    /**
     * Connect cluster (registry name) that writes to `source`: runs the flow's heartbeat
     * emitter (deploy-replication). Default: the registry's only such cluster.
     */
    sourceConnect: z.string().min(1, 'names the Connect cluster that writes to the source').optional(),
    /** Connector name prefix; default `mm2-<source>-to-<target>`. */
    name: FlowName.optional(),
    policy: PolicySchema,
    topicGroups: z.array(TopicGroupSchema).min(1, 'needs at least one topic group'),
    /** Consumer group allowlist for checkpoints (regexes); empty: no group is checkpointed. */
    groups: z.array(ListEntry).default([]),
    /** Replaces MM2's `groups.exclude` (`console-consumer-.*, connect-.*, __.*`) when given. */
    groupsExclude: z.array(ListEntry).optional(),
    /** Mirrored topics and MM2's internal topics; at most the smaller cluster's broker count. */
    replicationFactor: z.number().int().min(1).max(32_767).default(3),
    intervals: IntervalsSchema.prefault({}),
    /** MM2 keeps mirrored topics' configs in line with the source (retention, cleanup policy, ...). */
    syncTopicConfigs: z.boolean().default(true),
  })
  .strict()
  .superRefine((plan, ctx) => {
    if (plan.source === plan.target) {
      ctx.addIssue({ code: 'custom', path: ['target'], message: `source and target must differ (both are '${plan.source}')` });
    }
    const groupAt = new Map<string, number>();
    plan.topicGroups.forEach((g, i) => {
      const first = groupAt.get(g.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['topicGroups', i, 'name'],
          message: `duplicate group name '${g.name}' (also topicGroups.${first}): connector names must be unique`,
        });
      } else {
        groupAt.set(g.name, i);
      }
    });
    // Distinct allowlists: two MirrorSourceConnectors copying the same topic write every record twice.
    const entryAt = new Map<string, { group: string; index: number }>();
    plan.topicGroups.forEach((g, i) => {
      g.topics.forEach((entry, k) => {
        const seen = entryAt.get(entry);
        if (seen) {
          ctx.addIssue({
            code: 'custom',
            path: ['topicGroups', i, 'topics', k],
            message:
              seen.index === i
                ? `'${entry}' is listed twice in group '${g.name}'`
                : `'${entry}' is also in group '${seen.group}' (topicGroups.${seen.index}): each topic may be in one group only, or it is replicated twice`,
          });
        } else {
          entryAt.set(entry, { group: g.name, index: i });
        }
        if (LITERAL.test(entry) && INTERNAL_LITERAL.test(entry)) {
          ctx.addIssue({
            code: 'custom',
            path: ['topicGroups', i, 'topics', k],
            message: `'${entry}' is an internal topic, which MM2 never mirrors`,
          });
        }
      });
    });
    // A literal topic in one group that another group's regex also matches is replicated twice too.
    plan.topicGroups.forEach((g, i) => {
      g.topics.forEach((entry, k) => {
        if (!LITERAL.test(entry)) return;
        plan.topicGroups.forEach((other, j) => {
          if (j === i) return;
          const hit = other.topics.find((pattern) => pattern !== entry && safeFullMatch(pattern, entry));
          if (hit !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: ['topicGroups', i, 'topics', k],
              message: `topic '${entry}' is also matched by '${hit}' in group '${other.name}' (topicGroups.${j}): it would be replicated twice`,
            });
          }
        });
      });
    });
  })
  .transform((plan) => ({ ...plan, name: plan.name ?? `mm2-${plan.source}-to-${plan.target}` }));

function safeFullMatch(pattern: string, name: string): boolean {
  try {
    return new RegExp(`^(?:${pattern})$`).test(name);
  } catch {
    return false; // reported on the entry itself
  }
}

export type ReplicationPlan = z.infer<typeof ReplicationPlanSchema>;
export type ReplicationPlanInput = z.input<typeof ReplicationPlanSchema>;
export type TopicGroup = z.infer<typeof TopicGroupSchema>;
export type Tuning = z.infer<typeof TuningSchema>;
export type Profile = z.infer<typeof ProfileSchema>;

export type ParsedPlan = { ok: true; plan: ReplicationPlan } | { ok: false; error: string };

/** Validates a plan; the error lists every problem as `field: reason`, separated by `; `. */
export function parseReplicationPlan(input: unknown): ParsedPlan {
  const parsed = ReplicationPlanSchema.safeParse(input);
  if (parsed.success) return { ok: true, plan: parsed.data };
  const error = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(plan)'}: ${i.message}`).join('; ');
  return { ok: false, error };
}

/** Connector names of a plan, in deploy order: sources (plan order), checkpoint, heartbeat. */
export function planConnectorNames(plan: Pick<ReplicationPlan, 'name' | 'topicGroups'>): string[] {
  return [...plan.topicGroups.map((g) => `${plan.name}-source-${g.name}`), `${plan.name}-checkpoint`, `${plan.name}-heartbeat`];
}
