import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { patched, startChild, workflowInfo, type ChildWorkflowHandle } from '@temporalio/workflow';
import { checkFlowScope, formatRefusal } from '../src/mm2/flow-scope';
import { describePairState } from '../src/model/pair-state';
import type { PlaybookReport } from '../src/model/gates';
import {
  mirrorName,
  RECREATE_GATES,
  RecreateTopicInput,
  type ParsedRecreateTopicInput,
  type RecreateFigures,
  type RecreatePlan,
} from '../src/model/recreate-topic-input';
import { clusterPairKey, cutoverWorkflowId } from '../src/model/workflow-ids';
import { destructive, longWaits, quick, shortWaits } from './activity-options';
import { gateOptions, parseInput, refuse, setupPlaybook, stepsFrom, type GateOptions, type Playbook } from './framework';
import { pairLock, releasePairLockSignal } from './pair-lock';

/** The recreation's steps in runbook order. */
// prettier-ignore
export const RECREATE_STEPS = [
  'check-pair', 'detect', 'check-source', 'plan',
  'lock-pair', 'recheck-pair',
  'stop-connector', 'delete-mirror', 'reset-offsets', 'resume-connector',
  'verify-mirror', 'catch-up', 'reset-groups',
] as const;
export type RecreateStep = (typeof RECREATE_STEPS)[number];
/** What a dry run records as skipped: the steps from stop-connector on. */
export const RECREATE_DRY_RUN_SKIPPED = stepsFrom(RECREATE_STEPS, 'stop-connector');

/**
 * Patch id of the pair guard: check-pair (refuses while the pair is failed over or a cutover
 * runs, and an input that disagrees with the flow) and, once approved, lock-pair (the pair's
 * cutover ID held by a pairLock child until the end) and recheck-pair. Before it,
 * recreate-topic after a planned failover deleted B's live topic and resumed the forward
 * connector the failover had stopped.
 */
export const PAIR_GUARD_PATCH = 'recreate-topic-pair-guard';

/**
 * Re-mirrors a topic that was recreated (or truncated) on the source, as the runbook says:
 *
 * detect (evidence; proceeds on the operator's request even when nothing is detected, and
 * says so) → check-source → gate recreate → stop-connector (STOPPED) → delete-mirror (the
 * target's copy, name from the policy, until gone) → reset-offsets (the topic's MM2 source
 * offsets to null) → resume-connector (RUNNING) → verify-mirror (source's partition count,
 * config drift) → catch-up (lag of the topic to 0) → reset-groups (target groups, to the
 * start of the new mirror, where the input says so) → report.
 * dryRun: detect, check-source and the plan (offsets it would reset, groups, the gate).
 *
 * Compensation: before the mirror is deleted, an abort/failure resumes the connector.
 * Between the delete and the offset reset it is left STOPPED (resuming would copy from the
 * old log's offsets into a fresh mirror): re-run the playbook. After the reset, resuming is
 * safe again and is the undo. Start it with `playbookWorkflowId('recreate-topic', source, target, topic)`.
 */
export async function recreateTopic(raw: unknown): Promise<PlaybookReport<RecreateFigures>> {
  const pb = setupPlaybook<RecreateFigures, RecreateStep>({ playbook: 'recreate-topic', gates: RECREATE_GATES });
  const input = parseInput(RecreateTopicInput, raw);
  pb.begin({ clusterPair: clusterPairKey(input.source, input.target), requestedBy: input.requestedBy });
  const r = new Recreate(pb, input);
  pb.setFigures({ dryRun: input.dryRun, topic: input.topic, remoteTopic: r.remote });

  return pb.run(async () => {
    pb.setPhase('checking');
    const guarded = patched(PAIR_GUARD_PATCH);
    const blockers: string[] = [];
    if (guarded) await r.checkPair('check-pair', blockers);
    await r.detect();
    await r.checkSource(guarded ? blockers : undefined);
    if (input.dryRun) {
      await r.dryRunPlan(blockers);
      return;
    }
    await pb.approval('recreate', r.gateOptions());
    if (guarded) {
      // Held from here to the end: no failover or failback of the pair can start meanwhile.
      // Checked again under the lock: a failover may have completed while the gate waited.
      await r.lockPair();
      await r.checkPair('recheck-pair', []);
    }
    pb.setPhase('recreating');
    await r.stopConnector();
    await r.deleteMirror();
    await r.resetOffsets();
    await r.resumeConnector();
    pb.setPhase('verifying');
    await r.verifyMirror();
    await r.catchUp();
    await r.resetGroups();
    if (guarded) await r.unlockPair();
    pb.setPhase('recreated');
  });
}

