import type { PlaybookReport, StepRecord } from '../model/gates';
import { totalReRead, type GroupPosition, type UnplacedPartition } from '../model/unplaced';
import type { GroupOutcome } from '../offsets/translation';
import { formatDuration, lagRows } from './lag-rows';

/**
 * A playbook's final report (the workflow result) as Markdown for an incident
 * ticket or a post-mortem: what ran and when, who decided what, the offsets set,
 * lag and drain figures, and what compensation undid or deliberately kept. Pure.
 */

/** A table cell: no pipe or newline may break the row. */
export function cell(value: unknown): string {
  const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function table(headers: string[], rows: unknown[][]): string[] {
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

const time = (iso: string | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

function stepNote(s: StepRecord): string {
  if (s.error) return s.error;
  if (s.compensatedBy) return `reverted by ${s.compensatedBy}`;
  const why = s.details?.why;
  return typeof why === 'string' ? why : '';
}

/** Figures named like durations or lag: drain/catch-up/RTO times, RPO, lag totals; cluster health (quorum, disk headroom). */
const FIGURE_RE = /lag|drain|rpo|rto|catchUp|quiet|health/i;

function scalarFigures(figures: Record<string, unknown>): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  for (const [key, v] of Object.entries(figures)) {
    if (!FIGURE_RE.test(key)) continue;
    if (typeof v === 'number') rows.push([key, /Ms$/.test(key) ? `${formatDuration(v)} (${v} ms)` : String(v)]);
    else if (typeof v === 'string' || typeof v === 'boolean') rows.push([key, String(v)]);
    else if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (x === null || ['string', 'number', 'boolean'].includes(typeof x)) {
          rows.push([`${key}.${k}`, typeof x === 'number' && /Ms$/.test(k) ? `${formatDuration(x)} (${x} ms)` : String(x)]);
        }
      }
    }
  }
  return rows;
}

interface OffsetSet {
  group: string;
  topic: string;
  partition: number;
  offset: string | null;
}

/** Every `[{group, topic, partition, offset}]` list among the figures (failover's offsetsSet, failback's consumer offsets). */
function offsetsSet(figures: Record<string, unknown>): Array<{ figure: string; rows: OffsetSet[] }> {
  const out: Array<{ figure: string; rows: OffsetSet[] }> = [];
  for (const [key, v] of Object.entries(figures)) {
    // `unplaced` lists partitions without a position: its own section.
    if (key === 'unplaced' || !Array.isArray(v) || v.length === 0) continue;
    const ok = v.every(
      (x: unknown) =>
        x &&
        typeof x === 'object' &&
        typeof (x as OffsetSet).group === 'string' &&
        typeof (x as OffsetSet).topic === 'string' &&
        typeof (x as OffsetSet).partition === 'number',
    );
    if (ok) out.push({ figure: key, rows: v as OffsetSet[] });
  }
  return out;
}

