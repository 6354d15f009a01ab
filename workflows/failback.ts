import { ActivityFailure, ApplicationFailure, patched, workflowInfo } from '@temporalio/workflow';
import type { FailbackSeedResult } from '../activities/failback';
import type { PrimaryPositionsResult } from '../activities/divergent';
import type { AppliedOffsetPlan } from '../activities/offsets';
import type { PositionBefore } from '../src/offsets/divergent';
import {
  FAILBACK_GATES,
  FailbackInput,
  reverseConnectors,
  reversePlan,
  seedSnapshotOffsets,
  sourceConnectorFor,
  type FailbackFigures,
  type FailbackGate,
  type FailbackPlan,
  type ParsedFailbackInput,
  type SeedFigure,
} from '../src/model/failback-input';
import type { PlaybookReport } from '../src/model/gates';
import { healthDetails, healthFigures } from '../src/model/health-summary';
import { clusterPairKey } from '../src/model/workflow-ids';
import { destructive, longWaits, quick, shortWaits } from './activity-options';
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
import { FLOW_SCOPE_PATCH } from './failover';
import { checkScopeStep, drainStep, placeUnplacedSteps, translateOffsetsStep, verifyQuietStep } from './steps';
import { describeGaps, replicationGaps, sumRecords } from '../src/offsets/conservation';
import { divergentRecordsSteps } from './divergent';
import { seedAfterPrevious } from '../src/offsets/divergent';
import { decideReseed, describeUnsearchable } from '../src/offsets/reseed';

/** The failback's steps in runbook order (the hooks' `hook:<gate>` steps are the framework's). */
// prettier-ignore
export const FAILBACK_STEPS = [
  'check-primary', 'check-forward', 'check-scope', 'plan-seed',
  'read-primary-positions', 'deploy-reverse', 'seed-reverse', 'start-reverse', 'catch-up',
  'translate-offsets', 'find-unplaced', 'place-unplaced',
  'verify-quiet', 'drain', 'stop-reverse', 'check-conservation', 'snapshot-primary',
  'find-divergent', 'replay-divergent', 'quarantine-divergent', 'copy-divergent',
  'remove-reverse', 'set-forward-offsets', 'resume-forward',
] as const;
export type FailbackStep = (typeof FAILBACK_STEPS)[number];
/**
 * What a dry run records as skipped: the steps after plan-seed, less those later patches
 * added (unplaced groups, conservation, divergent records), which its report never listed.
 */
export const FAILBACK_DRY_RUN_SKIPPED = stepsFrom(FAILBACK_STEPS, 'deploy-reverse', [
  'find-unplaced',
  'place-unplaced',
  'check-conservation',
  'find-divergent',
  'replay-divergent',
  'quarantine-divergent',
  'copy-divergent',
]);

const UNDO_REVERSE = 'delete the reverse flow';
/**
 * Patch id of the split consumers-cutover hook: `stop-consumers` right after the approval,
 * `start-consumers` after translate-offsets. Before it, one hook after the translation
 * moved them, so the groups kept committing on dr while the translation waited for
 * checkpoints that covered their last commit (the full wait, and duplicates on primary).
 */
export const STOP_CONSUMERS_FIRST_PATCH = 'failback-stop-consumers-before-translate';
/**
 * Patch id of find-unplaced (and, when a group-partition with a commit on dr has no
 * position on primary, the unplaced-groups gate and place-unplaced) between
 * translate-offsets and the start-consumers hook. Before it such partitions passed silently.
 */
export const UNPLACED_GATE_PATCH = 'failback-unplaced-groups-gate';
/**
 * How long translate-offsets waits for reverse checkpoints that cover the groups' last commits
 * on dr. A few checkpoint intervals; inside the destructive activity timeout (1 minute).
 */
const CHECKPOINT_FRESHNESS_WAIT_SECONDS = 20;
/** MM2's emit.checkpoints.interval.seconds when the reverse plan sets none (src/model/replication-plan.ts). */
const DEFAULT_EMIT_CHECKPOINTS_SECONDS = 5;

/**
 * Fails back `dr` (B) → `primary` (A) after a failover, as the runbook says:
 *
 * check-primary (all brokers, controller, no under-replicated/offline partitions)
 * → check-forward (forward connectors STOPPED: the Identity loop guard and the offset
 *   alter need it) → plan-seed (failover snapshot, given or read from the failover
 *   workflow named by ID, else derived from forward offsets + offset syncs) → deploy-reverse (created STOPPED) → seed-reverse → start-reverse
 * → catch-up (reverse lag ≤ lagThreshold) → gate consumers-cutover (hook: stop them on dr)
 * → translate-offsets (through the reverse checkpoints, applied on primary) → find-unplaced
 * [→ gate unplaced-groups → place-unplaced] (hook: start them on primary) → gate stop-producers
 * → verify-quiet (dr) → drain (reverse lag exactly 0) → stop-reverse → snapshot-primary
 * (the cutover boundary) → find-divergent [→ gate divergent-records → replay-divergent
 * (appended on primary above the boundary) | quarantine-divergent] → gate producers-cutover
 * → remove-reverse → set-forward-offsets (Identity: primary's end at cutover − 1, so the
 * replayed copies are copied to dr) → resume-forward.
 *
 * dryRun: the read-only steps, then the plan (seed offsets, connectors it would create,
 * gates); changes nothing. Abort/reject before producers-cutover deletes the reverse
 * flow and leaves the forward connectors stopped; after it nothing is undone. Start it
 * with workflow ID `cutoverWorkflowId(primary, dr)` (the failover's).
 */
