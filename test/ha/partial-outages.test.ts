import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import { DrillKafka, readAllSeqs } from '../../src/drill/clients';
import { drillRegistry } from '../../src/drill/registry';
import { createDeps } from '../../activities/deps';
import { createKafkaActivities } from '../../activities/kafka';
import type { ClusterHealth } from '../../src/kafka/probes';
import { PlaybookFailedError } from '../../src/drill/playbook-driver';
import { runDrill, type DrillResult, type DrillSwitchRecord } from '../../src/drill/run';
import type { KafkaComponent, StackConfig } from '../../src/stack/config';
import { runningProcess, stopProcess } from '../../src/stack/processes';
import { up } from '../../src/stack/stack';
import { haStackConfig, haStackDown, haStackEnv } from '../helpers/ha-stack';
import { eventually, REPO_ROOT, sleep } from '../helpers/stack';

/**
 * Issue 17's partial outages on a real HA stack (per cluster three brokers and three
 * dedicated controllers, RF 3, min ISR 2), its own, beside the suite's single-node stack:
 * own ports (26xxx/27xxx: below the kernel's ephemeral range, which starts at 32768), own
 * dir, the shared jar cache. One planned drill carries the faults, each at its point:
 *
 * - the failover's drain: a partition leader of each drill topic moved on A and on B;
 * - the DR period: one broker of B restarted;
 * - before the failback: one broker of A SIGKILLed, the failback run once and refused at
 *   check-primary (naming the broker and the under-replicated partitions), the broker
 *   restarted; then two controllers of A stopped (quorum lost), the failback refused again
 *   with nothing changed, both restarted; then one controller stopped for the drill's own
 *   run of the same failback, which proceeds with the quorum reported degraded;
 * - the failback's reverse drain: another broker of B restarted.
 *
 * The drill must still lose nothing. What it costs: docs/ha.md.
 */

const HA_STACK_DIR = process.env.KDR_HA_STACK_DIR ?? path.join(REPO_ROOT, '.stack', 'ha-test');
const HA_ENV = haStackEnv(HA_STACK_DIR, { a: 26, b: 27 });

