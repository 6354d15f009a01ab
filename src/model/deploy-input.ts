import { z } from 'zod';
import { GateOptionsSchema, PersonSchema } from './gates';
import { ReplicationPlanSchema } from './replication-plan';

/**
 * The deploy-replication playbook's input (workflows/deploy-replication.ts) and its
 * figures. Pure (zod only): the workflow validates with it first thing; the CLI and
 * the client can validate before starting. The plan carries aliases and names only.
 */

/** The one gate deploy-replication may open (only when the input asks for it). */
export const DEPLOY_GATES = ['deploy'] as const;

export const DeployReplicationInput = z
  .strictObject({
    /** The replication plan (src/model/replication-plan.ts): field errors name `plan.<field>`. */
    plan: ReplicationPlanSchema,
    /** Who asked for the deploy (four-eyes compares approvers against it). */
    requestedBy: PersonSchema,
    /** Read-only: the connectors it would create/update and the loop guard's verdict. */
    dryRun: z.boolean().default(false),
    /** When given, the gate `deploy` (what approving does: the connectors to create/update) opens before any write. */
    gate: GateOptionsSchema.optional(),
    /** How long to wait for each connector to be RUNNING and for the first heartbeat on the target. */
    waitSeconds: z.number().int().min(5, 'must be >= 5').max(3_600, 'must be at most 3600').default(120),
  })
  .superRefine((v, ctx) => {
    const refused = underscoreSeparator(v.plan.policy.separator, v.plan.source, v.plan.target);
    if (refused) ctx.addIssue({ code: 'custom', path: ['plan', 'policy', 'separator'], message: refused });
  });

/**
 * Why a `_` separator is refused (undefined: it is not `_`). Kafka refuses a topic whose name
 * differs from an existing one only by `.` versus `_` (they collide in its metric names), and
 * MM2 names with the separator its internal topics and every mirror: with `_`,
 * `mm2-offset-syncs_<target>_internal`, `<source>_checkpoints_internal`, `<source>_heartbeats`
 * and `<source>_<topic>` collide with the `.` names of any other flow from the same source
 * (MM2's default) and cannot be created, and mirrors of topics that contain `.` collide with
 * local topics that contain `_` (details: docs/mm2-internals.md#separators).
 */
export function underscoreSeparator(separator: string | undefined, source: string, target: string): string | undefined {
  if (separator !== '_') return undefined;
  return (
    `'_' collides with '.' in Kafka topic names (Kafka treats them alike): MM2's topics of this flow (mm2-offset-syncs_${target}_internal, ` +
    `${source}_checkpoints_internal, ${source}_heartbeats, ${source}_<topic>) would collide with those of a '.' flow (mm2-offset-syncs.${target}.internal, ` +
    `${source}.<topic>) and with topics named with '.': use another separator, e.g. '-' or '.' (the default)`
  );
}
export type DeployReplicationInput = z.input<typeof DeployReplicationInput>;
export type ParsedDeployReplicationInput = z.output<typeof DeployReplicationInput>;

export interface DeployConnectorFigure {
  name: string;
  /** emitter: the heartbeat emitter writing into the source, on `connect` (the source-side Connect). */
  kind: 'source' | 'checkpoint' | 'heartbeat' | 'emitter';
  /** The Connect cluster it runs on when not the plan's (the emitter). */
  connect?: string;
  group?: string;
  /** What the run did (or, in a dry run, would do). */
  action: 'created' | 'updated' | 'unchanged' | 'create' | 'update';
}

export interface DeployFigures extends Record<string, unknown> {
  dryRun: boolean;
  flow: string;
  connect: string;
  connectors: DeployConnectorFigure[];
  created: string[];
  updated: string[];
  unchanged: string[];
  /** `<flow>-source-*` connectors the plan no longer lists (left as they are). */
  stale: string[];
  loopGuard: { ok: boolean; checkedConnectors?: number; kind?: string; message?: string };
  /** The first heartbeat of this flow seen on the target after the deploy. */
  heartbeat: { lastHeartbeatAt: string; ageMs: number; waitedMs: number; remoteAgeMs: number | null };
  /** No heartbeat emitter could be placed (no Connect cluster writes to the source): why. */
  emitterSkipped: string;
  /** Dry run: why a real run would stop now (loop guard). */
  blockers: string[];
}