export async function failback(raw: unknown): Promise<PlaybookReport<FailbackFigures>> {
  const pb = setupPlaybook<FailbackFigures, FailbackStep>({ playbook: 'failback', gates: FAILBACK_GATES });
  const input = parseInput(FailbackInput, raw);
  pb.begin({
    clusterPair: clusterPairKey(input.primary, input.dr),
    requestedBy: input.requestedBy,
    cutover: { from: input.dr, to: input.primary },
  });
  const startedAt = Date.now();
  pb.setFigures({ dryRun: input.dryRun, policy: input.policy });
  const f = new Failback(pb, input);

  return pb.run(async () => {
    pb.setPhase('checking');
    const blockers = await f.checks();
    pb.setPhase('planning');
    const seed = await f.planSeed(blockers);

    if (input.dryRun) {
      f.dryRunPlan(seed, blockers);
      return;
    }

    pb.setPhase('reverse-replicating');
    // Runs recorded before it could not name the groups that had read the divergent tail before the failover.
    if (input.policy === 'identity' && patched(POSITIONS_BEFORE_PATCH)) await f.readPrimaryPositions();
    await f.deployReverse();
    // Runs recorded before it seeded from the snapshot alone: a re-run copied again what an earlier attempt had copied.
    await f.seedReverse(seed!, patched(SEED_AFTER_PREVIOUS_PATCH));
    await f.startReverse();
    await f.catchUp();

    // Runs recorded before the split moved the consumers in one hook after the translation.
    const stopFirst = patched(STOP_CONSUMERS_FIRST_PATCH);
    const consumers = await pb.approval('consumers-cutover', {
      ...f.gateOptions('consumers-cutover'),
      hook: stopFirst ? 'stop-consumers' : 'deferred',
    });
    pb.setPhase('consumers-moving');
    const translated = await f.translateOffsets();
    // Only after the split: before it the groups still consumed on dr while this ran.
    if (stopFirst && patched(UNPLACED_GATE_PATCH)) await f.placeUnplaced(translated);
    await pb.runHook(consumers, stopFirst ? 'start-consumers' : 'move-consumers');

    await pb.approval('stop-producers', f.gateOptions('stop-producers'));
    pb.setPhase('draining');
    await f.verifyQuiet();
    await f.drain();
    await f.stopReverse();
    // Runs started before the measurement replay without it (and keep their rpoRecords 0).
    const measured = patched(FAILBACK_RPO_PATCH);
    if (measured) await f.checkConservation();
    await f.snapshotPrimary();
    // Runs started before it resumed the forward flow past these records without a word.
    if (patched(DIVERGENT_RECORDS_PATCH)) await f.divergentRecords();

    const producers = await pb.approval('producers-cutover', f.gateOptions('producers-cutover'));
    pb.leaveAsIs(
      UNDO_REVERSE,
      `producers write to ${input.primary} now: the reverse flow is removed as a step of the runbook, and the forward flow resumes from the cutover boundary`,
    );
    pb.setFigures({ rtoMs: Date.parse(producers.at) - startedAt, rpoRecords: measured ? f.rpoRecords : 0 });
    pb.setPhase('resuming-forward');
    await f.removeReverse();
    await f.setForwardOffsets();
    await f.resumeForward();
    pb.setPhase('failed-back');
  });
}

/**
 * Patch id of read-primary-positions before deploy-reverse (Identity): the groups' commits on
 * primary past the forward flow's last replicated offset, before the translation overwrites
 * them, so the divergent-records gate names the groups that read a replay's copies again.
 */
export const POSITIONS_BEFORE_PATCH = 'failback-primary-positions-before';
/** The reverse flow's unreplicated records are measured after stop-reverse (rpoRecords). */
const FAILBACK_RPO_PATCH = 'failback-rpo-measured';
/**
 * Patch id of find-divergent (+ gate divergent-records and the copy) after snapshot-primary:
 * records on primary that dr never received are kept (replay, quarantine) or discarded on record.
 */
