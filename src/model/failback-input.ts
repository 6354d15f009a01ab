import { z } from 'zod';
import type { DivergentFigures } from '../offsets/divergent';
import {
  Alias,
  ConnectorName,
  CutoverGateOptions,
  TopicName,
  defaultGate,
  forwardFlow,
  cutoverSelection,
  refineExcludeTopics,
} from './fields';
import { PersonSchema } from './gates';
import type { UnplacedFigures } from './unplaced';
import { IntervalsSchema, TopicGroupSchema, type ReplicationPlanInput } from './replication-plan';

/**
 * The failback playbook's input (workflows/failback.ts) and its figures. Pure (zod
 * only): the workflow validates with it first thing. Cluster aliases and connector
 * names only, never addresses or credentials.
 *
 * Vocabulary: `primary` is the cluster failed back to (A, the forward flow's source),
 * `dr` the cluster failed over to (B, the reverse flow's source).
 */

const FlowName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must be 1-100 letters, digits, . _ or - (connector names derive from it)');
const Offset = z.string().regex(/^\d+$/, 'must be a decimal offset string, e.g. "42"');
// No quotes or spaces: the ID goes into a visibility query (WorkflowId = '...').
const WorkflowId = z.string().regex(/^[A-Za-z0-9._~:@\/-]{1,255}$/, 'must be a workflow ID (letters, digits and . _ ~ : @ / -)');

/** The gates a failback opens, in runbook order: consumers always move before producers. */
export const FAILBACK_GATES = ['consumers-cutover', 'stop-producers', 'producers-cutover'] as const;
export type FailbackGate = (typeof FAILBACK_GATES)[number];

/** topic → partition → end offset (decimal strings): B's end offsets at failover. */
const EndOffsetsSchema = z.record(TopicName, z.record(z.string().regex(/^\d+$/, 'must be a partition number'), Offset));

/**
 * The failover's target snapshot exactly as its report holds it
 * (`figures.snapshots.target`: {cluster, takenAt, offsets, missingTopics}).
 */
const FailoverSnapshotSchema = z.object({
  cluster: Alias,
  takenAt: z.string().optional(),
  offsets: EndOffsetsSchema,
  missingTopics: z.array(z.string()).optional(),
});

export const SeedSchema = z
  .strictObject({
    /**
     * auto: from `snapshot` when given, else derived from the forward flow's committed
     * offsets and offset syncs; a partition that can be seeded neither way fails the
     * playbook (naming it). earliest: such partitions are copied from their first record.
     */
    mode: z.enum(['auto', 'earliest']).default('auto'),
    /**
     * A re-run whose previous reverse connector left no committed offsets: 'search' (default)
     * finds on the primary what that attempt copied and starts after it, refusing when it
     * cannot tell; 'ignore' starts from the seed (what was copied comes again: duplicates).
     */
    onPrimary: z.enum(['search', 'ignore']).default('search'),
    /** B's end offsets at failover: a plain `{topic: {partition: offset}}` or the failover report's `figures.snapshots.target`. */
    snapshot: z.union([FailoverSnapshotSchema, EndOffsetsSchema]).optional(),
    /**
     * The failover's workflow ID instead of its snapshot: the playbook reads that completed
     * failover's report from Temporal and seeds from its `figures.snapshots.target`. Usually
     * `cutoverWorkflowId(primary, dr)`, the failback's own ID: the newest failover run of it is used.
     */
    failoverWorkflowId: WorkflowId.optional(),
    /** That failover's run ID, when an older failover run of the same ID is meant. */
    failoverRunId: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a Temporal run ID')
      .optional(),
  })
  .superRefine((s, ctx) => {
    if (s.snapshot && s.failoverWorkflowId) {
      ctx.addIssue({ code: 'custom', path: ['failoverWorkflowId'], message: 'give either snapshot or failoverWorkflowId, not both' });
    }
    if (s.failoverRunId && !s.failoverWorkflowId) {
      ctx.addIssue({ code: 'custom', path: ['failoverRunId'], message: 'needs failoverWorkflowId' });
    }
  })
  .default(() => ({ mode: 'auto' as const, onPrimary: 'search' as const }));

