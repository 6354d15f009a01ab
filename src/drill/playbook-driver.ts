import { ApplicationFailure, WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { PlaybookReport, PlaybookStatus } from '../model/gates';
import { decideUpdate, statusQuery } from '../../workflows/framework/messages';

/**
 * Runs one playbook the way an operator would: start it, watch its `status` query,
 * and approve each gate through the `decide` update. The clients are switched by the
 * playbook's own cutover hooks (the drill's registry sets them to the drill switch).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DriveOptions {
  client: Client;
  taskQueue: string;
  workflowType: 'deployReplication' | 'failover' | 'failback';
  workflowId: string;
  input: unknown;
  approver: string;
  log: (line: string) => void;
  /** Choices to send with the approval of a gate that asks for them (gate → key → choice; `*`: every key). */
  choices?: Record<string, Record<string, string>>;
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
    const gate = status.openGate;
    if (gate && !decided.has(gate.name)) {
      decided.add(gate.name);
      await approveGate(o, handle, status, gate.name);
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
    throw new PlaybookFailedError(
      o.workflowId,
      report,
      `${o.workflowType} ${o.workflowId} ended ${report.outcome}: ${report.reason ?? ''}`,
    );
  }
  return { report, status, runId: handle.firstExecutionRunId };
}

async function approveGate(o: DriveOptions, handle: WorkflowHandle, status: PlaybookStatus, gate: string): Promise<void> {
  const choices = o.choices?.[gate];
  o.log(`${status.playbook}: approving gate ${gate} as ${o.approver}${choices ? ` with ${JSON.stringify(choices)}` : ''}`);
  await handle.executeUpdate(decideUpdate, {
    args: [{ gate, decision: 'approve', by: o.approver, comment: 'kafka-dr drill: scripted approval', ...(choices ? { choices } : {}) }],
  });
}
