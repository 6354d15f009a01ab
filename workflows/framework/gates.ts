import type { Duration } from '@temporalio/common';
import type { z } from 'zod';
import { ApplicationFailure, CancellationScope, condition, isCancellation } from '@temporalio/workflow';
import {
  AbortArgsSchema,
  ApproveArgsSchema,
  DecideArgsSchema,
  durationMs,
  RejectArgsSchema,
  describeIssues,
  refuseDecision,
  resolveChoices,
  type AbortRecord,
  type Choices,
  type GateChoices,
  type GateDecisionRecord,
  type GateSummary,
  type GateView,
  type IgnoredMessageRecord,
  type OpenGateStatus,
} from '../../src/model/gates';
import { describeError, nowIso, type Journal } from './journal';

/**
 * Approval gates: the playbook waits for a human between steps. The wait is one
 * `condition` with a timeout (a timer, not a poll loop), so a gate open for a day
 * adds a handful of history events. Every decision, and every message that changed
 * nothing, is kept for the status and the report.
 */

/** Failure type for a playbook that uses the framework wrongly (a bug, not an operator error). */
export const PLAYBOOK_BUG = 'PlaybookBug';
/** Failure type of a refused `decide` update (its message says why). */
export const DECISION_REFUSED = 'DecisionRefused';

export interface GateOptions {
  /** What approving will do, in the operator's words ("move producers to B: …"). */
  description: string;
  /** Who may approve or reject (case-insensitive). Absent: anyone who names themselves. */
  approvers?: readonly string[];
  /** The requester may not approve their own request. */
  fourEyes?: boolean;
  /** Who asked for this playbook run (four-eyes compares approvers against it). Playbook.gate defaults it to the run's requester. */
  requestedBy?: string;
  /** After this, `onEscalate` is called once and the gate keeps waiting. */
  escalateAfter?: Duration;
  /** After this, the gate resolves as 'timed-out' (the playbook then aborts safely). */
  deadline: Duration;
  /**
   * The notification hook (usually an activity). Runs concurrently with the wait; if
   * the gate is decided first it is cancelled; if it fails, the failure is shown in
   * the status and the gate keeps waiting.
   */
  onEscalate?: (gate: OpenGateStatus) => Promise<unknown>;
  /** Approving must choose one of `options` for each of `keys` (recorded in the decision). */
  choices?: GateChoices;
}

/** A gate's decision as the playbook sees it: the recorded decision plus whether it escalated. */
export interface GateResult extends GateDecisionRecord {
  /** Whether the escalation hook was called while the gate waited. */
  escalated: boolean;
}

interface OpenGate extends OpenGateStatus {
  /** Set by the message that closed it (the wait wakes up on it). */
  result?: GateDecisionRecord;
}

const MAX_IGNORED = 100;
const MAX_FIELD_CHARS = 200;

function clip(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.length > MAX_FIELD_CHARS ? `${value.slice(0, MAX_FIELD_CHARS)}…` : value;
}

function field(raw: unknown, name: string): string | undefined {
  return raw && typeof raw === 'object' ? clip((raw as Record<string, unknown>)[name]) : undefined;
}

/** A copy of a gate's choices: the open gate and the status each hold their own arrays. */
function copyChoices(c: GateChoices): GateChoices {
  return { options: [...c.options], keys: [...c.keys], ...(c.default !== undefined ? { default: c.default } : {}) };
}

export class Gates {
  private readonly known: string[];
  private readonly summaries: GateSummary[];
  private current: OpenGate | null = null;
  readonly decisions: GateDecisionRecord[] = [];
  readonly ignored: IgnoredMessageRecord[] = [];
  ignoredDropped = 0;
  aborted: AbortRecord | null = null;
  /** Once the playbook is compensating or done, an abort changes nothing. */
  finishing: string | null = null;
  private readonly abortListeners: Array<(abort: AbortRecord) => void> = [];
  /**
   * Signals (approve/reject) for a gate that is still pending, kept for the activation
   * they arrived in: see `holdEarly`.
   */
  private early: Array<{ gate: string; at: number; record: IgnoredMessageRecord; apply: () => void }> = [];

  constructor(
    gateNames: readonly string[],
    private readonly journal: Journal,
  ) {
    this.known = [...gateNames];
    this.summaries = this.known.map((name) => ({ name, state: 'pending' }));
  }

  // -------------------------------------------------------------------------
  // Status

