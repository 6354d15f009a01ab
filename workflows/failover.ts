import { ActivityFailure, patched } from '@temporalio/workflow';
import type { AppliedOffsetPlan } from '../activities/offsets';
import type { GroupsInFlowResult } from '../activities/unplaced';
import type { FlowScope } from '../src/mm2/flow-scope';
import type { LagReport } from '../src/offsets/lag';
import { groupOutcomes } from '../src/offsets/translation';
import { describeGaps, endGrowth, replicationGaps, sumRecords, writesAfterSnapshot, type PartitionGap } from '../src/offsets/conservation';
import type { PlaybookReport } from '../src/model/gates';
import {
  FAILOVER_GATES,
  FailoverInput,
  mirroredTopic,
  type FailoverFigures,
  type FailoverGate,
  type FailoverPlan,
  type FailoverSnapshot,
  type ParsedFailoverInput,
} from '../src/model/failover-input';
import { healthDetails, healthFigures } from '../src/model/health-summary';
import { clusterPairKey } from '../src/model/workflow-ids';
import { destructive, probeActivities, quick, shortWaits } from './activity-options';
import {
  block,
  describeError,
  gateOptions,
  parseInput,
  plannedGate,
  refuse,
  setupPlaybook,
  stepsFrom,
  type GateOptions,
  type Playbook,
} from './framework';
import {
  checkGroupsStep,
  checkScopeStep,
  drainStep,
  placeUnplacedSteps,
  plannedOf,
  prepareLocalTopicsStep,
  translateOffsetsStep,
  verifyQuietStep,
} from './steps';
import type { UnplacedFigures } from '../src/model/unplaced';

/** The failover's steps in runbook order (the hooks' `hook:<gate>` steps are the framework's). */
// prettier-ignore
export const FAILOVER_STEPS = [
  'check-target', 'check-lag', // planned
  'probe-source', 'estimate-rpo', 'rpo-evidence', // unplanned
  'check-scope', 'check-groups',
  'plan-offsets', 'plan-local-topics', // dry run (with find-unplaced)
  'verify-quiet', 'drain', // planned
  'stop-forward', 'snapshot', 'check-conservation',
  'translate-offsets', 'find-unplaced', 'place-unplaced', 'prepare-local-topics',
] as const;
/** Steps named per round (replication-gap re-drains) or per gate (check-writes). */
type FailoverRoundStep =
  | `check-conservation-${number}`
  | `resume-forward-${number}`
  | `re-drain-${number}`
  | `check-writes:${'consumers-cutover' | 'producers-cutover' | 'end'}`;
export type FailoverStep = (typeof FAILOVER_STEPS)[number] | FailoverRoundStep;
/**
 * What a dry run records as skipped: the steps from stop-forward on, less those later
 * patches added (conservation, unplaced groups), which its report never listed;
 * prepare-local-topics only when the run has it.
 */
export const FAILOVER_DRY_RUN_SKIPPED = stepsFrom(FAILOVER_STEPS, 'stop-forward', [
  'check-conservation',
  'find-unplaced',
  'place-unplaced',
]);

/**
 * Patch id of the check-scope step (the input checked against the forward flow's connector
 * configs). Runs recorded before it replay without the step.
 */
export const FLOW_SCOPE_PATCH = 'check-flow-scope';

/**
 * Unplanned runs recorded before it had estimate-rpo only (the replicated heartbeat's age);
 * with it a `rpo-evidence` step follows: committed offsets, last known source end offsets,
 * newest replicated records, and the records/seconds bounds (one more activity).
 */
export const UNPLANNED_RPO_EVIDENCE_PATCH = 'failover-unplanned-rpo-evidence';

/**
 * Unplanned runs refuse a source that answered the probe and is healthy: skipping the drain
 * there leaves on the source every record MM2 had not copied yet, while its producers may
 * still write to it. Runs recorded before it went on with `reachable: true` in the details.
 */
export const UNPLANNED_HEALTHY_SOURCE_PATCH = 'failover-unplanned-refuses-healthy-source';

/**
 * Patch id of the runbook where consumers stop before the translation: check-groups (a
 * named group the flow's checkpoint connector never translates is refused at start), gate
 * consumers-cutover with hook `stop-consumers`, translate-offsets (the groups' commits are
 * final), the `unplaced-groups` gate when a group-partition has no position, hook
 * `start-consumers`. Before it, translate-offsets ran before the gate while the groups
 * still consumed on the source, and group-partitions without a checkpoint passed silently.
 */