export const DIVERGENT_RECORDS_PATCH = 'failback-divergent-records';
/**
 * Patch id of seed-reverse reading the reverse source connectors' committed offsets first: a
 * previous attempt's copy is not copied again (the later of seed and committed offset wins).
 */
export const SEED_AFTER_PREVIOUS_PATCH = 'failback-seed-after-previous';
/**
 * Patch id of seed-reverse looking on the primary for what a previous attempt copied when
 * its reverse connector left no committed offsets (found by content; ambiguous: refused).
 */
export const SEED_FOUND_ON_PRIMARY_PATCH = 'failback-seed-found-on-primary';
/** Failure type of a re-run whose previous copy on the primary cannot be located without a guess. */
export const SEED_AMBIGUOUS = 'SeedAmbiguous';

/** The steps, one method each, so the workflow body above reads like the runbook. */
class Failback {
  private readonly plan: ReturnType<typeof reversePlan>;
  private readonly reverse: ReturnType<typeof reverseConnectors>;
  /** Records on dr the primary never got, measured after stop-reverse. */
  rpoRecords = 0;
  private gapNote = '';
  /** Groups' positions on primary past the last replicated offset, before this failback moved any (read-primary-positions). */
  private before: PositionBefore[] = [];

  constructor(
    private readonly pb: Playbook<FailbackFigures, FailbackStep>,
    private readonly input: ParsedFailbackInput,
  ) {
    this.plan = reversePlan(input);
    this.reverse = reverseConnectors(input);
  }

  /** The forward flow's Connect and source connectors: where its committed (last replicated) offsets are kept. */
  private get forwardSources() {
    return { connect: this.input.forward.connect, sourceConnectors: this.input.forward.sourceConnectors };
  }

  /** Primary healthy, forward connectors stopped; in a dry run these are blockers instead of failures. */
  async checks(): Promise<string[]> {
    const { input, pb } = this;
    const blockers: string[] = [];
    const run = { dryRun: input.dryRun, blockers };
    await pb.step('check-primary', async (step) => {
      const health = await quick.clusterHealth({
        cluster: input.primary,
        ...(input.expectedBrokers ? { expectedBrokers: input.expectedBrokers } : {}),
      });
      step.details({
        healthy: health.healthy,
        brokers: health.brokers.count,
        expectedBrokers: health.expectedBrokers,
        controllerId: health.controllerId,
        problems: health.problems,
        ...healthDetails(health),
      });
      const figures = healthFigures(health);
      if (figures) pb.setFigures({ primaryHealth: figures });
      if (!health.healthy) block(run, `primary ${input.primary} is not healthy: ${health.problems.join('; ')}; fix it before failing back`);
    });
    await pb.step('check-forward', async (step) => {
      const states: Record<string, string> = {};
      for (const connector of input.forward.connectors) {
        states[connector] = (await quick.connectorStatus({ connect: input.forward.connect, connector })).state;
      }
      step.details({ connect: input.forward.connect, states });
      const notStopped = Object.entries(states).filter(([, s]) => s !== 'STOPPED');
      if (notStopped.length > 0) {
        block(
          run,
          `forward connectors must be STOPPED (as the failover left them): ${notStopped.map(([n, s]) => `${n} is ${s}`).join(', ')}; ` +
            `a running forward flow would loop records with the reverse flow (Identity) and its offsets cannot be set`,
        );
      }
    });
    if (patched(FLOW_SCOPE_PATCH)) await this.checkScope(blockers);
    return blockers;
  }

  /**
   * The input against the forward flow's connector configs (policy, separator, topics:
   * primary's topics are listed to find mirrored ones the input leaves out). Every
   * disagreement at once: blockers in a dry run, one refusal otherwise.
   */
  async checkScope(blockers: string[]): Promise<void> {
    const { input, pb } = this;
    const refusals = await checkScopeStep(pb, {
      read: () =>
        quick.describeFlow({
          connect: input.forward.connect,
          connectors: input.forward.connectors,
          sourceConnectors: input.forward.sourceConnectors,
          listTopicsOn: input.primary,
        }),
      claim: {
        source: input.primary,
        target: input.dr,
        policy: input.policy,
        separator: input.separator,
        topics: input.topics,
        excludeTopics: input.excludeTopics,
        fields: { source: 'primary', target: 'dr' },
      },
      forward: input.forward,
      dryRun: input.dryRun,
    });
    blockers.push(...refusals);
  }