export const FailbackInput = z
  .strictObject({
    /** The cluster failed back to (A): the forward flow's source, the reverse flow's target. */
    primary: Alias,
    /** The cluster failed over to (B): where producers write now, the reverse flow's source. */
    dr: Alias,
    /**
     * The forward (primary→dr) MM2 flow, STOPPED since the failover: its Connect cluster
     * (writes to dr, e.g. `connect-b`), every connector (resumed at the end), and the
     * MirrorSourceConnectors among them (their offsets are set to primary's end at cutover).
     */
    forward: forwardFlow('list every forward connector there'),
    /** The reverse (dr→primary) MM2 flow this playbook creates, on the Connect cluster that writes to primary. */
    reverse: z.strictObject({
      /** Connect cluster name (e.g. `connect-a`). */
      connect: ConnectorName,
      /** Connector name prefix; default `mm2-<dr>-to-<primary>`. */
      name: FlowName.optional(),
      /** Topic groups (one MirrorSourceConnector each); default one group `failback` with `topics`. */
      topicGroups: z.array(TopicGroupSchema).min(1).optional(),
      replicationFactor: z.number().int().min(1).max(32_767).default(3),
      intervals: IntervalsSchema.optional(),
    }),
    /** Topics on dr copied back (under Identity the forward flow's source names) and groups moved back; the reverse flow uses the same policy and separator. */
    ...cutoverSelection,
    seed: SeedSchema,
    requestedBy: PersonSchema,
    gates: z
      .strictObject({
        'consumers-cutover': CutoverGateOptions.default(defaultGate),
        'stop-producers': CutoverGateOptions.default(defaultGate),
        'producers-cutover': CutoverGateOptions.default(defaultGate),
      })
      .default(() => ({ 'consumers-cutover': defaultGate(), 'stop-producers': defaultGate(), 'producers-cutover': defaultGate() })),
    /** Reverse lag (records, total) at or below which the consumers gate opens. */
    lagThreshold: z.number().int('must be a whole number of records').min(0, 'must be >= 0').default(1_000),
    /** How long the reverse flow may take to reach lagThreshold. */
    catchUpTimeoutSeconds: z.number().int().min(10, 'must be >= 10').max(86_400, 'must be at most 86400').default(3_600),
    /** How long every dr end offset must stay put to call producers stopped. */
    quietSeconds: z.number().positive('must be > 0').max(3_600, 'must be at most 3600').default(10),
    /** Expected broker count of primary (default: the registry's). */
    expectedBrokers: z.number().int().min(1).optional(),
    dryRun: z.boolean().default(false),
  })
  .superRefine((v, ctx) => {
    if (v.primary === v.dr) ctx.addIssue({ code: 'custom', path: ['dr'], message: `must differ from primary ('${v.primary}')` });
    refineExcludeTopics(v, ctx);
    const snap = v.seed.snapshot;
    if (snap && 'offsets' in snap && typeof snap.cluster === 'string' && snap.cluster !== v.dr) {
      ctx.addIssue({
        code: 'custom',
        path: ['seed', 'snapshot', 'cluster'],
        message: `is '${snap.cluster}': the seed needs the snapshot of ${v.dr} (the failover report's figures.snapshots.target)`,
      });
    }
  });
export type FailbackInput = z.input<typeof FailbackInput>;
export type ParsedFailbackInput = z.output<typeof FailbackInput>;

/** B's end offsets at failover from either accepted snapshot shape. */
export function seedSnapshotOffsets(input: ParsedFailbackInput): Record<string, Record<string, string>> | undefined {
  const snap = input.seed.snapshot;
  if (!snap) return undefined;
  return 'offsets' in snap && typeof snap.cluster === 'string'
    ? (snap.offsets as Record<string, Record<string, string>>)
    : (snap as Record<string, Record<string, string>>);
}

