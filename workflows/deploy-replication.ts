import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import {
  DEPLOY_GATES,
  DeployReplicationInput,
  type DeployConnectorFigure,
  type DeployFigures,
  type ParsedDeployReplicationInput,
} from '../src/model/deploy-input';
import type { PlaybookReport } from '../src/model/gates';
import { clusterPairKey } from '../src/model/workflow-ids';
import { destructive, quick, shortWaits } from './activity-options';
import { gateOptions, nowIso, parseInput, setupPlaybook, stepsFrom, type Playbook } from './framework';

/** The deploy's steps in runbook order. */
export const DEPLOY_STEPS = ['plan', 'deploy', 'wait-running', 'heartbeats'] as const;
export type DeployStep = (typeof DEPLOY_STEPS)[number];
/** What a dry run records as skipped: every step after the plan. */
export const DEPLOY_DRY_RUN_SKIPPED = stepsFrom(DEPLOY_STEPS, 'deploy');

/** Failure type of a deploy refused by the loop guard (nothing written). */
export const REPLICATION_LOOP = 'ReplicationLoop';

/**
 * Deploys an MM2 flow from a replication plan, as the runbook says:
 *
 * plan (read-only: connectors to create/update, loop guard) → [gate deploy, when asked]
 * → deploy (PUT the connectors on the target-side Connect, and the flow's heartbeat
 * emitter on the source-side Connect: it writes `heartbeats` into the source, which the
 * flow replicates, so the replicated heartbeat's age measures this flow) → wait-running (every
 * connector RUNNING; the checkpoint connector may have no task yet) → heartbeats (a
 * heartbeat of the flow arrives on the target) → report.
 * dryRun: the plan step only; changes nothing.
 *
 * Changes: creates/updates the flow's connectors. On a failure or abort after the deploy
 * it deletes the connectors THIS run created (never ones that existed before; updated
 * configs are left, and the report says so). Safe to re-run: the deploy is
 * create-or-update. Start it with `playbookWorkflowId('deploy-replication', source, target)`.
 */
export async function deployReplication(raw: unknown): Promise<PlaybookReport<DeployFigures>> {
  const pb = setupPlaybook<DeployFigures, DeployStep>({ playbook: 'deploy-replication', gates: DEPLOY_GATES });
  const input = parseInput(DeployReplicationInput, raw);
  pb.begin({ clusterPair: clusterPairKey(input.plan.source, input.plan.target), requestedBy: input.requestedBy });
  pb.setFigures({ dryRun: input.dryRun, flow: input.plan.name, connect: input.plan.connect });
  const d = new Deploy(pb, input);

  return pb.run(async () => {
    pb.setPhase('planning');
    const planned = await d.plan();
    if (input.dryRun) {
      for (const step of DEPLOY_DRY_RUN_SKIPPED) pb.skip(step, 'dry run');
      pb.setPhase('dry-run');
      return;
    }
    if (!planned.loopGuard.ok) {
      throw ApplicationFailure.create({ type: REPLICATION_LOOP, message: planned.loopGuard.message!, nonRetryable: true });
    }
    if (input.gate) {
      const toWrite = planned.connectors.filter((c) => c.action !== 'unchanged');
      await pb.approval(
        'deploy',
        gateOptions(
          `deploy flow ${input.plan.name} ${input.plan.source}→${input.plan.target} on ${input.plan.connect}: ` +
            (toWrite.length > 0 ? toWrite.map((c) => `${c.action} ${c.name}`).join(', ') : 'nothing to change (all connectors unchanged)'),
          input.requestedBy,
          input.gate,
        ),
      );
    }
    pb.setPhase('deploying');
    const since = nowIso();
    await d.deploy(planned.connectors);
    pb.setPhase('starting');
    await d.waitRunning();
    await d.heartbeats(since);
    pb.setPhase('deployed');
  });
}

const undoName = (connector: string) => `delete connector ${connector}`;

class Deploy {
  private connectors: DeployConnectorFigure[] = [];

  constructor(
    private readonly pb: Playbook<DeployFigures, DeployStep>,
    private readonly input: ParsedDeployReplicationInput,
  ) {}

