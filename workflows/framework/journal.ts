import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributeUpdatePair } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, TemporalFailure, upsertSearchAttributes } from '@temporalio/workflow';
import type { PhaseRecord, StepRecord } from '../../src/model/gates';
import type { SearchAttributeName } from '../../src/model/search-attributes';

/**
 * The step journal: what the playbook did, when, how long it took and what it saw
 * (lag per partition, connectors touched). It feeds the `status` query and the final
 * report, and the phase feeds the UI list view through search attributes.
 *
 * Times come from the workflow clock (deterministic: the time of the activation).
 */

/** The kafka-dr search attributes (registered as Keyword on the namespace). */
export const SEARCH_ATTRIBUTE_KEYS = {
  KafkaDrPlaybook: defineSearchAttributeKey('KafkaDrPlaybook', SearchAttributeType.KEYWORD),
  KafkaDrPhase: defineSearchAttributeKey('KafkaDrPhase', SearchAttributeType.KEYWORD),
  KafkaDrClusterPair: defineSearchAttributeKey('KafkaDrClusterPair', SearchAttributeType.KEYWORD),
} satisfies Record<SearchAttributeName, unknown>;

/** ISO-8601 of the workflow clock. */
export function nowIso(): string {
  return new Date(Date.now()).toISOString();
}

const MAX_ERROR_CHARS = 1000;

/**
 * An error as one line an operator can act on: the failure type and message of the
 * innermost application failure (an activity's own failure, not "Activity task failed").
 */
export function describeError(err: unknown): string {
  let e: unknown = err;
  // Unwrap ActivityFailure / ChildWorkflowFailure to what actually failed.
  while ((e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) && e.cause) e = e.cause;
  let text: string;
  if (e instanceof ApplicationFailure) text = e.type ? `${e.type}: ${e.message}` : e.message;
  else if (e instanceof TemporalFailure) text = `${e.name}: ${e.message}`;
  else if (e instanceof Error) text = e.message;
  else text = String(e);
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text;
}

/** What a running step can do: add details as it learns them (merged shallowly). */
export interface StepControl {
  readonly name: string;
  details(patch: Record<string, unknown>): void;
}

export interface StepOptions<T> {
  /** Details known up front (e.g. the connectors the step will touch). */
  details?: Record<string, unknown>;
  /** Details taken from the result when the step completes (e.g. lag per partition). */
  summarize?: (result: T) => Record<string, unknown> | undefined;
}

/** @internal How the playbook words a failure it caused itself (an abort interrupting a wait). */
export interface StepErrorHook {
  describe?: (err: unknown) => string | undefined;
}

export class Journal {
  readonly steps: StepRecord[] = [];
  readonly phases: PhaseRecord[] = [];
  phase: string;
  figures: Record<string, unknown> = {};
  /** Indexes of running steps (innermost last), to link undos to the step that did the effect. */
  private readonly running: number[] = [];
  private lastStarted: number | undefined;
  /** Called after every change the status shows (phase, figures, steps): the UI's current details. */
  onChange: () => void = () => {};

  constructor(initialPhase: string) {
    this.phase = initialPhase;
    this.phases.push({ phase: initialPhase, at: nowIso() });
  }

  /** Sets the search attributes the UI lists by (only those given). */
  upsertSearchAttributes(values: { playbook?: string; clusterPair?: string; phase?: string }): void {
    const pairs: SearchAttributeUpdatePair[] = [];
    if (values.playbook !== undefined) pairs.push({ key: SEARCH_ATTRIBUTE_KEYS.KafkaDrPlaybook, value: values.playbook });
    if (values.clusterPair !== undefined) pairs.push({ key: SEARCH_ATTRIBUTE_KEYS.KafkaDrClusterPair, value: values.clusterPair });
    if (values.phase !== undefined) pairs.push({ key: SEARCH_ATTRIBUTE_KEYS.KafkaDrPhase, value: values.phase });
    if (pairs.length > 0) upsertSearchAttributes(pairs);
  }

  /** Moves to a phase: status, phase history (time in each phase) and the KafkaDrPhase search attribute. */
  setPhase(phase: string): void {
    if (phase === this.phase) return; // an upsert is a history event: only on change
    this.phase = phase;
    this.phases.push({ phase, at: nowIso() });
    this.upsertSearchAttributes({ phase });
    this.onChange();
  }

  /** Merges figures (RPO, drain time, offsets set) shown in the status and the report. */
  setFigures(patch: Record<string, unknown>): void {
    this.figures = { ...this.figures, ...patch };
    this.onChange();
  }

  /**
   * Runs `fn` as a journal step: running → completed | failed, with timings and
   * details. A failure is recorded and rethrown unchanged.
   */
  async step<T>(name: string, fn: (step: StepControl) => Promise<T>, options: StepOptions<T> & StepErrorHook = {}): Promise<T> {
    const record: StepRecord = { name, state: 'running', startedAt: nowIso() };
    if (options.details) record.details = { ...options.details };
    const index = this.steps.push(record) - 1;
    this.running.push(index);
    this.lastStarted = index;
    this.onChange();
    const started = Date.now();
    const control: StepControl = {
      name,
      details: (patch) => {
        record.details = { ...record.details, ...patch };
      },
    };
    try {
      const result = await fn(control);
      const summary = options.summarize?.(result);
      if (summary) control.details(summary);
      record.state = 'completed';
      return result;
    } catch (err) {
      record.state = 'failed';
      record.error = options.describe?.(err) ?? describeError(err);
      throw err;
    } finally {
      record.endedAt = nowIso();
      record.durationMs = Date.now() - started;
      const at = this.running.lastIndexOf(index);
      if (at >= 0) this.running.splice(at, 1);
      this.onChange();
    }
  }

  /** Records a step the playbook decided not to run, and why. */
  skip(name: string, why: string, details?: Record<string, unknown>): void {
    const at = nowIso();
    this.steps.push({ name, state: 'skipped', startedAt: at, endedAt: at, durationMs: 0, details: { ...details, why } });
  }

  /** The step an undo registered now belongs to: the innermost running one, else the last started. */
  currentStepIndex(): number | undefined {
    return this.running.length > 0 ? this.running[this.running.length - 1] : this.lastStarted;
  }

  /** The last step with this name (an undo may name the step it reverts). */
  findStep(name: string): number | undefined {
    for (let i = this.steps.length - 1; i >= 0; i--) if (this.steps[i]!.name === name) return i;
    return undefined;
  }

  /** Marks a completed (or failed: half-done) step as reverted by `undoName`. */
  markCompensated(index: number, undoName: string): void {
    const record = this.steps[index];
    if (!record || record.state === 'running' || record.state === 'skipped') return;
    record.state = 'compensated';
    record.compensatedBy = undoName;
  }
}