export const FAILOVER_STOP_CONSUMERS_FIRST_PATCH = 'failover-stop-consumers-before-translate';

/**
 * Default policy: prepare-local-topics after the translation (B's local `<topic>` created
 * like A's when missing, each group placed at its end) and plan-local-topics in a dry run.
 * Runs recorded before it (and Identity runs) have neither.
 */
export const LOCAL_TOPICS_PATCH = 'failover-default-local-topics';

/**
 * check-scope (the flow's configs) refuses a named group outside the checkpoint connector's
 * allowlist; with this patch check-groups (checkGroupsInFlow, the same check on the same
 * configs) is no longer scheduled. Runs recorded before it keep check-groups.
 */
export const GROUPS_IN_SCOPE_PATCH = 'failover-groups-checked-by-scope';

/**
 * Fails over `source` → `target` (MM2), planned or unplanned, as the runbook says:
 *
 * planned:   check-target + check-lag (read together) → check-groups → gate stop-producers
 *            → verify-quiet → drain (to 0) → stop-forward (one activity) → snapshot (source
 *            and target, read together) → gate consumers-cutover (hook: stop them on the
 *            source) → translate-offsets → find-unplaced [→ gate unplaced-groups →
 *            place-unplaced] (hook: start them on the target) → gate producers-cutover
 * unplanned: probe-source → estimate-rpo → rpo-evidence → check-groups → stop-forward → snapshot (target)
 *            → the same consumers steps → gate producers-cutover
 * (Runs from before FAILOVER_STOP_CONSUMERS_FIRST_PATCH: no check-groups, translate-offsets
 * before the consumers gate, whose hook moved them in one action, and no unplaced gate.)
 * dryRun:    the read-only steps, then the plan (connectors it would stop, offsets it
 *            would set, gates it would ask); changes nothing.
 *
 * Changes: stops the forward connectors (resumed on abort/reject until producers move),
 * sets consumer group offsets on the target (only forward, only on empty groups; kept
 * on abort: nothing reads them until consumers move). Safe to re-run after a failure:
 * every step is idempotent. Start it with workflow ID `cutoverWorkflowId(source, target)`
 * (src/model/workflow-ids.ts) so that no other failover/failback of the pair runs at once.
 */
