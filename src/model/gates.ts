import { z } from 'zod';
import type { AbortRecord, GateChoices, GateDecisionRecord, OpenGateStatus, PlaybookStatus } from './report';

/**
 * Approval gates: the messages approvers send and the rule that decides whether a
 * decision is allowed (the status/report shapes are in ./report).
 *
 * Pure (zod only, no Node imports): workflow code, the CLI and the client share it,
 * so the CLI can refuse a decision before sending it with the very rule the
 * workflow applies.
 */

// ---------------------------------------------------------------------------
// Durations (the same syntax as Temporal's `Duration`: ms-formatted string or milliseconds)

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_557_600_000,
};
const UNIT_ALIASES: Record<string, keyof typeof UNIT_MS> = {
  milliseconds: 'ms',
  millisecond: 'ms',
  msecs: 'ms',
  msec: 'ms',
  ms: 'ms',
  seconds: 's',
  second: 's',
  secs: 's',
  sec: 's',
  s: 's',
  minutes: 'm',
  minute: 'm',
  mins: 'm',
  min: 'm',
  m: 'm',
  hours: 'h',
  hour: 'h',
  hrs: 'h',
  hr: 'h',
  h: 'h',
  days: 'd',
  day: 'd',
  d: 'd',
  weeks: 'w',
  week: 'w',
  w: 'w',
  years: 'y',
  year: 'y',
  yrs: 'y',
  yr: 'y',
  y: 'y',
};
// The `ms` package's grammar (what Temporal accepts), minus negative values.
const DURATION_RE =
  /^((?:\d+)?\.?\d+) *(milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y)?$/i;

/**
 * Milliseconds in a duration (`'90s'`, `'2 hours'`, `1500`), or undefined when it is
 * not a positive, finite duration. Gates convert once and hand Temporal the number,
 * so the deadline in the status is exactly the timer the workflow sets.
 */
export function durationMs(value: string | number): number | undefined {
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else {
    const match = DURATION_RE.exec(value.trim());
    if (!match) return undefined;
    const unit = UNIT_ALIASES[(match[2] ?? 'ms').toLowerCase()];
    ms = parseFloat(match[1]!) * UNIT_MS[unit!]!;
  }
  if (!Number.isFinite(ms) || ms < 1) return undefined;
  return Math.round(ms);
}

/** A duration in an input: `'30s'`, `'4 hours'` or milliseconds. */
export const DurationSchema = z.union([z.string(), z.number()]).refine((v) => durationMs(v) !== undefined, {
  message: "must be a positive duration such as '90s', '30 minutes', '4h' or a number of milliseconds",
});

// ---------------------------------------------------------------------------
// Names

/** Gate names are part of the runbook: `stop-producers`, `consumers-cutover`. */
export const GateNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1-63 lower-case letters, digits or - (e.g. stop-producers)');

/** Who decides: a person or a system identity, kept in the audit trail. */
export const PersonSchema = z.string().trim().min(1, 'must name who decides (empty)').max(128, 'must be at most 128 characters');

const Comment = z.string().trim().max(2000, 'must be at most 2000 characters');
const Reason = z.string().trim().min(1, 'must say why (empty)').max(2000, 'must be at most 2000 characters');

