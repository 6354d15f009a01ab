import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  type AbortRecord,
  type CompensationResult,
  type PlaybookOutcome,
  type PlaybookReport,
  type PlaybookStatus,
} from '../../src/model/gates';
import { gateAction, type CutoverAction } from '../../src/hooks/actions';
import type { CutoverHookRequest } from '../../src/hooks/types';
import { Compensations } from './compensation';
import { renderCurrentDetails } from './details';
import { hookStepName, hooksEnabled, notifyEscalation, runCutoverHook, type CutoverDirection } from './cutover';
import { Gates, type GateOptions, type GateResult } from './gates';
import { describeError, Journal, nowIso, type StepControl, type StepOptions } from './journal';
import { abortSignal, approveSignal, decideUpdate, rejectSignal, statusQuery } from './messages';
import { countHook, countPlaybookFinished, recordGateWait } from './metrics';

/**
 * The machinery every playbook shares. A playbook reads like its runbook:
 *
 * ```ts
 * export async function failover(raw: unknown): Promise<PlaybookReport> {
 *   const pb = setupPlaybook({ playbook: 'failover', gates: ['stop-producers', 'producers-cutover'] });
 *   const input = parseInput(FailoverInput, raw);        // InvalidInput, before any side effect
 *   pb.begin({ clusterPair: clusterPairKey(input.source, input.target), requestedBy: input.requestedBy });
 *   return pb.run(async () => {
 *     pb.setPhase('draining');
 *     await pb.step('stop forward connectors', () => connect.stop(...));
 *     pb.onUndo('resume forward connectors', () => connect.resume(...));
 *     await pb.approval('producers-cutover', { description: 'move producers to B', requestedBy, deadline: '4h', ... });
 *     pb.leaveAsIs('resume forward connectors', 'producers write to B now: resuming A→B would split the data');
 *   });
 * }
 * ```
 *
 * `run` turns a rejection, a deadline, an abort, a cancellation or a failure into
 * compensation (undos in reverse, non-cancellable) and a report.
 */

/** Failure type of a playbook that failed (after compensating); details[0] is the report. */
export const PLAYBOOK_FAILED = 'PlaybookFailed';
// Internal: how `stop`/`approval` unwind the playbook body to `run`.
const PLAYBOOK_STOPPED = 'PlaybookStopped';

export interface PlaybookSetup {
  /** The playbook's name: status, report and the KafkaDrPlaybook search attribute. */
  playbook: string;
  /** Every gate the playbook may open, in runbook order (a decision on any other name is refused as unknown). */
  gates: readonly string[];
}

interface StopDetails {
  outcome: Exclude<PlaybookOutcome, 'completed' | 'failed' | 'cancelled'>;
  reason: string;
  gate: string | null;
}

/**
 * `S`: the playbook's step names (the union of its `as const` runbook tuple), so that
 * `step`/`skip` refuse a misspelt name at compile time; `string` for a playbook without one.
 */
export class Playbook<F extends Record<string, unknown> = Record<string, unknown>, S extends string = string> {
  readonly journal: Journal;
  readonly gates: Gates;
  readonly compensations: Compensations;
  clusterPair: string | null = null;
  requestedBy: string | null = null;
  /** Set by `begin({ cutover })`: the playbook moves clients, so approved gates run their cutover hooks. */
  cutover: CutoverDirection | null = null;
  private state: PlaybookStatus['state'] = 'running';
  private outcome: PlaybookOutcome | null = null;
  private readonly startedAt = Date.now();
  private readonly abortableScopes = new Set<CancellationScope>();

  constructor(readonly setup: PlaybookSetup) {
    this.journal = new Journal('starting');
    this.gates = new Gates(setup.gates, this.journal);
    this.compensations = new Compensations(this.journal);
    this.journal.onChange = () => setCurrentDetails(renderCurrentDetails(this.status()));
    // An abort interrupts the waits the playbook marked abortable (a drain, not a half-done write).
    this.gates.onAbort(() => {
      for (const scope of this.abortableScopes) scope.cancel();
    });
  }

