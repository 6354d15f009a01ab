import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, type Client, type WorkflowHandle } from '@temporalio/client';
import { arrayFromPayloads, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { z } from 'zod';
import { AuditInput } from '../model/audit-input';
import { DeployReplicationInput } from '../model/deploy-input';
import { FailbackInput } from '../model/failback-input';
import { FailoverInput } from '../model/failover-input';
import type { PlaybookReport } from '../model/gates';
import { RecreateTopicInput } from '../model/recreate-topic-input';
import { TASK_QUEUE } from '../model/task-queue';
import { clusterPairKey, cutoverWorkflowId, playbookWorkflowId, type PlaybookName } from '../model/workflow-ids';
import { startSummary } from './start-summary';

/**
 * Starting playbooks from incident tooling (and the CLI): validate with the workflow's
 * own schema, derive the workflow ID from what the playbook touches, start it, and
 * return its handle. Idempotent: a second start of the same request while the first
 * runs returns the running one; a different playbook on the same ID (another cutover
 * of the pair) is refused naming it, because two cutovers at once would split the data.
 */

/** The search attributes the workflows set (workflows/framework/journal.ts), as the client reads and sets them. */
export const PLAYBOOK_SEARCH_ATTRIBUTES = {
  playbook: defineSearchAttributeKey('KafkaDrPlaybook', SearchAttributeType.KEYWORD),
  phase: defineSearchAttributeKey('KafkaDrPhase', SearchAttributeType.KEYWORD),
  clusterPair: defineSearchAttributeKey('KafkaDrClusterPair', SearchAttributeType.KEYWORD),
};

/** One field the schema refused, and why. */
export interface InputIssue {
  field: string;
  reason: string;
}

/** The input does not match the playbook's schema; nothing was started. */
export class PlaybookInputError extends Error {
  override readonly name = 'PlaybookInputError';
  constructor(
    readonly playbook: string,
    readonly issues: InputIssue[],
  ) {
    super(`${playbook} input is invalid: ${issues.map((i) => `${i.field}: ${i.reason}`).join('; ')}`);
  }
}

/** What runs under the workflow ID a start wanted. */
export interface RunningPlaybook {
  workflowId: string;
  runId: string;
  /** Workflow type (failover, failback, ...). */
  workflowType: string;
  startTime: string;
  phase: string | null;
}

/** Another playbook (or the same playbook with another input) runs under the workflow ID: nothing was started. */
export class PlaybookConflictError extends Error {
  override readonly name = 'PlaybookConflictError';
  constructor(
    readonly wanted: { playbook: string; workflowId: string },
    readonly running: RunningPlaybook,
    /** When a pairLock (workflows/pair-lock.ts) holds the ID: the playbook holding it and why. */
    lockHolder?: { holder?: unknown; reason?: unknown },
  ) {
    if (running.workflowType === 'pairLock') {
      const holder = typeof lockHolder?.holder === 'string' ? lockHolder.holder : 'another playbook';
      super(
        `${holder}${typeof lockHolder?.reason === 'string' ? ` (${lockHolder.reason})` : ''} holds the cutover lock of the pair, ${running.workflowId} ` +
          `(run ${running.runId}, since ${running.startTime}): no failover or failback may start until it ends. ` +
          `Follow it with \`kafka-dr status ${holder} --watch\`, or stop it with \`kafka-dr abort ${holder} --as NAME --reason WHY\``,
      );
      return;
    }
    const what =
      running.workflowType === wantedType(wanted.playbook)
        ? `another ${running.workflowType} with a different input`
        : running.workflowType;
    super(
      `${what} is already running as ${running.workflowId} (run ${running.runId}, started ${running.startTime}` +
        `${running.phase ? `, phase ${running.phase}` : ''}): one playbook at a time per ID` +
        `${running.workflowId.includes('-cutover-') ? ' (one cutover at a time per cluster pair)' : ''}. ` +
        `Follow it with \`kafka-dr status ${running.workflowId} --watch\`, or stop it with \`kafka-dr abort ${running.workflowId} --as NAME --reason WHY\``,
    );
  }
}

export interface StartPlaybookOptions {
  /** Default: the kafka-dr task queue the production worker polls. */
  taskQueue?: string;
  /** Default: derived from the input (src/model/workflow-ids.ts); dry runs get `<id>-dry-run`. */
  workflowId?: string;
}

export interface StartedPlaybook<F extends Record<string, unknown> = Record<string, unknown>> {
  handle: WorkflowHandle<(raw: unknown) => Promise<PlaybookReport<F>>>;
  workflowId: string;
  runId: string;
  /** False: the same request was already running, `handle` is that run. */
  started: boolean;
  /** The validated input with defaults (what the workflow will see). */
  input: Record<string, unknown>;
}

/** What each playbook needs to be started: its workflow type, schema, ID and cluster pair. */
export interface PlaybookSpec<S extends z.ZodType = z.ZodType> {
  name: PlaybookName;
  workflowType: string;
  schema: S;
  workflowId(input: z.output<S>): string;
  clusterPair(input: z.output<S>): string;
}

const sortedAliases = (flows: Array<{ source: string; target: string }>) => [...new Set(flows.flatMap((f) => [f.source, f.target]))].sort();

/** A cutover (failover, failback): one ID per cluster pair, whichever way it goes, so two cutovers never run at once. */
function cutoverSpec<S extends z.ZodType>(name: 'failover' | 'failback', schema: S, pair: (i: z.output<S>) => [string, string]) {
  return {
    name,
    workflowType: name,
    schema,
    workflowId: (i) => cutoverWorkflowId(...pair(i)),
    clusterPair: (i) => clusterPairKey(...pair(i)),
  } satisfies PlaybookSpec<S>;
}

export const PLAYBOOK_SPECS = {
  failover: cutoverSpec('failover', FailoverInput, (i) => [i.source, i.target]),
  failback: cutoverSpec('failback', FailbackInput, (i) => [i.primary, i.dr]),
  'recreate-topic': {
    name: 'recreate-topic',
    workflowType: 'recreateTopic',
    schema: RecreateTopicInput,
    workflowId: (i) => playbookWorkflowId('recreate-topic', i.source, i.target, i.topic),
    clusterPair: (i) => clusterPairKey(i.source, i.target),
  } satisfies PlaybookSpec<typeof RecreateTopicInput>,
  'audit-drift': {
    name: 'audit-drift',
    workflowType: 'auditDrift',
    schema: AuditInput,
    workflowId: (i) => playbookWorkflowId('audit-drift', ...sortedAliases(i.flows)),
    // Several flows may span several pairs; the first names it (the workflow sets its own).
    clusterPair: (i) => clusterPairKey(i.flows[0]!.source, i.flows[0]!.target),
  } satisfies PlaybookSpec<typeof AuditInput>,
  'deploy-replication': {
    name: 'deploy-replication',
    workflowType: 'deployReplication',
    schema: DeployReplicationInput,
    workflowId: (i) => playbookWorkflowId('deploy-replication', i.plan.source, i.plan.target),
    clusterPair: (i) => clusterPairKey(i.plan.source, i.plan.target),
  } satisfies PlaybookSpec<typeof DeployReplicationInput>,
};
export type StartablePlaybook = keyof typeof PLAYBOOK_SPECS;

function wantedType(playbook: string): string {
  return (PLAYBOOK_SPECS as Record<string, PlaybookSpec>)[playbook]?.workflowType ?? playbook;
}

/** Validates `raw` with the playbook's schema; throws PlaybookInputError naming every field. */
export function validatePlaybookInput<P extends StartablePlaybook>(
  playbook: P,
  raw: unknown,
): z.output<(typeof PLAYBOOK_SPECS)[P]['schema']> {
  const spec = PLAYBOOK_SPECS[playbook] as PlaybookSpec;
  const parsed = spec.schema.safeParse(raw);
  if (!parsed.success) {
    throw new PlaybookInputError(
      playbook,
      parsed.error.issues.map((i) => ({ field: i.path.map(String).join('.') || '(input)', reason: i.message })),
    );
  }
  return parsed.data as z.output<(typeof PLAYBOOK_SPECS)[P]['schema']>;
}

/** The workflow ID a start of this input uses: the per-pair/per-topic ID, `-dry-run` appended for dry runs. */
export function playbookStartId(playbook: StartablePlaybook, parsed: Record<string, unknown>): string {
  const spec = PLAYBOOK_SPECS[playbook] as PlaybookSpec;
  const id = spec.workflowId(parsed);
  // A dry run changes nothing: it must neither hold nor wait for the pair's cutover lock.
  return parsed.dryRun === true ? `${id}-dry-run` : id;
}

// Key order must not make two equal requests look different.
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

async function describeRunning(client: Client, workflowId: string): Promise<{ running: RunningPlaybook; input: unknown } | undefined> {
  const handle = client.workflow.getHandle(workflowId);
  const d = await handle.describe();
  if (d.status.name !== 'RUNNING') return undefined;
  // The first history event holds the input the running playbook was started with.
  const page = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace,
    execution: { workflowId, runId: d.runId },
    maximumPageSize: 1,
  });
  const started = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
  const args = arrayFromPayloads(client.options.loadedDataConverter.payloadConverter, started?.input?.payloads);
  return {
    running: {
      workflowId,
      runId: d.runId,
      workflowType: d.type,
      startTime: d.startTime.toISOString(),
      phase: d.typedSearchAttributes.get(PLAYBOOK_SEARCH_ATTRIBUTES.phase) ?? null,
    },
    input: args[0],
  };
}