/** Identities compare case-insensitively: `Alice` must not pass four-eyes against `alice`. */
export function samePerson(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

// ---------------------------------------------------------------------------
// Gate options in playbook inputs

/** How one gate is guarded; playbook inputs carry one per gate. */
export const GateOptionsSchema = z.strictObject({
  /** Who may approve or reject (case-insensitive). Absent: anyone who names themselves. */
  approvers: z.array(PersonSchema).min(1, 'must list at least one approver, or leave approvers out').optional(),
  /** The requester may not approve their own request. */
  fourEyes: z.boolean().optional(),
  /** After this, the notification hook is called once and the gate keeps waiting. */
  escalateAfter: DurationSchema.optional(),
  /** After this, the gate times out and the playbook aborts safely. */
  deadline: DurationSchema,
});
export type GateOptionsInput = z.infer<typeof GateOptionsSchema>;

// ---------------------------------------------------------------------------
// Messages (payloads of the `approve`, `reject`, `abort` signals and the `decide` update)

/**
 * Choices an approval carries when its gate asks for them (e.g. `unplaced-groups`: per
 * group `earliest`, `end` or `leave-out`; `replication-gap`: `re-drain` or `accept-loss`):
 * key → choice; the key `*` chooses for every key not named. A gate with a default (the
 * choice that loses nothing) takes it for a key a bare approval leaves out.
 */
export const ChoicesSchema = z
  .record(
    z.string().min(1).max(249),
    z
      .string()
      .trim()
      .min(1)
      .max(64)
      .regex(/^[a-z][a-z0-9-]*$/, 'a choice is a lowercase word like re-drain'),
  )
  .refine((c) => Object.keys(c).length <= 10_000, { message: 'at most 10000 choices' });
export type Choices = z.infer<typeof ChoicesSchema>;
/** The key that chooses for every key not named. */
export const EVERY_KEY = '*';

export const ApproveArgsSchema = z.object({
  gate: GateNameSchema,
  by: PersonSchema,
  comment: Comment.optional(),
  choices: ChoicesSchema.optional(),
});
export type ApproveArgs = z.input<typeof ApproveArgsSchema>;

export const RejectArgsSchema = z.object({ gate: GateNameSchema, by: PersonSchema, reason: Reason });
export type RejectArgs = z.input<typeof RejectArgsSchema>;

export const AbortArgsSchema = z.object({ by: PersonSchema, reason: Reason });
export type AbortArgs = z.input<typeof AbortArgsSchema>;

export const DecideArgsSchema = z
  .object({
    gate: GateNameSchema,
    decision: z.enum(['approve', 'reject']),
    by: PersonSchema,
    comment: Comment.optional(),
    /** Only with approve, and only for a gate that asks for choices. */
    choices: ChoicesSchema.optional(),
  })
  .superRefine((v, ctx) => {
    // A rejection aborts the playbook and runs compensations: the audit trail needs the why.
    if (v.decision === 'reject' && !v.comment) {
      ctx.addIssue({ code: 'custom', path: ['comment'], message: 'a rejection must say why (comment is empty)' });
    }
  });
export type DecideArgs = z.input<typeof DecideArgsSchema>;

/** One line, `field: reason; field: reason`, for inputs and messages alike. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(input)'}: ${i.message}`).join('; ');
}

// ---------------------------------------------------------------------------
// Status and report shapes: src/model/report.ts (re-exported here for existing imports)

export type * from './report';

// ---------------------------------------------------------------------------
// The rule every decision passes (the update validator throws it, signals record it)

/** What the rule needs to know about the playbook's gates. */
export interface GateView {
  known: readonly string[];
  open: Pick<OpenGateStatus, 'name' | 'approvers' | 'fourEyes' | 'requestedBy' | 'choices'> | null;
  /** The last decision per gate that is closed. */
  closed: Readonly<Record<string, GateDecisionRecord | undefined>>;
  /** An abort refuses every decision, even one for the open gate. */
  aborted?: Pick<AbortRecord, 'by' | 'at'> | null;
}

/** The same facts from outside, as the `status` query reports them (the client checks before it sends). */
export function gateViewOf(status: Pick<PlaybookStatus, 'gates' | 'openGate' | 'decisions' | 'aborted'>): GateView {
  const closed: Record<string, GateDecisionRecord> = {};
  for (const d of status.decisions) closed[d.gate] = d;
  return { known: status.gates.map((g) => g.name), open: status.openGate, closed, aborted: status.aborted };
}

/**
 * Why a decision on `gate` by `by` must be refused, or undefined when it is allowed.
 * Approvers (when listed) may approve or reject; with four-eyes the requester may
 * reject (withdraw) their own request but not approve it.
 */
export function refuseDecision(
  view: GateView,
  d: { gate: string; decision: 'approve' | 'reject'; by: string; choices?: Choices },
): string | undefined {
  if (view.aborted) return `the playbook was aborted by ${view.aborted.by} at ${view.aborted.at}: no decision is taken any more`;
  if (!view.known.includes(d.gate)) {
    return `unknown gate '${d.gate}' (this playbook's gates: ${view.known.join(', ') || 'none'})`;
  }
  const open = view.open;
  if (!open || open.name !== d.gate) {
    const last = view.closed[d.gate];
    const where = open ? `the open gate is '${open.name}'` : 'no gate is open';
    if (last) {
      const who = last.by ? ` by ${last.by}` : '';
      return `gate '${d.gate}' is not open: already ${last.decision}${who} at ${last.at} (${where})`;
    }
    return `gate '${d.gate}' is not open yet (${where})`;
  }
  if (open.approvers && !open.approvers.some((a) => samePerson(a, d.by))) {
    return `${d.by} may not decide gate '${d.gate}' (approvers: ${open.approvers.join(', ')})`;
  }
  if (d.decision === 'approve' && open.fourEyes && open.requestedBy !== null && samePerson(open.requestedBy, d.by)) {
    return `${d.by} requested this playbook and may not approve gate '${d.gate}' themselves (four-eyes: another approver must)`;
  }
  if (d.decision === 'approve') {
    const resolved = resolveChoices(open.choices, d.choices);
    if (typeof resolved === 'string') return `gate '${d.gate}': ${resolved}`;
  }
  return undefined;
}

/**
 * The choice for every key of a gate that asks for choices, or why the given ones do not
 * do: a key without a choice (and no `*`), an unknown key, a choice not offered. A gate
 * that asks none takes none (undefined when none given).
 */
export function resolveChoices(asked: GateChoices | undefined, given: Choices | undefined): Record<string, string> | undefined | string {
  if (!asked) return given && Object.keys(given).length > 0 ? 'this gate takes no choices (leave --choice out)' : undefined;
  const g = given ?? {};
  const unknown = Object.keys(g).filter((k) => k !== EVERY_KEY && !asked.keys.includes(k));
  if (unknown.length > 0) return `no such key to choose for: ${unknown.join(', ')} (keys: ${asked.keys.join(', ')})`;
  const bad = Object.entries(g).filter(([, v]) => !asked.options.includes(v));
  if (bad.length > 0) return `${bad.map(([k, v]) => `${k}=${v}`).join(', ')}: not a choice here (choices: ${asked.options.join(', ')})`;
  const out: Record<string, string> = {};
  const missing: string[] = [];
  for (const k of asked.keys) {
    const v = Object.hasOwn(g, k) ? g[k] : (g[EVERY_KEY] ?? asked.default);
    if (v === undefined) missing.push(k);
    else out[k] = v;
  }
  if (missing.length > 0) {
    return `approving must choose ${asked.options.join(' | ')} for ${missing.join(', ')} (--choice <key>=<choice>, or --choice <choice> for all)`;
  }
  return out;
}