const RESUME = 'resume connector';
const UNLOCK = 'release the pair lock';

class Recreate {
  readonly remote: string;
  private sourcePartitions = 0;
  private lock: ChildWorkflowHandle<typeof pairLock> | undefined;
  private readonly ref: { connect: string; connector: string };

  constructor(
    private readonly pb: Playbook<RecreateFigures, RecreateStep>,
    private readonly input: ParsedRecreateTopicInput,
  ) {
    this.remote = mirrorName(input);
    this.ref = { connect: input.connect, connector: input.sourceConnector };
  }

  private get remoteTopic() {
    return { policy: this.input.policy, ...(this.input.separator ? { separator: this.input.separator } : {}) };
  }

  async detect(): Promise<void> {
    const { pb, input } = this;
    await pb.step('detect', async (step) => {
      const report = await quick.detectTopicRecreation({
        connect: input.connect,
        connectors: [input.sourceConnector],
        source: input.source,
        target: input.target,
        topics: [input.topic],
        remoteTopic: this.remoteTopic,
      });
      const t = report.topics.find((x) => x.topic === input.topic);
      const detected = report.recreated.includes(input.topic);
      const evidence = { summary: t?.summary ?? 'no evidence for this topic', findings: (t?.findings ?? []).map((f) => f.message) };
      step.details({ detected, ...evidence, notes: report.notes });
      pb.setFigures({ detected, evidence, proceededWithoutDetection: !detected });
      if (!detected) {
        step.details({
          note: `no recreation of ${input.topic} on ${input.source} detected: proceeding because the operator asked for it (the mirror will still be deleted and re-copied from the start)`,
        });
      }
    });
  }

  /** The source topic must exist: MM2 recreates the mirror from it. With `blockers`, a dry run lists it instead of failing. */
  async checkSource(blockers?: string[]): Promise<void> {
    const { pb, input } = this;
    await pb.step('check-source', async (step) => {
      const d = await quick.describeTopics({ cluster: input.source, topics: [input.topic] });
      const t = d[input.topic];
      if (!t || !t.exists) {
        const why = `topic: ${input.topic} does not exist on ${input.source}: there is nothing to re-mirror (create it first)`;
        if (!blockers || !input.dryRun) refuse(blockers ? why : why.slice('topic: '.length));
        blockers.push(why);
        step.details({ exists: false });
        return;
      }
      this.sourcePartitions = t.partitions;
      step.details({ partitions: t.partitions, replicationFactor: t.replicationFactor });
      pb.setFigures({ sourcePartitions: t.partitions });
    });
  }

  /**
   * Refuses while the pair is mid-cutover (Temporal: a failover/failback running, or a
   * completed failover with no failback since; Connect: the connector STOPPED while the
   * topic exists on the target, which is how a failover leaves it, whereas an earlier
   * recreate-topic stopped half-way has already deleted it), and an input that disagrees
   * with the connector's config (policy, separator, a topic it does not mirror). In a dry
   * run every refusal is a blocker; otherwise one failure lists them all.
   */
  async checkPair(name: 'check-pair' | 'recheck-pair', blockers: string[]): Promise<void> {
    const { pb, input } = this;
    await pb.step(name, async (step) => {
      const [pair, status, mirror, scope] = await Promise.all([
        quick.pairCutoverState({ source: input.source, target: input.target }),
        quick.connectorStatus(this.ref),
        quick.describeTopics({ cluster: input.target, topics: [this.remote] }),
        quick.describeFlow({
          connect: input.connect,
          connectors: [input.sourceConnector],
          sourceConnectors: [input.sourceConnector],
          connectorsField: 'sourceConnector',
        }),
      ]);
      const found: string[] = [];
      const why =
        pair.state === 'unknown'
          ? undefined
          : describePairState(pair, { source: input.source, target: input.target, workflowId: pair.workflowId });
      if (why) found.push(why);
      const mirrorExists = mirror[this.remote]?.exists ?? false;
      if (status.state === 'STOPPED' && mirrorExists) {
        found.push(
          `sourceConnector: ${input.sourceConnector} on ${input.connect} is STOPPED while ${input.target}'s ${this.remote} exists, as a failover leaves the pair ` +
            `(producers may be writing to ${input.target} now): recreating would delete ${this.remote} with every record in it and resume the flow; ` +
            `fail back first (kafka-dr failback), or resume the connector if it was stopped for another reason`,
        );
      }
      found.push(
        ...checkFlowScope(
          {
            source: input.source,
            target: input.target,
            policy: input.policy,
            separator: input.separator,
            topics: [input.topic],
            fields: { topics: 'topic' },
          },
          scope,
        ).map(formatRefusal),
      );
      step.details({
        pair: pair.state,
        connector: status.state,
        mirrorExists,
        policy: scope.policy ?? null,
        separator: scope.separator,
        refusals: found,
      });
      if (found.length > 0 && !input.dryRun) {
        refuse(`recreate-topic ${input.topic} refused, nothing was changed: ${found.join('; ')}`);
      }
      blockers.push(...found);
    });
  }