  /**
   * Once the input is valid: who asked and which pair (the KafkaDrClusterPair search
   * attribute). `cutover` (failover: source→target; failback: dr→primary) says the
   * playbook moves clients: each approved gate then runs its registry hook (README,
   * "Cutover hooks") as step `hook:<gate>` before the playbook goes on.
   */
  begin(context: { clusterPair?: string; requestedBy?: string; cutover?: CutoverDirection }): void {
    if (context.requestedBy !== undefined) this.requestedBy = context.requestedBy;
    if (context.cutover !== undefined) this.cutover = { from: context.cutover.from, to: context.cutover.to };
    if (context.clusterPair !== undefined) {
      this.clusterPair = context.clusterPair;
      this.journal.upsertSearchAttributes({ clusterPair: context.clusterPair });
    }
  }

  get phase(): string {
    return this.journal.phase;
  }

  /** Moves to a phase (status, phase timings, KafkaDrPhase search attribute). */
  setPhase(phase: string): void {
    this.journal.setPhase(phase);
  }

  /** Merges figures (RPO, drain time, offsets set) into the status and the report. */
  setFigures(patch: Partial<F>): void {
    this.journal.setFigures(patch);
  }

  get figures(): Partial<F> {
    return this.journal.figures as Partial<F>;
  }

  /** The abort, if one arrived (signal or cancellation). */
  get aborted(): AbortRecord | null {
    return this.gates.aborted;
  }

  /**
   * Runs a journal step. After an abort, the step is skipped and the playbook stops.
   * `abortable: true` (for waits: drains, "verify quiet") lets an abort interrupt the
   * running step by cancelling it; other steps finish before the abort takes effect,
   * so a write is never cut in half.
   */
  async step<T>(name: S, fn: (step: StepControl) => Promise<T>, options: StepOptions<T> & { abortable?: boolean } = {}): Promise<T> {
    this.stopIfAborted(name);
    if (!options.abortable) return this.journal.step(name, fn, options);
    const scope = new CancellationScope();
    this.abortableScopes.add(scope);
    const interruptedByAbort = (err: unknown) => this.gates.aborted !== null && this.gates.aborted.via === 'signal' && isCancellation(err);
    try {
      return await this.journal.step(name, (control) => scope.run(() => fn(control)), {
        ...options,
        describe: (err) =>
          interruptedByAbort(err) ? `interrupted by abort from ${this.gates.aborted!.by}: ${this.gates.aborted!.reason}` : undefined,
      });
    } catch (err) {
      if (interruptedByAbort(err)) this.stopIfAborted(null);
      throw err;
    } finally {
      this.abortableScopes.delete(scope);
    }
  }

  /** Records a step not run, and why (e.g. "dry run", "already stopped"). */
  skip(name: S, why: string, details?: Record<string, unknown>): void {
    this.journal.skip(name, why, details);
  }

  /**
   * Opens a gate and waits for its decision (see Gates.gate); the caller decides what to
   * do. Without its own `onEscalate`, an escalated gate sends the registry's escalation
   * notification (README, "Cutover hooks").
   */
  async gate(name: string, options: GateOptions): Promise<GateResult> {
    const requestedBy = options.requestedBy ?? this.requestedBy ?? undefined;
    const onEscalate = options.onEscalate ?? ((open) => notifyEscalation(this.setup.playbook, open));
    const opened = Date.now();
    const result = await this.gates.gate(name, { ...options, onEscalate, ...(requestedBy !== undefined ? { requestedBy } : {}) });
    recordGateWait(this.setup.playbook, name, result.decision, Date.now() - opened);
    return result;
  }

  /**
   * Opens a gate; returns when approved, otherwise stops the playbook (run() compensates).
   * In a cutover playbook the gate's hook runs right after the approval, as step
   * `hook:<gate>`, asking the gate's own action unless `hook` names another; a hook that
   * fails (after its retries) fails the playbook like any step.
   */
  async approval(name: string, options: GateOptions & { hook?: CutoverAction | 'deferred' }): Promise<GateResult> {
    const result = await this.gate(name, options);
    this.stopUnlessApproved(result);
    // 'deferred': the playbook must prepare something first and calls runHook itself.
    if (options.hook !== 'deferred') await this.runHook(result, options.hook);
    return result;
  }

