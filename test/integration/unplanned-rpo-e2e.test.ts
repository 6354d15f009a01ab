import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Producer } from 'kafkajs';
import { createActivities, createDeps } from '../../activities';
import { heartbeatEmitterName } from '../../src/mm2/connector-configs';
import type { DeployFigures, DeployReplicationInput } from '../../src/model/deploy-input';
import type { FailoverFigures, FailoverInput } from '../../src/model/failover-input';
import type { PlaybookReport } from '../../src/model/gates';
import { SOURCE_ENDS_TOPIC } from '../../src/offsets/rpo';
import { resolveRegistry, stackRegistryDocument } from '../../src/registry/load';
import type { deployReplication } from '../../workflows/deploy-replication';
import type { failover } from '../../workflows/failover';
import { approveSignal } from '../../workflows/framework';
import { endOffsets, planAtoB, TWO_SECOND_REFRESH, useMirrorPair } from '../helpers/mirror-pair';
import { connectorsInState, flowConnectors } from '../helpers/mm2';
import { e2eGateOpen } from '../helpers/playbook';
import { eventually, stack, uniqueId } from '../helpers/stack';
import { startPlaybook, withWorker } from '../helpers/worker';

/**
 * Unplanned failover RPO from evidence, on the real stack, without killing broker A
 * (shared): deploy-replication deploys a flow (with its heartbeat emitter on connect-a),
 * records are replicated, a lag measurement records A's end offsets on B; then the flow's
 * source connector is stopped out of band (replication stops, as when A dies), N more
 * records go to A, one more lag measurement records the new end offsets, and the
 * unplanned failover runs with `sourceUnreachable: true`. Pass: rpoRecords = N, per
 * partition committed + 1 = what B has, last known end = what A has, the newest
 * replicated record is the last one before the stop, and the replicated heartbeat of the
 * flow's own emitter is from before the stop while the emitter kept writing into A.
 *
 * The flow uses a source alias of its own (a second registry name for cluster A): every
 * A→B flow on the shared stack copies A's `heartbeats` into `A.heartbeats`, so only a
 * topic no other flow writes (`<alias>.heartbeats`) shows that THIS flow stopped.
 */

const PARTITIONS = 3;
const BEFORE = [6, 7, 8];
const AFTER = [3, 5, 7];
const N = AFTER.reduce((a, b) => a + b, 0);

