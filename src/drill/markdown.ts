import { formatRanges } from './delivery';
import type { DrillPhase, DrillReport } from './report-types';
import type { UnplannedChaosReport } from './unplanned-chaos';
import { describePositions, type GroupPosition } from '../model/unplaced';
import { divergentLine, type DivergentFigures } from '../offsets/divergent';
import { extraGroupsLines } from './extra-groups';

/**
 * The drill report as Markdown for people: verdict, counts table, phases with their
 * durations, the playbooks' key figures and who switched the clients at each gate.
 * Pure: unit-tested; the drill writes it next to the JSON.
 */

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function phaseRows(phases: readonly DrillPhase[]): string[] {
  const t0 = Math.min(...phases.map((p) => Date.parse(p.startedAt)));
  return phases.map((p) => {
    const start = Date.parse(p.startedAt);
    const name = p.parent ? `&nbsp;&nbsp;${p.parent} / ${p.name}` : `**${p.name}**`;
    return `| ${name} | +${secs(start - t0)} | ${secs(Date.parse(p.endedAt) - start)} |`;
  });
}

/** Figures worth a line per playbook (the JSON report keeps all of them). */
const KEY_FIGURES: Record<string, string[]> = {
  deploy: ['created', 'heartbeat'],
  failover: ['lagAtStart', 'drainMs', 'rtoMs', 'rpoRecords', 'rpoEstimate', 'offsetsSet', 'groupPositions'],
  failback: [
    'seedFrom',
    'catchUpMs',
    'lagAtConsumersGate',
    'translation',
    'drainMs',
    'rtoMs',
    'offsetsSet',
    'groupPositions',
    'forwardOffsets',
    'divergent',
  ],
};

