/**
 * Lag per partition, wherever a playbook put it: step details and figures are
 * free-form, so this finds the two shapes the activities produce, lists of
 * `{topic, partition, lag}` and `lag: {<partition>: n}` maps. Pure, shared by the
 * status view and the Markdown report.
 */

export interface LagRow {
  topic: string;
  /** Null when the source named only `<topic>-<partition>` as one key. */
  partition: number | null;
  lag: string;
  /** The step (or `figures.<key>`) the figure came from. */
  from: string;
}

const MAX_DEPTH = 3;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isLagValue = (v: unknown): v is string | number =>
  (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && /^-?\d+$/.test(v));

function collect(value: unknown, from: string, depth: number, out: LagRow[]): void {
  if (depth > MAX_DEPTH) return;
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isRecord(item) && typeof item.topic === 'string' && typeof item.partition === 'number' && isLagValue(item.lag)) {
        out.push({ topic: item.topic, partition: item.partition, lag: String(item.lag), from });
      } else {
        collect(item, from, depth + 1, out);
      }
    }
    return;
  }
  if (!isRecord(value)) return;
  for (const [key, v] of Object.entries(value)) {
    if (key === 'lag' && isRecord(v) && Object.values(v).length > 0 && Object.values(v).every(isLagValue)) {
      for (const [name, lag] of Object.entries(v)) {
        const m = /^(.*)-(\d+)$/.exec(name);
        out.push(
          m ? { topic: m[1]!, partition: Number(m[2]), lag: String(lag), from } : { topic: name, partition: null, lag: String(lag), from },
        );
      }
    } else {
      collect(v, from, depth + 1, out);
    }
  }
}

/**
 * The latest lag figure per topic-partition: steps in journal order, then figures
 * (a later measurement replaces an earlier one), sorted by topic and partition.
 */
export function lagRows(source: {
  steps: ReadonlyArray<{ name: string; details?: Record<string, unknown> }>;
  figures: Record<string, unknown>;
}): LagRow[] {
  const found: LagRow[] = [];
  for (const step of source.steps) if (step.details) collect(step.details, step.name, 0, found);
  for (const [key, v] of Object.entries(source.figures)) collect({ [key]: v }, `figures.${key}`, 0, found);
  const latest = new Map<string, LagRow>();
  for (const row of found) latest.set(`${row.topic}\u0000${row.partition ?? ''}`, row);
  return [...latest.values()].sort((a, b) =>
    a.topic === b.topic ? (a.partition ?? -1) - (b.partition ?? -1) : a.topic < b.topic ? -1 : 1,
  );
}

/** `1.2 s`, `3 min 04 s`, `2 h 05 min`: durations as an operator reads them. */
export function formatDuration(ms: number | undefined | null): string {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : `${m} min ${String(sec).padStart(2, '0')} s`;
}
