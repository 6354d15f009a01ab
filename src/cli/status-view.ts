import type { PendingActivity, PlaybookSnapshot } from '../client/operations';
import { activitySummary } from '../model/activity-summaries';
import type { PlaybookStatus, StepRecord } from '../model/gates';
import { describePositions, type GroupPosition } from '../model/unplaced';
import { divergentLine, type DivergentFigures } from '../offsets/divergent';
import { formatDuration, lagRows } from '../report/lag-rows';

/**
 * `kafka-dr status` as text. Pure: the whole view for a terminal (redrawn in place by
 * --watch), and the same facts as keyed one-line events for a pipe, where --watch
 * appends a line only when a fact changes.
 */

const MARK: Record<StepRecord['state'], string> = { running: '[>]', completed: '[x]', failed: '[!]', skipped: '[-]', compensated: '[~]' };

const clock = (iso: string | undefined | null) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

/** `stop forward MM2 (attempt 2, last heartbeat 10:31:02Z): {"polls":12,…}`: what a running step waits on. */
function waitingLine(a: PendingActivity): string {
  const details = a.heartbeat === null || a.heartbeat === undefined ? '' : JSON.stringify(a.heartbeat);
  const heartbeat = details.length > 400 ? `${details.slice(0, 400)}…` : details;
  const when = [`attempt ${a.attempt}`, a.lastHeartbeatAt ? `last heartbeat ${clock(a.lastHeartbeatAt)}` : 'no heartbeat yet'];
  return (
    `${activitySummary(a.activity)} [${a.activity}] (${when.join(', ')})${heartbeat ? `: ${heartbeat}` : ''}` +
    (a.lastFailure ? `; last failure: ${a.lastFailure}` : '')
  );
}

/** `; rpoRecords 308`: the loss figure a completed playbook's outcome line carries, where it measured one. */
function rpoNote(s: PlaybookStatus): string {
  const rpo = s.figures['rpoRecords'];
  // Only a completed cutover moved the clients: an aborted one's figure is not the operator's RPO.
  if (typeof rpo !== 'number' || s.outcome !== 'completed') return '';
  const after = s.figures['writesAfterSnapshot'] as { records?: string } | undefined;
  const late =
    after?.records !== undefined && after.records !== '0' ? ` (${after.records} written to the old primary after the snapshot)` : '';
  return `; rpoRecords ${rpo}${late}`;
}

function stepNote(s: StepRecord): string {
  if (s.error) return s.error;
  if (s.compensatedBy) return `reverted by ${s.compensatedBy}`;
  return typeof s.details?.why === 'string' ? s.details.why : '';
}

function stepTiming(s: StepRecord): string {
  return s.state === 'running' ? `since ${clock(s.startedAt)}` : formatDuration(s.durationMs);
}

function gateLine(status: PlaybookStatus, name: string): string {
  const decision = [...status.decisions].reverse().find((d) => d.gate === name);
  if (decision) {
    const by = decision.by ? ` by ${decision.by}` : '';
    const why = decision.reason ?? decision.comment;
    const chose = decision.choices
      ? ` choosing ${Object.entries(decision.choices)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}`
      : '';
    return `${decision.decision}${by} at ${clock(decision.at)}${chose}${why ? `: ${why}` : ''}`;
  }
  const summary = status.gates.find((g) => g.name === name);
  if (status.openGate?.name === name) return 'OPEN';
  return summary?.state ?? 'pending';
}

/** Who may decide the open gate, in words. */
function deciders(status: PlaybookStatus): string {
  const g = status.openGate!;
  const who = g.approvers ? `approvers: ${g.approvers.join(', ')}` : 'anyone who names themselves may decide';
  const fourEyes = g.fourEyes && g.requestedBy ? `; four-eyes: ${g.requestedBy} (the requester) may not approve` : '';
  return `${who}${fourEyes}`;
}