  /** The seed plan (read-only). In a dry run a seed that cannot be derived is a blocker; otherwise it fails the playbook. */
  async planSeed(blockers: string[]): Promise<FailbackSeedResult | undefined> {
    const { input, pb } = this;
    let snapshot = seedSnapshotOffsets(input);
    try {
      return await pb.step('plan-seed', async (step) => {
        if (input.seed.failoverWorkflowId) {
          // Only runs that name the failover schedule this read: histories of snapshot/derived runs keep their commands.
          const found = await quick.failoverSnapshot({
            workflowId: input.seed.failoverWorkflowId,
            ...(input.seed.failoverRunId ? { runId: input.seed.failoverRunId } : {}),
            primary: input.primary,
            dr: input.dr,
          });
          snapshot = found.offsets;
          const seedFailover = { workflowId: found.workflowId, runId: found.runId, takenAt: found.takenAt };
          step.details({ seedFailover });
          pb.setFigures({ seedFailover });
        }
        const seed = await quick.planFailbackSeedOffsets({
          primary: input.primary,
          dr: input.dr,
          policy: input.policy,
          topics: [...new Set(this.reverse.sources.flatMap((s) => s.patterns))],
          mode: input.seed.mode,
          ...(snapshot ? { snapshot } : {}),
          forward: this.forwardSources,
        });
        const figures = this.seedFigures(seed);
        const unowned = figures.filter((s) => !s.connector);
        if (unowned.length > 0) {
          refuse(`no reverse topic group covers ${unowned.map((s) => `${s.topic}-${s.partition}`).join(', ')}`);
        }
        step.details({
          seedFrom: seed.seedFrom,
          partitions: figures.length,
          bySource: countBy(figures.map((s) => s.source)),
          toCopy: figures.reduce((n, s) => n + BigInt(s.toCopy), 0n).toString(),
        });
        pb.setFigures({ seedFrom: seed.seedFrom, seed: figures, seedNotes: seed.notes, skippedTopics: seed.skippedTopics });
        return seed;
      });
    } catch (err) {
      if (input.dryRun && err instanceof ActivityFailure) {
        blockers.push(`seed: ${describeError(err)}`);
        return undefined;
      }
      throw err;
    }
  }

  private seedFigures(seed: FailbackSeedResult): SeedFigure[] {
    return seed.partitions.map((p) => {
      const connector = sourceConnectorFor(this.reverse.sources, p.topic);
      return {
        topic: p.topic,
        partition: p.partition,
        source: p.source,
        offset: p.offset,
        resumeAt: p.resumeAt,
        exact: p.exact,
        toCopy: p.toCopy,
        ...(connector ? { connector } : {}),
        ...(p.maxDuplicates !== undefined ? { maxDuplicates: p.maxDuplicates } : {}),
        ...(p.note !== undefined ? { note: p.note } : {}),
      };
    });
  }

  /** What approving each gate does, with the input's guard options. */
  gateOptions(gate: FailbackGate): GateOptions {
    const { input } = this;
    const descriptions: Record<FailbackGate, string> = {
      'consumers-cutover':
        `stop consumer groups ${input.groups.join(', ')} on ${input.dr} (hook stop-consumers; without a hook, approving confirms they are stopped); ` +
        `kafka-dr then translates their offsets through the reverse checkpoints and sets them on ${input.primary} (step translate-offsets), ` +
        `then starts them on ${input.primary} (hook start-consumers; without a hook, start them once that step completed)`,
      'stop-producers':
        `confirm producers to ${input.topics.join(', ')} on ${input.dr} are stopped; kafka-dr then checks ${input.dr} is quiet for ${input.quietSeconds}s, ` +
        `drains the reverse flow to 0, stops it and records ${input.primary}'s end offsets (the cutover boundary)`,
      'producers-cutover':
        `move producers to ${input.primary}; kafka-dr then deletes the reverse flow on ${input.reverse.connect} and resumes ` +
        `${input.forward.connectors.join(', ')} on ${input.forward.connect} from the cutover boundary; afterwards nothing is undone`,
    };
    return gateOptions(descriptions[gate] + (gate === 'producers-cutover' ? this.gapNote : ''), input.requestedBy, input.gates[gate]);
  }

  dryRunPlan(seed: FailbackSeedResult | undefined, blockers: string[]): void {
    const { input, pb } = this;
    const plan: FailbackPlan = {
      reverse: { connect: input.reverse.connect, flow: this.plan.name, connectors: [...this.reverse.all], initialState: 'STOPPED' },
      seed: seed ? this.seedFigures(seed) : [],
      skippedTopics: seed?.skippedTopics ?? [],
      forward: {
        connect: input.forward.connect,
        connectors: [...input.forward.connectors],
        sourceConnectors: [...input.forward.sourceConnectors],
      },
      gates: FAILBACK_GATES.map((gate) => plannedGate(gate, this.gateOptions(gate))),
      blockers,
    };
    for (const step of FAILBACK_DRY_RUN_SKIPPED) pb.skip(step, 'dry run');
    pb.setFigures({ plan });
    pb.setPhase('dry-run');
  }

