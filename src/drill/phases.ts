import type { GateSummary, StepRecord } from '../model/gates';
import type { DrillPhase } from './report-types';

/**
 * The drill's timeline: top-level phases timed by the drill, and inside a playbook's
 * phase the gates and the steps that took a while (from the playbook's own journal).
 */

export class PhaseClock {
  readonly phases: DrillPhase[] = [];

  constructor(private readonly log: (line: string) => void = () => undefined) {}

  /** Times `fn` as phase `name`; the phase is recorded even when `fn` fails. */
  async phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const startedAt = new Date().toISOString();
    this.log(`phase ${name}`);
    try {
      return await fn();
    } finally {
      this.phases.push({ name, startedAt, endedAt: new Date().toISOString() });
    }
  }

  /** Adds phases timed elsewhere (a playbook's steps), after their parent. */
  addChildren(parent: string, children: DrillPhase[]): void {
    const at = this.phases.findIndex((p) => p.name === parent);
    if (at === -1) this.phases.push(...children);
    else this.phases.splice(at + 1, 0, ...children);
  }
}

/**
 * A playbook's gates (open → decided) and its steps of at least `minStepMs`, in start
 * order, as children of `parent`. Shorter steps stay in the playbook's own report.
 */
export function playbookPhases(parent: string, journal: { gates?: GateSummary[]; steps?: StepRecord[] }, minStepMs = 1_000): DrillPhase[] {
  const out: DrillPhase[] = [];
  for (const g of journal.gates ?? []) {
    if (g.openedAt && g.closedAt) out.push({ name: `gate ${g.name}`, startedAt: g.openedAt, endedAt: g.closedAt, parent });
  }
  for (const s of journal.steps ?? []) {
    if (!s.endedAt || s.state === 'skipped') continue;
    if (Date.parse(s.endedAt) - Date.parse(s.startedAt) < minStepMs) continue;
    out.push({ name: s.name, startedAt: s.startedAt, endedAt: s.endedAt, parent });
  }
  return out.sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
}