  openGate(): OpenGateStatus | null {
    if (!this.current || this.current.result) return null;
    const { result: _result, ...status } = this.current;
    return {
      ...status,
      approvers: status.approvers ? [...status.approvers] : null,
      ...(status.choices ? { choices: copyChoices(status.choices) } : {}),
    };
  }

  gateSummaries(): GateSummary[] {
    return this.summaries.map((s) => ({ ...s }));
  }

  /** The facts `refuseDecision` needs. */
  view(): GateView {
    const closed: Record<string, GateDecisionRecord> = {};
    for (const d of this.decisions) closed[d.gate] = d;
    return { known: this.known, open: this.openGate(), closed, aborted: this.aborted };
  }

  onAbort(listener: (abort: AbortRecord) => void): void {
    this.abortListeners.push(listener);
  }

  // -------------------------------------------------------------------------
  // Messages

  /** `approve` signal: applies a valid approval; records an invalid one as ignored. */
  handleApprove(raw: unknown): void {
    const parsed = ApproveArgsSchema.safeParse(raw);
    if (!parsed.success) return this.ignore('approve', raw, describeIssues(parsed.error));
    const { gate, by, comment, choices } = parsed.data;
    const why = this.refuse({ gate, decision: 'approve', by, ...(choices ? { choices } : {}) });
    if (why) return this.holdEarly(gate, this.recordIgnored('approve', raw, why), () => this.handleApprove(raw));
    this.close({ gate, decision: 'approved', by, at: nowIso(), ...(comment ? { comment } : {}), ...this.chosen(choices), via: 'signal' });
  }

  /** `reject` signal: applies a valid rejection; records an invalid one as ignored. */
  handleReject(raw: unknown): void {
    const parsed = RejectArgsSchema.safeParse(raw);
    if (!parsed.success) return this.ignore('reject', raw, describeIssues(parsed.error));
    const { gate, by, reason } = parsed.data;
    const why = this.refuse({ gate, decision: 'reject', by });
    if (why) return this.holdEarly(gate, this.recordIgnored('reject', raw, why), () => this.handleReject(raw));
    this.close({ gate, decision: 'rejected', by, at: nowIso(), reason, via: 'signal' });
  }

  /** `abort` signal: wins over any open gate; interrupts abortable steps. */
  handleAbort(raw: unknown): void {
    const parsed = AbortArgsSchema.safeParse(raw);
    if (!parsed.success) return this.ignore('abort', raw, describeIssues(parsed.error));
    if (this.aborted) {
      return this.ignore('abort', raw, `already aborted by ${this.aborted.by} at ${this.aborted.at}`);
    }
    if (this.finishing) return this.ignore('abort', raw, `the playbook is already finishing (${this.finishing})`);
    this.abort({ ...parsed.data, at: nowIso(), via: 'signal' });
  }

  /** `decide` update validator: synchronous, throws the reason; never changes state. */
  validateDecide(raw: unknown): void {
    const checked = this.checkDecide(raw);
    if (typeof checked === 'string') throw new Error(checked);
  }

  /** `decide` update handler: applies the decision and answers with the record. */
  handleDecide(raw: unknown): GateDecisionRecord {
    // The validator ran in the same activation; check again for a caller that skips it.
    const checked = this.checkDecide(raw);
    if (typeof checked === 'string') throw ApplicationFailure.create({ type: DECISION_REFUSED, message: checked, nonRetryable: true });
    const { gate, decision, by, comment, choices } = checked;
    const record: GateDecisionRecord =
      decision === 'approve'
        ? { gate, decision: 'approved', by, at: nowIso(), ...(comment ? { comment } : {}), ...this.chosen(choices), via: 'update' }
        : { gate, decision: 'rejected', by, at: nowIso(), reason: comment!, via: 'update' };
    this.close(record);
    return record;
  }

  /** The refusal reason, or the valid decision. */
  private checkDecide(raw: unknown): string | z.output<typeof DecideArgsSchema> {
    const parsed = DecideArgsSchema.safeParse(raw);
    if (!parsed.success) return describeIssues(parsed.error);
    return this.refuse(parsed.data) ?? parsed.data;
  }

  /** The open gate's choices resolved (`*` expanded); refuse() has already checked them. */
  private chosen(given: Choices | undefined): { choices?: Record<string, string> } {
    const resolved = resolveChoices(this.current?.choices, given);
    return resolved && typeof resolved === 'object' ? { choices: resolved } : {};
  }

  private refuse(d: { gate: string; decision: 'approve' | 'reject'; by: string; choices?: Choices }): string | undefined {
    // The view carries the abort: it wins even over a decision that arrives in the same activation before the gate wakes up.
    return refuseDecision(this.view(), d);
  }