/** The terminal view (no trailing newline). */
export function renderStatus(snap: PlaybookSnapshot): string {
  const s = snap.status;
  const lines: string[] = [];
  const head = s ? `${s.playbook} ${snap.workflowId}` : `${snap.workflowType} ${snap.workflowId}`;
  lines.push(`${head}  ${snap.temporalStatus}${s ? `  phase ${s.phase}` : ''}`);
  const meta = [
    s?.clusterPair ? `pair ${s.clusterPair}` : null,
    s?.requestedBy ? `requested by ${s.requestedBy}` : null,
    `started ${clock(snap.startTime)}`,
    snap.closeTime ? `closed ${clock(snap.closeTime)}` : null,
  ].filter(Boolean);
  lines.push(`  ${meta.join(', ')}`);
  if (!s) {
    lines.push('', snap.failure ? `No playbook status: ${snap.failure}` : 'No playbook status (the run never reported one).');
    return lines.join('\n');
  }

  lines.push('', 'Steps');
  if (s.steps.length === 0) lines.push('  (none yet)');
  const width = Math.min(40, Math.max(4, ...s.steps.map((x) => x.name.length)));
  for (const step of s.steps) {
    const note = stepNote(step);
    lines.push(
      `  ${MARK[step.state]} ${step.name.padEnd(width)}  ${step.state.padEnd(11)} ${stepTiming(step).padEnd(22)}${note ? ` ${note}` : ''}`.trimEnd(),
    );
  }

  if (snap.waitingOn && snap.waitingOn.length > 0) {
    lines.push('', 'Waiting on');
    for (const a of snap.waitingOn) lines.push(`  ${waitingLine(a)}`);
  }

  const gateNames = [...new Set([...s.gates.map((g) => g.name), ...s.decisions.map((d) => d.gate)])];
  if (gateNames.length > 0) {
    lines.push('', 'Gates');
    const gw = Math.max(...gateNames.map((g) => g.length));
    for (const name of gateNames) lines.push(`  ${name.padEnd(gw)}  ${gateLine(s, name)}`);
  }

  if (s.openGate) {
    const g = s.openGate;
    lines.push(
      '',
      `Open gate: ${g.name} (opened ${clock(g.openedAt)}, deadline ${clock(g.deadlineAt)}${g.escalatedAt ? `, escalated ${clock(g.escalatedAt)}` : ''})`,
    );
    lines.push(`  Approving it: ${g.description}`);
    lines.push(`  ${deciders(s)}`);
    if (g.escalationError) lines.push(`  Escalation failed: ${g.escalationError}`);
    if (g.choices) lines.push(`  Choose one of ${g.choices.options.join(' | ')} for each of: ${g.choices.keys.join(', ')}`);
    const choose = g.choices ? ` --choice ${g.choices.keys.length === 1 ? `${g.choices.keys[0]}=CHOICE` : 'CHOICE|KEY=CHOICE ...'}` : '';
    lines.push(`  kafka-dr approve ${snap.workflowId} ${g.name} --as NAME${choose} [--comment TEXT]`);
    lines.push(`  kafka-dr reject ${snap.workflowId} ${g.name} --as NAME --reason WHY`);
  }

  const positions = s.figures.groupPositions as GroupPosition[] | undefined;
  if (positions && positions.length > 0) {
    lines.push('', 'Consumer groups');
    for (const p of positions) lines.push(`  ${p.group}: ${p.outcome}`);
  }

  const divergent = s.figures.divergent as DivergentFigures | undefined;
  if (divergent) lines.push('', `Divergent records: ${divergentLine(divergent)}`);

  const lag = lagRows(s);
  if (lag.length > 0) {
    lines.push('', 'Lag per partition');
    const tw = Math.max(5, ...lag.map((r) => r.topic.length));
    lines.push(`  ${'TOPIC'.padEnd(tw)}  PARTITION  ${'LAG'.padStart(10)}  MEASURED BY`);
    for (const r of lag) lines.push(`  ${r.topic.padEnd(tw)}  ${String(r.partition ?? '').padEnd(9)}  ${r.lag.padStart(10)}  ${r.from}`);
  }

  const c = s.compensations;
  if (c.registered.length > 0 && s.state === 'running')
    lines.push('', `On abort or reject, undo: ${c.registered.map((r) => r.name).join(', ')}`);
  if (c.result) {
    lines.push('', `Compensation (${c.result.reason}): undone ${c.result.undone.join(', ') || 'nothing'}`);
    for (const f of c.result.failed) lines.push(`  undo failed: ${f.name}: ${f.error}`);
  }
  for (const k of c.leftAsIs) lines.push(`  left as is: ${k.name}: ${k.why}`);
  if (s.aborted) lines.push('', `Aborted by ${s.aborted.by} at ${clock(s.aborted.at)}: ${s.aborted.reason}`);
  const lastIgnored = s.ignoredMessages[s.ignoredMessages.length - 1];
  if (lastIgnored)
    lines.push('', `Last ignored ${lastIgnored.message}${lastIgnored.by ? ` from ${lastIgnored.by}` : ''}: ${lastIgnored.reason}`);
  if (s.outcome) lines.push('', `Outcome: ${s.outcome}${snap.report?.reason ? `: ${snap.report.reason}` : ''}${rpoNote(s)}`);
  else if (snap.failure) lines.push('', `Failure: ${snap.failure}`);
  return lines.join('\n');
}