export async function failover(raw: unknown): Promise<PlaybookReport<FailoverFigures>> {
  const pb = setupPlaybook<FailoverFigures, FailoverStep>({ playbook: 'failover', gates: FAILOVER_GATES });
  const input = parseInput(FailoverInput, raw);
  pb.begin({
    clusterPair: clusterPairKey(input.source, input.target),
    requestedBy: input.requestedBy,
    cutover: { from: input.source, to: input.target },
  });
  const startedAt = Date.now();
  pb.setFigures({ mode: input.mode, dryRun: input.dryRun });
  const f = new Failover(pb, input);

  return pb.run(async () => {
    // Runs recorded before it translated while consumers still ran, and checked no group.
    const stopFirst = patched(FAILOVER_STOP_CONSUMERS_FIRST_PATCH);
    pb.setPhase('checking');
    // Read with the first checks (one workflow task for all of them), judged after them.
    const flow = patched(FLOW_SCOPE_PATCH) ? f.readFlow() : undefined;
    // check-scope refuses groups outside the flow's allowlist: check-groups only in runs from before that.
    const groups = stopFirst && !(flow && patched(GROUPS_IN_SCOPE_PATCH)) ? f.readGroupsInFlow() : undefined;
    // Awaited below unless a check refuses first.
    flow?.catch(() => undefined);
    groups?.catch(() => undefined);
    const blockers = input.mode === 'planned' ? await f.checkPlanned() : await f.checkUnplanned();
    if (flow) blockers.push(...(await f.checkScope(flow)));
    if (groups) await f.checkGroups(blockers, groups);

    if (input.dryRun) {
      await f.dryRunPlan(blockers, stopFirst);
      return;
    }

    if (input.mode === 'planned') {
      await pb.approval('stop-producers', f.gateOptions('stop-producers'));
      pb.setPhase('draining');
      await f.verifyQuiet();
      await f.drain();
    } else {
      pb.skip('verify-quiet', `unplanned: ${input.source} is down, its producers cannot write`);
      pb.skip('drain', `unplanned: nothing can be drained from ${input.source}; the RPO is the estimate`);
    }

    // One phase for the three steps: each phase change is a search-attribute upsert (a history event).
    pb.setPhase('switching-over');
    await f.stopForward();
    await f.snapshot();
    // Planned runs started before conservation was measured replay without these steps.
    const conserve = input.mode === 'planned' && patched(CONSERVATION_PATCH);
    if (conserve) await f.proveConservation();
    if (stopFirst) {
      if (conserve) await f.checkWrites('consumers-cutover');
      // No phase of its own (each phase is a history event): the gates and steps say where it is.
      const consumers = await pb.approval('consumers-cutover', { ...f.gateOptions('consumers-cutover', true), hook: 'stop-consumers' });
      const result = await f.translateOffsets();
      const unplaced = await f.placeUnplaced(result);
      if (input.policy === 'default' && patched(LOCAL_TOPICS_PATCH)) await f.prepareLocalTopics(result, unplaced);
      await pb.runHook(consumers, 'start-consumers');
    } else {
      await f.translateOffsets();
      if (conserve) await f.checkWrites('consumers-cutover');
      await pb.approval('consumers-cutover', f.gateOptions('consumers-cutover'));
    }
    pb.setPhase('consumers-moved');
    if (conserve) await f.checkWrites('producers-cutover');
    const producers = await pb.approval('producers-cutover', f.gateOptions('producers-cutover'));
    for (const name of input.forward.connectors) {
      pb.leaveAsIs(
        undoName(name),
        `producers write to ${input.target} now: resuming ${input.source}→${input.target} would mix old and new writes; failback reverses the flow`,
      );
    }
    if (conserve) await f.checkWrites('end');
    // Unpatched planned runs keep their old claim (drained to 0 with producers quiet).
    pb.setFigures({
      rtoMs: Date.parse(producers.at) - startedAt,
      ...(input.mode === 'planned' ? { rpoRecords: conserve ? f.rpoRecords() : 0 } : {}),
    });
    pb.setPhase('failed-over');
  });
}

const undoName = (connector: string) => `resume forward connector ${connector}`;

/** Planned failover measures conservation: check-conservation (+ gate replication-gap) and check-writes at each later gate and at the end. */
const CONSERVATION_PATCH = 'failover-conservation';
/** The replication-gap gate's one choice (key `gap`); a bare approve takes re-drain, which loses nothing. */
const GAP_CHOICES = { options: ['re-drain', 'accept-loss'], keys: ['gap'], default: 're-drain' };

/** The steps, one method each, so the workflow body above reads like the runbook. */
class Failover {
  private readonly remoteTopics: string[];
  /** The drain's last poll (source end offsets when lag was 0). */
  private drainReport: LagReport | null = null;
  private sourceSnapshot: FailoverSnapshot | null = null;
  /** Unreplicated records known (and accepted) at the conservation check: not writes after the snapshot. */
  private acceptedGap: PartitionGap[] = [];
  /** The last check-writes' count of unreplicated records (the measured RPO). */
  private unreplicated: bigint = 0n;
  /** Appended to the later gates' descriptions when records were written after the snapshot. */
  private writesNote = '';

  constructor(
    private readonly pb: Playbook<FailoverFigures, FailoverStep>,
    private readonly input: ParsedFailoverInput,
  ) {
    this.remoteTopics = input.topics.map((t) => mirroredTopic(input.policy, input.source, t, input.separator));
  }

  /** Schedules the read of the forward flow's configs (and, planned, the source's topics) for check-scope. */
  readFlow(): Promise<FlowScope> {
    const { input } = this;
    const p = quick.describeFlow({
      connect: input.forward.connect,
      connectors: input.forward.connectors,
      sourceConnectors: input.forward.sourceConnectors,
      ...(input.mode === 'planned' ? { listTopicsOn: input.source } : {}),
    });
    // Awaited only if the other checks pass: keep a refused run from leaving an unhandled rejection.
    p.catch(() => undefined);
    return p;
  }

