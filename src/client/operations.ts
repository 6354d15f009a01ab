import {
  ApplicationFailure,
  isGrpcDeadlineError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
  type WorkflowExecutionStatusName,
} from '@temporalio/client';
import {
  AbortArgsSchema,
  DecideArgsSchema,
  describeIssues,
  gateViewOf,
  refuseDecision,
  type AbortArgs,
  type DecideArgs,
  type GateDecisionRecord,
  type PlaybookReport,
  type PlaybookStatus,
} from '../model/gates';
import { defaultPayloadConverter } from '@temporalio/common';
import { abortSignal, decideUpdate, statusQuery } from '../../workflows/framework/messages';
import { PLAYBOOK_SEARCH_ATTRIBUTES } from './playbooks';

/**
 * What approvers and operators do to a running playbook, and what they read from
 * it: status, decisions (the `decide` update, so a refusal comes back with its
 * reason), abort (a signal: it wins over any gate), the final report and the list
 * of playbooks. Each function names the workflow in its errors.
 */

/** No workflow with this ID in the namespace. */
export class PlaybookNotFoundError extends Error {
  override readonly name = 'PlaybookNotFoundError';
  constructor(
    readonly workflowId: string,
    namespace: string,
  ) {
    super(`no workflow '${workflowId}' in namespace ${namespace}: \`kafka-dr list --all\` shows recent playbooks`);
  }
}

/** The playbook is closed (or not yet closed) when the call needs the other. */
export class PlaybookStateError extends Error {
  override readonly name = 'PlaybookStateError';
  constructor(
    message: string,
    readonly status: WorkflowExecutionStatusName,
  ) {
    super(message);
  }
}

/** The workflow refused the decision (the update validator's reason); nothing changed. */
export class DecisionRefusedError extends Error {
  override readonly name = 'DecisionRefusedError';
  constructor(
    readonly workflowId: string,
    readonly reason: string,
  ) {
    super(`${workflowId} refused the decision: ${reason}`);
  }
}

/** Nobody answered the status query in time: no worker polls the playbook's task queue. */
export class NoWorkerError extends Error {
  override readonly name = 'NoWorkerError';
  constructor(
    readonly workflowId: string,
    taskQueue: string,
    ms: number,
  ) {
    super(
      `no worker answered ${workflowId}'s status query within ${ms / 1000}s: is a kafka-dr worker polling task queue '${taskQueue}'? (\`kafka-dr worker\`)`,
    );
  }
}

/** Where a playbook stands: Temporal's view plus the playbook's own status (from the query, or rebuilt from the report once closed). */
export interface PlaybookSnapshot {
  workflowId: string;
  runId: string;
  workflowType: string;
  taskQueue: string;
  temporalStatus: WorkflowExecutionStatusName;
  startTime: string;
  closeTime: string | null;
  /** Null when the playbook never reported (terminated, or failed before its first step). */
  status: PlaybookStatus | null;
  /**
   * Running: the activities it waits on, with their last heartbeat (a wait for quiet producers
   * says which partitions still grow). Absent once closed.
   */
  waitingOn?: PendingActivity[];
  /** Set once the workflow closed and returned (or failed with) a report. */
  report: PlaybookReport | null;
  /** Why a closed run has no report, or the failure message of a failed one. */
  failure: string | null;
}

const isRunning = (s: WorkflowExecutionStatusName) => s === 'RUNNING';

/** An activity a running playbook waits on, as Temporal's describe reports it. */
export interface PendingActivity {
  activity: string;
  attempt: number;
  lastHeartbeatAt: string | null;
  /** The last heartbeat's details (activities heartbeat counts and offsets, never secrets). */
  heartbeat: unknown;
  lastFailure: string | null;
}

type Description = Awaited<ReturnType<WorkflowHandle['describe']>>;