  /**
   * Runs an approved gate's cutover hook: step `hook:<gate>` for the gate's own action,
   * `hook:<gate>:<action>` for another (the failback's consumers-cutover asks two).
   */
  async runHook(approved: GateResult, action?: CutoverAction): Promise<void> {
    const direction = this.cutover;
    if (direction === null || !hooksEnabled()) return;
    const own = gateAction(approved.gate);
    const asked = action ?? own;
    if (!asked) {
      throw ApplicationFailure.create({
        type: 'PlaybookBug',
        message: `gate '${approved.gate}' moves no clients: its playbook must name the hook's action`,
        nonRetryable: true,
      });
    }
    const request: CutoverHookRequest = {
      workflowId: workflowInfo().workflowId,
      playbook: this.setup.playbook,
      gate: approved.gate,
      action: asked,
      from: direction.from,
      to: direction.to,
      approvedBy: approved.by ?? 'unknown',
    };
    try {
      // Any name: the framework's own steps (`hook:<gate>`) are in no playbook's runbook.
      const anyStep = this as Playbook<F>;
      await anyStep.step(hookStepName(approved.gate, asked === own ? undefined : asked), () => runCutoverHook(request), {
        details: { action: asked, from: direction.from, to: direction.to, approvedBy: request.approvedBy },
        summarize: (r) => ({ kind: r.kind, ...r.detail }),
      });
      countHook(this.setup.playbook, approved.gate, 'ok');
    } catch (err) {
      // An abort that arrived with the approval skips the hook: not a hook failure.
      if (this.gates.aborted === null) countHook(this.setup.playbook, approved.gate, 'failed');
      throw err;
    }
  }

  /** Stops the playbook unless the gate was approved. */
  stopUnlessApproved(result: GateResult): void {
    if (result.decision === 'approved') return;
    const who = result.by ? ` by ${result.by}` : '';
    this.stop(result.decision, `gate '${result.gate}' ${result.decision}${who}${result.reason ? `: ${result.reason}` : ''}`, result.gate);
  }

  /** Stops the playbook with an outcome; run() compensates and reports. */
  stop(outcome: StopDetails['outcome'], reason: string, gate: string | null = null): never {
    const details: StopDetails = { outcome, reason, gate };
    throw ApplicationFailure.create({ type: PLAYBOOK_STOPPED, message: reason, nonRetryable: true, details: [details] });
  }

  /** Registers an undo right after a side effect (saga). */
  onUndo(name: string, fn: () => Promise<unknown>, options: { step?: string } = {}): void {
    this.compensations.onUndo(name, fn, options);
  }

  /** Marks an effect as deliberately kept on abort, with why (withdraws its undo). */
  leaveAsIs(name: string, why: string): void {
    this.compensations.leaveAsIs(name, why);
  }

  /** Runs the undos now (run() does this itself on every non-completed outcome). */
  async compensate(reason: string): Promise<CompensationResult> {
    return this.compensations.compensate(reason);
  }

  status(): PlaybookStatus {
    return {
      playbook: this.setup.playbook,
      workflowId: workflowInfo().workflowId,
      clusterPair: this.clusterPair,
      requestedBy: this.requestedBy,
      state: this.state,
      outcome: this.outcome,
      phase: this.journal.phase,
      phases: this.journal.phases,
      steps: this.journal.steps,
      gates: this.gates.gateSummaries(),
      openGate: this.gates.openGate(),
      decisions: this.gates.decisions,
      ignoredMessages: this.gates.ignored,
      ignoredMessagesDropped: this.gates.ignoredDropped,
      aborted: this.gates.aborted,
      figures: this.journal.figures,
      compensations: this.compensations.status(),
    };
  }