  /**
   * The input against the forward flow's connector configs: policy, separator, topics (a
   * planned failover lists the source's topics to find mirrored ones the input leaves out;
   * an unplanned one cannot). Every disagreement at once: blockers in a dry run, one
   * refusal otherwise.
   */
  async checkScope(flow: Promise<FlowScope>): Promise<string[]> {
    const { input, pb } = this;
    return checkScopeStep(pb, {
      read: () => flow,
      claim: {
        source: input.source,
        target: input.target,
        policy: input.policy,
        separator: input.separator,
        topics: input.topics,
        excludeTopics: input.excludeTopics,
        groups: input.groups,
      },
      forward: input.forward,
      dryRun: input.dryRun,
      details: (scope) => ({ groups: scope.groupPatterns }),
    });
  }

  /** Planned preconditions; in a dry run they are returned as blockers instead of failing. */
  async checkPlanned(): Promise<string[]> {
    const { input, pb } = this;
    const blockers: string[] = [];
    const run = { dryRun: input.dryRun, blockers };
    // Both reads are scheduled together (one workflow task, not two); each is still its own step.
    const healthP = quick.clusterHealth({ cluster: input.target });
    const lagP = quick.replicationLag({
      connect: input.forward.connect,
      connectors: input.forward.sourceConnectors,
      source: input.source,
      topics: input.topics,
    });
    // Awaited below only if check-target passes: keep a refused run from leaving an unhandled rejection.
    lagP.catch(() => undefined);
    await pb.step('check-target', async (step) => {
      const health = await healthP;
      step.details({
        healthy: health.healthy,
        brokers: health.brokers.count,
        expectedBrokers: health.expectedBrokers,
        problems: health.problems,
        ...healthDetails(health),
      });
      const figures = healthFigures(health);
      if (figures) pb.setFigures({ targetHealth: figures });
      if (!health.healthy) block(run, `target ${input.target} is not healthy: ${health.problems.join('; ')}`);
      return health;
    });
    await pb.step('check-lag', async (step) => {
      const lag = await lagP;
      step.details({
        total: lag.total,
        maxLag: lag.maxLag,
        anomalies: lag.anomalies,
        missingTopics: lag.missingTopics,
        threshold: input.lagThreshold,
      });
      pb.setFigures({ lagAtStart: lag.total });
      if (lag.missingTopics.length > 0) block(run, `topics not on ${input.source}: ${lag.missingTopics.join(', ')}`);
      if (BigInt(lag.total) > BigInt(input.lagThreshold)) {
        block(
          run,
          `forward lag ${lag.total} records is above lagThreshold ${input.lagThreshold} (max ${lag.maxLag} on one partition): ` +
            `wait for MM2 to catch up (or raise lagThreshold) before a planned failover`,
        );
      }
      return lag;
    });
    return blockers;
  }

  /** Unplanned: is the source down (probed or asserted), and how old is the newest replicated heartbeat. */
  async checkUnplanned(): Promise<string[]> {
    const { input, pb } = this;
    const blockers: string[] = [];
    if (input.sourceUnreachable) {
      pb.skip('probe-source', `the operator asserted ${input.source} is unreachable`);
      pb.setFigures({ sourceReachable: false });
    } else {
      let healthySource = false;
      await pb.step('probe-source', async (step) => {
        try {
          const health = await probeActivities(input.probeAttempts).clusterHealth({ cluster: input.source });
          step.details({ reachable: true, healthy: health.healthy, problems: health.problems });
          pb.setFigures({ sourceReachable: true });
          healthySource = health.healthy;
        } catch (err) {
          // Unreachable after N attempts is the expected answer here, not a failure.
          if (!(err instanceof ActivityFailure)) throw err;
          step.details({ reachable: false, attempts: input.probeAttempts, error: describeError(err) });
          pb.setFigures({ sourceReachable: false });
        }
        if (healthySource && patched(UNPLANNED_HEALTHY_SOURCE_PATCH)) {
          block(
            { dryRun: input.dryRun, blockers },
            `source ${input.source} answered the probe and is healthy: an unplanned failover skips the drain and leaves on ${input.source} ` +
              `every record MM2 has not copied yet, while its producers can still write there; run mode 'planned' (drains to 0), or, ` +
              `if ${input.source} is unusable for its clients although this worker reaches it, assert it with sourceUnreachable (--source-unreachable)`,
          );
        }
      });
    }
    await pb.step('estimate-rpo', async (step) => {
      const fresh = await quick.replicationFreshness({ target: input.target, sourceAlias: input.source });
      const rpoEstimate = { ageMs: fresh.ageMs, lastHeartbeatAt: fresh.lastHeartbeatAt, ...(fresh.reason ? { reason: fresh.reason } : {}) };
      step.details(rpoEstimate);
      pb.setFigures({ rpoEstimate });
      return fresh;
    });
    if (patched(UNPLANNED_RPO_EVIDENCE_PATCH)) await this.rpoEvidence();
    return blockers;
  }