  /** Takes the pair's cutover ID (a pairLock child) for the rest of the run; refuses while a failover or failback runs. */
  async lockPair(): Promise<void> {
    const { pb, input } = this;
    const workflowId = cutoverWorkflowId(input.source, input.target);
    await pb.step(
      'lock-pair',
      async () => {
        try {
          this.lock = await startChild(pairLock, {
            workflowId,
            args: [{ holder: workflowInfo().workflowId, reason: `recreate-topic ${input.topic}` }],
          });
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) {
            refuse(
              `a failover or failback of ${input.source}~${input.target} is running (${workflowId}): recreate-topic must not run during a cutover; ` +
                'wait until it ends (after a failover, fail back first); nothing was changed',
            );
          }
          throw err;
        }
        // Also released when the run ends otherwise (after the resume: undos run newest first),
        // so a failover can start at once instead of after the parent-close termination.
        pb.onUndo(UNLOCK, () => this.unlockPair());
      },
      { details: { lock: workflowId } },
    );
  }

  /** Releases the pair's cutover ID (a run that ends otherwise releases it by closing: the child is terminated). */
  async unlockPair(): Promise<void> {
    if (!this.lock) return;
    await this.lock.signal(releasePairLockSignal);
    await this.lock.result();
    this.lock = undefined;
  }

  gateOptions(): GateOptions {
    const { input } = this;
    const groups =
      input.groups.length > 0 && input.resetGroupsTo !== 'none'
        ? `, then set groups ${input.groups.join(', ')} on ${input.target} to the start of the new mirror`
        : '';
    return gateOptions(
      `stop connector ${input.sourceConnector} on ${input.connect}, delete ${input.target}'s ${this.remote} (every record in it), reset the MM2 offsets of ${input.topic}, ` +
        `resume ${input.sourceConnector}: MM2 recreates ${this.remote} with ${this.sourcePartitions} partition(s) and copies ${input.topic} from its start${groups}`,
      input.requestedBy,
      input.gate,
    );
  }

  private async topicOffsets() {
    const all = await quick.getConnectorOffsets(this.ref);
    return all
      .filter(
        (o) =>
          o.partition.cluster === this.input.source && o.partition.topic === this.input.topic && typeof o.partition.partition === 'number',
      )
      .map((o) => ({ partition: o.partition.partition as number, offset: o.offset }));
  }

  async dryRunPlan(blockers: string[]): Promise<void> {
    const { pb, input } = this;
    const plan = await pb.step('plan', async (step) => {
      const offsets = await this.topicOffsets();
      const mirror = (await quick.describeTopics({ cluster: input.target, topics: [this.remote] }))[this.remote];
      const result: RecreatePlan = {
        connector: { connect: input.connect, name: input.sourceConnector },
        deleteTopic: {
          cluster: input.target,
          topic: this.remote,
          exists: mirror?.exists ?? false,
          partitions: mirror?.exists ? mirror.partitions : null,
        },
        offsetsToReset: offsets,
        sourcePartitions: this.sourcePartitions,
        groupsToReset: input.resetGroupsTo === 'none' ? [] : [...input.groups],
        gate: { gate: 'recreate', description: this.gateOptions().description },
        blockers,
      };
      step.details({ offsetsToReset: offsets.length, mirrorExists: result.deleteTopic.exists });
      return result;
    });
    for (const step of RECREATE_DRY_RUN_SKIPPED) pb.skip(step, 'dry run');
    pb.setFigures({ plan });
    pb.setPhase('dry-run');
  }

  async stopConnector(): Promise<void> {
    const { pb } = this;
    await pb.step('stop-connector', async () => {
      await destructive.stopConnector(this.ref);
      pb.onUndo(RESUME, () => destructive.resumeConnector(this.ref));
      await shortWaits.waitForConnectorState({ ...this.ref, state: 'STOPPED' });
    });
  }

  async deleteMirror(): Promise<void> {
    const { pb, input } = this;
    await pb.step('delete-mirror', async (step) => {
      // From here until the offsets are reset, resuming would copy from the old log's offsets.
      // Inside the step: an abort that arrived before it still resumes the connector.
      pb.leaveAsIs(
        RESUME,
        `${input.sourceConnector} stays STOPPED: the mirror delete started and the MM2 offsets of ${input.topic} are not reset yet, so resuming would copy from the old log's offsets; re-run recreate-topic`,
      );
      const r = await destructive.deleteTopic({
        cluster: input.target,
        topic: this.remote,
        sourceAlias: input.source,
        policy: { type: input.policy, ...(input.separator ? { separator: input.separator } : {}) },
        timeoutSeconds: input.waitSeconds,
      });
      step.details({ topic: r.topic, action: r.action, goneAfterMs: r.goneAfterMs });
      pb.setFigures({ deletedMirror: r.action });
    });
  }

  async resetOffsets(): Promise<void> {
    const { pb, input } = this;
    await pb.step('reset-offsets', async (step) => {
      const offsets = await this.topicOffsets();
      if (offsets.length === 0) {
        step.details({
          reset: 0,
          note: `${input.sourceConnector} has no committed offsets for ${input.topic}: MM2 copies it from the start anyway`,
        });
      } else {
        await destructive.alterConnectorOffsets({
          ...this.ref,
          offsets: offsets.map((o) => ({ partition: { cluster: input.source, topic: input.topic, partition: o.partition }, offset: null })),
        });
        step.details({ reset: offsets.length, was: offsets });
      }
      pb.setFigures({ offsetsReset: offsets.length });
      // Offsets reset: resuming now copies the new log from its start, which is what we want.
      pb.onUndo(RESUME, () => destructive.resumeConnector(this.ref));
    });
  }

  async resumeConnector(): Promise<void> {
    const { pb } = this;
    await pb.step('resume-connector', async () => {
      await destructive.resumeConnector(this.ref);
      await shortWaits.waitForConnectorState({ ...this.ref, state: 'RUNNING' });
    });
  }

  /** The mirror must come back with the source's partition count; config drift is reported. */
  async verifyMirror(): Promise<void> {
    const { pb, input } = this;
    await pb.step(
      'verify-mirror',
      async (step) => {
        const t = await shortWaits.waitForTopic({
          cluster: input.target,
          topic: this.remote,
          partitions: this.sourcePartitions,
          timeoutSeconds: input.waitSeconds,
        });
        const drift = await quick.auditTopicDrift({
          source: input.source,
          target: input.target,
          topics: [input.topic],
          remoteTopic: this.remoteTopic,
        });
        const driftFindings = drift.findings.map((f) => ({ setting: f.setting, source: f.source, target: f.target, severity: f.severity }));
        step.details({ partitions: t.partitions, waitedMs: t.waitedMs, drift: driftFindings });
        pb.setFigures({ mirrorPartitions: t.partitions, driftFindings });
        const partitionDrift = drift.findings.find((f) => f.setting === 'partitions' || f.setting === 'topic');
        if (partitionDrift) refuse(`mirror ${this.remote} does not match ${input.topic}: ${partitionDrift.note}`);
      },
      { abortable: true },
    );
  }

  async catchUp(): Promise<void> {
    const { pb, input } = this;
    const started = Date.now();
    await pb.step(
      'catch-up',
      () =>
        longWaits.waitForDrain({
          connect: input.connect,
          connectors: [input.sourceConnector],
          source: input.source,
          topics: [input.topic],
          consecutiveZeroPolls: 2,
        }),
      { abortable: true, summarize: (r) => ({ polls: r.polls, total: r.total, partitions: r.report.partitions.length }) },
    );
    pb.setFigures({ catchUpMs: Date.now() - started });
  }

  async resetGroups(): Promise<void> {
    const { pb, input } = this;
    if (input.groups.length === 0 || input.resetGroupsTo === 'none') {
      pb.skip('reset-groups', input.groups.length === 0 ? 'no groups named in the input' : "resetGroupsTo is 'none'");
      return;
    }
    await pb.step('reset-groups', async (step) => {
      const groupsReset: RecreateFigures['groupsReset'] = [];
      for (const group of input.groups) {
        const r = await destructive.resetConsumerGroup({ cluster: input.target, group, topic: this.remote, to: 'earliest' });
        groupsReset.push({ group, ...(r.skipped ? { skipped: r.skipped } : {}), offsets: r.offsets });
        step.details({ groupsReset: [...groupsReset] });
      }
      pb.setFigures({ groupsReset });
    });
    pb.leaveAsIs(
      'consumer group offsets on target',
      'set to the start of the recreated mirror: the old offsets pointed into the deleted log',
    );
  }
}