/** The part of a failover's report the failback seed reads (figures.snapshots, as JSON). */
export interface FailoverReportForSeed {
  playbook?: string;
  outcome?: string;
  reason?: string | null;
  clusterPair?: string | null;
  figures?: {
    dryRun?: boolean;
    snapshots?: {
      source?: { cluster?: string } | null;
      target?: { cluster?: string; takenAt?: string; offsets?: Record<string, Record<string, string>> };
    };
  };
}

/**
 * The seed snapshot (dr's end offsets at failover) from a completed failover's report, or
 * why that report cannot seed this failback (the message says what to do instead). Pure.
 */
export function snapshotFromFailoverReport(
  report: FailoverReportForSeed,
  want: { primary: string; dr: string; workflowId: string },
): { offsets: Record<string, Record<string, string>>; takenAt: string | null } | { refused: string } {
  const instead = "give seed.snapshot (the failover report's figures.snapshots.target) or omit both to derive the seed";
  const what = `failover ${want.workflowId}`;
  if (report.playbook !== 'failover')
    return { refused: `${what} returned a ${report.playbook ?? 'non-playbook'} report, not a failover's: ${instead}` };
  if (report.outcome !== 'completed') {
    return {
      refused:
        `${what} ended ${report.outcome ?? 'without an outcome'}${report.reason ? ` (${report.reason})` : ''}: it did not fail over ` +
        `(its forward connectors were resumed or never stopped), so there is nothing to fail back from; ${instead}`,
    };
  }
  if (report.figures?.dryRun) return { refused: `${what} was a dry run: it took no snapshot; ${instead}` };
  const target = report.figures?.snapshots?.target;
  if (!target?.offsets) return { refused: `${what} has no target snapshot in its report; ${instead}` };
  const source = report.figures?.snapshots?.source?.cluster;
  if (target.cluster !== want.dr || (source !== undefined && source !== want.primary)) {
    return {
      refused: `${what} failed over ${source ?? '?'}→${target.cluster ?? '?'}, not ${want.primary}→${want.dr}: name the failover of this pair`,
    };
  }
  return { offsets: target.offsets, takenAt: target.takenAt ?? null };
}

/** The reverse flow's replication plan (input of deployMirrorFlow), validated by deployMirrorFlow itself. */
export function reversePlan(input: ParsedFailbackInput): ReplicationPlanInput & { name: string } {
  return {
    source: input.dr,
    target: input.primary,
    connect: input.reverse.connect,
    name: input.reverse.name ?? `mm2-${input.dr}-to-${input.primary}`,
    policy: { type: input.policy, ...(input.separator ? { separator: input.separator } : {}) },
    topicGroups: input.reverse.topicGroups ?? [{ name: 'failback', topics: [...input.topics] }],
    groups: [...input.groups],
    replicationFactor: input.reverse.replicationFactor,
    ...(input.reverse.intervals ? { intervals: input.reverse.intervals } : {}),
  };
}

/** Connector names of the reverse plan: sources (one per topic group), checkpoint, heartbeat. */
export function reverseConnectors(input: ParsedFailbackInput): { sources: Array<{ name: string; patterns: string[] }>; all: string[] } {
  const plan = reversePlan(input);
  const sources = plan.topicGroups.map((g) => ({ name: `${plan.name}-source-${g.name}`, patterns: [...g.topics] }));
  return { sources, all: [...sources.map((s) => s.name), `${plan.name}-checkpoint`, `${plan.name}-heartbeat`] };
}

/** The reverse source connector whose allowlist matches `topic` (whole-name regex, as MM2), or undefined. */
export function sourceConnectorFor(sources: Array<{ name: string; patterns: string[] }>, topic: string): string | undefined {
  return sources.find((s) => s.patterns.some((p) => new RegExp(`^(?:${p})$`).test(topic)))?.name;
}