  /**
   * The RPO from evidence the target side keeps (activities/rpo.ts): records the source
   * held, as last recorded, that the forward flow had not replicated (a lower bound, with
   * the age of that knowledge), and how long ago replication stopped (an upper bound, from
   * this flow's replicated heartbeat). Evidence must not hold up a failover: when it cannot
   * be read the step says why and the failover goes on.
   */
  async rpoEvidence(): Promise<void> {
    const { input, pb } = this;
    await pb.step('rpo-evidence', async (step) => {
      try {
        const e = await shortWaits.unplannedRpoEvidence({
          connect: input.forward.connect,
          connectors: input.forward.sourceConnectors,
          source: input.source,
          target: input.target,
          topics: input.topics,
          policy: input.policy,
        });
        const { total, ...bound } = e.records;
        step.details({
          rpoRecords: total,
          asOf: bound.asOf,
          heartbeatAgeMs: e.seconds.heartbeatAgeMs,
          newestReplicatedRecordAt: e.seconds.newestReplicatedRecordAt,
        });
        pb.setFigures({
          ...(total !== null ? { rpoRecords: Number(total) } : {}),
          rpoRecordsBound: bound,
          rpoSeconds: e.seconds,
          rpoEvidence: { partitions: e.partitions, heartbeat: e.heartbeat, computedAt: e.computedAt },
        });
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        const unavailable = `the RPO evidence could not be read: ${describeError(err)}`;
        step.details({ unavailable });
        pb.setFigures({ rpoEvidence: { unavailable } });
      }
    });
  }

  /** What approving each gate does, with the input's guard options. */
  gateOptions(gate: FailoverGate, stopFirst = false): GateOptions {
    const { input } = this;
    const descriptions: Record<FailoverGate, string> = {
      'stop-producers':
        `confirm producers to ${input.topics.join(', ')} on ${input.source} are stopped; kafka-dr then checks ${input.source} is quiet for ` +
        `${input.quietSeconds}s, drains MM2 lag to 0 and stops ${input.forward.connectors.join(', ')} on ${input.forward.connect}`,
      'consumers-cutover': stopFirst
        ? `stop consumer groups ${input.groups.join(', ')} on ${input.source} (hook stop-consumers; without a hook, approving confirms they are stopped); ` +
          `kafka-dr then translates their offsets and sets them on ${input.target} (step translate-offsets; a group-partition left without a position ` +
          `stops at gate unplaced-groups), then starts them on ${input.target} (hook start-consumers; without a hook, start them once that is done)`
        : `move consumer groups ${input.groups.join(', ')} to ${input.target}: they resume at the translated offsets on ${this.remoteTopics.join(', ')}`,
      'producers-cutover': `move producers to ${input.target}; afterwards an abort no longer resumes ${input.source}→${input.target} (failback reverses the flow)`,
    };
    return gateOptions(descriptions[gate] + (gate === 'stop-producers' ? '' : this.writesNote), input.requestedBy, input.gates[gate]);
  }

  /** The read check-groups judges, scheduled early (see failover()). */
  readGroupsInFlow(): Promise<GroupsInFlowResult> {
    const { input } = this;
    return quick.checkGroupsInFlow({ connect: input.forward.connect, connectors: input.forward.connectors, groups: input.groups });
  }

  /** check-groups (see checkGroupsStep): the forward checkpoint connector must translate every named group. */
  async checkGroups(blockers: string[], read: Promise<GroupsInFlowResult>): Promise<void> {
    const { input, pb } = this;
    await checkGroupsStep(pb, {
      read,
      connect: input.forward.connect,
      dryRun: input.dryRun,
      blockers,
      refuse,
    });
  }