/** One fact of the status: a line printed by `status --watch` on a pipe when its text changes. */
export interface StatusEvent {
  key: string;
  line: string;
}

/** The facts of a snapshot in reading order (header, phase, steps, gates, open gate, lag, outcome). */
export function statusEvents(snap: PlaybookSnapshot): StatusEvent[] {
  const s = snap.status;
  const events: StatusEvent[] = [
    { key: 'workflow', line: `workflow ${snap.workflowId} ${s?.playbook ?? snap.workflowType} ${snap.temporalStatus}` },
  ];
  if (!s) {
    if (snap.failure) events.push({ key: 'failure', line: `failure: ${snap.failure}` });
    return events;
  }
  events.push({ key: 'phase', line: `phase ${s.phase}` });
  s.steps.forEach((step, i) => {
    const note = stepNote(step);
    const took = step.state === 'running' ? '' : ` (${formatDuration(step.durationMs)})`;
    events.push({ key: `step:${i}`, line: `step ${step.name}: ${step.state}${took}${note ? `: ${note}` : ''}` });
  });
  for (const a of snap.waitingOn ?? []) events.push({ key: `waiting:${a.activity}`, line: `waiting on ${waitingLine(a)}` });
  const gateNames = [...new Set([...s.gates.map((g) => g.name), ...s.decisions.map((d) => d.gate)])];
  for (const name of gateNames) {
    const state = gateLine(s, name);
    if (state !== 'pending') events.push({ key: `gate:${name}`, line: `gate ${name}: ${state === 'OPEN' ? 'open' : state}` });
  }
  if (s.openGate) {
    events.push({
      key: `open:${s.openGate.name}`,
      line: `gate ${s.openGate.name} waits: approving it will ${s.openGate.description} (${deciders(s)}${s.openGate.choices ? `; choose ${s.openGate.choices.options.join(' | ')} for ${s.openGate.choices.keys.join(', ')}` : ''}; deadline ${clock(s.openGate.deadlineAt)})`,
    });
  }
  const positions = s.figures.groupPositions as GroupPosition[] | undefined;
  if (positions && positions.length > 0) events.push({ key: 'groups', line: `consumer groups: ${describePositions(positions)}` });
  const divergent = s.figures.divergent as DivergentFigures | undefined;
  if (divergent) events.push({ key: 'divergent', line: `divergent records: ${divergentLine(divergent)}` });
  for (const r of lagRows(s))
    events.push({
      key: `lag:${r.topic}:${r.partition ?? ''}`,
      line: `lag ${r.topic}${r.partition !== null ? `[${r.partition}]` : ''} ${r.lag} (${r.from})`,
    });
  if (s.aborted) events.push({ key: 'aborted', line: `aborted by ${s.aborted.by}: ${s.aborted.reason}` });
  if (s.compensations.result) {
    events.push({
      key: 'compensation',
      line: `compensation: undone ${s.compensations.result.undone.join(', ') || 'nothing'}${s.compensations.result.failed.length ? `; failed ${s.compensations.result.failed.map((f) => f.name).join(', ')}` : ''}`,
    });
  }
  if (s.outcome && snap.temporalStatus !== 'RUNNING') {
    events.push({ key: 'outcome', line: `outcome ${s.outcome}${snap.report?.reason ? `: ${snap.report.reason}` : ''}${rpoNote(s)}` });
  } else if (snap.failure) {
    events.push({ key: 'failure', line: `failure: ${snap.failure}` });
  }
  return events;
}

/** The events whose line differs from what was last printed for their key; updates `printed`. */
export function changedEvents(events: StatusEvent[], printed: Map<string, string>): StatusEvent[] {
  const changed = events.filter((e) => printed.get(e.key) !== e.line);
  for (const e of changed) printed.set(e.key, e.line);
  return changed;
}
