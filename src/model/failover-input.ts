import { z } from 'zod';
import type { LocalTopic } from '../offsets/local-topics';
import type { RpoEvidence } from '../offsets/rpo';
import type { ExactReads, GroupOutcome } from '../offsets/translation';
import { PersonSchema } from './gates';
import {
  Alias,
  CutoverGateOptions,
  DEFAULT_GATE_DEADLINE,
  Separator,
  defaultGate,
  forwardFlow,
  cutoverSelection,
  refineExcludeTopics,
} from './fields';
import type { UnplacedFigures, UnplacedPartition } from './unplaced';
import type { EndGrowth, PartitionGap, WritesAfterSnapshot } from '../offsets/conservation';

/**
 * The failover playbook's input (workflows/failover.ts) and its figures. Pure (zod
 * only): the workflow validates with it first thing, the CLI and the client can
 * validate before starting. Cluster aliases and connector names only, never
 * addresses or credentials (the input is stored in plain text in Temporal history).
 */

export { DEFAULT_GATE_DEADLINE, Separator };

/** The gates a failover may open, in runbook order (stop-producers only on the planned path). */
export const FAILOVER_GATES = ['stop-producers', 'consumers-cutover', 'producers-cutover'] as const;
export type FailoverGate = (typeof FAILOVER_GATES)[number];

export const FailoverInput = z
  .strictObject({
    /** Alias of the cluster failing over (the MM2 source alias too). */
    source: Alias,
    /** Alias of the DR cluster that takes over. */
    target: Alias,
    /** planned: source healthy, zero loss. unplanned: source down, RPO estimated. */
    mode: z.enum(['planned', 'unplanned']),
    /**
     * The forward (source→target) MM2 flow, on the Connect cluster that writes to the target
     * (e.g. `connect-b`): every connector to stop (MirrorSource, MirrorCheckpoint,
     * MirrorHeartbeat) and the MirrorSourceConnectors among them (lag and drain are measured on these).
     */
    forward: forwardFlow('list every connector to stop there'),
    /** Source topics and groups to move, as cutoverSelection says; excludeTopics stop with the flow but are neither drained nor translated. */
    ...cutoverSelection,
    /** Who asked for the failover (four-eyes compares approvers against it). */
    requestedBy: PersonSchema,
    gates: z
      .strictObject({
        'stop-producers': CutoverGateOptions.default(defaultGate),
        'consumers-cutover': CutoverGateOptions.default(defaultGate),
        'producers-cutover': CutoverGateOptions.default(defaultGate),
      })
      .default(() => ({ 'stop-producers': defaultGate(), 'consumers-cutover': defaultGate(), 'producers-cutover': defaultGate() })),
    /** Planned: the largest total forward lag (records) at which a failover may start. */
    lagThreshold: z.number().int('must be a whole number of records').positive('must be > 0').default(10_000),
    /** Planned: how long every source end offset must stay put to call producers stopped. */
    quietSeconds: z.number().positive('must be > 0').max(3_600, 'must be at most 3600').default(10),
    /** Unplanned: source probes before it is declared unreachable. */
    probeAttempts: z.number().int().min(1, 'must be >= 1').max(20, 'must be at most 20').default(3),
    /** Run the read-only steps and return the plan; change nothing. */
    dryRun: z.boolean().default(false),
    /** Unplanned: the operator asserts the source is down (no probe). */
    sourceUnreachable: z.boolean().optional(),
  })
  .superRefine((v, ctx) => {
    if (v.source === v.target) ctx.addIssue({ code: 'custom', path: ['target'], message: `must differ from source ('${v.source}')` });
    refineExcludeTopics(v, ctx);
    if (v.sourceUnreachable && v.mode === 'planned') {
      ctx.addIssue({
        code: 'custom',
        path: ['sourceUnreachable'],
        message: "a planned failover needs the source up: use mode 'unplanned'",
      });
    }
  });
export type FailoverInput = z.input<typeof FailoverInput>;
export type ParsedFailoverInput = z.output<typeof FailoverInput>;

/** The mirrored name of a source topic on the target (MM2's DefaultReplicationPolicy with `separator`, default `.`, or Identity). */
export function mirroredTopic(policy: 'default' | 'identity', sourceAlias: string, topic: string, separator = '.'): string {
  return policy === 'identity' ? topic : `${sourceAlias}${separator}${topic}`;
}

/** The inverse of mirroredTopic: the source name of a topic given by its upstream or downstream name. */
export function upstreamTopic(policy: 'default' | 'identity', sourceAlias: string, topic: string, separator = '.'): string {
  const prefix = `${sourceAlias}${separator}`;
  return policy === 'default' && topic.startsWith(prefix) ? topic.slice(prefix.length) : topic;
}

