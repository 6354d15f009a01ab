import { ActivityFailure, patched } from '@temporalio/workflow';
import type { DriftFinding, Severity } from '../src/audit/drift';
import {
  AUDIT_GATES,
  AuditInput,
  flowKey,
  type AuditCheck,
  type AuditFigures,
  type AuditFinding,
  type AuditFlowSummary,
  type AuditRepair,
  type ParsedAuditFlow,
  type ParsedAuditInput,
} from '../src/model/audit-input';
import type { PlaybookReport } from '../src/model/gates';
import { destructive, quick } from './activity-options';
import { describeError, parseInput, setupPlaybook, type Playbook } from './framework';

/**
 * Audits MM2 flows for drift, read-only, as the runbook says, per flow:
 *
 *   connectors (connector + task states) → lag → freshness (replicated heartbeats)
 *   → topic config drift → topic recreation
 *
 * then a report: findings with severities, and the repairs it would make on the target.
 * `repair: true` opens the gate `repair` describing them; approving it applies them on the
 * targets only (topic configs set back to the source's values, keeping the topic's other
 * overrides; partitions added up to the source's count). `repair: false` (what a Schedule
 * runs) never opens a gate.
 *
 * Without an approved repair it changes nothing; safe to repeat and to run on a Schedule. A check that cannot run (a
 * cluster down, a connector missing) is an error finding, not a failed workflow: an
 * audit that fails when something is broken would hide exactly what it is for.
 */
export async function auditDrift(raw: unknown): Promise<PlaybookReport<AuditFigures>> {
  const pb = setupPlaybook<AuditFigures>({ playbook: 'audit-drift', gates: AUDIT_GATES });
  const input = parseInput(AuditInput, raw);
  const pairs = [...new Set(input.flows.map(flowKey))];
  pb.begin({ clusterPair: pairs.length === 1 ? pairs[0] : pairs.join(','), requestedBy: input.requestedBy });
  const audit = new Audit(pb, input);

  return pb.run(async () => {
    pb.setPhase('auditing');
    for (const flow of input.flows) await audit.flow(flow);
    audit.publish();

    const repairs = audit.repairs;
    if (input.dryRun) {
      pb.setFigures({ repairOutcome: 'dry-run' });
      pb.skip('repair', 'dry run', { repairs: repairs.length });
    } else if (!input.repair) {
      pb.setFigures({ repairOutcome: 'not-requested' });
      pb.skip('repair', 'repair not requested (repair: false): report only', { repairs: repairs.length });
    } else if (repairs.length === 0) {
      pb.setFigures({ repairOutcome: 'none-needed' });
      pb.skip('repair', 'no repairable drift on the targets');
    } else {
      const g = input.gates.repair;
      await pb.approval('repair', {
        description: `repair drift on the target only: ${repairs.map((r) => r.action).join('; ')}`,
        requestedBy: input.requestedBy,
        deadline: g.deadline,
        ...(g.approvers ? { approvers: g.approvers } : {}),
        ...(g.fourEyes !== undefined ? { fourEyes: g.fourEyes } : {}),
        ...(g.escalateAfter !== undefined ? { escalateAfter: g.escalateAfter } : {}),
      });
      if (patched(APPLY_REPAIRS_PATCH)) {
        await audit.applyRepairs();
        pb.setFigures({ repairOutcome: 'applied' });
      } else {
        // Runs started before repairs were applied: they recorded the approval only.
        pb.skip('apply-repairs', 'approved, not applied: kafka-dr has no config-altering activity yet; apply the listed actions by hand', {
          actions: repairs.map((r) => r.action),
        });
        pb.setFigures({ repairOutcome: 'approved-not-applied' });
      }
    }
    pb.setPhase('audited');
  });
}

/** Repairs applied after the gate (before: approval recorded only); keeps older histories replayable. */
const APPLY_REPAIRS_PATCH = 'audit-drift-apply-repairs';

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warn: 1, info: 2 };
// Settings a target-side config change can fix (replication factor needs a reassignment).
const REPAIRABLE = new Set(['retention.ms', 'retention.bytes', 'cleanup.policy', 'max.message.bytes', 'min.insync.replicas']);

/** The checks, one method each, so the workflow body reads like the runbook. */
class Audit {
  private readonly findings: AuditFinding[] = [];
  private readonly summaries: AuditFlowSummary[] = [];
  readonly repairs: AuditRepair[] = [];

  constructor(
    private readonly pb: Playbook<AuditFigures>,
    private readonly input: ParsedAuditInput,
  ) {}

  private add(flow: ParsedAuditFlow, check: AuditCheck, subject: string, severity: Severity, message: string): void {
    this.findings.push({ flow: flowKey(flow), check, subject, severity, message });
  }

