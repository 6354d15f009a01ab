import { CancellationScope } from '@temporalio/workflow';
import type { CompensationResult, CompensationStatus } from '../../src/model/gates';
import { describeError, type Journal } from './journal';

/**
 * The saga list. A playbook pushes an undo right after each side effect that is
 * safe to revert (delete a connector we created, resume one we stopped) and names
 * the effects it deliberately keeps, with why (offsets already applied, producers
 * already moved). On reject/abort/deadline/failure the undos run in reverse, in a
 * non-cancellable scope: a cancelled workflow still cleans up.
 */

interface UndoEntry {
  name: string;
  fn: () => Promise<unknown>;
  /** Journal index of the step whose effect this reverts. */
  step: number | undefined;
}

export class Compensations {
  private entries: UndoEntry[] = [];
  private readonly keptAsIs: Array<{ name: string; why: string }> = [];
  private lastResult: CompensationResult | null = null;

  constructor(private readonly journal: Journal) {}

  /**
   * Registers an undo for the effect just made. It is linked to the running step (or
   * the last one started), or to the step named in `options.step`.
   */
  onUndo(name: string, fn: () => Promise<unknown>, options: { step?: string } = {}): void {
    const step = options.step !== undefined ? this.journal.findStep(options.step) : this.journal.currentStepIndex();
    this.entries.push({ name, fn, step });
  }

  /**
   * Records an effect that will deliberately not be undone, and why. If an undo of
   * that name is registered, it is withdrawn (e.g. once producers moved, resuming the
   * old forward flow would be wrong).
   */
  leaveAsIs(name: string, why: string): void {
    this.entries = this.entries.filter((e) => e.name !== name);
    const existing = this.keptAsIs.find((k) => k.name === name);
    if (existing) existing.why = why;
    else this.keptAsIs.push({ name, why });
  }

  /** Undo names registered and not yet run. */
  pending(): string[] {
    return this.entries.map((e) => e.name);
  }

  /**
   * Runs every registered undo, newest first, each as a journal step `undo: <name>`.
   * A failing undo is recorded and the rest still run. Runs once: the list is
   * emptied, so a second call only reports what was kept as is.
   */
  async compensate(reason: string): Promise<CompensationResult> {
    const result: CompensationResult = { reason, undone: [], failed: [], leftAsIs: this.keptAsIs.map((k) => ({ ...k })) };
    const toRun = [...this.entries].reverse();
    this.entries = [];
    await CancellationScope.nonCancellable(async () => {
      for (const entry of toRun) {
        const undoStep = `undo: ${entry.name}`;
        try {
          await this.journal.step(undoStep, () => entry.fn(), { details: { reason } });
          result.undone.push(entry.name);
          if (entry.step !== undefined) this.journal.markCompensated(entry.step, undoStep);
        } catch (err) {
          result.failed.push({ name: entry.name, error: describeError(err) });
        }
      }
    });
    this.lastResult = result;
    return result;
  }

  status(): CompensationStatus {
    return {
      registered: this.entries.map((e) => ({
        name: e.name,
        step: e.step !== undefined ? (this.journal.steps[e.step]?.name ?? null) : null,
      })),
      leftAsIs: this.keptAsIs.map((k) => ({ ...k })),
      result: this.lastResult,
    };
  }
}