/** End offsets per topic and partition (decimal strings), taken at one moment. */
export interface FailoverSnapshot {
  cluster: string;
  takenAt: string;
  offsets: Record<string, Record<string, string>>;
  missingTopics: string[];
}

/** What the dry run would do. */
export interface FailoverPlan {
  mode: 'planned' | 'unplanned';
  /** Connectors it would stop on `connect`. */
  connectorsToStop: { connect: string; connectors: string[] };
  /** Mirrored topics whose end offsets it would snapshot on the target. */
  mirroredTopics: string[];
  /** Gates it would ask, in order, with what approving each does. */
  gates: Array<{ gate: FailoverGate; description: string; approvers: string[] | null; fourEyes: boolean; deadline: string | number }>;
  /** Offsets it would set on the target, per group and partition. */
  offsets: Array<{
    group: string;
    skipped?: string;
    partitions: Array<{
      topic: string;
      partition: number;
      from: string | null;
      to: string | null;
      action: string;
      /** exact (verified by record content), checkpoint, or none. */
      method?: string;
    }>;
  }>;
  /**
   * Per group, what applying the plan now would do: partitions exact, from a checkpoint (and
   * the records they would re-read at most), left out. A planned dry run verifies exact
   * positions as a real run does (read-only); an unplanned one has the checkpoints only.
   */
  positions?: GroupOutcome[];
  /** What the exact verification read (planned dry runs). */
  exactReads?: ExactReads;
  /**
   * Group-partitions the translation would leave without a position if it ran now: a real
   * run stops at gate unplaced-groups with this list (absent in runs from before that gate).
   */
  unplaced?: UnplacedPartition[];
  /**
   * Default policy: the target's local topics producers will write to (`will-create` when
   * missing) and how many group positions would be set on them (absent in runs from before).
   */
  localTopics?: LocalTopic[];
  localPositionsToSet?: number;
  /** What would stop a real run now (unhealthy target, lag above threshold, a group outside the flow's allowlist). */
  blockers: string[];
}

/** Figures in the status and the report. */
export interface FailoverFigures extends Record<string, unknown>, Partial<UnplacedFigures> {
  mode: 'planned' | 'unplanned';
  dryRun: boolean;
  /** Planned: total forward lag (records) when the failover started. */
  lagAtStart: string;
  /** Planned: ms from the start of the drain to lag 0. */
  drainMs: number;
  /** Unplanned: the source answered the probe. */
  sourceReachable: boolean | null;
  /** Unplanned: age of the newest replicated heartbeat on the target. */
  rpoEstimate: { ageMs: number | null; lastHeartbeatAt: string | null; reason?: string };
  /**
   * Planned: records on the source the target never got, measured at the end with the
   * forward flow stopped (accepted gap + writes after the snapshot; markers and aborted
   * records not counted); runs started before the measurement existed report 0.
   * Unplanned: the records bound of rpo-evidence (see rpoRecordsBound); absent when no
   * source end offset of the flow's topics was ever recorded.
   */
  rpoRecords: number;
  /** Unplanned: what rpoRecords is (a lower bound) and as of when. */
  rpoRecordsBound: Omit<RpoEvidence['records'], 'total'>;
  /** Unplanned: how long ago replication stopped (upper bound, from this flow's replicated heartbeat) and the newest replicated record. */
  rpoSeconds: RpoEvidence['seconds'];
  /** Unplanned: the evidence per partition and the heartbeat read, or why it could not be read. */
  rpoEvidence:
    | {
        partitions: RpoEvidence['partitions'];
        heartbeat: { topic: string; emitter: { source: string; target: string }; otherEmitters: number; reason?: string };
        computedAt: string;
      }
    | { unavailable: string };
  /** Planned: the check after stop-forward (src/offsets/conservation.ts). */
  conservation: {
    checkedAt: string;
    gapRecords: string;
    gaps: PartitionGap[];
    grownAfterDrain: EndGrowth[];
    redrains: number;
    acceptedLoss?: { records: string; partitions: number; by: string | null; at: string };
  };
  /** Planned: records written to the source after the stop-forward snapshot, per partition, at the last check. */
  writesAfterSnapshot: WritesAfterSnapshot;
  snapshots: { source: FailoverSnapshot | null; target: FailoverSnapshot };
  offsetsSet: Array<{ group: string; topic: string; partition: number; offset: string }>;
  /** Groups skipped by the translation (members on the target) with why. */
  groupsSkipped: Array<{ group: string; why: string }>;
  /** ms from the start of the workflow to the producers-cutover approval. */
  rtoMs: number;
  /** Default policy: the target's local topics (created or already there) and the groups' positions on them. */
  localTopics: LocalTopic[];
  localPositions: Array<{ group: string; topic: string; partition: number; offset: string; action: string }>;
  localGroupsSkipped: Array<{ group: string; why: string }>;
  plan: FailoverPlan;
}