/** The pending activities of a description; a heartbeat this client cannot decode is left out. */
export function pendingActivities(d: Pick<Description, 'raw'>): PendingActivity[] {
  return (d.raw.pendingActivities ?? []).map((a) => {
    let heartbeat: unknown = null;
    const payload = a.heartbeatDetails?.payloads?.[0];
    try {
      if (payload) heartbeat = defaultPayloadConverter.fromPayload(payload);
    } catch {
      heartbeat = null;
    }
    const seconds = a.lastHeartbeatTime?.seconds;
    return {
      activity: a.activityType?.name ?? 'unknown',
      attempt: a.attempt ?? 1,
      lastHeartbeatAt: seconds !== undefined && seconds !== null ? new Date(Number(seconds) * 1000).toISOString() : null,
      heartbeat,
      lastFailure: a.lastFailure?.message ?? null,
    };
  });
}

async function describeOrThrow(client: Client, workflowId: string) {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new PlaybookNotFoundError(workflowId, client.options.namespace);
    throw err;
  }
}

/** A run's report once it closes (waits for it): its result, or the report a PlaybookFailed failure carries. */
export async function closedOutcome(
  client: Client,
  workflowId: string,
  runId: string,
): Promise<{ report: PlaybookReport | null; failure: string | null }> {
  try {
    const report = (await client.workflow.getHandle(workflowId, runId).result()) as PlaybookReport;
    return { report, failure: null };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const cause = err.cause;
    const report =
      cause instanceof ApplicationFailure && cause.details?.[0] && typeof cause.details[0] === 'object'
        ? (cause.details[0] as PlaybookReport)
        : null;
    const failure =
      cause instanceof ApplicationFailure ? `${cause.type ? `${cause.type}: ` : ''}${cause.message}` : (cause?.message ?? err.message);
    return { report: report && Array.isArray(report.steps) ? report : null, failure };
  }
}

/** The status a closed run would have answered, rebuilt from its report. */
export function statusFromReport(report: PlaybookReport): PlaybookStatus {
  return {
    playbook: report.playbook,
    workflowId: report.workflowId,
    clusterPair: report.clusterPair,
    requestedBy: report.requestedBy,
    state: 'finished',
    outcome: report.outcome,
    phase: report.phases[report.phases.length - 1]?.phase ?? report.outcome,
    phases: report.phases,
    steps: report.steps,
    gates: report.decisions.map((d) => ({ name: d.gate, state: d.decision, closedAt: d.at })),
    openGate: null,
    decisions: report.decisions,
    ignoredMessages: report.ignoredMessages,
    ignoredMessagesDropped: 0,
    aborted: report.aborted,
    figures: report.figures,
    compensations: { registered: [], leftAsIs: report.compensation?.leftAsIs ?? [], result: report.compensation },
  };
}

/**
 * The playbook's status. Running: the `status` query (a worker must answer within
 * `queryTimeoutMs`). Closed: rebuilt from the report, so no worker is needed.
 */
export async function playbookSnapshot(
  client: Client,
  workflowId: string,
  options: { queryTimeoutMs?: number } = {},
): Promise<PlaybookSnapshot> {
  const d = await describeOrThrow(client, workflowId);
  const base = {
    workflowId,
    runId: d.runId,
    workflowType: d.type,
    taskQueue: d.taskQueue,
    temporalStatus: d.status.name,
    startTime: d.startTime.toISOString(),
    closeTime: d.closeTime ? d.closeTime.toISOString() : null,
  };
  if (isRunning(d.status.name)) {
    const ms = options.queryTimeoutMs ?? 15_000;
    try {
      const status = await client.withDeadline(Date.now() + ms, () => client.workflow.getHandle(workflowId, d.runId).query(statusQuery));
      return { ...base, status, report: null, failure: null, waitingOn: pendingActivities(d) };
    } catch (err) {
      if (isDeadline(err)) throw new NoWorkerError(workflowId, d.taskQueue, ms);
      throw err;
    }
  }
  const { report, failure } = await closedOutcome(client, workflowId, d.runId);
  return { ...base, status: report ? statusFromReport(report) : null, report, failure };
}