  async dryRunPlan(blockers: string[], stopFirst: boolean): Promise<void> {
    const { input, pb } = this;
    const plan = await pb.step(
      'plan-offsets',
      () =>
        quick.planOffsetTranslation({
          source: input.source,
          target: input.target,
          groups: input.groups,
          topics: input.topics,
          ...(input.separator ? { separator: input.separator } : {}),
          // Planned: both clusters are up, so show what exact verification would place now (read-only);
          // unplanned: the source is down, the checkpoints are all there is.
          ...(input.mode === 'planned' ? { policy: input.policy, exact: true } : {}),
        }),
      {
        summarize: (p) => ({
          groups: p.groups.length,
          checkpointsRead: p.checkpointsRead,
          ...(p.exactReads ? { exact: p.exactReads } : {}),
        }),
      },
    );
    let unplaced: FailoverPlan['unplaced'];
    if (stopFirst) {
      // What the gate would list if the plan were applied now (consumers still running: their commits may still move).
      const found = await pb.step(
        'find-unplaced',
        () =>
          shortWaits.findUnplacedPositions({
            ...this.groupsScope(),
            planned: plannedOf(plan.groups),
            readSource: input.mode === 'planned',
          }),
        { summarize: (r) => ({ unplaced: r.unplaced.length, sourceRead: r.sourceRead }) },
      );
      unplaced = found.unplaced;
    }
    // Default policy: the local topics producers will write to on the target, and the positions it would set there.
    let local: Pick<FailoverPlan, 'localTopics' | 'localPositionsToSet'> = {};
    const withLocal = input.policy === 'default' && patched(LOCAL_TOPICS_PATCH);
    if (withLocal) {
      try {
        const r = await prepareLocalTopicsStep(pb, {
          source: input.source,
          target: input.target,
          ...(input.separator ? { separator: input.separator } : {}),
          topics: input.topics,
          groups: input.groups,
          translated: plan.groups,
          readSource: input.mode === 'planned',
          dryRun: true,
        });
        local = { localTopics: r.topics, localPositionsToSet: r.positions.filter((p) => p.action === 'will-set').length };
        for (const t of r.topics) if (t.action === 'missing') blockers.push(`local topics: ${t.note ?? t.topic}`);
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        blockers.push(`local topics: ${describeError(err)}`);
      }
    }
    const gates = (input.mode === 'planned' ? FAILOVER_GATES : FAILOVER_GATES.filter((g) => g !== 'stop-producers')).map((gate) =>
      plannedGate(gate, this.gateOptions(gate, stopFirst)),
    );
    const result: FailoverPlan = {
      mode: input.mode,
      connectorsToStop: { connect: input.forward.connect, connectors: [...input.forward.connectors] },
      mirroredTopics: this.remoteTopics,
      gates,
      offsets: plan.groups.map((g) => ({
        group: g.group,
        ...(g.skipped ? { skipped: g.skipped } : {}),
        partitions: g.partitions.map((p) => ({
          topic: p.topic,
          partition: p.partition,
          from: p.from,
          to: p.to,
          action: p.action,
          // Older activity results (replayed runs) carry no method.
          ...((p as { method?: string }).method ? { method: (p as { method: string }).method } : {}),
        })),
      })),
      positions: groupOutcomes(plan),
      ...(plan.exactReads ? { exactReads: plan.exactReads } : {}),
      ...(unplaced ? { unplaced } : {}),
      ...local,
      blockers,
    };
    for (const step of FAILOVER_DRY_RUN_SKIPPED) if (withLocal || step !== 'prepare-local-topics') pb.skip(step, 'dry run');
    pb.setFigures({ plan: result });
    pb.setPhase('dry-run');
  }

  async verifyQuiet(): Promise<void> {
    const { input, pb } = this;
    await verifyQuietStep(pb, { cluster: input.source, topics: input.topics, quietSeconds: input.quietSeconds });
  }

  async drain(): Promise<void> {
    const { pb } = this;
    const drainMs = await drainStep(pb, this.lagArgs(), (r) => (this.drainReport = r));
    // rpoRecords is measured after stop-forward (check-conservation, check-writes), not assumed here.
    pb.setFigures({ drainMs });
  }

  private lagArgs() {
    const { input } = this;
    return { connect: input.forward.connect, connectors: input.forward.sourceConnectors, source: input.source, topics: input.topics };
  }