function describeFigure(name: string, value: unknown): string {
  if (Array.isArray(value)) {
    if (name === 'offsetsSet' || name === 'forwardOffsets') return `${value.length} partitions`;
    if (name === 'groupPositions') return describePositions(value as GroupPosition[]);
    return value.map(String).join(', ') || 'none';
  }
  if (name.endsWith('Ms') && typeof value === 'number') return secs(value);
  if (name === 'divergent' && value && typeof value === 'object') return divergentLine(value as DivergentFigures);
  if (name === 'heartbeat' && value && typeof value === 'object') {
    const h = value as { waitedMs?: number };
    return h.waitedMs !== undefined ? `first heartbeat after ${secs(h.waitedMs)}` : JSON.stringify(value);
  }
  if (name === 'translation' && value && typeof value === 'object') {
    const t = value as { decision?: string; waitedMs?: number; behindTotal?: string; exactPartitions?: number };
    const when = `after ${secs(t.waitedMs ?? 0)}`;
    const exact = t.exactPartitions ? `${t.exactPartitions} partition(s) exact, ` : '';
    return t.decision === 'apply'
      ? `${exact}checkpoints fresh ${when}`
      : `${exact}checkpoints stale ${when} (up to ${t.behindTotal ?? '?'} re-reads)`;
  }
  if (name === 'rpoEstimate' && value && typeof value === 'object') {
    const r = value as { ageMs?: number | null; lastHeartbeatAt?: string | null; reason?: string };
    return r.ageMs !== null && r.ageMs !== undefined
      ? `${secs(r.ageMs)} (last heartbeat ${r.lastHeartbeatAt ?? '?'})`
      : (r.reason ?? 'unknown');
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** --chaos figures (src/drill/chaos.ts, src/drill/unplanned-chaos.ts), a few lines; the JSON has them all. */
function chaosLines(chaos: unknown): string[] {
  if (!chaos || typeof chaos !== 'object') return [];
  const c = chaos as Partial<UnplannedChaosReport> & { kind?: string };
  if (c.kind !== 'unplanned') return [`- chaos: ${JSON.stringify(chaos)}`];
  const out = [
    `- chaos: MM2 paused while ${c.lagBurst ?? '?'} burst records and ${c.transactions?.committedRecords ?? '?'} committed, ` +
      `${c.transactions?.abortedRecords ?? '?'} aborted transactional records landed on A (lag up to ${c.lagMax ?? '?'}); then all of A killed`,
    `- tail acknowledged by A, never on B: ${c.tail?.records ?? '?'} records (+ ${c.tail?.abortedRecords ?? '?'} aborted, ` +
      `${c.tail?.markers ?? '?'} markers; ${c.atKill?.onBNotCommitted ?? '?'} on B with offsets not committed by Connect); ` +
      `rpoRecords measured by the failover: ${c.rpoRecords?.failover ?? 'n/a'} (${c.rpoRecords?.explained ? 'explained' : 'NOT explained'} by the tail)`,
  ];
  const d = c.divergent;
  if (d) {
    const ranges = d.partitions.map((p) => `${p.topic}-${p.partition} ${p.ranges.map(([a, b]) => (a === b ? a : `${a}-${b}`)).join(', ')}`);
    out.push(`- divergent records found by the failback: ${d.records} (${ranges.join('; ')}); choice ${d.choice ?? '?'} by ${d.by ?? '?'}`);
    const again = (d.groups ?? []).filter((g) => g.readBefore > 0);
    if (again.length > 0 || (c.tailReadTwice ?? 0) > 0)
      out.push(
        `- read before the failover, named at the gate as read again after the replay: ${again.map((g) => `${g.group} ${g.readBefore}`).join(', ') || 'none'}; ` +
          `tail records the drill's consumer read twice: ${c.tailReadTwice ?? '?'}`,
      );
  } else out.push('- divergent records found by the failback: none reported');
  out.push(
    `- tail accounted for (divergent, replayed, on B and on A): ${c.accounted ?? '?'}; unaccounted: ${c.unaccounted ?? '?'}; ` +
      `aborted records seen: ${c.transactions?.abortedSeen ?? '?'}`,
  );
  return out;
}

export function drillMarkdown(report: DrillReport, files: { svg?: string } = {}): string {
  const lines: string[] = [];
  const verdict = report.outcome === 'passed' ? 'PASSED' : 'FAILED';
  lines.push(`# kafka-dr drill (${report.mode}): ${verdict}`);
  lines.push('');
  lines.push(`Drill \`${report.drillId}\`, ${report.startedAt} → ${report.endedAt} (${secs(report.durationMs)}).`);
  if (report.codec) lines.push('', `MM2 wrote both flows in ${report.codec} (--codec).`);
  if (report.error) lines.push('', `**Error:** ${report.error}`);
  lines.push('');
  lines.push('| produced | consumed | lost | duplicates | rpoRecords |');
  lines.push('|---:|---:|---:|---:|---:|');
  lines.push(`| ${report.produced} | ${report.consumed} | ${report.lost} | ${report.duplicates} | ${report.rpoRecords ?? 'n/a'} |`);
  lines.push('');
  const per = (m: Record<string, number> | undefined) =>
    m
      ? Object.entries(m)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')
      : 'n/a';
  lines.push(`- produced per cluster: ${per(report.producedOn)}; consumed from: ${per(report.consumedOn)}`);
  if (report.lost > 0 && report.lostSample)
    lines.push(`- lost sequences (first ${report.lostSample.length}): ${formatRanges(report.lostSample)}`);
  if (report.unacknowledgedSeen) lines.push(`- records whose send had failed but that arrived anyway: ${report.unacknowledgedSeen}`);
  if (report.mode === 'unplanned') {
    if (report.burstRecords !== undefined)
      lines.push(`- broker A was killed (SIGKILL) right after a burst of ${report.burstRecords} records`);
    const est = report.rpoEstimate;
    const estimate = est ? describeFigure('rpoEstimate', est) : 'n/a';
    lines.push(
      `- RPO estimated by the playbook: ${estimate}; measured: ${report.rpoRecords ?? 'n/a'} records acknowledged by A never reached B`,
    );
    if (report.rpoEstimateNote) lines.push(`- note: ${report.rpoEstimateNote}`);
    if (report.recoverableOnA !== undefined && report.recoverableOnA !== null) {
      lines.push(`- of those, still on A after it came back: ${report.recoverableOnA}`);
    }
  }
  if (report.failback) lines.push(`- failback: ${report.failback}`);
  lines.push(...chaosLines(report['chaos']));
  lines.push(...extraGroupsLines(report.extraGroups));
  if (report.topics) {
    lines.push(
      `- topics: ${report.topics.map((t) => `\`${t.name}\` (${t.partitions} partitions${t.compacted ? ', compacted' : ''})`).join(', ')}; group \`${report.group ?? '?'}\``,
    );
  }
  lines.push('');

  lines.push('## Phases');
  lines.push('');
  if (files.svg) lines.push(`![timeline](${files.svg})`, '');
  lines.push('| phase | start | duration |');
  lines.push('|---|---:|---:|');
  lines.push(...(report.phases.length > 0 ? phaseRows(report.phases) : []));
  lines.push('');

  const playbooks = Object.entries(report.playbooks ?? {});
  if (playbooks.length > 0) {
    lines.push('## Playbooks');
    lines.push('');
    lines.push('| playbook | workflow ID | outcome | duration | key figures |');
    lines.push('|---|---|---|---:|---|');
    for (const [name, run] of playbooks) {
      const figures = (KEY_FIGURES[name] ?? [])
        .filter((f) => run.figures[f] !== undefined)
        .map((f) => `${f}: ${describeFigure(f, run.figures[f])}`)
        .join('; ');
      lines.push(`| ${name} | \`${run.workflowId}\` | ${run.outcome} | ${secs(run.durationMs)} | ${figures || '—'} |`);
    }
    lines.push('');
  }

  const switches = report.switches ?? [];
  if (switches.length > 0) {
    lines.push("## Client switches (by the playbooks' cutover hooks)");
    lines.push('');
    lines.push('| playbook | gate | action | at | what |');
    lines.push('|---|---|---|---|---|');
    for (const s of switches) {
      const what = typeof s.detail.action === 'string' ? s.detail.action : JSON.stringify(s.detail);
      lines.push(`| ${s.playbook} | ${s.gate} | ${s.action} | ${s.at} | ${what} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
