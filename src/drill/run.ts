import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { z } from 'zod';
import { createDeps } from '../../activities/deps';
import { createWorker } from '../../workers/main';
import type { ConnectClient } from '../connect/client';
import { connectClientFor } from '../../activities/deps';
import { heartbeatEmitterName } from '../mm2/connector-configs';
import type { FailoverSnapshot } from '../model/failover-input';
import { CompressionSchema } from '../model/replication-plan';
import { cutoverWorkflowId, playbookWorkflowId } from '../model/workflow-ids';
import { loadStackConfig, TOPOLOGIES, type StackConfig } from '../stack/config';
import { isUp, killCluster, up } from '../stack/stack';
import { DrillKafka, groupBehind, readAllSeqs, readSeqPositions, SyntheticConsumer, SyntheticProducer } from './clients';
import { countDelivery, missingFrom } from './delivery';
import { deployInput, DRILL_APPROVER, drillNames, failbackInput, failoverInput, forwardConnectors, type DrillNames } from './inputs';
import { consumerSet, drainLagging, drillGroups, extraGroupNames, extraGroupsReport, letLag, parkPartial } from './extra-groups';
import { drillMarkdown } from './markdown';
import { PhaseClock, playbookPhases } from './phases';
import { drivePlaybook, PlaybookFailedError, type DriveOptions, type DriveResult } from './playbook-driver';
import { drillRegistry } from './registry';
import type { DrillPlaybookRun, DrillReport, DrillResult, DrillSwitchRecord } from './report-types';
import { Switchboard } from './switchboard';
import { Chaos } from './chaos';
import { UnplannedChaos, type UnplannedChaosReport } from './unplanned-chaos';
import { createLagActivities } from '../../activities/lag';
import { EVERY_KEY } from '../model/gates';
import { UNPLACED_GATE } from '../model/unplaced';
import { timelineSvg } from './timeline-svg';

export type { DrillPhase, DrillReport, DrillResult, DrillSwitchRecord, DrillPlaybookRun } from './report-types';

/**
 * The DR drill (issue 5): the README's main job. On the local stack it creates topics,
 * runs a sequence-numbered producer and a consumer group, deploys MM2 A→B, fails over
 * and back with scripted approvals (the clients switched at the gates), and counts
 * every record: produced, consumed, lost, duplicates.
 */
export const DrillOptionsSchema = z.strictObject({
  /** planned: failover + failback with 0 lost; unplanned: broker A stopped mid-stream. */
  mode: z.enum(['planned', 'unplanned']).default('planned'),
  /** Where reports/drill-<timestamp>.{json,md,svg} are written (relative to the cwd). */
  reportsDir: z.string().min(1).default('reports'),
  /** Seconds the producer writes to B between failover and failback. */
  drPeriodSeconds: z.number().min(1).max(3_600).default(15),
  /** Unplanned: records written to A in one burst right before it is killed. */
  burstRecords: z.number().int().min(0).max(1_000_000).default(5_000),
  /** Keep the drill's topics, groups and connectors for inspection (default: removed at the end). */
  keep: z.boolean().default(false),
  /**
   * MM2's producer compression for both flows (default: the profile's, none): the mirrored
   * topics and the replicated heartbeats the playbooks read are written in it.
   */
  codec: CompressionSchema.optional(),
  /** The secure stack (KDR_SECURE): TLS with SCRAM on A, mTLS on B, Connect over HTTPS with basic auth. */
  secure: z.boolean().default(false),
  /** The stack's topology (KDR_TOPOLOGY; unset: what the stack dir was brought up as, else single). */
  topology: z.enum(TOPOLOGIES).optional(),
  /**
   * Planned: MM2 lagging with transactions, and a straggler producer during the DR period
   * (src/drill/chaos.ts). Unplanned: an unplanned tail with MM2 lagging and transactions, A
   * killed, back, and the failback that replays the tail (src/drill/unplanned-chaos.ts).
   */
  chaos: z.boolean().default(false),
});
export type DrillOptions = z.input<typeof DrillOptionsSchema>;