  /**
   * Runs one check as a journal step. An activity failure (after its retries) becomes an
   * error finding and the audit goes on; anything else is a bug and fails the workflow.
   */
  private async check<T>(flow: ParsedAuditFlow, check: AuditCheck, subject: string, fn: () => Promise<T>): Promise<T | undefined> {
    return this.pb.step(`${check} ${flowKey(flow)}${subject ? ` ${subject}` : ''}`, async (step) => {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        const why = describeError(err);
        step.details({ checkFailed: why });
        this.add(flow, check, subject || flowKey(flow), 'error', `could not check: ${why}`);
        return undefined;
      }
    });
  }

  async flow(flow: ParsedAuditFlow): Promise<void> {
    const summary: AuditFlowSummary = {
      flow: flowKey(flow),
      connectors: [],
      lagTotal: null,
      heartbeatAgeMs: null,
      driftFindings: 0,
      recreated: [],
    };
    this.summaries.push(summary);
    await this.connectors(flow, summary);
    await this.lag(flow, summary);
    await this.freshness(flow, summary);
    await this.drift(flow, summary);
    await this.recreation(flow, summary);
  }

  private async connectors(flow: ParsedAuditFlow, summary: AuditFlowSummary): Promise<void> {
    for (const connector of [...flow.connectors, ...flow.otherConnectors]) {
      const r = await this.check(flow, 'connector', connector, () => quick.connectorStatus({ connect: flow.connect, connector }));
      summary.connectors.push({ connector, state: r?.state ?? null, tasks: (r?.tasks ?? []).map((t) => ({ id: t.id, state: t.state })) });
      if (!r) continue;
      if (r.state !== 'RUNNING') {
        this.add(
          flow,
          'connector',
          connector,
          r.state === 'PAUSED' ? 'warn' : 'error',
          `connector is ${r.state} on ${flow.connect}${r.trace ? `: ${r.trace}` : ''}`,
        );
      }
      for (const t of r.tasks) {
        if (t.state !== 'RUNNING') {
          this.add(
            flow,
            'connector',
            `${connector}/${t.id}`,
            t.state === 'PAUSED' ? 'warn' : 'error',
            `task ${t.id} is ${t.state} on ${t.workerId}${t.trace ? `: ${t.trace}` : ''}`,
          );
        }
      }
      if (r.state === 'RUNNING' && r.tasks.length === 0 && flow.connectors.includes(connector)) {
        this.add(flow, 'connector', connector, 'warn', 'RUNNING with no tasks: nothing is replicated (do its topics match the allowlist?)');
      }
    }
  }

  private async lag(flow: ParsedAuditFlow, summary: AuditFlowSummary): Promise<void> {
    const lag = await this.check(flow, 'lag', '', () =>
      quick.replicationLag({ connect: flow.connect, connectors: flow.connectors, source: flow.source, topics: flow.topics }),
    );
    if (!lag) return;
    summary.lagTotal = lag.total;
    const total = BigInt(lag.total);
    const max = BigInt(this.input.lagMax);
    if (total > max) {
      this.add(
        flow,
        'lag',
        flowKey(flow),
        total > max * 10n ? 'error' : 'warn',
        `replication lag ${lag.total} records (max ${lag.maxLag} on one partition) is above lagMax ${this.input.lagMax}`,
      );
    }
    if (lag.missingTopics.length > 0)
      this.add(flow, 'lag', lag.missingTopics.join(','), 'error', `not on source ${flow.source}: ${lag.missingTopics.join(', ')}`);
    if (lag.anomalies > 0) {
      const odd = lag.partitions.filter((p) => p.state !== 'caught-up' && p.state !== 'behind').slice(0, 10);
      this.add(
        flow,
        'lag',
        flowKey(flow),
        'warn',
        `${lag.anomalies} partition(s) without a lag figure: ${odd.map((p) => `${p.topic}-${p.partition} ${p.state}`).join(', ')}`,
      );
    }
  }

  private async freshness(flow: ParsedAuditFlow, summary: AuditFlowSummary): Promise<void> {
    const fresh = await this.check(flow, 'freshness', '', () =>
      quick.replicationFreshness({ target: flow.target, sourceAlias: flow.source }),
    );
    if (!fresh) return;
    summary.heartbeatAgeMs = fresh.ageMs;
    const maxAge = this.input.freshnessMaxAgeMs;
    if (fresh.ageMs === null) {
      this.add(flow, 'freshness', fresh.topic, 'error', `no replicated heartbeat on ${flow.target}: ${fresh.reason ?? 'none read'}`);
    } else if (fresh.ageMs > maxAge) {
      this.add(
        flow,
        'freshness',
        fresh.topic,
        fresh.ageMs > maxAge * 10 ? 'error' : 'warn',
        `newest replicated heartbeat is ${fresh.ageMs} ms old (at ${fresh.lastHeartbeatAt}), above freshnessMaxAgeMs ${maxAge}: the target is at least that stale`,
      );
    }
    const own = fresh.targetHeartbeats;
    if (own && own.ageMs !== null && own.ageMs > maxAge) {
      this.add(
        flow,
        'freshness',
        own.topic,
        'warn',
        `the target's own heartbeats are ${own.ageMs} ms old: the heartbeat connector or its Connect cluster is not writing to ${flow.target}`,
      );
    }
  }

  private async drift(flow: ParsedAuditFlow, summary: AuditFlowSummary): Promise<void> {
    const drift = await this.check(flow, 'drift', '', () =>
      quick.auditTopicDrift({ source: flow.source, target: flow.target, topics: flow.topics, remoteTopic: { policy: flow.policy } }),
    );
    if (!drift) return;
    summary.driftFindings = drift.findings.length;
    for (const f of drift.findings) {
      this.add(flow, 'drift', `${f.remoteTopic}:${f.setting}`, f.severity, f.note);
      const repair = repairFor(flow, f);
      if (repair) this.repairs.push(repair);
    }
  }

  private async recreation(flow: ParsedAuditFlow, summary: AuditFlowSummary): Promise<void> {
    const rec = await this.check(flow, 'recreation', '', () =>
      quick.detectTopicRecreation({
        connect: flow.connect,
        connectors: flow.connectors,
        source: flow.source,
        target: flow.target,
        topics: flow.topics,
        remoteTopic: { policy: flow.policy },
      }),
    );
    if (!rec) return;
    summary.recreated = rec.recreated;
    for (const t of rec.topics) {
      if (t.recreationSuspected) {
        this.add(flow, 'recreation', t.topic, 'error', `${t.summary}: run the recreate-topic playbook for ${t.topic}`);
      } else if (t.findings.length > 0) {
        this.add(flow, 'recreation', t.topic, 'warn', t.findings.map((x) => x.message).join('; '));
      }
    }
    for (const note of rec.notes) this.add(flow, 'recreation', flowKey(flow), 'info', note);
    // Read from the same activity result (no new command): older histories replay unchanged.
    for (const r of rec.readUncommitted ?? []) {
      this.add(
        flow,
        'connector',
        r.connector,
        'warn',
        `the source consumer reads ${r.isolationLevel}: aborted transactional records are replicated to ${flow.target} as ordinary records; ` +
          `set source.consumer.isolation.level=read_committed on the connector (kafka-dr deploy-replication does)`,
      );
    }
  }

  /**
   * The approved repairs, on each flow's target only (repairFor names the target as the
   * cluster), one activity per cluster. A failure fails the playbook: the report lists
   * what the repair was meant to do, and the next audit shows what is left.
   */
  async applyRepairs(): Promise<void> {
    const clusters = [...new Set(this.repairs.map((r) => r.cluster))].sort();
    const repairsApplied: AuditFigures['repairsApplied'] = [];
    await this.pb.step(
      'apply-repairs',
      async (step) => {
        for (const cluster of clusters) {
          const result = await destructive.repairTopicConfigs({
            cluster,
            repairs: this.repairs.filter((r) => r.cluster === cluster).map((r) => ({ topic: r.topic, setting: r.setting, to: r.to })),
          });
          for (const a of result.applied) repairsApplied.push({ cluster, ...a });
          step.details({ applied: repairsApplied.length });
        }
        this.pb.setFigures({ repairsApplied });
      },
      { details: { clusters, actions: this.repairs.map((r) => r.action) } },
    );
  }

  /** Findings, counts and per-flow summaries into the figures (status and report). */
  publish(): void {
    const findings = [...this.findings].sort(
      (a, b) =>
        SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.flow.localeCompare(b.flow) || a.subject.localeCompare(b.subject),
    );
    const counts: Record<Severity, number> = { error: 0, warn: 0, info: 0 };
    for (const f of findings) counts[f.severity]++;
    const worst = counts.error > 0 ? 'error' : counts.warn > 0 ? 'warn' : counts.info > 0 ? 'info' : 'ok';
    this.pb.setFigures({ flows: this.summaries, findings, counts, worst, repairs: this.repairs });
  }
}

/** The target-side change that would remove a drift finding, if a config change can. */
function repairFor(flow: ParsedAuditFlow, f: DriftFinding): AuditRepair | undefined {
  if (f.source === null || f.target === null) return undefined;
  if (REPAIRABLE.has(f.setting)) {
    return {
      flow: flowKey(flow),
      cluster: flow.target,
      topic: f.remoteTopic,
      setting: f.setting,
      from: f.target,
      to: f.source,
      action: `would set ${f.setting}=${f.source} on ${flow.target} topic ${f.remoteTopic} (now ${f.target})`,
    };
  }
  if (f.setting === 'partitions' && Number(f.target) < Number(f.source)) {
    return {
      flow: flowKey(flow),
      cluster: flow.target,
      topic: f.remoteTopic,
      setting: 'partitions',
      from: f.target,
      to: f.source,
      action: `would add partitions to ${flow.target} topic ${f.remoteTopic}: ${f.target} → ${f.source}`,
    };
  }
  return undefined;
}