  /**
   * Runs the playbook body. Completed → the report. Rejected, timed out or aborted
   * (via `stop`/`approval`/an abort) → compensations, then the report (the workflow
   * completes: a human decision is not a failure). A failed step → compensations,
   * then the workflow fails with type PlaybookFailed, the report in its details.
   * A cancellation → compensations, then the workflow ends cancelled. Waits for
   * running message handlers before returning.
   */
  async run(body: () => Promise<void>): Promise<PlaybookReport<F>> {
    let outcome: PlaybookOutcome = 'completed';
    let reason: string | null = null;
    let stoppedAtGate: string | null = null;
    let rethrow: unknown;
    try {
      await body();
    } catch (err) {
      const stopped = stopDetails(err);
      if (stopped) {
        ({ outcome, reason, gate: stoppedAtGate } = stopped);
      } else if (isCancellation(err)) {
        outcome = 'cancelled';
        this.gates.abort({ by: 'temporal', reason: 'workflow cancellation requested', at: nowIso(), via: 'cancellation' });
        reason = 'workflow cancellation requested';
        rethrow = err;
      } else {
        outcome = 'failed';
        reason = describeError(err);
        rethrow = err;
      }
    }
    this.outcome = outcome;
    countPlaybookFinished(this.setup.playbook, outcome);
    let compensation: CompensationResult | null = null;
    // Search attribute upserts and undos must still happen in a cancelled workflow.
    await CancellationScope.nonCancellable(async () => {
      if (outcome !== 'completed') {
        this.state = 'compensating';
        this.gates.finishing = outcome;
        this.journal.setPhase('compensating');
        compensation = await this.compensations.compensate(reason ?? outcome);
      }
      this.gates.finishing = outcome;
      this.state = 'finished';
      this.journal.setPhase(outcome);
      // Let an update that is answering finish before the workflow closes.
      await condition(allHandlersFinished);
    });
    const report = this.report(outcome, reason, stoppedAtGate, compensation);
    if (outcome === 'cancelled') throw rethrow;
    if (outcome === 'failed') {
      const undone = compensation ? describeCompensation(compensation) : '';
      throw ApplicationFailure.create({
        type: PLAYBOOK_FAILED,
        message: `${this.setup.playbook} failed: ${reason}${undone}`,
        nonRetryable: true,
        cause: rethrow instanceof Error ? rethrow : undefined,
        details: [report],
      });
    }
    return report;
  }

  private stopIfAborted(stepName: string | null): void {
    const abort = this.gates.aborted;
    if (!abort) return;
    if (stepName !== null) this.journal.skip(stepName, `aborted by ${abort.by}: ${abort.reason}`);
    this.stop('aborted', `aborted by ${abort.by}: ${abort.reason}`);
  }

  private report(
    outcome: PlaybookOutcome,
    reason: string | null,
    stoppedAtGate: string | null,
    compensation: CompensationResult | null,
  ): PlaybookReport<F> {
    const endedAt = Date.now();
    return {
      playbook: this.setup.playbook,
      workflowId: workflowInfo().workflowId,
      clusterPair: this.clusterPair,
      requestedBy: this.requestedBy,
      outcome,
      reason,
      stoppedAtGate,
      startedAt: new Date(this.startedAt).toISOString(),
      endedAt: new Date(endedAt).toISOString(),
      durationMs: endedAt - this.startedAt,
      phases: this.journal.phases,
      steps: this.journal.steps,
      decisions: this.gates.decisions,
      ignoredMessages: this.gates.ignored,
      aborted: this.gates.aborted,
      figures: this.journal.figures as F,
      compensation,
    };
  }
}

function stopDetails(err: unknown): StopDetails | undefined {
  if (!(err instanceof ApplicationFailure) || err.type !== PLAYBOOK_STOPPED) return undefined;
  return err.details?.[0] as StopDetails | undefined;
}

function describeCompensation(c: CompensationResult): string {
  const parts = [`undone: ${c.undone.join(', ') || 'nothing'}`];
  if (c.failed.length > 0) parts.push(`undo failed: ${c.failed.map((f) => `${f.name} (${f.error})`).join(', ')}`);
  if (c.leftAsIs.length > 0) parts.push(`left as is: ${c.leftAsIs.map((l) => `${l.name} (${l.why})`).join(', ')}`);
  return ` (${parts.join('; ')})`;
}

/**
 * Sets every message handler (approve, reject, abort, decide, status) first thing
 * in the workflow, and the KafkaDrPlaybook/KafkaDrPhase search attributes. Returns
 * the playbook context the workflow runs its steps, gates and undos through.
 */
export function setupPlaybook<F extends Record<string, unknown> = Record<string, unknown>, S extends string = string>(
  setup: PlaybookSetup,
): Playbook<F, S> {
  const pb = new Playbook<F, S>(setup);
  setHandler(approveSignal, (args) => pb.gates.handleApprove(args));
  setHandler(rejectSignal, (args) => pb.gates.handleReject(args));
  setHandler(abortSignal, (args) => pb.gates.handleAbort(args));
  setHandler(decideUpdate, (args) => pb.gates.handleDecide(args), { validator: (args) => pb.gates.validateDecide(args) });
  setHandler(statusQuery, () => pb.status());
  pb.journal.upsertSearchAttributes({ playbook: setup.playbook, phase: pb.journal.phase });
  return pb;
}