/**
 * Faults a test injects into a drill (test/ha): not on the CLI. Each runs at one point of
 * the drill; a failure in an awaited one fails the drill like any other step.
 */
export interface DrillInjections {
  /** Told after each client switch at a playbook gate (not awaited: the playbook goes on meanwhile). */
  onSwitch?: (record: DrillSwitchRecord) => void;
  /** Runs beside the DR period's wait; the period lasts until both end. */
  duringDrPeriod?: (ctx: { config: StackConfig; kafka: DrillKafka; names: DrillNames }) => Promise<void>;
  /**
   * Awaited before the drill starts the failback, with a function that runs that same
   * failback (same workflow ID and input) once, ahead of the drill's own run.
   */
  beforeFailback?: (
    tryFailback: () => Promise<DriveResult>,
    ctx: { config: StackConfig; kafka: DrillKafka; names: DrillNames },
  ) => Promise<void>;
}

// Compiled to dist/src/drill: the repo root is three levels up.
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function drillId(now: Date): string {
  return `${now.getTime().toString(36)}-${randomBytes(2).toString('hex')}`;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 1_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${last ? `: ${message(last)}` : ''}`);
    await sleep(intervalMs);
  }
}

/** Every partition of `alias` with its full replica set in sync (the failback's check-primary asks as much). */
async function allInSync(kafka: DrillKafka, alias: string): Promise<boolean> {
  return kafka.withAdmin(alias, async (admin) => {
    const { topics } = await admin.fetchTopicMetadata();
    return topics.every((t) => t.partitions.every((p) => p.leader >= 0 && p.isr.length === p.replicas.length));
  });
}

function playbookRun(r: DriveResult): DrillPlaybookRun {
  return {
    workflowId: r.report.workflowId,
    runId: r.runId,
    outcome: r.report.outcome,
    durationMs: r.report.durationMs,
    figures: r.report.figures,
  };
}

/** Everything the drill holds while it runs, so the cleanup can undo it whatever failed. */
interface Session {
  config: StackConfig;
  names: DrillNames;
  kafka?: DrillKafka;
  producer?: SyntheticProducer;
  consumer?: SyntheticConsumer;
  /** The group stopped a few seconds before each playbook (src/drill/extra-groups.ts). */
  lagging?: SyntheticConsumer;
  switchboard?: Switchboard;
  worker?: Worker;
  workerRun?: Promise<void>;
  connection?: Connection;
  client?: Client;
  brokerAStopped: boolean;
  /** Workflow IDs the drill started. */
  started: string[];
  connect?: { a: ConnectClient; b: ConnectClient };
}

/** Runs the drill; progress lines go to `log` (stderr in the CLI), the result is returned. */
export async function runDrill(
  options: DrillOptions,
  log: (line: string) => void = () => undefined,
  inject: DrillInjections = {},
): Promise<DrillResult> {
  const opts = DrillOptionsSchema.parse(options);
  const startedAt = new Date();
  const names = drillNames(drillId(startedAt));
  const clock = new PhaseClock(log);
  const config = loadStackConfig(
    { ...process.env, ...(opts.secure ? { KDR_SECURE: '1' } : {}), ...(opts.topology ? { KDR_TOPOLOGY: opts.topology } : {}) },
    REPO_ROOT,
  );
  const s: Session = { config, names, brokerAStopped: false, started: [] };
  const playbooks: Record<string, DrillPlaybookRun> = {};
  const extra: Partial<DrillReport> = {};
  let error: string | undefined;
  let ackedOnABeforeFailover: number[] = [];
  let seqsOnB: number[] | null = null;
  let chaos: Chaos | undefined;
  let uchaos: UnplannedChaos | undefined;
  let partialOnA: Record<string, string> | undefined;
  const laggingBehind: Record<string, number> = {};

  const drive = async (parent: string, run: () => Promise<DriveResult>): Promise<DriveResult> => {
    try {
      s.started.push(parent === 'deploy' ? playbookWorkflowId('deploy-replication', 'A', 'B', names.flow) : cutoverWorkflowId('A', 'B'));
      const r = await clock.phase(parent, run);
      clock.addChildren(parent, playbookPhases(parent, r.status ?? r.report));
      return r;
    } catch (err) {
      if (err instanceof PlaybookFailedError && err.report) {
        playbooks[parent] = {
          workflowId: err.workflowId,
          runId: '',
          outcome: err.report.outcome,
          durationMs: err.report.durationMs,
          figures: err.report.figures,
        };
      }
      throw err;
    }
  };

  log(
    `drill ${names.id} (${opts.mode}${opts.chaos ? ', chaos' : ''}${opts.codec ? `, MM2 writes ${opts.codec}` : ''}); topics ${names.topics.map((t) => t.name).join(', ')}, group ${names.group}`,
  );
  try {
    await clock.phase('stack', async () => {
      if (await isUp(config)) {
        extra.stackReused = true;
        return;
      }
      extra.stackReused = false;
      await up(config, log);
    });

    const registry = drillRegistry(config);
    const kafka = (s.kafka = new DrillKafka(registry));
    const producer = (s.producer = new SyntheticProducer(kafka, names.topics));
    const consumer = (s.consumer = new SyntheticConsumer(kafka, names.group, names.topics));
    const lagging = (s.lagging = new SyntheticConsumer(kafka, extraGroupNames(names).lagging, names.topics));
    const switchboard = (s.switchboard = new Switchboard({ producer, consumer: consumerSet([consumer, lagging]) }, log, inject.onSwitch));
    s.connect = { a: connectClientFor(registry.connect('connect-a')), b: connectClientFor(registry.connect('connect-b')) };
    const taskQueue = `kafka-dr-drill-${names.id}`;

    await clock.phase('worker', async () => {
      try {
        // ERROR: an activity attempt that fails and is retried (Connect rebalancing, the
        // killed broker in the unplanned drill) is routine here; what matters reaches the
        // playbook reports and the drill's own lines.
        Runtime.install({ logger: new DefaultLogger('ERROR') });
      } catch {
        // Already installed by the embedding process (a test harness): keep its logger.
      }
      const identity = `kafka-dr-drill@${names.id}`;
      const { worker } = await createWorker({
        registry,
        address: config.temporal.address,
        namespace: config.temporal.namespace,
        taskQueue,
        identity,
        deps: createDeps(registry, identity, { drillSwitch: switchboard.hook }),
      });
      s.worker = worker;
      s.workerRun = worker.run();
      s.connection = await Connection.connect({ address: config.temporal.address });
      s.client = new Client({ connection: s.connection, namespace: config.temporal.namespace });
    });
    const client = s.client!;
    /** A run of one playbook of the drill, its gates approved as the drill (with `choices` where a gate asks). */
    const playbook =
      (workflowType: DriveOptions['workflowType'], workflowId: string, input: unknown, choices?: DriveOptions['choices']) => () =>
        drivePlaybook({ client, taskQueue, workflowType, workflowId, input, approver: DRILL_APPROVER, choices, log });
    /** Stops the traffic: the producer, then the group once it has read everything on `cluster`. */
    const stopTraffic = async (cluster: 'A' | 'B') => {
      await producer.stop();
      await until(
        `the group caught up on ${cluster}`,
        async () => (await groupBehind(kafka, cluster, names.group, names.topics)).length === 0,
        180_000,
      );
      await consumer.stop();
    };

    await clock.phase('topics', () =>
      kafka.withAdmin('A', async (admin) => {
        await admin.createTopics({
          waitForLeaders: true,
          topics: names.topics.map((t) => ({
            topic: t.name,
            numPartitions: t.partitions,
            replicationFactor: config.replicationFactor,
            configEntries: t.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
          })),
        });
      }),
    );
    // waitForLeaders asked one broker; a producer asking another first could still be told the topic is unknown.
    await until('every broker of A serving the drill topics', () => kafka.everyBrokerKnows('A', names.topics), 30_000, 250);

    await clock.phase('traffic on A', async () => {
      await producer.start('A');
      await consumer.start('A');
      await lagging.start('A');
      await until('the group consuming on A', async () => consumer.consumed.length > 0, 60_000, 250);
    });

    const deployed = await drive(
      'deploy',
      playbook(
        'deployReplication',
        playbookWorkflowId('deploy-replication', 'A', 'B', names.flow),
        deployInput(names, opts.codec, config.replicationFactor),
      ),
    );
    playbooks.deploy = playbookRun(deployed);

    await clock.phase('replicating', async () => {
      // Every topic mirrored and the group checkpointed once, so the failover has
      // something to translate: what a flow in production looks like.
      await until(
        'the drill topics mirrored to B',
        async () =>
          kafka.withAdmin('B', async (admin) => {
            const existing = new Set(await admin.listTopics());
            if (!names.topics.every((t) => existing.has(t.name))) return false;
            for (const t of names.topics) {
              const ends = await admin.fetchTopicOffsets(t.name);
              if (!ends.every((e) => BigInt(e.high) > 0n)) return false;
            }
            return true;
          }),
        180_000,
      );
      await sleep(5_000);
    });

    if (opts.chaos && opts.mode === 'planned') {
      chaos = new Chaos(kafka, names.topics, s.connect.b, `${names.flow}-source-drill`, log, names.id);
      await clock.phase('chaos: MM2 lagging', () => chaos!.lagAndTransactions(producer));
    }

    if (opts.mode === 'planned') {
      partialOnA = await parkPartial(kafka, names);
      laggingBehind['failover'] = await letLag(kafka, lagging, log);
      const failover = await drive('failover', playbook('failover', cutoverWorkflowId('A', 'B'), failoverInput(names, 'planned')));
      playbooks.failover = playbookRun(failover);
      ackedOnABeforeFailover = [...producer.acked].filter(([, c]) => c === 'A').map(([seq]) => seq);

      await clock.phase('DR period on B', async () => {
        // Chaos: a producer nobody stopped keeps writing to A meanwhile; a test may inject faults.
        await Promise.all([
          sleep(opts.drPeriodSeconds * 1_000),
          chaos?.straggle(opts.drPeriodSeconds * 1_000),
          inject.duringDrPeriod?.({ config, kafka, names }),
        ]);
      });

      const snapshot = (failover.report.figures as { snapshots: { target: FailoverSnapshot } }).snapshots.target;
      laggingBehind['failback'] = await letLag(kafka, lagging, log);
      const runFailback = playbook(
        'failback',
        cutoverWorkflowId('A', 'B'),
        failbackInput(names, snapshot, opts.codec, config.replicationFactor),
      );
      if (inject.beforeFailback) await clock.phase('before failback', () => inject.beforeFailback!(runFailback, { config, kafka, names }));
      const failback = await drive('failback', runFailback);
      playbooks.failback = playbookRun(failback);
      extra.failback = 'done: producers and the group are back on A, the forward flow resumed';

      await clock.phase('back on A', async () => {
        await sleep(5_000);
      });
      await clock.phase('verification', async () => {
        await stopTraffic('A');
        await drainLagging(kafka, lagging, 'A');
        seqsOnB = await readAllSeqs(kafka, 'B', names.topics);
        if (chaos) {
          extra.chaos = chaos.account({
            seqsOnB,
            consumed: consumer.consumed.map((c) => c.seq),
            failover: playbooks.failover?.figures,
            failback: playbooks.failback?.figures,
          });
        }
      });
    } else {
      await clock.phase(config.topology === 'ha' ? 'cluster A down' : 'broker A down', async () => {
        if (opts.chaos) {
          // MM2 stalled behind transactions and a burst; the writers stop for the last lag
          // measurement, so the last known end offsets are A's at the kill.
          const fwd = forwardConnectors(names);
          const lag = createLagActivities(createDeps(registry, `kafka-dr-drill@${names.id}-lag-monitor`));
          uchaos = new UnplannedChaos(
            kafka,
            names.topics,
            s.connect!.b,
            fwd.sourceConnectors[0]!,
            () =>
              lag.replicationLag({
                connect: fwd.connect,
                connectors: fwd.sourceConnectors,
                source: 'A',
                topics: names.topics.map((t) => t.name),
              }),
            log,
            names.id,
          );
          await uchaos.lagThenQuiet(producer, opts.burstRecords);
          extra.burstRecords = uchaos.lagBurst;
        } else {
          // A peak right before the crash: at the steady 40 records/s MM2 trails A by
          // milliseconds and a crash loses nothing; a burst is when a crash costs data.
          extra.burstRecords = await producer.burst(opts.burstRecords);
        }
        // No grace: SIGKILL right behind the SIGTERM, a crash rather than a controlled
        // shutdown, so MM2 gets no last chance to copy what A had just acknowledged.
        // HA: every node of A at once, the whole cluster lost rather than one broker.
        // HA: brokers and dedicated controllers alike.
        const stopped = await killCluster(config, 'A');
        s.brokerAStopped = true;
        for (const k of stopped) log(`${k.component} ${k.result}`);
        await sleep(2_000);
      });
      ackedOnABeforeFailover = [...producer.acked].filter(([, c]) => c === 'A').map(([seq]) => seq);
      // MM2 is paused and A is gone: B holds now what it will hold of A's records.
      if (uchaos) {
        const tail = uchaos;
        await clock.phase('chaos: the tail', async () =>
          tail.recordTail(kafka, ackedOnABeforeFailover, await readAllSeqs(kafka, 'B', names.topics)),
        );
      }
      const failover = await drive('failover', playbook('failover', cutoverWorkflowId('A', 'B'), failoverInput(names, 'unplanned')));
      playbooks.failover = playbookRun(failover);
      extra.rpoEstimate = (failover.report.figures as { rpoEstimate?: DrillReport['rpoEstimate'] }).rpoEstimate ?? null;
      const last = extra.rpoEstimate?.lastHeartbeatAt;
      if (!last || Date.parse(last) < startedAt.getTime()) {
        // The estimate reads heartbeats replicated from A; under Identity with no flow
        // into A nothing writes them, so it can only find an older flow's, or none.
        extra.rpoEstimateNote = `no heartbeat replicated from A during this drill reached B (newest: ${last ?? 'none'}): the estimate does not describe this drill`;
      }

      await clock.phase('DR period on B', async () => {
        await sleep(opts.drPeriodSeconds * 1_000);
      });
      await clock.phase('A back', async () => {
        await up(config, log);
        s.brokerAStopped = false;
        // The failback's check-primary refuses under-replicated partitions: wait for the ISRs.
        if (uchaos) {
          await until('every partition of A in sync', () => allInSync(kafka, 'A'), 180_000);
          // The failback refuses a group with members on A: the drill's clients there died with A.
          await until(
            'no member of the drill groups on A',
            () =>
              kafka.withAdmin('A', async (admin) =>
                (await admin.describeGroups(drillGroups(names))).groups.every((g) => g.members.length === 0),
              ),
            60_000,
          );
        }
      });
      if (uchaos) {
        const tail = uchaos;
        const snapshot = (failover.report.figures as { snapshots: { target: FailoverSnapshot } }).snapshots.target;
        // A group-partition the translation could not place asks a choice: the one that loses nothing.
        const failback = await drive(
          'failback',
          playbook('failback', cutoverWorkflowId('A', 'B'), failbackInput(names, snapshot, opts.codec, config.replicationFactor), {
            [UNPLACED_GATE]: { [EVERY_KEY]: 'earliest' },
          }),
        );
        playbooks.failback = playbookRun(failback);
        extra.failback =
          'done: the tail found divergent on A and replayed; producers and the group are back on A, the forward flow resumed';
        await clock.phase('back on A', () => sleep(5_000));
        await clock.phase('verification', async () => {
          await stopTraffic('A');
          // Bounded: a replay written at A's end reaches B through the forward flow.
          const { seqsOnB: onB, waitedMs } = await tail.awaitTailOnB(() => readAllSeqs(kafka, 'B', names.topics), 60_000);
          seqsOnB = onB;
          extra.chaos = tail.account({
            seqsOnB: onB,
            onA: await readSeqPositions(kafka, 'A', names.topics),
            consumed: consumer.consumed.map((c) => c.seq),
            failover: playbooks.failover?.figures,
            failback: playbooks.failback?.figures,
            waitedForBMs: waitedMs,
          });
        });
      } else {
        extra.failback =
          'not run: A holds records B never got (the RPO); failing back over them needs a decision on those records first, ' +
          'so the drill stops at the failover and reports them (recoverableOnA)';
        await clock.phase('verification', async () => {
          await stopTraffic('B');
          seqsOnB = await readAllSeqs(kafka, 'B', names.topics);
          const lostWithA = missingFrom(ackedOnABeforeFailover, seqsOnB);
          const onA = new Set(await readAllSeqs(kafka, 'A', names.topics));
          extra.recoverableOnA = lostWithA.filter((seq) => onA.has(seq)).length;
        });
      }
    }
  } catch (err) {
    error = message(err);
    log(`drill failed: ${error}`);
  } finally {
    await clock.phase('cleanup', () => cleanup(s, opts.keep, log));
  }

  const endedAt = new Date();
  const stragglers = new Set(chaos?.stragglers ?? []);
  // Chaos: committed transactional records must be processed like the producer's; stragglers are accounted apart.
  const produced = [...(s.producer?.acked.keys() ?? []), ...(chaos?.txnCommitted ?? []), ...(uchaos?.txn.txnCommitted ?? [])];
  const consumed = (s.consumer?.consumed ?? []).map((c) => c.seq);
  const delivery = countDelivery(
    produced,
    consumed.filter((seq) => !stragglers.has(seq)),
  );
  const chaosReport = chaos ? (extra.chaos as import('./chaos').ChaosReport | undefined) : undefined;
  const uchaosReport = uchaos ? (extra.chaos as UnplannedChaosReport | undefined) : undefined;
  if ((chaos || uchaos) && !extra.chaos && !error) error = 'the chaos drill ended before its accounting';
  let lost = delivery.lost;
  let lostSample = delivery.lostSample;
  if (chaosReport) lost += chaosReport.unaccounted + chaosReport.transactions.abortedSeen;
  if (uchaosReport) {
    // The unplanned tail is accounted by the failback (found divergent, replayed, on both
    // clusters), not by the group: on A it lies below the group's translated position.
    const tail = new Set(uchaos!.tail);
    const groupLost = missingFrom(
      produced.filter((seq) => !tail.has(seq)),
      consumed,
    );
    lost = groupLost.length + uchaosReport.unaccounted + uchaosReport.transactions.abortedSeen;
    lostSample = [...groupLost, ...uchaosReport.unaccountedSample].slice(0, 20);
  }
  const rpo = uchaos ? uchaos.tail : seqsOnB !== null ? missingFrom(ackedOnABeforeFailover, seqsOnB) : null;
  const mustLoseNothing = opts.mode === 'planned' || uchaos !== undefined;
  if (mustLoseNothing && lost > 0 && !error)
    error = `the ${opts.mode} drill lost ${lost} records no playbook accounted for (first: ${lostSample.join(', ')})`;
  const extraGroups =
    partialOnA && s.lagging && s.producer
      ? extraGroupsReport({
          names,
          acked: s.producer.acked.keys(),
          lagging: s.lagging,
          behind: laggingBehind,
          committedOnA: partialOnA,
          playbooks,
        })
      : undefined;
  if (extraGroups && extraGroups.lagging.lost > 0 && !error)
    error = `the planned drill's lagging group lost ${extraGroups.lagging.lost} records (first: ${extraGroups.lagging.lostSample.join(', ')})`;
  const report: DrillReport = {
    mode: opts.mode,
    topology: config.topology,
    ...(opts.codec ? { codec: opts.codec } : {}),
    drillId: names.id,
    startedAt: startedAt.toISOString(),
    endedAt: endedAt.toISOString(),
    durationMs: endedAt.getTime() - startedAt.getTime(),
    outcome: error ? 'failed' : 'passed',
    ...(error ? { error } : {}),
    produced: delivery.produced,
    consumed: delivery.consumed,
    lost,
    duplicates: delivery.duplicates,
    rpoRecords: rpo === null ? null : rpo.length,
    phases: clock.phases,
    producedOn: s.producer?.stats().ackedOn ?? {},
    consumedOn: s.consumer?.consumedOn() ?? {},
    lostSample,
    unacknowledgedSeen: delivery.unacknowledgedSeen,
    failedSends: s.producer?.stats().failedSends ?? 0,
    switches: s.switchboard?.records ?? [],
    playbooks,
    topics: names.topics,
    group: names.group,
    flow: names.flow,
    ...(extraGroups ? { extraGroups } : {}),
    ...extra,
  };
  const files = writeReport(report, opts.reportsDir);
  log(`report: ${files.json}`);
  return { report, files, exitCode: error ? 1 : 0 };
}

