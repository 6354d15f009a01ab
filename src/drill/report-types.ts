import type { ExtraGroupsReport } from './extra-groups';
import type { CutoverAction } from '../hooks/actions';

/**
 * The drill report's shape (reports/drill-<timestamp>.json), shared by the drill, the
 * Markdown and SVG renderers and the CLI. Pure types.
 */

/** One phase of the drill's timeline; `parent` names the phase a step or gate belongs to. */
export interface DrillPhase {
  name: string;
  startedAt: string;
  endedAt: string;
  parent?: string;
}

/** A cutover of the synthetic clients, asked by a playbook's hook after a gate. */
export interface DrillSwitchRecord {
  playbook: string;
  gate: string;
  /** What the hook asked (src/hooks/actions.ts). */
  action: CutoverAction;
  at: string;
  detail: Record<string, unknown>;
}

/** A playbook run the drill started: its workflow and its key figures. */
export interface DrillPlaybookRun {
  workflowId: string;
  runId: string;
  outcome: string;
  durationMs: number;
  figures: Record<string, unknown>;
}

export interface DrillReport {
  mode: 'planned' | 'unplanned';
  /** The stack's topology (absent in reports written before it was recorded: single). */
  topology?: 'single' | 'ha';
  /** The --codec both MM2 flows wrote with (absent: the profile's, none). */
  codec?: string;
  drillId: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  /** passed: the planned path lost nothing and every playbook completed (unplanned: every playbook completed). */
  outcome: 'passed' | 'failed';
  /** Why the drill failed, for the operator (never a secret). */
  error?: string;
  produced: number;
  consumed: number;
  lost: number;
  duplicates: number;
  /**
   * Records a cluster acknowledged before the failover that never reached the other
   * (measured by reading B): planned 0; unplanned the data lost with A (with --chaos: the
   * tail read from B at the kill, which the failback then finds and replays).
   */
  rpoRecords: number | null;
  phases: DrillPhase[];
  /** Per cluster: records acknowledged there / processed from there. */
  producedOn?: Record<string, number>;
  consumedOn?: Record<string, number>;
  /** The first lost sequences (planned: empty). */
  lostSample?: number[];
  /** Records seen whose send had failed (written anyway): neither lost nor duplicates. */
  unacknowledgedSeen?: number;
  /** Unplanned: records written to A in one burst right before it was killed. */
  burstRecords?: number;
  /** Unplanned: the RPO the playbook estimated from the newest replicated heartbeat. */
  rpoEstimate?: { ageMs: number | null; lastHeartbeatAt: string | null; reason?: string } | null;
  /** Unplanned: why the estimate cannot be trusted, when it predates the drill. */
  rpoEstimateNote?: string;
  /** Unplanned: of the rpoRecords, how many were still on A once it came back (recoverable by hand). */
  recoverableOnA?: number | null;
  /** The synthetic clients' switches, in the order the playbooks' hooks asked them. */
  switches?: DrillSwitchRecord[];
  /** deploy, failover, failback: workflow IDs, outcomes, key figures. */
  playbooks?: Record<string, DrillPlaybookRun>;
  topics?: Array<{ name: string; partitions: number; compacted: boolean }>;
  group?: string;
  flow?: string;
  /** What the drill did about failing back (unplanned: why it did not). */
  failback?: string;
  /** Planned: the lagging and the partial group (src/drill/extra-groups.ts). */
  extraGroups?: ExtraGroupsReport;
  [more: string]: unknown;
}

export interface DrillResult {
  report: DrillReport;
  files: { json: string; markdown: string; svg: string };
  /** Process exit code: non-zero when the planned path lost a record or a playbook failed. */
  exitCode: number;
}