/** One Connect offset to set: partition `{cluster, topic, partition}`, offset = last record not to copy (null: from the first). */
export interface FailbackOffset {
  topic: string;
  partition: number;
  offset: string | null;
}

/** What the seed step decided per partition (src/offsets/failback.ts SeedEntry, as JSON). */
export interface SeedFigure {
  topic: string;
  partition: number;
  /** snapshot | derived | earliest: where this partition's boundary came from. */
  source: 'snapshot' | 'derived' | 'earliest';
  offset: string | null;
  resumeAt: string;
  exact: boolean;
  toCopy: string;
  connector?: string;
  maxDuplicates?: string;
  note?: string;
}

export interface FailbackPlan {
  reverse: { connect: string; flow: string; connectors: string[]; initialState: 'STOPPED' };
  seed: SeedFigure[];
  skippedTopics: Array<{ topic: string; reason: string }>;
  forward: { connect: string; connectors: string[]; sourceConnectors: string[] };
  gates: Array<{ gate: FailbackGate; description: string; approvers: string[] | null; fourEyes: boolean; deadline: string | number }>;
  blockers: string[];
}

/** Figures in the status and the report. */
export interface FailbackFigures extends Record<string, unknown>, Partial<UnplacedFigures> {
  dryRun: boolean;
  policy: 'default' | 'identity';
  /** Where the seed came from: 'snapshot' when the input had one (or named the failover), else 'derived' (per partition in `seed`). */
  seedFrom: 'snapshot' | 'derived';
  /** With seed.failoverWorkflowId: the failover run whose snapshot seeded the reverse flow. */
  seedFailover: { workflowId: string; runId: string; takenAt: string | null };
  seed: SeedFigure[];
  seedNotes: string[];
  skippedTopics: Array<{ topic: string; reason: string }>;
  reverseConnectors: Array<{ name: string; action: string }>;
  /** Reverse lag (records) when the consumers gate opened. */
  lagAtConsumersGate: string;
  catchUpMs: number;
  offsetsSet: Array<{ group: string; topic: string; partition: number; offset: string }>;
  groupsSkipped: Array<{ group: string; why: string }>;
  /**
   * How the reverse checkpoints compared with the groups' last commits on dr when the
   * offsets were set: 'apply' (every one covered) or 'apply-stale' (the wait ran out:
   * up to `behindTotal` records are read again on primary).
   */
  translation: {
    decision: 'apply' | 'apply-stale';
    waitedMs: number;
    stalePartitions: number;
    behindTotal: string;
    /** Partitions placed exactly (by record content): not compared with the checkpoints, never waited for. */
    exactPartitions?: number;
  };
  drainMs: number;
  /** primary's end offsets once the reverse flow drained to 0 and stopped: the cutover boundary. */
  cutover: { cluster: string; takenAt: string; offsets: Record<string, Record<string, string>> };
  /** Offsets set on the forward MirrorSourceConnectors (last record not to copy to dr). */
  forwardOffsets: Array<{ connector: string; topic: string; partition: number; offset: string | null; skipped?: string }>;
  rpoRecords: number;
  /** Records on primary dr never received (find-divergent), and what the divergent-records gate chose. */
  divergent: DivergentFigures;
  /** Reverse partitions a previous attempt had copied further than the seed: its committed offset won. */
  seedFromPrevious: Array<{ topic: string; partition: number; seed: string | null; offset: string }>;
  /**
   * seed-reverse, per reverse partition: where its start came from (committed: the previous
   * reverse connector's offset; found-on-primary: its copies found on primary; from-start:
   * the seed), the Connect offset set, and where the last copy sits on primary.
   */
  seedOrigin: Array<{
    topic: string;
    partition: number;
    origin: 'committed' | 'found-on-primary' | 'from-start';
    offset: string | null;
    copyOnPrimary?: { topic: string; offset: string };
  }>;
  /** ms from the start to the producers-cutover approval. */
  rtoMs: number;
  plan: FailbackPlan;
}
