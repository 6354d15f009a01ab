import type { DrillPhase } from './report-types';

/**
 * The drill's timeline as a hand-written SVG: one horizontal bar per phase on a
 * shared time axis, widths proportional to durations, labels on the left. Pure, so
 * the picture is unit-tested and needs no chart library.
 */

export interface TimelineOptions {
  title?: string;
  /** Width of the bar area in px (the whole picture adds the label column and margins). */
  plotWidth?: number;
}

export const TIMELINE_LAYOUT = {
  labelWidth: 250,
  rowHeight: 22,
  barHeight: 14,
  top: 44,
  margin: 12,
  axisHeight: 30,
} as const;

const COLORS = { top: '#2f6fb0', child: '#7fb3e0', text: '#1d2733', grid: '#d9dee5' } as const;

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** A tick step (ms) giving about 6-10 ticks over `spanMs`. */
export function tickStepMs(spanMs: number): number {
  const steps = [1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000];
  return steps.find((s) => spanMs / s <= 10) ?? 3_600_000;
}

const fmt = (n: number) => (Math.round(n * 100) / 100).toString();

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** Renders the phases (in the given order, one row each) as a standalone SVG document. */
export function timelineSvg(phases: readonly DrillPhase[], options: TimelineOptions = {}): string {
  const L = TIMELINE_LAYOUT;
  const plotWidth = options.plotWidth ?? 640;
  const times = phases.flatMap((p) => [Date.parse(p.startedAt), Date.parse(p.endedAt)]).filter(Number.isFinite);
  const t0 = times.length > 0 ? Math.min(...times) : 0;
  const span = Math.max(1, (times.length > 0 ? Math.max(...times) : 0) - t0);
  const scale = plotWidth / span;
  const x0 = L.margin + L.labelWidth;
  const width = x0 + plotWidth + 70 + L.margin;
  const height = L.top + phases.length * L.rowHeight + L.axisHeight + L.margin;
  const axisY = L.top + phases.length * L.rowHeight + 4;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(
    `<text x="${L.margin}" y="24" font-size="15" font-weight="bold" fill="${COLORS.text}">${escapeXml(options.title ?? 'kafka-dr drill timeline')}</text>`,
  );

  const step = tickStepMs(span);
  out.push(`<g class="axis" stroke="${COLORS.grid}">`);
  for (let t = 0; t <= span; t += step) {
    const x = fmt(x0 + t * scale);
    out.push(`<line x1="${x}" y1="${L.top - 4}" x2="${x}" y2="${axisY}"/>`);
  }
  out.push('</g>');
  out.push(`<g class="ticks" fill="${COLORS.text}" text-anchor="middle">`);
  for (let t = 0; t <= span; t += step) {
    out.push(`<text x="${fmt(x0 + t * scale)}" y="${axisY + 16}">${Math.round(t / 1000)} s</text>`);
  }
  out.push('</g>');

  phases.forEach((p, i) => {
    const start = Date.parse(p.startedAt);
    const end = Date.parse(p.endedAt);
    const duration = Math.max(0, end - start);
    const y = L.top + i * L.rowHeight;
    const barY = y + (L.rowHeight - L.barHeight) / 2;
    const x = x0 + (start - t0) * scale;
    const w = duration * scale;
    const child = p.parent !== undefined;
    const label = child ? `  ${p.name}` : p.name;
    out.push(
      `<text x="${L.margin + (child ? 14 : 0)}" y="${fmt(barY + L.barHeight - 2)}" fill="${COLORS.text}"${child ? '' : ' font-weight="bold"'}>${escapeXml(label.trim())}</text>`,
    );
    out.push(
      `<rect class="bar" data-phase="${escapeXml(p.name)}" data-duration-ms="${duration}" x="${fmt(x)}" y="${fmt(barY)}" width="${fmt(w)}" height="${L.barHeight}" rx="2" fill="${child ? COLORS.child : COLORS.top}"><title>${escapeXml(`${p.parent ? `${p.parent} / ` : ''}${p.name}: ${seconds(duration)}`)}</title></rect>`,
    );
    out.push(
      `<text x="${fmt(x + w + 4)}" y="${fmt(barY + L.barHeight - 2)}" fill="${COLORS.text}" font-size="11">${seconds(duration)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