  /** Creates the reverse flow STOPPED (the deploy's loop guard sees the forward connectors STOPPED). */
  async deployReverse(): Promise<void> {
    const { input, pb } = this;
    const connect = input.reverse.connect;
    await pb.step(
      'deploy-reverse',
      async (step) => {
        // Registered before the call: a deploy that fails half-way leaves connectors too; removing absent ones is a no-op.
        pb.onUndo(UNDO_REVERSE, () => destructive.removeMirrorFlow({ connect, name: this.plan.name }));
        const result = await destructive.deployMirrorFlow({ plan: this.plan, initialState: 'STOPPED' });
        const reverseConnectors = result.connectors.map((c) => ({ name: c.name, action: c.action }));
        step.details({ connectors: reverseConnectors, checkedConnectors: result.checkedConnectors });
        pb.setFigures({ reverseConnectors });
        // An existing connector (a re-run) keeps its state: make sure the sources are stopped before seeding.
        for (const s of this.reverse.sources) {
          if (result.connectors.find((c) => c.name === s.name)?.action !== 'created')
            await destructive.stopConnector({ connect, connector: s.name });
          await shortWaits.waitForConnectorState({ connect, connector: s.name, state: 'STOPPED' });
        }
        return result;
      },
      { details: { connect, flow: this.plan.name, initialState: 'STOPPED' } },
    );
  }

  /**
   * Sets the reverse sources' offsets: the seed, or past what a previous attempt copied
   * (its committed offsets; with the found-on-primary patch, else its copies found on primary).
   */
  async seedReverse(seed: FailbackSeedResult, afterPrevious = false): Promise<void> {
    const { input, pb } = this;
    // Runs recorded before it trusted the committed offsets alone: gone offsets meant copies twice.
    const search = afterPrevious && patched(SEED_FOUND_ON_PRIMARY_PATCH) && input.seed.onPrimary === 'search';
    if (!search) return this.seedReverseCommitted(seed, afterPrevious);
    await pb.step('seed-reverse', async (step) => {
      const set: Record<string, number> = {};
      const fromPrevious: Array<{ topic: string; partition: number; seed: string | null; offset: string }> = [];
      const figures = this.seedFigures(seed);
      const previous = new Map<string, string | null>();
      for (const s of this.reverse.sources) {
        // An earlier attempt's connector of this name left its committed offsets in Connect (a delete keeps them).
        for (const o of await quick.getConnectorOffsets({ connect: input.reverse.connect, connector: s.name })) {
          const p = o.partition as { cluster?: unknown; topic?: unknown; partition?: unknown };
          if (p.cluster === input.dr) previous.set(`${String(p.topic)}\u0000${String(p.partition)}`, o.offset);
        }
      }
      const prevOf = (e: SeedFigure) => previous.get(`${e.topic}\u0000${e.partition}`) ?? null;
      const endOf = (e: SeedFigure) => seed.current[e.topic]?.[String(e.partition)] ?? '0';
      // Partitions the committed offsets do not move past the seed: the previous copy, if any, is looked for on primary.
      const unsure = figures.filter((e) => !seedAfterPrevious(e.offset, prevOf(e), endOf(e)).fromPrevious);
      const found =
        unsure.length > 0
          ? await longWaits.findCopiedOnPrimary({
              primary: input.primary,
              dr: input.dr,
              policy: input.policy,
              ...(input.separator ? { separator: input.separator } : {}),
              forward: this.forwardSources,
              partitions: unsure.map((e) => ({
                topic: e.topic,
                partition: e.partition,
                from: e.resumeAt === 'earliest' ? null : e.resumeAt,
              })),
            })
          : undefined;
      const searchOf = (e: SeedFigure) => found?.partitions.find((p) => p.topic === e.topic && p.partition === e.partition);
      const decided = figures.map((e) => ({ e, d: decideReseed(e.offset, prevOf(e), endOf(e), searchOf(e)), s: searchOf(e) }));
      const problems = decided.flatMap(({ e, d, s }) =>
        d.problem
          ? [
              {
                topic: e.topic,
                partition: e.partition,
                problem: d.problem,
                readOnPrimary: s?.readOnPrimary ?? 0,
                readOnDr: s?.readOnDr ?? 0,
              },
            ]
          : [],
      );
      if (found) {
        step.details({
          search: {
            bound: found.bound,
            partitions: found.partitions.length,
            byStatus: countBy(found.partitions.map((p) => p.status)),
            readOnPrimary: found.partitions.reduce((n, p) => n + p.readOnPrimary, 0),
            readOnDr: found.partitions.reduce((n, p) => n + p.readOnDr, 0),
            skippedOnPrimary: found.partitions.reduce((n, p) => n + (p.skippedOnPrimary ?? 0), 0),
          },
        });
      }
      if (problems.length > 0) {
        // A destructive step never runs on a guess: the operator looks, then re-runs (or accepts duplicates).
        step.details({ unsearchable: problems });
        throw ApplicationFailure.create({
          type: SEED_AMBIGUOUS,
          nonRetryable: true,
          message:
            `cannot tell what a previous failback attempt already copied to ${input.primary} for ${problems.length} partition(s) (if any ran: its reverse connector left no committed offsets): ` +
            `${describeUnsearchable(problems)}. Nothing was copied. Find where the copy on ${input.primary} ends and run again, or run again with seed.onPrimary 'ignore' ` +
            `to copy from the seed (records already copied come again: duplicates on ${input.primary})`,
        });
      }
      const seedOrigin: FailbackFigures['seedOrigin'] = decided.map(({ e, d, s }) => ({
        topic: e.topic,
        partition: e.partition,
        origin: d.origin,
        offset: d.offset,
        ...(d.origin === 'found-on-primary' && s?.copyOnPrimary ? { copyOnPrimary: s.copyOnPrimary } : {}),
      }));
      for (const { e, d } of decided) {
        if (d.origin === 'committed') fromPrevious.push({ topic: e.topic, partition: e.partition, seed: e.offset, offset: d.offset! });
      }
      for (const s of this.reverse.sources) {
        const offsets = decided
          .filter(({ e }) => e.connector === s.name)
          .map(({ e, d }) => ({ partition: { cluster: input.dr, topic: e.topic, partition: e.partition }, offset: d.offset }));
        // Connect refuses an empty PATCH; a group without partitions starts from earliest anyway.
        if (offsets.length === 0) continue;
        await destructive.alterConnectorOffsets({ connect: input.reverse.connect, connector: s.name, offsets });
        set[s.name] = offsets.length;
      }
      step.details({
        set,
        seedFrom: seed.seedFrom,
        ...(fromPrevious.length > 0 ? { fromPrevious } : {}),
        origins: countBy(seedOrigin.map((o) => o.origin)),
      });
      if (fromPrevious.length > 0) pb.setFigures({ seedFromPrevious: fromPrevious });
      pb.setFigures({ seedOrigin });
    });
  }

