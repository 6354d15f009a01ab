import { z } from 'zod';

/**
 * The DR drill (issue 5): the README's main job. This file fixes the interface the CLI
 * calls; the implementation lands with the drill itself.
 */
export const DrillOptionsSchema = z.strictObject({
  /** planned: failover + failback with 0 lost; unplanned: broker A stopped mid-stream. */
  mode: z.enum(['planned', 'unplanned']).default('planned'),
  /** Where reports/drill-<timestamp>.{json,md,svg} are written (relative to the cwd). */
  reportsDir: z.string().min(1).default('reports'),
});
export type DrillOptions = z.input<typeof DrillOptionsSchema>;

/** One phase of the drill's timeline. */
export interface DrillPhase {
  name: string;
  startedAt: string;
  endedAt: string;
}

export interface DrillReport {
  mode: 'planned' | 'unplanned';
  produced: number;
  consumed: number;
  lost: number;
  duplicates: number;
  rpoRecords: number | null;
  phases: DrillPhase[];
  [more: string]: unknown;
}

export interface DrillResult {
  report: DrillReport;
  files: { json: string; markdown: string; svg: string };
  /** Process exit code: non-zero when the planned path lost a record or a playbook failed. */
  exitCode: number;
}

/** Runs the drill; progress lines go to `log` (stderr in the CLI), the result is returned. */
export async function runDrill(options: DrillOptions, log: (line: string) => void = () => undefined): Promise<DrillResult> {
  DrillOptionsSchema.parse(options);
  log('the drill is not implemented yet');
  throw new Error('kafka-dr drill is not implemented yet');
}