function isDeadline(err: unknown): boolean {
  return isGrpcDeadlineError(err) || (err instanceof Error && err.cause !== undefined && isGrpcDeadlineError(err.cause));
}

/**
 * Approves or rejects the open gate through the `decide` update: the answer is the
 * recorded decision, or DecisionRefusedError with the workflow's reason (unknown
 * gate, gate not open, not an approver, four-eyes). Arguments are checked first with
 * the workflow's own schema.
 */
export async function decideGate(
  client: Client,
  workflowId: string,
  args: DecideArgs,
  options: { settleMs?: number } = {},
): Promise<GateDecisionRecord> {
  const parsed = DecideArgsSchema.safeParse(args);
  if (!parsed.success) throw new DecisionRefusedError(workflowId, describeIssues(parsed.error));
  const d = await describeOrThrow(client, workflowId);
  if (!isRunning(d.status.name)) {
    throw new PlaybookStateError(`${workflowId} is not running (${d.status.name}): no gate to decide`, d.status.name);
  }
  const handle = client.workflow.getHandle(workflowId, d.runId);
  await awaitSettledGate(handle, workflowId, parsed.data, options.settleMs ?? 15_000);
  try {
    return await handle.executeUpdate(decideUpdate, { args: [parsed.data] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const reason = err.cause instanceof Error ? err.cause.message : err.message;
      throw new DecisionRefusedError(workflowId, reason);
    }
    throw err;
  }
}

/**
 * Sends nothing until the workflow reports the gate open with no workflow task pending,
 * and refuses here what its validator would refuse. An update that reaches the workflow in
 * the same workflow task as the step completion that opens its gate (a worker restart can
 * delay that task) is handled after the gate opens live but before it on replay: Temporal
 * then fails the replay with a nondeterminism error and the run stalls
 * (test/replay/nondeterminism.test.ts). With no task pending, the gate's opening is already
 * in history and the update lands in a later task. The validator still has the last word.
 */
async function awaitSettledGate(handle: WorkflowHandle, workflowId: string, d: DecideArgs, settleMs: number): Promise<void> {
  const until = Date.now() + settleMs;
  for (;;) {
    const refusal = refuseDecision(gateViewOf(await handle.query(statusQuery)), d);
    if (refusal) throw new DecisionRefusedError(workflowId, refusal);
    if (!(await handle.describe()).raw.pendingWorkflowTask) return;
    if (Date.now() >= until) {
      throw new DecisionRefusedError(
        workflowId,
        `gate '${d.gate}' is open but the workflow has had a task pending for ${Math.round(settleMs / 1000)} s (is its worker restarting?): nothing was sent; try again once 'kafka-dr status' answers`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Sends `abort` (a signal: it wins over any open gate; the playbook compensates and
 * stops). Signals cannot be refused, so the status is read back (up to `confirmMs`)
 * to tell whether the abort took or was ignored, and why.
 */
export async function abortPlaybook(
  client: Client,
  workflowId: string,
  args: AbortArgs,
  options: { confirmMs?: number } = {},
): Promise<{ accepted: boolean; reason: string; status: PlaybookStatus | null }> {
  const parsed = AbortArgsSchema.safeParse(args);
  if (!parsed.success) throw new DecisionRefusedError(workflowId, describeIssues(parsed.error));
  const d = await describeOrThrow(client, workflowId);
  if (!isRunning(d.status.name)) {
    throw new PlaybookStateError(`${workflowId} is not running (${d.status.name}): nothing to abort`, d.status.name);
  }
  const handle = client.workflow.getHandle(workflowId, d.runId);
  const sentAt = Date.now();
  await handle.signal(abortSignal, parsed.data);
  const deadline = Date.now() + (options.confirmMs ?? 10_000);
  let last: PlaybookStatus | null = null;
  while (Date.now() < deadline) {
    const snap = await playbookSnapshot(client, workflowId, { queryTimeoutMs: Math.max(1000, deadline - Date.now()) }).catch(() => null);
    const s = snap?.status ?? null;
    if (s) {
      last = s;
      if (s.aborted && s.aborted.by === parsed.data.by && s.aborted.reason === parsed.data.reason) {
        return { accepted: true, reason: `aborted by ${s.aborted.by}: ${s.aborted.reason}`, status: s };
      }
      const ignored = [...s.ignoredMessages]
        .reverse()
        .find((m) => m.message === 'abort' && m.by === parsed.data.by && Date.parse(m.at) >= sentAt - 60_000);
      if (ignored) return { accepted: false, reason: ignored.reason, status: s };
    }
    if (snap && !isRunning(snap.temporalStatus)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    accepted: false,
    reason: 'the abort was sent but the playbook did not confirm it in time: check `kafka-dr status`',
    status: last,
  };
}

/** The final report of a closed playbook; PlaybookStateError while it runs. */
export async function playbookReport(
  client: Client,
  workflowId: string,
): Promise<{ report: PlaybookReport; temporalStatus: WorkflowExecutionStatusName }> {
  const d = await describeOrThrow(client, workflowId);
  if (isRunning(d.status.name)) {
    throw new PlaybookStateError(
      `${workflowId} is still running: its report exists once it closes (\`kafka-dr status ${workflowId} --watch\` follows it)`,
      d.status.name,
    );
  }
  const { report, failure } = await closedOutcome(client, workflowId, d.runId);
  if (!report)
    throw new PlaybookStateError(`${workflowId} closed ${d.status.name} without a report${failure ? `: ${failure}` : ''}`, d.status.name);
  return { report, temporalStatus: d.status.name };
}

/** One row of `kafka-dr list`. */
export interface PlaybookListing {
  workflowId: string;
  runId: string;
  workflowType: string;
  playbook: string | null;
  phase: string | null;
  clusterPair: string | null;
  status: WorkflowExecutionStatusName;
  startTime: string;
  closeTime: string | null;
}

/** Visibility query for kafka-dr playbooks (search attributes), running only unless `all`. */
export function listQuery(filter: { all?: boolean; playbook?: string; clusterPair?: string }): string {
  const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const clauses = ['KafkaDrPlaybook IS NOT NULL'];
  if (!filter.all) clauses.push("ExecutionStatus = 'Running'");
  if (filter.playbook) clauses.push(`KafkaDrPlaybook = ${quote(filter.playbook)}`);
  if (filter.clusterPair) clauses.push(`KafkaDrClusterPair = ${quote(filter.clusterPair)}`);
  return clauses.join(' AND ');
}

/** Playbooks from the search attributes, newest first, at most `limit`. */
export async function listPlaybooks(
  client: Client,
  filter: { all?: boolean; playbook?: string; clusterPair?: string; limit?: number } = {},
): Promise<PlaybookListing[]> {
  const limit = filter.limit ?? 50;
  const rows: PlaybookListing[] = [];
  for await (const wf of client.workflow.list({ query: listQuery(filter), pageSize: Math.min(limit, 100) })) {
    rows.push({
      workflowId: wf.workflowId,
      runId: wf.runId,
      workflowType: wf.type,
      playbook: wf.typedSearchAttributes.get(PLAYBOOK_SEARCH_ATTRIBUTES.playbook) ?? null,
      phase: wf.typedSearchAttributes.get(PLAYBOOK_SEARCH_ATTRIBUTES.phase) ?? null,
      clusterPair: wf.typedSearchAttributes.get(PLAYBOOK_SEARCH_ATTRIBUTES.clusterPair) ?? null,
      status: wf.status.name,
      startTime: wf.startTime.toISOString(),
      closeTime: wf.closeTime ? wf.closeTime.toISOString() : null,
    });
    if (rows.length >= limit) break;
  }
  return rows;
}