  /** Unreplicated committed records per source partition, exactly (markers and aborted records not counted). */
  private async unreplicatedNow(step: FailoverStep): Promise<LagReport> {
    return this.pb.step(step, () => quick.replicationLag({ ...this.lagArgs(), exact: true }), {
      summarize: (r) => ({ unreplicated: r.total, partitions: r.partitions.length, measuredAt: r.measuredAt }),
    });
  }

  /**
   * With the forward flow stopped, every source partition's end must equal the forward
   * connector's committed offset + 1, markers and aborted records accounted (exact count of
   * committed records in between), and no topic may have grown between the drain's end and
   * the snapshot (a producer still writing). Otherwise gate `replication-gap`: `re-drain`
   * (default: resume the flow, drain, stop, snapshot, check again) or `accept-loss` (recorded
   * with the counts; rpoRecords includes them).
   */
  async proveConservation(): Promise<void> {
    const { input, pb } = this;
    for (let round = 1; ; round++) {
      const report = await this.unreplicatedNow(round === 1 ? 'check-conservation' : `check-conservation-${round}`);
      const gaps = replicationGaps(report);
      const grown = endGrowth(this.drainReport?.partitions ?? [], this.sourceSnapshot?.offsets ?? {});
      const gapRecords = sumRecords(gaps);
      const conservation = {
        checkedAt: report.measuredAt,
        gapRecords: gapRecords.toString(),
        gaps,
        grownAfterDrain: grown,
        redrains: round - 1,
      };
      pb.setFigures({ conservation });
      if (gaps.length === 0 && grown.length === 0) {
        this.acceptedGap = [];
        return;
      }
      const why = [
        gaps.length > 0
          ? `${gapRecords} record(s) on ${input.source} are not on ${input.target} after stop-forward: ${describeGaps(gaps)}`
          : '',
        grown.length > 0
          ? `${input.source} grew after the drain (producers still writing?): ${grown.map((g) => `${g.topic}-${g.partition} +${g.grown}`).join(', ')}`
          : '',
      ].filter(Boolean);
      const decision = await pb.gate('replication-gap', {
        ...gateOptions(
          `${why.join('. ')}. Approve with choice re-drain (default) to resume ${input.forward.connectors.join(', ')}, drain, stop and check again ` +
            `(stop the producers first), or accept-loss to go on without them (${gapRecords} record(s) recorded as lost)`,
          input.requestedBy,
          input.gates['stop-producers'],
        ),
        choices: GAP_CHOICES,
      });
      pb.stopUnlessApproved(decision);
      if (decision.choices?.gap === 'accept-loss') {
        this.acceptedGap = gaps;
        this.unreplicated = gapRecords;
        pb.setFigures({
          conservation: {
            ...conservation,
            acceptedLoss: { records: gapRecords.toString(), partitions: gaps.length, by: decision.by ?? null, at: decision.at },
          },
        });
        return;
      }
      await this.redrain(round);
    }
  }

  /** Resumes the forward connectors, drains to 0, stops them again and takes a new snapshot. */
  private async redrain(round: number): Promise<void> {
    const { input, pb } = this;
    const connect = input.forward.connect;
    await pb.step(`resume-forward-${round}`, async () => {
      // The undos registered by stop-forward still stand: an abort from here resumes them (a no-op if running).
      for (const connector of input.forward.connectors) await destructive.resumeConnector({ connect, connector });
    });
    await drainStep(pb, this.lagArgs(), (r) => (this.drainReport = r), `re-drain-${round}`);
    await this.stopForward(false);
    await this.snapshot();
  }

  /**
   * Records written to the source after the stop-forward snapshot (the forward flow is
   * stopped: none of them reaches the target), per partition, measured before each later
   * gate opens (its description says so) and at the end; the last one is rpoRecords.
   */
  async checkWrites(at: 'consumers-cutover' | 'producers-cutover' | 'end'): Promise<void> {
    const { input, pb } = this;
    const report = await this.unreplicatedNow(`check-writes:${at}`);
    const writes = writesAfterSnapshot(this.acceptedGap, report, at);
    this.unreplicated = BigInt(writes.unreplicated);
    pb.setFigures({ writesAfterSnapshot: writes, rpoRecords: Number(this.unreplicated) });
    this.writesNote =
      writes.records === '0'
        ? ''
        : `. WARNING: ${writes.records} record(s) were written to ${input.source} after the stop-forward snapshot and are not on ${input.target} ` +
          `(a producer still writes there): ${describeGaps(writes.partitions)}`;
  }