  private ignore(message: IgnoredMessageRecord['message'], raw: unknown, reason: string): void {
    this.recordIgnored(message, raw, reason);
  }

  private recordIgnored(message: IgnoredMessageRecord['message'], raw: unknown, reason: string): IgnoredMessageRecord {
    const record: IgnoredMessageRecord = { message, at: nowIso(), reason };
    const gate = field(raw, 'gate');
    const by = field(raw, 'by');
    if (gate !== undefined) record.gate = gate;
    if (by !== undefined) record.by = by;
    this.ignored.push(record);
    // Keep the newest: a flood of bad signals must not grow the state without bound.
    if (this.ignored.length > MAX_IGNORED) {
      this.ignored.shift();
      this.ignoredDropped++;
    }
    return record;
  }

  /**
   * A signal for a gate that is still pending (known, never opened, no abort) may have
   * arrived in the same activation as the completion of the step before that gate. Core
   * hands signals and updates to the workflow before the other jobs of an activation, but
   * a live workflow task can see the same two events in the other order (the gate opened
   * first, then the signal closed it): the gate's commands must not depend on that order,
   * or the history does not replay (TMPRL1100 on the gate's timer). So the signal is
   * recorded as ignored as before, and is applied after all if its gate opens in the same
   * activation (same workflow time); either order then gives the same commands.
   */
  private holdEarly(gate: string, record: IgnoredMessageRecord, apply: () => void): void {
    if (this.aborted || this.summaries.find((s) => s.name === gate)?.state !== 'pending') return;
    const at = Date.now();
    this.early = this.early.filter((e) => e.at === at).slice(-MAX_IGNORED);
    this.early.push({ gate, at, record, apply });
  }

  /** Applies the signals held for gate `name` in this activation (see holdEarly). */
  private applyEarly(name: string): void {
    const now = Date.now();
    const held = this.early.filter((e) => e.gate === name && e.at === now);
    this.early = [];
    for (const e of held) {
      const at = this.ignored.indexOf(e.record);
      if (at >= 0) this.ignored.splice(at, 1);
      e.apply(); // checked again against the open gate (approvers, four-eyes, abort)
    }
  }

  private close(record: GateDecisionRecord): void {
    const open = this.current;
    if (!open || open.result || open.name !== record.gate) return; // refuseDecision already said why
    open.result = record;
    this.decisions.push(record);
    const summary = this.summaries.find((s) => s.name === record.gate);
    if (summary) {
      summary.state = record.decision;
      summary.closedAt = record.at;
    }
  }

  /** Records the abort and tells listeners (abortable steps); also used for a workflow cancellation. */
  abort(record: AbortRecord): void {
    if (this.aborted) return;
    this.aborted = record;
    for (const listener of this.abortListeners) listener(record);
  }

  // -------------------------------------------------------------------------
  // The wait

