import { ApplicationFailure, WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { PlaybookReport, PlaybookStatus } from '../model/gates';
import { decideUpdate, statusQuery } from '../../workflows/framework/messages';
import type { Switchboard } from './switchboard';

/**
 * Runs one playbook the way an operator would: start it, watch its `status` query,
 * and approve each gate through the `decide` update once the clients are switched
 * (by the playbook's drill hook after the approval, or by the drill just before it).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How the clients get switched at the gates: decided by the first gate, kept for the rest of the drill. */
export interface SwitchMode {
  /** hook: the playbook calls the drill switch; approver: the drill switches before approving; probe: not known yet. */
  current: 'hook' | 'probe' | 'approver';
}

export interface DriveOptions {
  client: Client;
  taskQueue: string;
  workflowType: 'deployReplication' | 'failover' | 'failback';
  workflowId: string;
  input: unknown;
  /** Alias the clients move away from and to (the hook request's from/to). */
  from: string;
  to: string;
  approver: string;
  switchboard: Switchboard;
  mode: SwitchMode;
  log: (line: string) => void;
  /** How long to wait for the hook after an approval before switching from the drill. */
  hookWaitMs?: { probe: number; hook: number };
  /** Called after each status poll (e.g. the deferred consumer start). */
  onStatus?: (status: PlaybookStatus) => Promise<void>;
}

export interface DriveResult {
  report: PlaybookReport;
  /** The status after the end: gates with open/close times, steps. */
  status: PlaybookStatus | null;
  runId: string;
}

/** The report a failed playbook attaches to its failure (details[0]), or undefined. */
function reportOfFailure(err: unknown): PlaybookReport | undefined {
  if (!(err instanceof WorkflowFailedError)) return undefined;
  const cause = err.cause;
  if (!(cause instanceof ApplicationFailure)) return undefined;
  const details = cause.details?.[0] as PlaybookReport | undefined;
  return details && typeof details === 'object' && 'outcome' in details ? details : undefined;
}

export class PlaybookFailedError extends Error {
  constructor(
    readonly workflowId: string,
    readonly report: PlaybookReport | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'PlaybookFailedError';
  }
}

export async function drivePlaybook(o: DriveOptions): Promise<DriveResult> {
  const waits = o.hookWaitMs ?? { probe: 20_000, hook: 120_000 };
  const handle = await o.client.workflow.start(o.workflowType, {
    taskQueue: o.taskQueue,
    workflowId: o.workflowId,
    args: [o.input],
    workflowExecutionTimeout: '20 minutes',
  });
  o.log(`${o.workflowType} started: workflow ${o.workflowId} (run ${handle.firstExecutionRunId})`);
  let finished = false;
  const result = handle.result().finally(() => (finished = true));
  result.catch(() => undefined);
  const decided = new Set<string>();

  while (!finished) {
    let status: PlaybookStatus;
    try {
      status = await handle.query(statusQuery);
    } catch {
      await sleep(300);
      continue;
    }
    if (status.state === 'finished') break;
    if (o.onStatus) await o.onStatus(status);
    const gate = status.openGate;
    if (gate && !decided.has(gate.name)) {
      decided.add(gate.name);
      await approveGate(o, handle, status, gate.name, waits);
    }
    await sleep(300);
  }

  let report: PlaybookReport;
  try {
    report = await result;
  } catch (err) {
    const attached = reportOfFailure(err);
    const why = err instanceof WorkflowFailedError ? (err.cause?.message ?? err.message) : String(err);
    throw new PlaybookFailedError(o.workflowId, attached, `${o.workflowType} ${o.workflowId} failed: ${why}`);
  }
  const status = await handle.query(statusQuery).catch(() => null);
  if (report.outcome !== 'completed') {
    throw new PlaybookFailedError(o.workflowId, report, `${o.workflowType} ${o.workflowId} ended ${report.outcome}: ${report.reason ?? ''}`);
  }
  return { report, status, runId: handle.firstExecutionRunId };
}

async function approveGate(o: DriveOptions, handle: WorkflowHandle, status: PlaybookStatus, gate: string, waits: { probe: number; hook: number }): Promise<void> {
  const request = { workflowId: o.workflowId, playbook: status.playbook, gate, from: o.from, to: o.to, approvedBy: o.approver };
  const cutoverGate = status.playbook === 'failover' || status.playbook === 'failback';
  if (cutoverGate && o.mode.current === 'approver') await o.switchboard.switch(request, 'approver');
  o.log(`${status.playbook}: approving gate ${gate} as ${o.approver}`);
  // Before the update: every step the playbook starts after the decision starts later.
  const approvedAtMs = Date.now();
  await handle.executeUpdate(decideUpdate, {
    args: [{ gate, decision: 'approve', by: o.approver, comment: 'kafka-dr drill: scripted approval' }],
  });
  if (!cutoverGate || o.mode.current === 'approver') return;
  const hooked = await hookRuns(o, handle, request, approvedAtMs, o.mode.current === 'probe' ? waits.probe : waits.hook);
  if (hooked) {
    if (o.mode.current === 'probe') o.log('the playbook called the drill switch from its cutover hook: switching by hook from now on');
    o.mode.current = 'hook';
    return;
  }
  // No hook: this playbook runs none (or the framework calls no hooks). Switch from
  // here, just after the approval: the next steps wait for quiet producers and
  // translate from committed offsets, so a late switch costs re-reads, not records.
  o.log(`no cutover hook called the drill switch at ${status.playbook}/${gate}: the drill switches the clients itself from now on`);
  o.mode.current = 'approver';
  await o.switchboard.switch(request, 'approver');
}

/** `<playbook>/<gate>` → the steps that run after the approval and before the gate's hook. */
const PREPARED_HOOKS: Record<string, readonly string[]> = { 'failback/consumers-cutover': ['translate-offsets'] };

/**
 * Whether the approved gate's hook runs: yes once the switch is called; no once the
 * playbook moved on without a `hook:<gate>` step (another step started after the
 * approval, another gate opened, or it finished); no after `timeoutMs` either.
 */
async function hookRuns(
  o: DriveOptions,
  handle: WorkflowHandle,
  request: { playbook: string; workflowId: string; gate: string },
  approvedAtMs: number,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const hookStep = `hook:${request.gate}`;
  // Steps a playbook runs between an approval and that gate's hook: failback sets the
  // groups' offsets on the primary before its consumers-cutover hook moves them there.
  const beforeHook = PREPARED_HOOKS[`${request.playbook}/${request.gate}`] ?? [];
  while (Date.now() < deadline) {
    if (o.switchboard.called(request)) return true;
    const s = await handle.query(statusQuery).catch(() => null);
    if (s) {
      if (o.switchboard.called(request)) return true;
      const hookSeen = s.steps.some((st) => st.name === hookStep);
      if (!hookSeen) {
        // Workflow time and ours come from one machine's clock (the drill runs on the stack's host).
        const movedOn = s.steps.some((st) => !st.name.startsWith('hook:') && !beforeHook.includes(st.name) && Date.parse(st.startedAt) >= approvedAtMs);
        if (movedOn || s.state === 'finished' || (s.openGate && s.openGate.name !== request.gate)) return false;
      }
    }
    await sleep(200);
  }
  return o.switchboard.called(request);
}
