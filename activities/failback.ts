import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription, type WorkflowExecutionInfo } from '@temporalio/client';
import { z } from 'zod';
import { classified, FailureType, invalidInput } from '../src/failures';
import { fetchEndOffsets, highsOf } from '../src/kafka/probes';
import { compileTopicPatterns, parseConnectList } from '../src/mm2/policy';
import { FailbackSeedError, planFailbackSeed, planForwardResume } from '../src/offsets/failback';
import type { CommittedOffset, EndOffsets, ResumeEntry, SeedEntry, SkippedTopic, SyncRecord } from '../src/offsets/failback';
import { snapshotFromFailoverReport, type FailoverReportForSeed } from '../src/model/failback-input';
import { committedMirrorOffsets } from '../src/offsets/lag';
import type { LagReport } from '../src/offsets/lag';
import type { ActivityDeps } from './deps';
import { createLagActivities } from './lag';
import { createMm2Activities } from './mm2';
import { AliasArg as Alias, ForwardSourcesArg, heartbeat, OffsetArg, parseArgs, sleep } from './support';

/**
 * Thin activities the failback playbook needs: the reverse flow's seed offsets and the
 * forward flow's resume offsets (pure math in src/offsets/failback.ts, fed with live
 * reads), and the wait for the reverse flow to catch up. All read-only, safe to repeat.
 */

/** Failure type of a reverse-flow seed that can be neither read from the snapshot nor derived. */
export const SEED_UNAVAILABLE = 'SeedUnavailable';
/** Failure type of a reverse flow that did not reach the lag threshold in time. */
export const CATCH_UP_TIMEOUT = 'CatchUpTimeout';

const Offsets = z.record(z.string(), z.record(z.string(), OffsetArg));

const SeedInput = z.strictObject({
  /** A: the reverse flow's target, the forward flow's source. */
  primary: Alias,
  /** B: the reverse flow's source. */
  dr: Alias,
  policy: z.enum(['default', 'identity']),
  /** The reverse flow's topic allowlist (literal names or whole-name regexes). */
  topics: z.array(z.string().min(1)).min(1),
  mode: z.enum(['auto', 'earliest']),
  /** B's end offsets at failover; absent: derive from the forward flow. */
  snapshot: Offsets.optional(),
  forward: ForwardSourcesArg,
});
export type PlanFailbackSeedInput = z.input<typeof SeedInput>;

export interface FailbackSeedResult {
  seedFrom: 'snapshot' | 'derived';
  sourceAlias: string;
  partitions: SeedEntry[];
  skippedTopics: SkippedTopic[];
  notes: string[];
  /** B's end offsets read for the plan. */
  current: EndOffsets;
}

const ResumeInput = z.strictObject({
  primary: Alias,
  dr: Alias,
  policy: z.enum(['default', 'identity']),
  /** A's end offsets at the cutover (reverse drained and stopped, A's producers not started). */
  endOffsets: Offsets,
  forward: ForwardSourcesArg,
});
export type PlanForwardResumeInput = z.input<typeof ResumeInput>;

export interface ForwardResumeResult {
  sourceAlias: string;
  connectors: Array<{ connector: string; partitions: ResumeEntry[] }>;
  skippedTopics: SkippedTopic[];
  notes: string[];
}

const CatchUpInput = z.strictObject({
  connect: z.string().min(1),
  connectors: z.array(z.string().min(1)).min(1),
  source: Alias,
  topics: z.array(z.string().min(1)).min(1),
  /** Total lag (records) at or below which the wait ends. */
  threshold: z.number().int().min(0),
  timeoutSeconds: z.number().int().min(1),
  /** Between lag reads (each reads the reverse connectors' offsets and the topics' end offsets once). */
  pollMs: z.number().int().min(100).max(60_000).default(500),
});
export type WaitForCatchUpInput = z.input<typeof CatchUpInput>;