  /** seed-reverse as recorded before the found-on-primary patch (same commands, same order: histories replay). */
  private async seedReverseCommitted(seed: FailbackSeedResult, afterPrevious: boolean): Promise<void> {
    const { input, pb } = this;
    await pb.step('seed-reverse', async (step) => {
      const set: Record<string, number> = {};
      const fromPrevious: Array<{ topic: string; partition: number; seed: string | null; offset: string }> = [];
      for (const s of this.reverse.sources) {
        // An earlier attempt's connector of this name left its committed offsets in Connect (a delete keeps them).
        const previous = afterPrevious ? await quick.getConnectorOffsets({ connect: input.reverse.connect, connector: s.name }) : [];
        const offsets = this.seedFigures(seed)
          .filter((e) => e.connector === s.name)
          .map((e) => {
            const prev = previous.find((o) => {
              const p = o.partition as { cluster?: unknown; topic?: unknown; partition?: unknown };
              return p.cluster === input.dr && p.topic === e.topic && p.partition === e.partition;
            });
            const end = seed.current[e.topic]?.[String(e.partition)] ?? '0';
            const chosen = seedAfterPrevious(e.offset, prev?.offset ?? null, end);
            if (chosen.fromPrevious) fromPrevious.push({ topic: e.topic, partition: e.partition, seed: e.offset, offset: chosen.offset! });
            return { partition: { cluster: input.dr, topic: e.topic, partition: e.partition }, offset: chosen.offset };
          });
        // Connect refuses an empty PATCH; a group without partitions starts from earliest anyway.
        if (offsets.length === 0) continue;
        await destructive.alterConnectorOffsets({ connect: input.reverse.connect, connector: s.name, offsets });
        set[s.name] = offsets.length;
      }
      step.details({ set, seedFrom: seed.seedFrom, ...(fromPrevious.length > 0 ? { fromPrevious } : {}) });
      if (fromPrevious.length > 0) pb.setFigures({ seedFromPrevious: fromPrevious });
    });
  }

  /** find-divergent → gate divergent-records → replay | quarantine | discard (workflows/divergent.ts). */
  async divergentRecords(): Promise<void> {
    const { input, pb } = this;
    const { description: _d, ...gate } = this.gateOptions('producers-cutover');
    const info = workflowInfo();
    await divergentRecordsSteps(pb, {
      primary: input.primary,
      dr: input.dr,
      policy: input.policy,
      ...(input.separator ? { separator: input.separator } : {}),
      cutover: pb.figures.cutover!.offsets,
      forward: this.forwardSources,
      reverseFrom: (pb.figures.seed ?? []).map((s) => ({
        topic: s.topic,
        partition: s.partition,
        from: s.resumeAt === 'earliest' ? null : s.resumeAt,
      })),
      placed: [...(pb.figures.offsetsSet ?? []), ...(pb.figures.unplacedSet ?? [])].map((o) => ({
        group: o.group,
        topic: o.topic,
        partition: o.partition,
        offset: o.offset,
      })),
      before: this.before,
      gate,
      workflowId: info.workflowId,
      runId: info.runId,
    });
  }