/** Stops the clients and the worker, removes what the drill created; logs and goes on when a step fails. */
async function cleanup(s: Session, keep: boolean, log: (line: string) => void): Promise<void> {
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      log(`cleanup: ${what} failed: ${message(err)}`);
    }
  };
  await attempt('stop the producer', async () => s.producer?.stop());
  await attempt('stop the consumer', async () => s.consumer?.stop());
  await attempt('stop the lagging consumer', async () => s.lagging?.stop());
  if (s.brokerAStopped) await attempt('bring kafka-a back', () => up(s.config, log));
  if (!keep && s.connect && s.kafka) {
    const { names } = s;
    const forward = [`${names.flow}-source-drill`, `${names.flow}-checkpoint`, `${names.flow}-heartbeat`];
    const reverse = [`${names.reverseFlow}-source-failback`, `${names.reverseFlow}-checkpoint`, `${names.reverseFlow}-heartbeat`];
    for (const n of forward) await attempt(`delete connector ${n}`, () => s.connect!.b.delete(n));
    for (const n of reverse) await attempt(`delete connector ${n}`, () => s.connect!.a.delete(n));
    // deploy-replication's heartbeat emitter writes into A, so it runs on connect-a.
    await attempt(`delete connector ${heartbeatEmitterName(names.flow)}`, () => s.connect!.a.delete(heartbeatEmitterName(names.flow)));
    for (const alias of ['A', 'B']) {
      await attempt(`delete the drill group on ${alias}`, () =>
        s.kafka!.withAdmin(alias, (admin) => admin.deleteGroups(drillGroups(names))),
      );
      await attempt(`delete the drill topics on ${alias}`, () =>
        s.kafka!.withAdmin(alias, async (admin) => {
          const existing = new Set(await admin.listTopics());
          const ours = names.topics.map((t) => t.name).filter((t) => existing.has(t));
          if (ours.length > 0) await admin.deleteTopics({ topics: ours });
        }),
      );
    }
  }
  // A playbook the drill started and left waiting (the drill failed at a gate) would
  // hold the pair's cutover lock: end it, so the next drill or failover can start.
  for (const id of s.started) {
    await attempt(`end workflow ${id}`, async () => {
      const h = s.client!.workflow.getHandle(id);
      if ((await h.describe()).status.name === 'RUNNING') await h.terminate('the kafka-dr drill that started it has ended');
    });
  }
  if (s.worker) {
    const worker = s.worker;
    await attempt('stop the worker', async () => {
      worker.shutdown();
      await s.workerRun;
    });
  }
  await attempt('close the Temporal connection', async () => s.connection?.close());
}

function writeReport(report: DrillReport, reportsDir: string): DrillResult['files'] {
  const dir = path.resolve(reportsDir);
  fs.mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const base = path.join(dir, `drill-${stamp}`);
  const files = { json: `${base}.json`, markdown: `${base}.md`, svg: `${base}.svg` };
  fs.writeFileSync(files.json, JSON.stringify(report, null, 2) + '\n');
  fs.writeFileSync(
    files.svg,
    timelineSvg(report.phases, { title: `kafka-dr drill (${report.mode}) ${report.drillId}: ${report.outcome}` }),
  );
  fs.writeFileSync(files.markdown, drillMarkdown(report, { svg: path.basename(files.svg) }));
  return files;
}