describe('unplanned failover: RPO from evidence on the real stack', { timeout: 480_000 }, () => {
  const id = uniqueId();
  const alias = `Ax${id.replace(/-/g, '')}`;
  const topic = `rpo-${id}`;
  const mirrored = `${alias}.${topic}`;
  const group = `rpo-svc-${id}`;
  const flowName = `rpo-${id}`;
  const plan = {
    ...planAtoB(flowName, [topic], [group], { type: 'default' }),
    source: alias,
    // 2 s topic refreshes: A's `heartbeats` is picked up soon if this deploy is the one that creates it.
    intervals: TWO_SECOND_REFRESH,
  };
  const names = flowConnectors(plan).all;
  const sourceConnector = `${flowName}-source-main`;
  const emitter = heartbeatEmitterName(flowName);
  // The stack's registry plus `alias` for cluster A, and connect-a under a second name writing to it.
  const doc = stackRegistryDocument(stack);
  const registry = resolveRegistry(
    {
      ...doc,
      clusters: { ...doc.clusters, [alias]: { bootstrapServers: [stack.kafka.A.bootstrap], expectedBrokers: 1 } },
      connect: { ...doc.connect, [`connect-${alias}`]: { url: stack.connect['connect-a'].url, writesTo: alias, requestTimeoutMs: 30_000 } },
    },
    'unplanned-rpo test',
    {},
    stack.repoRoot,
  );
  const pair = useMirrorPair('unplanned-rpo', {
    topics: [{ topic, partitions: PARTITIONS }],
    activities: createActivities(createDeps(registry, 'unplanned-rpo-test')),
    connectors: { 'connect-b': names, 'connect-a': [emitter] },
  });
  pair.leaves({ topics: { B: [mirrored, `${alias}.heartbeats`, `${alias}.checkpoints.internal`] } });
  const { kafkaA, adminA, adminB, connectA, connectB, activities } = pair;
  let producer: Producer;
  /** Timestamp given to the last record sent to each partition (records carry explicit, distinct timestamps). */
  const lastTimestamp = new Array<number>(PARTITIONS).fill(0);
  let nextTs = Date.now() - 60_000;

  const produce = async (perPartition: number[]) => {
    const messages = perPartition.flatMap((count, partition) =>
      Array.from({ length: count }, () => {
        nextTs += 7;
        lastTimestamp[partition] = nextTs;
        return { partition, key: `p${partition}`, value: `ts=${nextTs}`, timestamp: String(nextTs) };
      }),
    );
    await producer.send({ topic, acks: -1, messages });
  };
  before(async () => {
    producer = kafkaA.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });
  pair.onCleanup(async () => producer?.disconnect());
  pair.onCleanup(async () => adminB.deleteGroups([group]));

  it("reports rpoRecords = the records A held that B never got, per partition, and this flow's replicated heartbeat age", async () => {
    await withWorker(
      async (ctx) => {
        // 1. deploy-replication: the flow on connect-b, its heartbeat emitter on connect-a.
        const deployStarted = Date.now();
        const deployInput: DeployReplicationInput = { plan, requestedBy: 'e2e', waitSeconds: 120 };
        const deploy = await startPlaybook<typeof deployReplication>(ctx, 'deployReplication', `deploy-rpo-${id}`, deployInput);
        const deployed = (await deploy.result()) as PlaybookReport<DeployFigures>;
        assert.equal(deployed.outcome, 'completed', deployed.reason ?? '');
        assert.deepEqual([...deployed.figures.created].sort(), [...names, emitter].sort());
        assert.deepEqual(
          deployed.figures.connectors.find((c) => c.name === emitter),
          { name: emitter, kind: 'emitter', connect: `connect-${alias}`, action: 'created' },
        );
        assert.equal((await connectA.status(emitter)).connector.state, 'RUNNING');

        // The emitter's heartbeats, keyed (B, alias), reach B through this flow.
        await eventually(
          `a (B→${alias}) heartbeat replicated to ${alias}.heartbeats on B`,
          async () => {
            const r = await activities.replicationFreshness({ target: 'B', sourceAlias: alias, includeTargetHeartbeats: false });
            const own = r.emitters.find((e) => e.source === 'B' && e.target === alias);
            return own && Date.parse(own.lastHeartbeatAt) >= deployStarted ? own : undefined;
          },
          120_000,
          1000,
        );

        // 2. Records replicated, and a lag measurement records A's end offsets on B.
        await produce(BEFORE);
        const lastBeforeStop = [...lastTimestamp];
        await eventually('B has every record', async () => {
          const b = await endOffsets(adminB, mirrored).catch(() => []);
          return b.length === PARTITIONS && b.every((n, p) => n === BEFORE[p]) ? true : undefined;
        });
        await eventually(
          'lag 0 (Connect flushed the committed offsets)',
          async () => {
            const lag = await activities.replicationLag({
              connect: 'connect-b',
              connectors: [sourceConnector],
              source: alias,
              topics: [topic],
            });
            return lag.total === '0' && lag.drained ? lag : undefined;
          },
          60_000,
          1000,
        );

        // 3. "A dies" for this flow: its source connector stops, replication stops.
        await connectB.stop(sourceConnector);
        await connectorsInState(connectB, [sourceConnector], 'STOPPED');
        const stoppedAt = Date.now();

        // 4. N more records on A that B never gets, and one lag measurement records the new end offsets.
        await produce(AFTER);
        const lag = await activities.replicationLag({
          connect: 'connect-b',
          connectors: [sourceConnector],
          source: alias,
          topics: [topic],
        });
        assert.equal(lag.total, String(N), JSON.stringify(lag.partitions));
        const expectedEnds = BEFORE.map((b, p) => b + AFTER[p]!);
        assert.deepEqual(await endOffsets(adminA, topic), expectedEnds);
        assert.deepEqual(await endOffsets(adminB, mirrored), BEFORE, 'B stopped receiving');

        // The emitter keeps writing into A while the flow is stopped: the heartbeat age on B is replication's, not the emitter's.
        await eventually(
          `the emitter writes into A after the stop`,
          async () => {
            const r = await activities.replicationFreshness({
              target: alias,
              sourceAlias: 'B',
              topic: 'heartbeats',
              includeTargetHeartbeats: false,
            });
            const own = r.emitters.find((e) => e.source === 'B' && e.target === alias);
            return own && Date.parse(own.lastHeartbeatAt) > stoppedAt ? own : undefined;
          },
          60_000,
          1000,
        );

        // 5. The unplanned failover, source asserted unreachable.
        const input: FailoverInput = {
          source: alias,
          target: 'B',
          mode: 'unplanned',
          sourceUnreachable: true,
          forward: { connect: 'connect-b', connectors: names, sourceConnectors: [sourceConnector] },
          topics: [topic],
          groups: [group],
          requestedBy: 'alice',
          gates: { 'consumers-cutover': { deadline: '5 minutes' }, 'producers-cutover': { deadline: '5 minutes' } },
        };
        const h = await startPlaybook<typeof failover>(ctx, 'failover', `failover-rpo-${id}`, input);
        const gateOpen = (gate: string) => e2eGateOpen(h, gate, 120_000);
        await gateOpen('consumers-cutover');
        await h.signal(approveSignal, { gate: 'consumers-cutover', by: 'bob' });
        await gateOpen('producers-cutover');
        await h.signal(approveSignal, { gate: 'producers-cutover', by: 'bob' });
        const report = (await h.result()) as PlaybookReport<FailoverFigures>;
        assert.equal(report.outcome, 'completed', report.reason ?? '');
        const f = report.figures;
        const evidence = f.rpoEvidence as Extract<FailoverFigures['rpoEvidence'], { partitions: unknown }>;
        console.log(
          `rpo figures: rpoRecords ${f.rpoRecords}, bound ${JSON.stringify(f.rpoRecordsBound)}, seconds ${JSON.stringify(f.rpoSeconds)}`,
        );

        // Records: N, a lower bound as of the last measurement (after the stop).
        assert.equal(f.rpoRecords, N);
        assert.equal(f.rpoRecordsBound.bound, 'lower');
        assert.ok(Date.parse(f.rpoRecordsBound.asOf!) >= stoppedAt, `knowledge from after the stop: ${f.rpoRecordsBound.asOf}`);
        assert.deepEqual(f.rpoRecordsBound.unknownPartitions, []);
        // Per partition: committed + 1 = what B has, the last known end = what A has, the newest replicated record = the last one before the stop.
        assert.deepEqual(
          evidence.partitions.map((p) => [p.topic, p.partition, p.committedOffset, p.lastKnownSourceEnd, p.recordsNotReplicated]),
          BEFORE.map((b, p) => [topic, p, String(b - 1), String(expectedEnds[p]), String(AFTER[p])]),
        );
        assert.deepEqual(
          evidence.partitions.map((p) => p.newestReplicatedRecordAt),
          lastBeforeStop.map((ts) => new Date(ts).toISOString()),
          'the newest record on B is the last one produced before the stop (MM2 keeps record timestamps)',
        );
        // Seconds: this flow's replicated heartbeat is from before the stop (replication stopped), though its emitter kept beating.
        assert.deepEqual(evidence.heartbeat.emitter, { source: 'B', target: alias });
        assert.equal(evidence.heartbeat.topic, `${alias}.heartbeats`);
        const lastHb = Date.parse(f.rpoSeconds.lastReplicatedHeartbeatAt!);
        assert.ok(
          lastHb >= deployStarted && lastHb < stoppedAt,
          `replicated heartbeat ${f.rpoSeconds.lastReplicatedHeartbeatAt} between the deploy and the stop`,
        );
        assert.ok(
          f.rpoSeconds.heartbeatAgeMs! >= Date.parse(evidence.computedAt) - stoppedAt,
          'its age covers the time since replication stopped',
        );
        assert.equal(f.rpoSeconds.bound, 'upper');
        // The known ends are on B (the target), where an unplanned failover can read them.
        assert.ok((await adminB.listTopics()).includes(SOURCE_ENDS_TOPIC));

        // 6. Removing the flow removes its emitter from connect-a too.
        const removed = await activities.removeMirrorFlow({ connect: 'connect-b', name: flowName });
        assert.ok(
          removed.connectors.some((c) => c.name === emitter && c.action === 'deleted'),
          JSON.stringify(removed),
        );
        assert.equal(await connectA.getConfig(emitter), undefined);
      },
      { registry },
    );
  });
});