/**
 * Validates and starts a playbook. Returns the running handle (started: false) when
 * the same playbook with the same input (after defaults) already runs under the ID;
 * throws PlaybookConflictError when something else runs there, PlaybookInputError on
 * a bad input. Safe to repeat.
 */
export async function startPlaybook(
  client: Client,
  playbook: StartablePlaybook,
  raw: unknown,
  options: StartPlaybookOptions = {},
): Promise<StartedPlaybook> {
  const parsed = validatePlaybookInput(playbook, raw) as Record<string, unknown>;
  const workflowId = options.workflowId ?? playbookStartId(playbook, parsed);
  return startValidated(client, playbook, raw, parsed, workflowId, options.taskQueue ?? TASK_QUEUE, 1);
}

async function startValidated(
  client: Client,
  playbook: StartablePlaybook,
  raw: unknown,
  parsed: Record<string, unknown>,
  workflowId: string,
  taskQueue: string,
  retries: number,
): Promise<StartedPlaybook> {
  const spec = PLAYBOOK_SPECS[playbook] as PlaybookSpec;
  const summary = startSummary(spec.name, parsed);
  try {
    const handle = await client.workflow.start(spec.workflowType, {
      taskQueue,
      workflowId,
      args: [raw],
      // FAIL, then compare inputs ourselves: USE_EXISTING would hand a failback the running failover.
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      // Listed at once in `kafka-dr list` and the UI, before a worker has picked the run up.
      typedSearchAttributes: [
        { key: PLAYBOOK_SEARCH_ATTRIBUTES.playbook, value: spec.name },
        { key: PLAYBOOK_SEARCH_ATTRIBUTES.clusterPair, value: spec.clusterPair(parsed) },
      ],
      // The UI's Summary column and details panel: what runs, on which pair, asked by whom.
      staticSummary: summary.summary,
      staticDetails: summary.details,
    });
    return { handle: handle as StartedPlaybook['handle'], workflowId, runId: handle.firstExecutionRunId, started: true, input: parsed };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  const existing = await describeRunning(client, workflowId);
  if (!existing) {
    // It closed between our start and the describe: one more start is safe.
    if (retries > 0) return startValidated(client, playbook, raw, parsed, workflowId, taskQueue, retries - 1);
    throw new Error(`${workflowId}: Temporal refused the start as a duplicate but no run is open; try again`);
  }
  const same =
    existing.running.workflowType === spec.workflowType && spec.schema.safeParse(existing.input).success
      ? canonical(spec.schema.parse(existing.input)) === canonical(parsed)
      : false;
  if (!same)
    throw new PlaybookConflictError(
      { playbook, workflowId },
      existing.running,
      existing.running.workflowType === 'pairLock' ? (existing.input as { holder?: unknown; reason?: unknown }) : undefined,
    );
  const handle = client.workflow.getHandle(workflowId, existing.running.runId);
  return { handle: handle as StartedPlaybook['handle'], workflowId, runId: existing.running.runId, started: false, input: parsed };
}

/** startPlaybook for one playbook, with that playbook's input type. */
const starter =
  <I>(playbook: StartablePlaybook) =>
  (client: Client, input: I, options?: StartPlaybookOptions): Promise<StartedPlaybook> =>
    startPlaybook(client, playbook, input, options);

/** Starts (or finds the running) failover; see startPlaybook. */
export const startFailover = starter<FailoverInput>('failover');
/** Starts (or finds the running) failback; see startPlaybook. */
export const startFailback = starter<FailbackInput>('failback');
/** Starts (or finds the running) topic recreation; see startPlaybook. */
export const startRecreateTopic = starter<z.input<typeof RecreateTopicInput>>('recreate-topic');
/** Starts (or finds the running) drift audit; see startPlaybook (a recurring audit: ensureAuditSchedule). */
export const startAudit = starter<z.input<typeof AuditInput>>('audit-drift');
/** Starts (or finds the running) MM2 deployment; see startPlaybook. */
export const startDeployReplication = starter<z.input<typeof DeployReplicationInput>>('deploy-replication');