/** The report as a Markdown document (ends with a newline). */
export function renderPlaybookMarkdown(report: PlaybookReport): string {
  const lines: string[] = [];
  lines.push(`# ${report.playbook} ${report.workflowId}: ${report.outcome}`, '');
  const facts: Array<[string, unknown]> = [
    ['Outcome', report.outcome],
    ['Reason', report.reason],
    ['Stopped at gate', report.stoppedAtGate],
    ['Cluster pair', report.clusterPair],
    ['Requested by', report.requestedBy],
    ['Started', time(report.startedAt)],
    ['Ended', time(report.endedAt)],
    ['Duration', formatDuration(report.durationMs)],
  ];
  for (const [k, v] of facts) if (v !== null && v !== undefined && v !== '') lines.push(`- **${k}:** ${cell(v)}`);
  if (report.figures.dryRun === true) lines.push('- **Dry run:** nothing was changed');
  lines.push('');

  /** `## title` and a table; without rows, `empty` (no section at all when `empty` is not given). */
  const section = (title: string, headers: string[], rows: unknown[][], empty?: string) => {
    if (rows.length === 0 && empty === undefined) return;
    lines.push(`## ${title}`, '');
    if (rows.length === 0) lines.push(empty!, '');
    else lines.push(...table(headers, rows), '');
  };

  const end = Date.parse(report.endedAt);
  section(
    'Phases',
    ['phase', 'from', 'time in phase'],
    report.phases.map((p, i) => {
      const next = report.phases[i + 1];
      const until = next ? Date.parse(next.at) : end;
      return [p.phase, time(p.at), next || Number.isFinite(until) ? formatDuration(until - Date.parse(p.at)) : ''];
    }),
  );
  section(
    'Steps',
    ['#', 'step', 'state', 'started', 'took', 'note'],
    report.steps.map((s, i) => [i + 1, s.name, s.state, time(s.startedAt), formatDuration(s.durationMs), stepNote(s)]),
    'No step ran.',
  );
  section(
    'Decisions',
    ['gate', 'decision', 'by', 'at', 'via', 'comment / reason'],
    report.decisions.map((d) => [
      d.gate,
      d.decision,
      d.by ?? '',
      time(d.at),
      d.via,
      [
        d.reason ?? d.comment ?? '',
        d.choices
          ? `chose ${Object.entries(d.choices)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')}`
          : '',
      ]
        .filter(Boolean)
        .join('; '),
    ]),
    'No gate was decided.',
  );
  if (report.aborted)
    lines.push(
      `Aborted by ${cell(report.aborted.by)} at ${time(report.aborted.at)} (${report.aborted.via}): ${cell(report.aborted.reason)}`,
      '',
    );

  const positions = (report.figures.groupPositions as GroupPosition[] | undefined) ?? [];
  const unplaced = (report.figures.unplaced as UnplacedPartition[] | undefined) ?? [];
  section(
    'Consumer group positions',
    ['group', 'outcome', 'exact', 'through checkpoints', 'earliest', 'end', 'left out', 're-read', 'skipped'],
    positions.map((p) => [
      p.group,
      p.outcome,
      p.exact,
      p.translated,
      p.earliest,
      p.end,
      p.leftOut,
      totalReRead(p) ?? 'unknown',
      p.skipped ?? 'unknown',
    ]),
  );
  section(
    'Group-partitions the translation could not place',
    ['group', 'topic', 'partition', 'committed', 'source end', 'lag', 'why'],
    unplaced.map((u) => [u.group, u.topic, u.partition, u.committed ?? '', u.sourceEnd ?? '', u.lag ?? 'unknown', u.why]),
  );
  for (const { figure, rows } of offsetsSet(report.figures)) {
    section(
      `Offsets set (${figure})`,
      ['group', 'topic', 'partition', 'offset'],
      rows.map((r) => [r.group, r.topic, r.partition, r.offset]),
    );
  }

  const figures = scalarFigures(report.figures);
  const lag = lagRows(report);
  if (figures.length > 0 || lag.length > 0) {
    lines.push('## Lag and drain', '');
    if (figures.length > 0) lines.push(...table(['figure', 'value'], figures), '');
    if (lag.length > 0)
      lines.push(
        ...table(
          ['topic', 'partition', 'lag', 'measured by'],
          lag.map((r) => [r.topic, r.partition ?? '', r.lag, r.from]),
        ),
        '',
      );
  }

  lines.push('## Compensation', '');
  const c = report.compensation;
  if (!c) lines.push(report.outcome === 'completed' ? 'None needed: the playbook completed.' : 'None ran.', '');
  else {
    lines.push(`Reason: ${cell(c.reason)}`, '');
    lines.push(`- **Undone:** ${c.undone.length > 0 ? c.undone.map(cell).join(', ') : 'nothing'}`);
    for (const f of c.failed) lines.push(`- **Undo failed:** ${cell(f.name)}: ${cell(f.error)}`);
    for (const k of c.leftAsIs) lines.push(`- **Left as is:** ${cell(k.name)}: ${cell(k.why)}`);
    lines.push('');
  }

  if (report.ignoredMessages.length > 0) {
    lines.push('## Messages that changed nothing', '');
    lines.push(
      ...table(
        ['message', 'gate', 'by', 'at', 'why'],
        report.ignoredMessages.map((m) => [m.message, m.gate ?? '', m.by ?? '', time(m.at), m.reason]),
      ),
      '',
    );
  }

  const plan = report.figures.plan;
  const planned = (plan as { positions?: GroupOutcome[] } | undefined)?.positions;
  if (planned && planned.length > 0) {
    // The dry run's per-group answer first (the JSON below has every partition).
    lines.push('## Consumer group positions if applied now (dry run)', '');
    lines.push(
      ...table(
        ['group', 'exact', 'through checkpoints', 're-read at most', 'left out', 'skipped because'],
        planned.map((o) => [o.group, o.exact, o.checkpoint, o.reread ?? 'unknown', o.leftOut, o.skipped ?? '']),
      ),
      '',
    );
  }
  if (plan !== undefined) {
    lines.push('## Plan (dry run)', '', '```json', JSON.stringify(plan, null, 2), '```', '');
  }
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}
