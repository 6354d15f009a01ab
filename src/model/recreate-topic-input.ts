import { z } from 'zod';
import { Alias, ConnectorName as Name, TopicName } from './fields';
import { GateOptionsSchema, PersonSchema } from './gates';

/**
 * The recreate-topic playbook's input (workflows/recreate-topic.ts) and its figures.
 * Pure (zod only). Cluster aliases, Connect and connector names only.
 */

export const RECREATE_GATES = ['recreate'] as const;
export const DEFAULT_RECREATE_GATE_DEADLINE = '4h';

export const RecreateTopicInput = z
  .strictObject({
    /** Alias of the cluster where the topic was recreated (the MM2 source alias too). */
    source: Alias,
    /** Alias of the cluster holding the mirror. */
    target: Alias,
    /** Connect cluster (registry name) running the flow; it writes to `target`. */
    connect: Name,
    /** The MirrorSourceConnector that replicates the topic. */
    sourceConnector: Name,
    /** The topic's name on the source. */
    topic: TopicName,
    /** The flow's replication policy: names the mirror on the target (default: `<source>.<topic>`). */
    policy: z.enum(['default', 'identity']).default('default'),
    /** DefaultReplicationPolicy separator (default "."). */
    separator: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,8}$/, 'must be 1-8 of letters, digits, . _ -')
      .optional(),
    /** Consumer groups on the target that read the mirror. */
    groups: z
      .array(z.string().min(1, 'must not be empty').max(249))
      .refine((g) => new Set(g).size === g.length, { message: 'must not list a group twice' })
      .default([]),
    /** earliest: set each group to the start of the recreated mirror; none: leave the groups alone. */
    resetGroupsTo: z.enum(['earliest', 'none']).default('earliest'),
    requestedBy: PersonSchema,
    dryRun: z.boolean().default(false),
    gate: GateOptionsSchema.extend({ deadline: GateOptionsSchema.shape.deadline.optional() })
      .transform((g) => ({ ...g, deadline: g.deadline ?? DEFAULT_RECREATE_GATE_DEADLINE }))
      .default(() => ({ deadline: DEFAULT_RECREATE_GATE_DEADLINE })),
    /** How long to wait for the mirror to be gone, to come back, and the connector states. */
    waitSeconds: z.number().int().min(5, 'must be >= 5').max(3_600, 'must be at most 3600').default(300),
  })
  .superRefine((v, ctx) => {
    if (v.source === v.target) ctx.addIssue({ code: 'custom', path: ['target'], message: `must differ from source ('${v.source}')` });
    if (v.groups.length > 0 && v.groups.some((g) => g.startsWith('connect-'))) {
      ctx.addIssue({ code: 'custom', path: ['groups'], message: "Connect's own groups (connect-*) are not consumer groups of the mirror" });
    }
  });
export type RecreateTopicInput = z.input<typeof RecreateTopicInput>;
export type ParsedRecreateTopicInput = z.output<typeof RecreateTopicInput>;

/** The mirror's name on the target (MM2's DefaultReplicationPolicy or Identity). */
export function mirrorName(input: Pick<ParsedRecreateTopicInput, 'policy' | 'source' | 'topic' | 'separator'>): string {
  return input.policy === 'identity' ? input.topic : `${input.source}${input.separator ?? '.'}${input.topic}`;
}

export interface RecreatePlan {
  connector: { connect: string; name: string };
  /** The mirror it would delete on the target. */
  deleteTopic: { cluster: string; topic: string; exists: boolean; partitions: number | null };
  /** The MM2 source partitions whose committed offsets it would reset (null). */
  offsetsToReset: Array<{ partition: number; offset: string | null }>;
  /** What the mirror comes back as: the source's partitions. */
  sourcePartitions: number;
  groupsToReset: string[];
  gate: { gate: 'recreate'; description: string };
  /** What would stop a real run now (pair failed over, input not matching the flow, source topic missing), each `field: why`. */
  blockers: string[];
}

export interface RecreateFigures extends Record<string, unknown> {
  dryRun: boolean;
  topic: string;
  remoteTopic: string;
  /** detectTopicRecreation said the source log is not the one MM2 copied. */
  detected: boolean;
  evidence: { summary: string; findings: string[] };
  /** Set when it ran without detection, on the operator's request. */
  proceededWithoutDetection: boolean;
  sourcePartitions: number;
  offsetsReset: number;
  deletedMirror: 'deleted' | 'absent';
  mirrorPartitions: number;
  driftFindings: Array<{ setting: string; source: string | null; target: string | null; severity: string }>;
  catchUpMs: number;
  groupsReset: Array<{ group: string; skipped?: string; offsets: Array<{ partition: number; offset: string }> }>;
  plan: RecreatePlan;
}