  /** Records on the source that the target never got, as last measured. */
  rpoRecords(): number {
    return Number(this.unreplicated);
  }

  /**
   * Stops every forward connector and waits until all are STOPPED, in one activity. The
   * resumes are registered before the call (saga): a call that fails half-way leaves some
   * stopped, and resuming one that never stopped is a no-op.
   */
  async stopForward(registerUndo = true): Promise<void> {
    const { input, pb } = this;
    const connect = input.forward.connect;
    await pb.step(
      'stop-forward',
      async (step) => {
        for (const connector of registerUndo ? input.forward.connectors : []) {
          pb.onUndo(undoName(connector), () => destructive.resumeConnector({ connect, connector }));
        }
        const { stopped } = await shortWaits.stopConnectors({ connect, connectors: input.forward.connectors });
        step.details({ confirmedStopped: stopped });
      },
      { details: { connect, connectors: input.forward.connectors } },
    );
  }

  /**
   * End offsets on the target (mirrored and local names: failback's boundary) and, when
   * planned, on the source. Missing topics are reported, not failures.
   */
  async snapshot(): Promise<void> {
    const { input, pb } = this;
    await pb.step('snapshot', async (step) => {
      // Both clusters read together: nothing writes to either once the forward flow is stopped.
      const [target, source] = await Promise.all([
        quick.snapshotEndOffsets({ cluster: input.target, topics: [...new Set([...this.remoteTopics, ...input.topics])] }),
        input.mode === 'planned' ? quick.snapshotEndOffsets({ cluster: input.source, topics: input.topics }) : Promise.resolve(null),
      ]);
      step.details({ targetTakenAt: target.takenAt, sourceTakenAt: source?.takenAt ?? null, targetMissing: target.missingTopics });
      pb.setFigures({ snapshots: { source, target } });
      this.sourceSnapshot = source;
    });
  }

  async translateOffsets(): Promise<AppliedOffsetPlan> {
    const { input, pb } = this;
    return translateOffsetsStep(
      pb,
      {
        source: input.source,
        target: input.target,
        groups: input.groups,
        topics: input.topics,
        ...(input.separator ? { separator: input.separator } : {}),
        // Planned: the source is up, so the checkpoints can be compared with the groups' last commits
        // there. Only reported: the checkpoint connector is stopped, a fresher one will not come.
        ...(input.mode === 'planned' ? { freshness: { policy: input.policy, waitSeconds: 0 } } : {}),
      },
      {
        kept: {
          name: 'consumer group offsets on target',
          why: `set only forward and only on groups empty on ${input.target}: nothing reads them until consumers move there`,
        },
      },
    );
  }

  /** The direction, policy, groups and topics find-unplaced looks at (in the order its input was recorded). */
  private groupsScope() {
    const { input } = this;
    return {
      source: input.source,
      target: input.target,
      policy: input.policy,
      ...(input.separator ? { separator: input.separator } : {}),
      groups: input.groups,
      topics: input.topics,
    };
  }

  /** find-unplaced → gate unplaced-groups → place-unplaced (workflows/steps.ts), before consumers start on the target. */
  async placeUnplaced(translated: AppliedOffsetPlan): Promise<UnplacedFigures> {
    const { input, pb } = this;
    const { description: _d, ...gate } = this.gateOptions('consumers-cutover');
    return placeUnplacedSteps(pb, {
      ...this.groupsScope(),
      readSource: input.mode === 'planned',
      translated,
      gate,
    });
  }

  /** prepare-local-topics (workflows/steps.ts): B's local topics, and the groups placed on them, before consumers start there. */
  async prepareLocalTopics(translated: AppliedOffsetPlan, unplaced: UnplacedFigures): Promise<void> {
    const { input, pb } = this;
    await prepareLocalTopicsStep(pb, {
      source: input.source,
      target: input.target,
      ...(input.separator ? { separator: input.separator } : {}),
      topics: input.topics,
      groups: input.groups,
      translated: translated.groups,
      leftOut: Object.entries(unplaced.unplacedChoices)
        .filter(([, c]) => c === 'leave-out')
        .map(([g]) => g),
      readSource: input.mode === 'planned',
      dryRun: false,
    });
  }
}
