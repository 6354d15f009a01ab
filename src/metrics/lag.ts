import type { LagReport } from '../offsets/lag';

/**
 * Replication lag as gauge samples, taken from what the lag activities return
 * (replicationLag: a LagReport; waitForDrain and the like: `{ report: LagReport }`).
 * The worker reads them off activity results, so the lag activities need no metrics
 * code of their own and the gauge shows the last lag any playbook measured.
 */

export interface LagSample {
  value: number;
  tags: { source: string; topic: string };
}

function asReport(value: unknown): LagReport | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Partial<LagReport> & { report?: unknown };
  if (typeof v.source === 'string' && Array.isArray(v.partitions)) return v as LagReport;
  if (v.report !== undefined) return asReport(v.report);
  return undefined;
}

/** One sample per source topic: the sum of its measured partition lags. Nothing for other results. */
export function lagSamples(result: unknown): LagSample[] {
  const report = asReport(result);
  if (!report) return [];
  const byTopic = new Map<string, number>();
  for (const p of report.partitions) {
    // Anomalies and vanished partitions have no meaningful lag: leave the topic's sum to the others.
    if (p.lag === null || p.state === 'anomaly' || p.state === 'source-missing') {
      if (!byTopic.has(p.topic)) byTopic.set(p.topic, 0);
      continue;
    }
    const lag = Number(p.lag);
    if (!Number.isFinite(lag)) continue;
    byTopic.set(p.topic, (byTopic.get(p.topic) ?? 0) + lag);
  }
  return [...byTopic].map(([topic, value]) => ({ value, tags: { source: report.source, topic } }));
}