  /** Read-only: what a deploy would do and the loop guard's verdict. */
  async plan() {
    const { pb, input } = this;
    return pb.step('plan', async (step) => {
      const p = await quick.planMirrorFlow({ plan: input.plan, heartbeatEmitter: true });
      const loopGuard = p.loopGuard.ok
        ? { ok: true, checkedConnectors: p.loopGuard.checkedConnectors }
        : { ok: false, kind: p.loopGuard.kind, message: p.loopGuard.message };
      step.details({
        connectors: p.connectors.map((c) => `${c.action} ${c.name}${c.connect ? ` on ${c.connect}` : ''}`),
        stale: p.stale,
        loopGuard,
        ...(p.emitterSkipped ? { emitterSkipped: p.emitterSkipped } : {}),
      });
      pb.setFigures({
        connectors: p.connectors,
        ...(p.emitterSkipped ? { emitterSkipped: p.emitterSkipped } : {}),
        stale: p.stale,
        loopGuard,
        blockers: p.loopGuard.ok ? [] : [p.loopGuard.message],
      });
      return { connectors: p.connectors, loopGuard: { ok: p.loopGuard.ok, message: p.loopGuard.ok ? undefined : p.loopGuard.message } };
    });
  }

  /**
   * PUTs the connectors. Each one this run created gets a delete undo. If the activity
   * itself fails midway, the connectors the plan said were absent get one (this run is
   * the only writer of the flow's names under its workflow ID; a delete of an absent
   * connector is a no-op).
   */
  async deploy(planned: Array<{ name: string; action: string; connect?: string }>): Promise<void> {
    const { pb, input } = this;
    const connect = input.plan.connect;
    await pb.step('deploy', async (step) => {
      let result;
      try {
        result = await destructive.deployMirrorFlow({ plan: input.plan, heartbeatEmitter: true });
      } catch (err) {
        const loop = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === REPLICATION_LOOP;
        if (!loop) {
          for (const c of planned.filter((p) => p.action === 'create')) {
            pb.onUndo(undoName(c.name), () => destructive.deleteConnector({ connect: c.connect ?? connect, connector: c.name }));
          }
        }
        throw err;
      }
      for (const c of result.connectors.filter((x) => x.action === 'created')) {
        // The heartbeat emitter is on the source side's Connect cluster.
        pb.onUndo(undoName(c.name), () => destructive.deleteConnector({ connect: c.connect ?? connect, connector: c.name }));
      }
      const updated = result.connectors.filter((c) => c.action === 'updated').map((c) => c.name);
      if (updated.length > 0) {
        pb.leaveAsIs(
          'updated connector configs',
          `${updated.join(', ')} existed before this run; their previous configs are not kept, so they stay as deployed`,
        );
      }
      this.connectors = result.connectors;
      const names = (a: string) => result.connectors.filter((c) => c.action === a).map((c) => c.name);
      step.details({ created: names('created'), updated, unchanged: names('unchanged'), stale: result.stale });
      pb.setFigures({
        connectors: result.connectors,
        created: names('created'),
        updated,
        unchanged: names('unchanged'),
        stale: result.stale,
      });
    });
  }

  async waitRunning(): Promise<void> {
    const { pb, input } = this;
    await pb.step(
      'wait-running',
      async (step) => {
        const running: string[] = [];
        for (const c of this.connectors) {
          // The checkpoint connector has zero tasks until a group of the allowlist exists.
          await shortWaits.waitForConnectorState({
            connect: c.connect ?? input.plan.connect,
            connector: c.name,
            state: 'RUNNING',
            ...(c.kind === 'checkpoint' ? { allowNoTasks: true } : {}),
          });
          running.push(c.name);
          step.details({ running: [...running] });
        }
      },
      { abortable: true },
    );
  }

  async heartbeats(since: string): Promise<void> {
    const { pb, input } = this;
    await pb.step(
      'heartbeats',
      async (step) => {
        const proof = await shortWaits.waitForHeartbeats({
          target: input.plan.target,
          sourceAlias: input.plan.source,
          since,
          timeoutSeconds: input.waitSeconds,
        });
        const heartbeat = {
          lastHeartbeatAt: proof.lastHeartbeatAt,
          ageMs: proof.ageMs,
          waitedMs: proof.waitedMs,
          remoteAgeMs: proof.remoteAgeMs,
        };
        step.details(heartbeat);
        pb.setFigures({ heartbeat });
      },
      { abortable: true },
    );
  }
}
