import { z } from 'zod';
import { Alias, ConnectorName as Name, TopicName, unique } from './fields';
import { DurationSchema, GateOptionsSchema, PersonSchema } from './gates';

/**
 * The audit-drift playbook's input (workflows/audit-drift.ts), its findings and its
 * figures. Pure (zod only): the workflow validates with it first thing, the Schedule
 * helper (src/client/schedules.ts) validates before it creates a schedule, so a bad
 * schedule never starts a run a minute later only to fail. Cluster aliases and connector
 * names only, never addresses or credentials (the input is stored in Temporal history).
 */

/** The only gate: repairs on the target. */
export const AUDIT_GATES = ['repair'] as const;
export type AuditGate = (typeof AUDIT_GATES)[number];

/** One MM2 flow to audit (source → target, its connectors on one Connect cluster). */
export const AuditFlowSchema = z
  .strictObject({
    /** MM2 source alias (the cluster replicated from). */
    source: Alias,
    /** The cluster the flow writes to (where repairs would happen). */
    target: Alias,
    /** Connect cluster from the registry that runs the flow (e.g. `connect-b`). */
    connect: Name,
    /** The flow's MirrorSourceConnector names: state, lag and recreation are measured on these. */
    connectors: unique(Name, 'connector'),
    /** Other connectors of the flow whose state is checked too (checkpoint, heartbeat). */
    otherConnectors: z.array(Name).default([]),
    /** Source topic names to compare with their mirrors. */
    topics: unique(TopicName, 'topic'),
    /** Replication policy: names the mirrored topics on the target. */
    policy: z.enum(['default', 'identity']).default('default'),
  })
  .superRefine((f, ctx) => {
    if (f.source === f.target) ctx.addIssue({ code: 'custom', path: ['target'], message: `must differ from source ('${f.source}')` });
    f.otherConnectors.forEach((name, i) => {
      if (f.connectors.includes(name))
        ctx.addIssue({ code: 'custom', path: ['otherConnectors', i], message: `'${name}' is already in connectors` });
    });
  });

export const AuditInput = z
  .strictObject({
    flows: z.array(AuditFlowSchema).min(1, 'must list at least one flow to audit'),
    /** A replicated heartbeat older than this is a finding (error at 10×). */
    freshnessMaxAgeMs: z.number().int('must be a whole number of ms').positive('must be > 0').default(60_000),
    /** Total lag (records) above which a flow is flagged (error at 10×). */
    lagMax: z.number().int('must be a whole number of records').min(0, 'must be >= 0').default(10_000),
    /**
     * Ask for approval to repair drift on the target. False (the default, and what a
     * Schedule uses): report only, no gate, the run never waits for a human.
     */
    repair: z.boolean().default(false),
    /** Same as repair: false; accepted so every playbook takes dryRun. */
    dryRun: z.boolean().default(false),
    /** Who (or which schedule) asked for the audit. */
    requestedBy: PersonSchema,
    gates: z
      .strictObject({
        repair: GateOptionsSchema.extend({ deadline: DurationSchema.optional() }).transform((g) => ({
          ...g,
          deadline: g.deadline ?? '4h',
        })),
      })
      .default(() => ({ repair: { deadline: '4h' as string | number } })),
  })
  .superRefine((v, ctx) => {
    if (v.repair && v.dryRun)
      ctx.addIssue({ code: 'custom', path: ['repair'], message: 'a dry run repairs nothing: drop repair or dryRun' });
    const seen = new Set<string>();
    v.flows.forEach((f, i) => {
      const key = `${f.source}->${f.target}@${f.connect}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['flows', i], message: `flow ${key} is listed twice` });
      seen.add(key);
    });
  });
export type AuditInput = z.input<typeof AuditInput>;
export type ParsedAuditInput = z.output<typeof AuditInput>;
export type ParsedAuditFlow = ParsedAuditInput['flows'][number];

export type AuditSeverity = 'error' | 'warn' | 'info';
export type AuditCheck = 'connector' | 'lag' | 'freshness' | 'drift' | 'recreation';

export interface AuditFinding {
  /** `A->B` */
  flow: string;
  check: AuditCheck;
  /** What it is about: a connector, a topic, `<topic>:<setting>`, a heartbeats topic. */
  subject: string;
  severity: AuditSeverity;
  message: string;
}

/** A repair the audit proposes on the target; applied on the target only once the repair gate is approved. */
export interface AuditRepair {
  flow: string;
  cluster: string;
  topic: string;
  setting: string;
  from: string | null;
  to: string;
  /** "would set retention.ms=604800000 on B topic A.orders" */
  action: string;
}

export interface AuditFlowSummary {
  flow: string;
  connectors: Array<{ connector: string; state: string | null; tasks: Array<{ id: number; state: string }> }>;
  lagTotal: string | null;
  heartbeatAgeMs: number | null;
  driftFindings: number;
  recreated: string[];
}

export interface AuditFigures extends Record<string, unknown> {
  flows: AuditFlowSummary[];
  /** Sorted by severity, then flow, then subject. */
  findings: AuditFinding[];
  counts: Record<AuditSeverity, number>;
  /** The worst severity found, or 'ok'. */
  worst: AuditSeverity | 'ok';
  repairs: AuditRepair[];
  /**
   * What happened to the repairs: not-requested, none-needed, dry-run, applied (gate approved,
   * set on the targets), approved-not-applied (runs started before repairs were applied).
   */
  repairOutcome: 'not-requested' | 'none-needed' | 'approved-not-applied' | 'applied' | 'dry-run';
  /** With repairOutcome 'applied': what each repaired setting holds on the target afterwards. */
  repairsApplied: Array<{ cluster: string; topic: string; setting: string; value: string }>;
}

/** `A->B`, how findings name a flow. */
export const flowKey = (f: { source: string; target: string }) => `${f.source}->${f.target}`;