  /** What the groups on primary had read past the forward flow's last replicated offset, before the translation moves them. */
  async readPrimaryPositions(): Promise<void> {
    const { input, pb } = this;
    const summarize = (r: PrimaryPositionsResult) => ({ groups: r.groups, positionsPastReplicated: r.positions.length });
    const args = { primary: input.primary, forward: this.forwardSources };
    this.before = (await pb.step('read-primary-positions', () => shortWaits.readPrimaryPositions(args), { summarize })).positions;
  }

  async startReverse(): Promise<void> {
    const { input, pb } = this;
    await pb.step('start-reverse', async (step) => step.details({ running: await resumeAll(input.reverse.connect, this.reverse.all) }));
  }

  async catchUp(): Promise<void> {
    const { input, pb } = this;
    const started = Date.now();
    await pb.step(
      'catch-up',
      async (step) => {
        const lag = await longWaits.waitForReverseCatchUp({
          connect: input.reverse.connect,
          connectors: this.reverse.sources.map((s) => s.name),
          source: input.dr,
          topics: input.topics,
          threshold: input.lagThreshold,
          timeoutSeconds: input.catchUpTimeoutSeconds,
        });
        step.details({ total: lag.total, maxLag: lag.maxLag, polls: lag.polls, threshold: input.lagThreshold });
        pb.setFigures({ lagAtConsumersGate: lag.total, catchUpMs: Date.now() - started });
      },
      { abortable: true },
    );
  }

  async translateOffsets(): Promise<AppliedOffsetPlan> {
    const { input, pb } = this;
    return translateOffsetsStep(
      pb,
      {
        source: input.dr,
        target: input.primary,
        groups: input.groups,
        topics: input.topics,
        ...(input.separator ? { separator: input.separator } : {}),
        // The consumers just stopped on dr: their last commit may be newer than the last reverse
        // checkpoint (emitted every interval). The reverse flow runs, so a fresher one comes: wait a little.
        freshness: { policy: input.policy, waitSeconds: CHECKPOINT_FRESHNESS_WAIT_SECONDS, settleSeconds: this.checkpointSettleSeconds() },
      },
      {
        kept: {
          name: 'consumer group offsets on primary',
          why: `set only forward and only on groups empty on ${input.primary}; consumers that moved cannot be moved back by kafka-dr: restart them on ${input.dr} if the failback stops`,
        },
        figures: (result) => translationFigures(result.freshness),
      },
    );
  }

  /**
   * find-unplaced → gate unplaced-groups → place-unplaced (workflows/steps.ts), before the
   * consumers start on primary. No check-groups here: the reverse checkpoint connector is
   * deployed by this playbook with `groups` as its allowlist.
   */
  async placeUnplaced(translated: AppliedOffsetPlan): Promise<void> {
    const { input, pb } = this;
    const { description: _d, ...gate } = this.gateOptions('consumers-cutover');
    await placeUnplacedSteps(pb, {
      source: input.dr,
      target: input.primary,
      policy: input.policy,
      ...(input.separator ? { separator: input.separator } : {}),
      groups: input.groups,
      topics: input.topics,
      readSource: true,
      translated,
      gate,
    });
  }

  /** Two reverse checkpoint intervals (and a second): a fresher checkpoint would have come by then. */
  private checkpointSettleSeconds(): number {
    const interval = this.input.reverse.intervals?.emitCheckpointsSeconds ?? DEFAULT_EMIT_CHECKPOINTS_SECONDS;
    return Math.min(CHECKPOINT_FRESHNESS_WAIT_SECONDS, 2 * interval + 1);
  }

  async verifyQuiet(): Promise<void> {
    const { input, pb } = this;
    await verifyQuietStep(pb, { cluster: input.dr, topics: input.topics, quietSeconds: input.quietSeconds });
  }

  async drain(): Promise<void> {
    const { input, pb } = this;
    const drainMs = await drainStep(pb, {
      connect: input.reverse.connect,
      connectors: this.reverse.sources.map((s) => s.name),
      source: input.dr,
      topics: input.topics,
    });
    pb.setFigures({ drainMs });
  }

  /** Stops the reverse sources so nothing more lands on primary before its end offsets are recorded. */
  async stopReverse(): Promise<void> {
    const { input, pb } = this;
    const connect = input.reverse.connect;
    await pb.step('stop-reverse', async (step) => {
      const sources = this.reverse.sources.map((s) => s.name);
      for (const connector of sources) await destructive.stopConnector({ connect, connector });
      for (const connector of sources) await shortWaits.waitForConnectorState({ connect, connector, state: 'STOPPED' });
      step.details({ stopped: sources });
    });
  }