const FromFailoverInput = z.strictObject({
  workflowId: z.string().regex(/^[A-Za-z0-9._~:@\/-]{1,255}$/),
  runId: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/)
    .optional(),
  primary: Alias,
  dr: Alias,
});
export type FailoverSnapshotInput = z.input<typeof FromFailoverInput>;

export interface FailoverSnapshotResult {
  workflowId: string;
  runId: string;
  takenAt: string | null;
  /** dr's end offsets at failover, topic → partition → offset. */
  offsets: Record<string, Record<string, string>>;
}

export function createFailbackActivities(deps: ActivityDeps) {
  const mm2 = createMm2Activities(deps);
  const lag = createLagActivities(deps);

  /** End offsets of the topics of `cluster` matching `patterns`, and the patterns that match none. */
  async function endOffsetsMatching(cluster: string, patterns: string[]): Promise<{ offsets: EndOffsets; unmatched: string[] }> {
    return classified(
      () =>
        deps.kafka.withAdmin(cluster, async (admin) => {
          const all = await admin.listTopics();
          const match = compileTopicPatterns(patterns) ?? (() => false);
          const wanted = all.filter((t) => match(t)).sort();
          // Each pattern compiled once, tried against the matched topics only.
          const unmatched = patterns.filter((p) => {
            const one = compileTopicPatterns([p]) ?? (() => false);
            return !wanted.some((t) => one(t));
          });
          const { offsets } = wanted.length > 0 ? await fetchEndOffsets(admin, wanted) : { offsets: {} };
          return { offsets: highsOf(offsets), unmatched };
        }),
      { cluster, registry: deps.registry },
    );
  }

  async function forwardCommitted(primary: string, connect: string, connectors: string[]): Promise<Map<string, CommittedOffset[]>> {
    const client = deps.connect(connect);
    const out = new Map<string, CommittedOffset[]>();
    for (const name of connectors) {
      const offsets = await classified(() => client.getOffsets(name), { registry: deps.registry });
      const committed = [...committedMirrorOffsets(primary, offsets).values()]
        .filter((c) => c.offset !== null)
        .map((c) => ({ topic: c.topic, partition: c.partition, offset: c.offset!.toString() }));
      out.set(name, committed);
    }
    return out;
  }

  const unusable = (message: string) => ApplicationFailure.create({ type: SEED_UNAVAILABLE, message, nonRetryable: true });

  /** The failover run meant by a workflow ID (and run ID): that run, or the newest failover run of the ID. */
  async function findFailoverRun(client: Client, workflowId: string, runId: string | undefined): Promise<WorkflowExecutionDescription> {
    const describe = async (rid: string | undefined) => {
      try {
        return await client.workflow.getHandle(workflowId, rid).describe();
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      }
    };
    const direct = await describe(runId);
    if (runId || direct?.type === 'failover') {
      if (!direct) throw unusable(`no workflow ${workflowId} run ${runId ?? ''} on Temporal: check the failover's workflow and run IDs`);
      return direct;
    }
    // The failback usually runs under the failover's own ID (cutoverWorkflowId): the latest
    // run of the ID is then this failback, and the failover is an earlier run.
    let newest: WorkflowExecutionInfo | undefined;
    for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}' AND WorkflowType = 'failover'` })) {
      if (!newest || w.startTime > newest.startTime) newest = w;
    }
    if (!newest) {
      throw unusable(
        direct
          ? `workflow ${workflowId} is a ${direct.type}, and no failover ran under that ID: name the failover's workflow ID`
          : `no workflow ${workflowId} on Temporal: check the failover's workflow ID`,
      );
    }
    return (await describe(newest.runId))!;
  }

  return {
    /**
     * dr's end offsets at failover from a completed failover workflow's report (the seed of
     * the reverse flow). Reads Temporal only; safe to repeat. A workflow that is unknown, not
     * a failover, not completed, or of another cluster pair fails non-retryably (SeedUnavailable).
     */
    async failoverSnapshot(input: FailoverSnapshotInput): Promise<FailoverSnapshotResult> {
      const args = parseArgs(FromFailoverInput, input, 'failoverSnapshot input');
      if (!deps.temporalClient) throw unusable('this worker has no Temporal client to read the failover with: give seed.snapshot instead');
      const client = await deps.temporalClient();
      const run = await findFailoverRun(client, args.workflowId, args.runId);
      const what = `workflow ${args.workflowId} run ${run.runId}`;
      if (run.type !== 'failover') throw unusable(`${what} is a ${run.type}, not a failover: name the failover's workflow ID`);
      if (run.status.name !== 'COMPLETED') {
        throw unusable(`${what} is ${run.status.name}, not COMPLETED: wait for the failover to finish, or give seed.snapshot`);
      }
      const report = (await client.workflow.getHandle(args.workflowId, run.runId).result()) as FailoverReportForSeed;
      const found = snapshotFromFailoverReport(report, {
        primary: args.primary,
        dr: args.dr,
        workflowId: `${args.workflowId} (run ${run.runId})`,
      });
      if ('refused' in found) throw unusable(found.refused);
      return { workflowId: args.workflowId, runId: run.runId, takenAt: found.takenAt, offsets: found.offsets };
    },

    /**
     * Where the reverse flow (dr→primary) starts per partition so only the DR-period
     * delta flows back: from the failover snapshot, else derived from the forward flow's
     * committed offsets plus offset syncs. Reads only; safe to repeat. A partition that
     * cannot be seeded fails non-retryably (SeedUnavailable) unless mode is 'earliest'.
     */
    async planFailbackSeedOffsets(input: PlanFailbackSeedInput): Promise<FailbackSeedResult> {
      const args = parseArgs(SeedInput, input, 'planFailbackSeedOffsets input');
      const { offsets: current, unmatched } = await endOffsetsMatching(args.dr, args.topics);
      // A named topic missing on dr is a typo or a topic the failover never mirrored: either
      // way there is nothing to copy back for it, and failing back without it would move its
      // producers and consumers to a primary that never got their DR-period records.
      if (unmatched.length > 0) {
        throw invalidInput(
          `topics: ${unmatched.map((t) => `'${t}'`).join(', ')} match${unmatched.length === 1 ? 'es' : ''} no topic on dr ${args.dr}: ` +
            `nothing would be copied back for ${unmatched.length === 1 ? 'it' : 'them'}; fix the topic list (it names topics as they are on ${args.dr}); nothing was changed`,
        );
      }
      let forward: Parameters<typeof planFailbackSeed>[0]['forward'];
      if (!args.snapshot) {
        const byConnector = await forwardCommitted(args.primary, args.forward.connect, args.forward.sourceConnectors);
        const committed = [...byConnector.values()].flat();
        let syncs: SyncRecord[] = [];
        if (committed.length > 0) {
          const read = await mm2.readOffsetSyncs({
            cluster: args.primary,
            targetAlias: args.dr,
            policy: { type: args.policy },
            upTo: committed.map((c) => ({ topic: c.topic, partition: c.partition, offset: c.offset })),
          });
          syncs = read.atOrBelow.map((s) => ({
            topic: s.topic,
            partition: s.partition,
            upstreamOffset: s.upstreamOffset,
            downstreamOffset: s.downstreamOffset,
          }));
        }
        const topicsOnA = await classified(() => deps.kafka.withAdmin(args.primary, (admin) => admin.listTopics()), {
          cluster: args.primary,
          registry: deps.registry,
        });
        forward = { committed, syncs, topicsOnA };
      }
      try {
        const plan = planFailbackSeed({
          policy: { type: args.policy },
          reverseSource: args.dr,
          reverseTarget: args.primary,
          include: args.topics,
          current,
          ...(args.snapshot ? { snapshot: args.snapshot } : {}),
          ...(forward ? { forward } : {}),
          seed: args.mode,
        });
        return { seedFrom: args.snapshot ? 'snapshot' : 'derived', ...plan, current };
      } catch (err) {
        if (err instanceof FailbackSeedError) {
          throw ApplicationFailure.create({
            type: SEED_UNAVAILABLE,
            message: err.message,
            nonRetryable: true,
            details: [{ partitions: err.partitions }],
          });
        }
        throw invalidInput(`planFailbackSeedOffsets: ${err instanceof Error ? err.message : String(err)}`);
      }
    },

    /**
     * Forward (primary→dr) resume offsets per MirrorSourceConnector: A's end at cutover − 1
     * for every partition its allowlist covers, so nothing that came back from dr is
     * replayed to dr. Reads the connectors' configs and offsets only; safe to repeat.
     */
    async planForwardResumeOffsets(input: PlanForwardResumeInput): Promise<ForwardResumeResult> {
      const args = parseArgs(ResumeInput, input, 'planForwardResumeOffsets input');
      const client = deps.connect(args.forward.connect);
      const byConnector = await forwardCommitted(args.primary, args.forward.connect, args.forward.sourceConnectors);
      const connectors: ForwardResumeResult['connectors'] = [];
      const skipped = new Map<string, SkippedTopic>();
      let notes: string[] = [];
      for (const connector of args.forward.sourceConnectors) {
        const config = await classified(() => client.getConfig(connector), { registry: deps.registry });
        if (!config) {
          throw ApplicationFailure.create({
            type: FailureType.ConnectorNotFound,
            message: `forward connector ${connector} is not on ${args.forward.connect}`,
            nonRetryable: true,
          });
        }
        const include = parseConnectList(config['topics']);
        const exclude = config['topics.exclude'] !== undefined ? parseConnectList(config['topics.exclude']) : undefined;
        try {
          const plan = planForwardResume({
            policy: { type: args.policy },
            forwardSource: args.primary,
            forwardTarget: args.dr,
            include,
            ...(exclude ? { exclude } : {}),
            endOffsets: args.endOffsets,
            committed: byConnector.get(connector) ?? [],
          });
          connectors.push({ connector, partitions: plan.partitions });
          for (const s of plan.skippedTopics) skipped.set(s.topic, s);
          notes = plan.notes;
        } catch (err) {
          throw invalidInput(`planForwardResumeOffsets: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      return { sourceAlias: args.primary, connectors, skippedTopics: [...skipped.values()], notes };
    },

    /**
     * Waits (one heartbeating activity) until the reverse flow's total lag is at or below
     * `threshold` with no anomaly and no missing topic. Reads only; safe to repeat.
     * Past `timeoutSeconds` it fails non-retryably (CatchUpTimeout) with the last figures.
     */
    async waitForReverseCatchUp(input: WaitForCatchUpInput): Promise<LagReport & { polls: number }> {
      const args = parseArgs(CatchUpInput, input, 'waitForReverseCatchUp input');
      const deadline = Date.now() + args.timeoutSeconds * 1000;
      let polls = 0;
      for (;;) {
        const report = await lag.replicationLag({
          connect: args.connect,
          connectors: args.connectors,
          source: args.source,
          topics: args.topics,
        });
        polls++;
        heartbeat({ polls, total: report.total, maxLag: report.maxLag });
        const ok = report.missingTopics.length === 0 && report.anomalies === 0 && BigInt(report.total) <= BigInt(args.threshold);
        if (ok) return { ...report, polls };
        if (Date.now() > deadline) {
          throw ApplicationFailure.create({
            type: CATCH_UP_TIMEOUT,
            message:
              `reverse lag still ${report.total} records (threshold ${args.threshold}, ${report.anomalies} anomalies, missing topics: ${report.missingTopics.join(', ') || 'none'}) ` +
              `after ${args.timeoutSeconds}s: check the reverse connectors' tasks on ${args.connect}`,
            nonRetryable: true,
            details: [{ total: report.total, maxLag: report.maxLag, polls }],
          });
        }
        await sleep(args.pollMs);
      }
    },
  };
}