interface PartitionView {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

async function partitions(admin: Admin, topics?: string[]): Promise<PartitionView[]> {
  const { topics: meta } = await admin.fetchTopicMetadata(topics ? { topics } : undefined);
  return meta.flatMap((t) =>
    t.partitions.map((p) => ({ topic: t.name, partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr })),
  );
}

/** What each injected fault saw, for the tests to judge after the drill. */
interface Observed {
  leaderMoves: Array<{ cluster: string; topic: string; partition: number; from: number; to: number; at: number }>;
  leaderMoveError?: string;
  failoverStopProducersAt?: number;
  drPeriodRestart?: { node: string; stoppedAt: number; backAt: number; how: string };
  refusal?: { message: string; reverseConnectorsDuringRefusal: string[]; killedAt: number };
  aBackAt?: number;
  /** Two controllers of A stopped: what clusterHealth saw, the refusal, and A's state before and after it. */
  quorumLost?: {
    health: ClusterHealth;
    lostAfterMs: number;
    message: string;
    connectorsBefore: string[];
    connectorsAfter: string[];
    offsetsBefore: string;
    offsetsAfter: string;
  };
  /** One controller of A stopped for the drill's own failback. */
  quorumDegraded?: { health: ClusterHealth; stopped: KafkaComponent };
  reverseDrainRestart?: { node: string; stopStartedAt: number; backAt: number; how: string };
  reverseDrainError?: string;
  failbackStopProducersAt?: number;
}

/** A crash: SIGKILL to the node's process group, no SIGTERM first (no controlled shutdown). */
async function sigkill(config: StackConfig, node: KafkaComponent): Promise<void> {
  const record = runningProcess(config, node);
  if (!record) throw new Error(`${node} is not running`);
  process.kill(-record.pid, 'SIGKILL');
  await eventually(`${node} gone`, async () => (runningProcess(config, node) ? undefined : true), 30_000);
}

const DRILL_TOPIC = /^drill-.+-(orders|accounts)$/;

describe('HA stack: partial outages during a drill', { timeout: 1_500_000 }, () => {
  let config: StackConfig | undefined;
  let result: DrillResult | undefined;
  const seen: Observed = { leaderMoves: [] };
  const lines: string[] = [];
  const log = (l: string) => lines.push(`${new Date().toISOString()} ${l}`);
  const pending: Array<Promise<void>> = [];
  let stackSeconds = 0;
  let whereLost = '';

  const restart = async (c: StackConfig, node: KafkaComponent, graceMs: number) => {
    const stoppedAt = Date.now();
    const how = await stopProcess(c, node, graceMs);
    log(`test: ${node} ${how}`);
    await sleep(2_000);
    await up(c, log);
    log(`test: ${node} back`);
    return { node, stoppedAt, backAt: Date.now(), how };
  };

  /** Moves the leader of every drill partition on `alias` to another replica, then restores RF 3. */
  const moveLeaders = async (kafka: DrillKafka, alias: 'A' | 'B') => {
    await kafka.withAdmin(alias, async (admin) => {
      const topics = (await admin.listTopics()).filter((t) => DRILL_TOPIC.test(t));
      const before = await partitions(admin, topics);
      // kafkajs has no ElectLeaders: a reassignment without the leader makes the controller
      // elect another in-sync replica at once; a second one puts the node back as a follower.
      const assign = (pick: (p: PartitionView) => number[]) =>
        admin.alterPartitionReassignments({
          topics: topics.map((topic) => ({
            topic,
            partitionAssignment: before.filter((p) => p.topic === topic).map((p) => ({ partition: p.partition, replicas: pick(p) })),
          })),
        });
      await assign((p) => p.replicas.filter((r) => r !== p.leader));
      const now = await eventually(
        `new leaders on ${alias}`,
        async () => {
          const parts = await partitions(admin, topics);
          const leaderOf = (b: PartitionView) => parts.find((p) => p.topic === b.topic && p.partition === b.partition)!.leader;
          return before.every((b) => leaderOf(b) >= 0 && leaderOf(b) !== b.leader) ? parts : undefined;
        },
        30_000,
      );
      const at = Date.now();
      const leaderOf = (b: PartitionView) => now.find((p) => p.topic === b.topic && p.partition === b.partition)!.leader;
      for (const b of before)
        seen.leaderMoves.push({ cluster: alias, topic: b.topic, partition: b.partition, from: b.leader, to: leaderOf(b), at });
      await assign((b) => [leaderOf(b), ...b.replicas.filter((r) => r !== leaderOf(b))]);
      log(`test: leaders of ${topics.join(', ')} on ${alias} moved`);
    });
  };

  before(async () => {
    const c = (config = haStackConfig(HA_ENV));
    const t0 = Date.now();
    await up(c, log);
    stackSeconds = (Date.now() - t0) / 1000;
    const kafka = new DrillKafka(drillRegistry(c));
    const { clusterHealth } = createKafkaActivities(createDeps(drillRegistry(c), 'ha-quorum-test'));
    /** A's health once clusterHealth reports its controller quorum `status`. */
    const quorumOfA = (status: 'ok' | 'degraded' | 'lost', timeoutMs: number) =>
      eventually(
        `the quorum of A ${status}`,
        async () => {
          const h = await clusterHealth({ cluster: 'A' });
          return h.quorum?.status === status ? h : undefined;
        },
        timeoutMs,
      );

    // keep: the topics stay for the loss diagnosis below; the whole stack goes in after().
    result = await runDrill(
      { mode: 'planned', topology: 'ha', reportsDir: path.join(HA_STACK_DIR, 'reports'), drPeriodSeconds: 10, keep: true },
      log,
      {
        onSwitch: (record: DrillSwitchRecord) => {
          if (record.playbook === 'failover' && record.gate === 'stop-producers') {
            seen.failoverStopProducersAt = Date.parse(record.at);
            pending.push(
              Promise.all([moveLeaders(kafka, 'A'), moveLeaders(kafka, 'B')]).then(
                () => undefined,
                (err: unknown) => void (seen.leaderMoveError = String(err)),
              ),
            );
          }
          if (record.playbook === 'failback' && record.gate === 'stop-producers') {
            seen.failbackStopProducersAt = Date.parse(record.at);
            const stopStartedAt = Date.now();
            pending.push(
              restart(c, 'kafka-b-3', 30_000).then(
                (r) => void (seen.reverseDrainRestart = { node: r.node, stopStartedAt, backAt: r.backAt, how: r.how }),
                (err: unknown) => void (seen.reverseDrainError = String(err)),
              ),
            );
          }
        },
        duringDrPeriod: async () => {
          seen.drPeriodRestart = await restart(c, 'kafka-b-2', 30_000);
        },
        beforeFailback: async (tryFailback, { names }) => {
          const drillTopics = names.topics.map((t) => t.name);
          /** Runs the failback, which must be refused: the refusal's message. */
          const refusal = async () => {
            try {
              await tryFailback();
            } catch (err) {
              if (!(err instanceof PlaybookFailedError)) throw err;
              return err.message;
            }
            return '(the failback was not refused)';
          };
          const connectorsOnA = async () => (await (await fetch(`${c.connect['connect-a'].url}/connectors`)).json()) as string[];
          const killedAt = Date.now();
          await sigkill(c, 'kafka-a-3');
          log('test: kafka-a-3 SIGKILLed');
          // No controlled shutdown: the controller fences the node after the broker session
          // timeout (9 s), which drops it from the metadata and from every ISR.
          await eventually(
            'kafka-a-3 fenced, its partitions under-replicated',
            () =>
              kafka.withAdmin('A', async (admin) => {
                const brokers = (await admin.describeCluster()).brokers.map((b) => b.nodeId);
                const urp = (await partitions(admin, drillTopics)).some((p) => p.isr.length < 3);
                return !brokers.includes(3) && urp ? true : undefined;
              }),
            60_000,
          );
          const message = await refusal();
          const connectors = await connectorsOnA();
          seen.refusal = { message, reverseConnectorsDuringRefusal: connectors.filter((n) => n.startsWith(names.reverseFlow)), killedAt };
          log(`test: refused: ${message}`);
          await up(c, log);
          await eventually(
            'every partition of A in sync again',
            () =>
              kafka.withAdmin('A', async (admin) =>
                (await partitions(admin)).every((p) => p.isr.length === p.replicas.length) ? true : undefined,
              ),
            120_000,
          );
          seen.aBackAt = Date.now();

          // Two of A's three controllers stopped: every broker still serves, the quorum is lost.
          const offsetsOnA = () =>
            kafka.withAdmin('A', async (admin) => {
              const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(`drill-${names.id}`));
              const all = await Promise.all(
                groups.sort().map(async (groupId) => ({ groupId, offsets: await admin.fetchOffsets({ groupId }) })),
              );
              return JSON.stringify(all);
            });
          const connectorsBefore = await connectorsOnA();
          const offsetsBefore = await offsetsOnA();
          const stoppedAt = Date.now();
          await Promise.all(['kafka-a-controller-1', 'kafka-a-controller-2'].map((n) => stopProcess(c, n as KafkaComponent, 30_000)));
          log('test: kafka-a-controller-1 and -2 stopped');
          const lostHealth = await quorumOfA('lost', 60_000);
          const lostAfterMs = Date.now() - stoppedAt;
          const lostMessage = await refusal();
          seen.quorumLost = {
            health: lostHealth,
            lostAfterMs,
            message: lostMessage,
            connectorsBefore,
            connectorsAfter: await connectorsOnA(),
            offsetsBefore,
            offsetsAfter: await offsetsOnA(),
          };
          log(`test: refused on the lost quorum: ${lostMessage}`);
          await up(c, log);
          await quorumOfA('ok', 60_000);

          // One controller stopped for the drill's own failback: degraded, and it must proceed.
          await stopProcess(c, 'kafka-a-controller-3', 30_000);
          log('test: kafka-a-controller-3 stopped');
          // A voter counts as lagging 10 s after it last caught up (DEFAULT_VOTER_CAUGHT_UP_MS).
          const degraded = await quorumOfA('degraded', 90_000);
          seen.quorumDegraded = { health: degraded, stopped: 'kafka-a-controller-3' };
        },
      },
    );
    await Promise.all(pending);
    // kafka-a-controller-3 stayed down through the failback.
    await up(c, log);
    const r = result.report;
    if (r.lost > 0) {
      // Where the lost records are: on B (a client skipped them) or nowhere (the cluster lost them).
      const topics = r.topics ?? [];
      const onB = new Set(await readAllSeqs(kafka, 'B', topics));
      const onA = new Set(await readAllSeqs(kafka, 'A', topics));
      whereLost = (r.lostSample ?? [])
        .map((seq) => `${seq}: ${onB.has(seq) ? 'on B' : 'not on B'}, ${onA.has(seq) ? 'on A' : 'not on A'}`)
        .join('; ');
      log(`test: lost records: ${whereLost}`);
    }
  });

  after(async () => {
    if (config) await haStackDown(config, 'ha-drill.log', lines);
  });

  const report = () => {
    assert.ok(result, `the drill did not run:\n${lines.slice(-30).join('\n')}`);
    return result.report;
  };
  const phase = (parent: string | undefined, name: string) => {
    const p = report().phases.find((x) => x.parent === parent && x.name === name);
    assert.ok(p, `phase ${parent ?? ''}/${name} in the report`);
    return { start: Date.parse(p.startedAt), end: Date.parse(p.endedAt) };
  };

  it('runs the planned drill on three brokers and three controllers per cluster and loses nothing', (t) => {
    const r = report();
    t.diagnostic(
      `HA stack up ${stackSeconds.toFixed(0)} s; drill ${Math.round(r.durationMs / 1000)} s: produced ${r.produced}, consumed ${r.consumed}, ` +
        `lost ${r.lost}, duplicates ${r.duplicates}`,
    );
    assert.equal(r.outcome, 'passed', `${r.error ?? ''}\n${lines.slice(-30).join('\n')}`);
    assert.equal(r.topology, 'ha');
    assert.equal(r.lost, 0, `lost: ${whereLost}`);
    assert.ok(r.produced > 0 && (r.producedOn?.A ?? 0) > 0 && (r.producedOn?.B ?? 0) > 0, JSON.stringify(r.producedOn));
  });

  it('one broker of A killed: the failback refuses at check-primary naming it and the under-replicated partitions; back, it proceeds', () => {
    const refusal = seen.refusal;
    assert.ok(refusal, 'the injection before the failback ran');
    assert.match(refusal.message, /primary A is not healthy/);
    assert.match(
      refusal.message,
      /2 of 3 brokers up \(3 expected per the cluster registry; partitions are assigned to 1 broker not up: 3\)/,
    );
    assert.match(refusal.message, /\d+ under-replicated partitions: [^;]*-\d+/);
    assert.deepEqual(refusal.reverseConnectorsDuringRefusal, [], 'refused before creating the reverse flow');
    assert.equal(report().playbooks?.failback?.outcome, 'completed', 'the same failback, node back, completed');
  });

  it('a broker of B restarted in the DR period and another during the reverse drain: the drain completes, 0 lost', () => {
    assert.equal(seen.reverseDrainError, undefined);
    const dr = seen.drPeriodRestart;
    assert.ok(dr, 'kafka-b-2 was restarted');
    const period = phase(undefined, 'DR period on B');
    assert.ok(dr.stoppedAt >= period.start && dr.backAt <= period.end, 'kafka-b-2 went down and came back inside the DR period');
    const drain = seen.reverseDrainRestart;
    assert.ok(drain && seen.failbackStopProducersAt, 'kafka-b-3 was restarted at the failback stop-producers gate');
    assert.equal(drain.how, 'stopped');
    // The reverse drain runs between the stop-producers switch and the producers-cutover gate.
    assert.ok(drain.stopStartedAt < phase('failback', 'gate producers-cutover').start, 'kafka-b-3 went down before the drain ended');
    assert.equal(report().playbooks?.failback?.outcome, 'completed');
    assert.equal(report().lost, 0);
  });

  it('partition leaders moved on A and B during the failover drain: 0 lost', () => {
    assert.equal(seen.leaderMoveError, undefined);
    const r = report();
    const expected = (r.topics ?? []).reduce((n, t) => n + t.partitions, 0);
    for (const alias of ['A', 'B']) {
      const moves = seen.leaderMoves.filter((m) => m.cluster === alias);
      assert.equal(moves.length, expected, `every drill partition's leader moved on ${alias}`);
      assert.ok(moves.every((m) => m.from !== m.to && m.to > 0));
    }
    const cutover = phase('failover', 'gate consumers-cutover').start;
    for (const m of seen.leaderMoves) {
      assert.ok(m.at >= seen.failoverStopProducersAt! && m.at < cutover, `${m.cluster} ${m.topic}-${m.partition} moved during the drain`);
    }
    assert.equal(r.playbooks?.failover?.outcome, 'completed');
    assert.equal(r.lost, 0);
  });

  it('two controllers of A stopped: the quorum is lost and the failback refused naming it, with nothing changed', (t) => {
    const q = seen.quorumLost;
    assert.ok(q, 'the controllers were stopped before the failback');
    t.diagnostic(`lost seen ${(q.lostAfterMs / 1000).toFixed(0)} s after the stop: ${q.health.problems.join('; ')}`);
    assert.equal(q.health.healthy, false);
    assert.equal(q.health.brokers.count, 3, 'every broker still answers and is listed');
    assert.ok(
      q.health.problems.some((p) => /^controller quorum lost: /.test(p)),
      JSON.stringify(q.health.problems),
    );
    assert.match(q.message, /primary A is not healthy: .*controller quorum lost: /);
    assert.doesNotMatch(q.message, /brokers up|under-replicated/, 'refused on the quorum alone');
    assert.deepEqual(q.connectorsAfter, q.connectorsBefore, 'no connector created (or removed) on connect-a');
    assert.equal(q.offsetsAfter, q.offsetsBefore, "the drill groups' committed offsets on A did not move");
    assert.equal(report().playbooks?.failback?.outcome, 'completed', 'the same failback, controllers back, completed');
  });

  it('one controller of A stopped: the failback proceeds, its report shows the quorum degraded naming the controller', (t) => {
    const d = seen.quorumDegraded;
    assert.ok(d, 'kafka-a-controller-3 was stopped before the failback');
    const q = d.health.quorum!;
    t.diagnostic(`one stopped: ${q.summary}`);
    assert.equal(q.majority, 2);
    assert.ok(q.voters.some((v) => v.id === 103 && (v.state === 'lagging' || v.state === 'unknown')));
    assert.match(q.summary, /majority held\): voter 103 /);
    // Split roles: a stopped controller is no missing broker, so nothing else is wrong.
    assert.equal(d.health.healthy, true, JSON.stringify(d.health.problems));
    assert.deepEqual(d.health.problems, []);
    assert.ok(
      d.health.warnings?.some((w) => /^controller quorum degraded: .*voter 103/.test(w)),
      JSON.stringify(d.health.warnings),
    );
    const failback = report().playbooks?.failback;
    assert.equal(failback?.outcome, 'completed');
    const primary = (failback?.figures as { primaryHealth?: Record<string, unknown> }).primaryHealth;
    assert.deepEqual(
      { quorum: primary?.quorum, votersCaughtUp: primary?.votersCaughtUp, quorumVotersBehind: primary?.quorumVotersBehind },
      { quorum: 'degraded', votersCaughtUp: '2/3', quorumVotersBehind: '103' },
    );
  });
});