  /**
   * With the reverse flow stopped: dr's committed records not on primary, per partition,
   * counted exactly (markers and aborted records are not records). Reported in the figures
   * and the producers-cutover description; the drain makes it 0 unless a producer kept writing.
   */
  async checkConservation(): Promise<void> {
    const { input, pb } = this;
    const report = await pb.step(
      'check-conservation',
      () =>
        quick.replicationLag({
          connect: input.reverse.connect,
          connectors: this.reverse.sources.map((s) => s.name),
          source: input.dr,
          topics: input.topics,
          exact: true,
        }),
      { summarize: (r) => ({ unreplicated: r.total, partitions: r.partitions.length, measuredAt: r.measuredAt }) },
    );
    const gaps = replicationGaps(report);
    const gapRecords = sumRecords(gaps);
    this.rpoRecords = Number(gapRecords);
    pb.setFigures({ conservation: { checkedAt: report.measuredAt, gapRecords: gapRecords.toString(), gaps }, rpoRecords: this.rpoRecords });
    this.gapNote =
      gaps.length === 0
        ? ''
        : `. WARNING: ${gapRecords} record(s) on ${input.dr} are not on ${input.primary} after stop-reverse (a producer still wrote to ${input.dr}?): ${describeGaps(gaps)}`;
  }

  async snapshotPrimary(): Promise<void> {
    const { input, pb } = this;
    await pb.step('snapshot-primary', async (step) => {
      const snap = await quick.snapshotEndOffsets({ cluster: input.primary, topics: input.topics });
      if (snap.missingTopics.length > 0) refuse(`topics missing on ${input.primary} at cutover: ${snap.missingTopics.join(', ')}`);
      step.details({ takenAt: snap.takenAt, offsets: snap.offsets });
      pb.setFigures({ cutover: { cluster: snap.cluster, takenAt: snap.takenAt, offsets: snap.offsets } });
    });
  }

  async removeReverse(): Promise<void> {
    const { input, pb } = this;
    await pb.step('remove-reverse', async (step) => {
      const result = await destructive.removeMirrorFlow({ connect: input.reverse.connect, name: this.plan.name });
      step.details({ connectors: result.connectors, notMirrorMaker: result.notMirrorMaker });
    });
  }

  async setForwardOffsets(): Promise<void> {
    const { input, pb } = this;
    const cutover = pb.figures.cutover!;
    await pb.step('set-forward-offsets', async (step) => {
      const plan = await quick.planForwardResumeOffsets({
        primary: input.primary,
        dr: input.dr,
        policy: input.policy,
        endOffsets: cutover.offsets,
        forward: this.forwardSources,
      });
      const forwardOffsets: FailbackFigures['forwardOffsets'] = [];
      for (const c of plan.connectors) {
        if (c.partitions.length === 0) continue;
        await destructive.alterConnectorOffsets({
          connect: input.forward.connect,
          connector: c.connector,
          offsets: c.partitions.map((p) => ({
            partition: { cluster: input.primary, topic: p.topic, partition: p.partition },
            offset: p.offset,
          })),
        });
        for (const p of c.partitions) {
          forwardOffsets.push({
            connector: c.connector,
            topic: p.topic,
            partition: p.partition,
            offset: p.offset,
            ...(p.skipped !== undefined ? { skipped: p.skipped } : {}),
          });
        }
      }
      step.details({ set: forwardOffsets.length, skippedTopics: plan.skippedTopics });
      pb.setFigures({ forwardOffsets });
    });
  }

  async resumeForward(): Promise<void> {
    const { input, pb } = this;
    await pb.step('resume-forward', async (step) =>
      step.details({ running: await resumeAll(input.forward.connect, input.forward.connectors) }),
    );
  }
}

/** How the translation waited for fresh reverse checkpoints (none while it still waits). */
function translationFigures(f: AppliedOffsetPlan['freshness']): Partial<FailbackFigures> {
  if (!f || f.decision === 'wait') return {};
  return {
    translation: {
      decision: f.decision,
      waitedMs: f.waitedMs,
      stalePartitions: f.stale.length,
      behindTotal: f.behindTotal,
      ...(f.exact !== undefined ? { exactPartitions: f.exact } : {}),
    },
  };
}

/** Resumes every connector, then waits until each is RUNNING (start-reverse, resume-forward); returns them. */
async function resumeAll(connect: string, connectors: readonly string[]): Promise<string[]> {
  for (const connector of connectors) await destructive.resumeConnector({ connect, connector });
  for (const connector of connectors) {
    // The checkpoint connector has no task until a matching group exists.
    await shortWaits.waitForConnectorState({ connect, connector, state: 'RUNNING', allowNoTasks: connector.endsWith('-checkpoint') });
  }
  return [...connectors];
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}