  /**
   * Opens gate `name` and waits for a decision: approved or rejected (signal or
   * update), 'aborted' (abort signal, whatever gate is open), or 'timed-out' at the
   * deadline. Past `escalateAfter` it calls `onEscalate` once and keeps waiting.
   * A workflow cancellation closes the gate as aborted and rethrows.
   */
  async gate(name: string, options: GateOptions): Promise<GateResult> {
    if (this.current && !this.current.result) {
      throw ApplicationFailure.create({
        type: PLAYBOOK_BUG,
        message: `gate '${name}' opened while gate '${this.current.name}' is still open (one gate at a time)`,
        nonRetryable: true,
      });
    }
    const deadline = durationMs(options.deadline);
    if (deadline === undefined) {
      throw ApplicationFailure.create({
        type: PLAYBOOK_BUG,
        message: `gate '${name}': deadline '${String(options.deadline)}' is not a positive duration`,
        nonRetryable: true,
      });
    }
    let escalateAfter = options.escalateAfter !== undefined ? durationMs(options.escalateAfter) : undefined;
    if (options.escalateAfter !== undefined && escalateAfter === undefined) {
      throw ApplicationFailure.create({
        type: PLAYBOOK_BUG,
        message: `gate '${name}': escalateAfter '${String(options.escalateAfter)}' is not a positive duration`,
        nonRetryable: true,
      });
    }
    if (options.fourEyes && !options.requestedBy) {
      throw ApplicationFailure.create({ type: PLAYBOOK_BUG, message: `gate '${name}': four-eyes needs requestedBy`, nonRetryable: true });
    }
    // Escalating at or after the deadline would never happen: the deadline decides first.
    if (escalateAfter !== undefined && escalateAfter >= deadline) escalateAfter = undefined;

    if (!this.known.includes(name)) {
      this.known.push(name);
      this.summaries.push({ name, state: 'pending' });
    }
    const summary = this.summaries.find((s) => s.name === name)!;
    const opened = Date.now();
    const open: OpenGate = {
      name,
      description: options.description,
      requestedBy: options.requestedBy ?? null,
      openedAt: nowIso(),
      escalateAt: escalateAfter !== undefined ? new Date(opened + escalateAfter).toISOString() : null,
      escalatedAt: null,
      escalationError: null,
      deadlineAt: new Date(opened + deadline).toISOString(),
      approvers: options.approvers ? [...options.approvers] : null,
      fourEyes: options.fourEyes ?? false,
      ...(options.choices ? { choices: copyChoices(options.choices) } : {}),
    };
    // An abort that came before the gate opened: do not ask anyone.
    if (this.aborted) return this.resultOf(this.closeAborted(open, summary), false);

    this.current = open;
    summary.state = 'open';
    summary.openedAt = open.openedAt;
    delete summary.closedAt;
    const previousPhase = this.journal.phase;
    this.journal.setPhase(`awaiting-approval:${name}`);
    this.applyEarly(name);

    const decided = () => open.result !== undefined || this.aborted !== null;
    let escalation: { scope: CancellationScope; done: boolean; promise: Promise<void> } | undefined;
    try {
      if (escalateAfter !== undefined && !(await condition(decided, escalateAfter))) {
        open.escalatedAt = nowIso();
        summary.escalatedAt = open.escalatedAt;
        escalation = this.startEscalation(open, summary, options.onEscalate);
      }
      if (!decided()) {
        const remaining = opened + deadline - Date.now();
        if (remaining > 0) await condition(decided, remaining);
      }
    } catch (err) {
      if (!isCancellation(err)) throw err;
      // The workflow was cancelled (Temporal UI/CLI): close the gate as aborted, let the playbook compensate.
      this.abort({ by: 'temporal', reason: 'workflow cancellation requested', at: nowIso(), via: 'cancellation' });
      this.closeAborted(open, summary);
      this.current = null;
      throw err;
    } finally {
      if (escalation) {
        if (!escalation.done) escalation.scope.cancel();
        await escalation.promise;
      }
    }

    if (!open.result) {
      if (this.aborted) {
        this.closeAborted(open, summary);
      } else {
        this.close({
          gate: name,
          decision: 'timed-out',
          at: nowIso(),
          reason: `no decision within ${String(options.deadline)} (deadline ${open.deadlineAt})`,
          via: 'deadline',
        });
      }
    }
    this.current = null;
    this.journal.setPhase(previousPhase);
    return this.resultOf(open.result!, open.escalatedAt !== null);
  }

  private closeAborted(open: OpenGate, summary: GateSummary): GateDecisionRecord {
    const abort = this.aborted!;
    const record: GateDecisionRecord = {
      gate: open.name,
      decision: 'aborted',
      by: abort.by,
      at: nowIso(),
      reason: abort.reason,
      via: 'abort',
    };
    open.result = record;
    this.decisions.push(record);
    summary.state = 'aborted';
    summary.closedAt = record.at;
    return record;
  }

  private startEscalation(
    open: OpenGate,
    summary: GateSummary,
    hook: GateOptions['onEscalate'],
  ): { scope: CancellationScope; done: boolean; promise: Promise<void> } {
    const scope = new CancellationScope();
    const state = { scope, done: false, promise: Promise.resolve() };
    state.promise = scope
      .run(async () => {
        if (hook) await hook(this.openGate() ?? { ...open });
      })
      .catch((err: unknown) => {
        // Cancelled because the gate was decided first: nothing to report.
        if (isCancellation(err)) return;
        open.escalationError = describeError(err);
        summary.escalationError = open.escalationError;
      })
      .finally(() => {
        state.done = true;
      });
    return state;
  }

  private resultOf(record: GateDecisionRecord, escalated: boolean): GateResult {
    const result: GateResult = { gate: record.gate, decision: record.decision, at: record.at, via: record.via, escalated };
    if (record.by !== undefined) result.by = record.by;
    if (record.comment !== undefined) result.comment = record.comment;
    if (record.reason !== undefined) result.reason = record.reason;
    if (record.choices !== undefined) result.choices = record.choices;
    return result;
  }
}
