import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigResourceTypes, type Admin, type Kafka } from 'kafkajs';
import type { FailoverFigures } from '../../src/model/failover-input';
import type { PlaybookReport } from '../../src/model/gates';
import type { failback } from '../../workflows/failback';
import type { failover } from '../../workflows/failover';
import { approveSignal } from '../../workflows/framework';
import { cycleFailbackInput, forwardOn, planAtoB, plannedFailoverInput, useMirrorPair } from '../helpers/mirror-pair';
import { flowConnectors } from '../helpers/mm2';
import { e2eGateOpen } from '../helpers/playbook';
import { failBackTraffic, finishFailoverTraffic } from '../helpers/cycle';
import { SEQ_PARTITIONS as PARTITIONS, SeqConsumer, SeqProducer, seqOf, stopTraffic } from '../helpers/seq-clients';
import { eventually, readUntil, uniqueId } from '../helpers/stack';
import { startPlaybook, withWorker } from '../helpers/worker';

/**
 * The whole DR cycle under MM2's DefaultReplicationPolicy (mirrors named `A.<topic>`) on the
 * real stack, with a sequence-numbered producer and a consumer group running throughout:
 *
 * - A's topic (3 partitions, topic overrides retention.ms and max.message.bytes) is mirrored
 *   to B's `A.<topic>`; B has no `<topic>` (topic auto-creation is off on the stack);
 * - a failover dry run lists B's `<topic>` as will-create, with A's partitions and overrides;
 * - the planned failover creates it and places the group on `A.<topic>` and `<topic>` on B;
 *   the consumer reads both there (starting only from positions the playbook set), the
 *   producer writes to B's `<topic>`;
 * - a late writer adds a few records to A's `<topic>` during the DR period (A's own records);
 * - the failback copies B's `<topic>` to A's `B.<topic>`, places the group there, and resumes
 *   the forward flow where it stopped on A's `<topic>` (the late records reach B's mirror: not
 *   skipped; nothing before them copied again); the consumer reads `<topic>` and `B.<topic>`
 *   on A, the producer writes to A's `<topic>` again.
 *
 * Pass: every acknowledged seq is where it belongs exactly once (A's `<topic>` and B's
 * `A.<topic>`: the seqs acknowledged by A; B's `<topic>` and A's `B.<topic>`: those
 * acknowledged by B); the group read every acknowledged seq (0 lost) with bounded
 * duplicates, and each late record exactly once (the failback counts them as divergent,
 * no gate: the forward flow copies them); after each cutover the group has a committed position on every partition of
 * every topic it reads there.
 */

/** As in failover-failback-e2e.test.ts: about a checkpoint interval of consumption per partition per cutover, with room. */
const MAX_DUPLICATES = 240;
const OVERRIDES = { 'retention.ms': '86400123', 'max.message.bytes': '1048000' };
/** Seqs a late writer puts on A's topic during the DR period (far above the producer's). */
const LATE = Array.from({ length: 6 }, (_, i) => 1_000_000 + i);

describe('the Default-policy cycle on the real stack with a producer and a consumer group throughout', { timeout: 480_000 }, () => {
  const id = uniqueId();
  const topic = `dp-${id}`;
  const mirrorOnB = `A.${topic}`;
  const mirrorOnA = `B.${topic}`;
  const group = `dp-svc-${id}`;
  const forwardPlan = planAtoB(`dpf-${id}`, [topic], [group], { type: 'default' });
  const forward = flowConnectors(forwardPlan);
  const reverseName = `dpr-${id}`;
  const reverse = flowConnectors({ name: reverseName, topicGroups: [{ name: 'failback', topics: [topic] }] });
  const cutoverId = `e2e-default-cycle-${id}`;
  const pair = useMirrorPair('default-policy-cycle-e2e', {
    topics: [{ topic, partitions: PARTITIONS, configEntries: Object.entries(OVERRIDES).map(([name, value]) => ({ name, value })) }],
    groups: [group],
    connectors: { 'connect-a': reverse.all },
  });
  const { kafkaA, kafkaB, adminA, adminB } = pair;
  pair.leaves({ topics: { A: [mirrorOnA], B: [topic, mirrorOnB] } });
  const producer = new SeqProducer(topic);
  const consumer = new SeqConsumer(group);
  pair.onCleanup(() => producer.stop());
  pair.onCleanup(() => consumer.stop());

  /** The group's committed offset per partition of each topic (-1: none), read on `admin`'s cluster. */
  const positions = async (admin: Admin, topics: string[]) => {
    const out: Record<string, number[]> = {};
    for (const t of await admin.fetchOffsets({ groupId: group, topics })) {
      out[t.topic] = t.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
    }
    return out;
  };
  const assertPlaced = (where: string, got: Record<string, number[]>, topics: string[]) => {
    for (const t of topics) {
      assert.equal(
        got[t]?.length,
        PARTITIONS,
        `${where}: ${t} has ${PARTITIONS} partitions with the group's offsets: ${JSON.stringify(got)}`,
      );
      assert.ok(
        got[t]!.every((o) => o >= 0),
        `${where}: the group has a position on every partition of ${t}: ${JSON.stringify(got)}`,
      );
    }
  };

  it('0 lost, nothing replayed, the group positioned on every topic it reads on both sides', async (t) => {
    const started = Date.now();
    const mark = (what: string) => t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);

    // 1. Forward MM2 A→B (Default policy); traffic on A.
    assert.deepEqual(await pair.deployFlow(forwardPlan), forward.all);
    await producer.start(kafkaA, 'A');
    await consumer.start(kafkaA, [topic], true);
    await eventually(
      'records mirrored to B and consumed on A',
      async () => {
        const mirrored = await adminB.fetchTopicOffsets(mirrorOnB).catch(() => []);
        return mirrored.reduce((n, p) => n + Number(p.high), 0) >= 200 && consumer.seen.size >= 200 ? true : undefined;
      },
      90_000,
    );
    assert.ok(!(await adminB.listTopics()).includes(topic), `B has no local ${topic} before the failover`);
    mark('forward flow running, traffic on A');

    const { failoverReport, failbackReport } = await withWorker(async (ctx) => {
      const failoverInput = (dryRun: boolean) =>
        plannedFailoverInput({
          policy: 'default',
          forward: forwardOn(forward),
          topics: [topic],
          groups: [group],
          lagThreshold: 100_000,
          dryRun,
        });

      // 2. The dry run shows the local topic it would create, shaped like A's.
      const dry = await startPlaybook<typeof failover>(ctx, 'failover', `${cutoverId}-dry-run`, failoverInput(true), '2 minutes');
      const dryReport = (await dry.result()) as PlaybookReport<FailoverFigures>;
      assert.equal(dryReport.outcome, 'completed', dryReport.reason ?? '');
      assert.deepEqual(dryReport.figures.plan.blockers, []);
      assert.deepEqual(
        dryReport.figures.plan.localTopics?.map((l) => [l.topic, l.action, l.partitions, l.from, l.configs]),
        [[topic, 'will-create', PARTITIONS, 'source', OVERRIDES]],
      );
      assert.equal(dryReport.figures.plan.localPositionsToSet, PARTITIONS);
      assert.ok(!(await adminB.listTopics()).includes(topic), 'the dry run created nothing');
      mark('failover dry run: will create the local topic');

      // 3. The planned failover; the test plays the operator at each gate.
      const fo = await startPlaybook<typeof failover>(ctx, 'failover', cutoverId, failoverInput(false), '5 minutes');
      await e2eGateOpen(fo, 'stop-producers');
      await producer.stop();
      await fo.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
      await e2eGateOpen(fo, 'consumers-cutover');
      await consumer.stop();
      await fo.signal(approveSignal, { gate: 'consumers-cutover', by: 'bob' });
      const atProducers = await e2eGateOpen(fo, 'producers-cutover');
      assert.deepEqual(atProducers.figures.unplaced, [], 'the group has a position on the mirror for every partition it committed on A');
      // B's local topic now exists, shaped like A's, and the group is placed on it and on the mirror.
      const [md] = (await adminB.fetchTopicMetadata({ topics: [topic] })).topics;
      assert.equal(md!.partitions.length, PARTITIONS);
      const cfg = await adminB.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: Object.keys(OVERRIDES) }],
        includeSynonyms: false,
      });
      assert.deepEqual(
        Object.fromEntries(cfg.resources[0]!.configEntries.map((e) => [e.configName, e.configValue])),
        OVERRIDES,
        `B's ${topic} has A's topic overrides`,
      );
      const onB = await positions(adminB, [mirrorOnB, topic]);
      assertPlaced('on B after the failover', onB, [mirrorOnB, topic]);
      assert.deepEqual(onB[topic], [0, 0, 0], `the group starts B's new ${topic} at its end (empty)`);
      await consumer.start(kafkaB, [mirrorOnB, topic], false);
      const failoverReport = await finishFailoverTraffic(fo, kafkaB, producer, 'failover-default-policy-cycle');
      mark('failover completed; producer on B');

      // 4. The DR period: B takes writes to its local topic, the group reads them there. A late
      // writer on A adds records to A's topic meanwhile: A's own, they must reach B's mirror
      // when the forward flow resumes (not skipped) and the group must read them on A.
      const late = kafkaA.producer({ allowAutoTopicCreation: false });
      await late.connect();
      await late.send({
        topic,
        acks: -1,
        messages: LATE.map((seq) => ({ key: `late-${seq}`, value: `seq=${seq}`, partition: seq % PARTITIONS })),
      });
      await late.disconnect();
      for (const seq of LATE) producer.acked.set(seq, 'A');
      const onA = producer.ackedOn('A').length;
      await eventually('the group reads on B', async () => (consumer.seen.size >= onA + 150 ? true : undefined), 60_000);

      // 5. The failback B→A, seeded from the failover named by its workflow ID.
      const failbackInput = cycleFailbackInput(forward, reverseName, {
        topics: [topic],
        groups: [group],
        policy: 'default',
        seed: { mode: 'auto', failoverWorkflowId: cutoverId },
      });
      const fb = await startPlaybook<typeof failback>(ctx, 'failback', cutoverId, failbackInput, '5 minutes');
      const failbackReport = await failBackTraffic(fb, { kafkaA, topics: [topic, mirrorOnA], fromBeginning: false }, producer, consumer, {
        mark,
        placed: async () => assertPlaced('on A after the failback', await positions(adminA, [topic, mirrorOnA]), [topic, mirrorOnA]),
      });
      mark('failback completed; producer on A');
      return { failoverReport, failbackReport };
    });

    // 6. Traffic on A again, copied to B's mirror by the resumed forward flow; then everything stops.
    const expected = await stopTraffic(producer, consumer);
    mark('traffic stopped');

    // Each acknowledged seq exactly once where it belongs.
    const fromA = producer.ackedOn('A');
    const fromB = producer.ackedOn('B');
    const holds = async (client: Kafka, name: string, want: number[]) => {
      const records = await readUntil(client, name, (r) => r.length >= want.length, 90_000);
      // Every record the topic holds (no transactions here: one offset per record); a replay shows as more.
      const admin = client === kafkaA ? adminA : adminB;
      const held = (await admin.fetchTopicOffsets(name)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
      assert.equal(held, want.length, `${name} holds ${held} records, ${want.length} acknowledged for it`);
      const counts = new Map<number, number>();
      for (const r of records) counts.set(seqOf(r.value), (counts.get(seqOf(r.value)) ?? 0) + 1);
      const missing = want.filter((s) => !counts.has(s));
      const doubled = [...counts].filter(([, n]) => n > 1).map(([s]) => s);
      const foreign = [...counts.keys()].filter((s) => !want.includes(s));
      assert.deepEqual(missing.slice(0, 20), [], `${missing.length} seqs missing in ${name}`);
      assert.deepEqual(doubled.slice(0, 20), [], `${doubled.length} seqs twice in ${name} (a replay)`);
      assert.deepEqual(foreign.slice(0, 20), [], `${foreign.length} seqs in ${name} that belong elsewhere`);
    };
    await holds(kafkaA, topic, fromA);
    await holds(kafkaB, mirrorOnB, fromA);
    await holds(kafkaB, topic, fromB);
    await holds(kafkaA, mirrorOnA, fromB);

    const unread = expected.filter((s) => !consumer.seen.has(s));
    assert.deepEqual(unread.slice(0, 20), [], `${unread.length} acknowledged seqs never read by the group`);
    // The late records (written on A while the forward flow was stopped): found by the failback, no gate,
    // left to the forward flow, which copied each once to B's mirror (holds above); the group read each once on A.
    const fbDivergent = failbackReport.figures.divergent;
    assert.equal(fbDivergent.records, LATE.length, JSON.stringify(fbDivergent));
    assert.equal(fbDivergent.forwardFlow, LATE.length);
    assert.equal(fbDivergent.choice, undefined);
    assert.ok(!failbackReport.decisions.some((d) => d.gate === 'divergent-records'));
    assert.deepEqual(
      LATE.map((s) => consumer.seen.get(s) ?? 0),
      LATE.map(() => 1),
      'the group read each late record once',
    );
    const fo = failoverReport.figures;
    const fb = failbackReport.figures;
    t.diagnostic(
      `records acknowledged ${expected.length} (A ${fromA.length}, B ${fromB.length}, failed sends ${producer.failedSends}); ` +
        `consumer duplicates ${consumer.duplicates} (bound ${MAX_DUPLICATES}); failover: drainMs ${fo.drainMs} rtoMs ${fo.rtoMs} ` +
        `localTopics ${JSON.stringify(fo.localTopics?.map((l) => [l.topic, l.action]))} localPositions ${fo.localPositions?.length}; ` +
        `failback: seedFrom ${fb.seedFrom} toCopy ${fb.seed.map((s) => s.toCopy).join(',')} rtoMs ${fb.rtoMs} ` +
        `forwardOffsets ${JSON.stringify(fb.forwardOffsets?.map((o) => [o.partition, o.offset]))}; ` +
        `positions: failover ${JSON.stringify(fo.groupPositions?.map((g) => g.outcome))} failback ${JSON.stringify(fb.groupPositions?.map((g) => g.outcome))}; total ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    assert.ok(consumer.duplicates <= MAX_DUPLICATES, `${consumer.duplicates} duplicates > ${MAX_DUPLICATES}`);
    assert.deepEqual(
      fo.localTopics?.map((l) => [l.topic, l.action]),
      [[topic, 'created']],
    );
    // The forward flow resumed where it stopped on A's topic: the late records were still ahead of it.
    for (const o of fb.forwardOffsets) {
      assert.ok(
        Number(o.offset) < Number(fb.cutover.offsets[topic]![String(o.partition)]) - 1,
        `forward resume on ${o.topic}-${o.partition} at ${o.offset}, before the late records (A's end at cutover ${fb.cutover.offsets[topic]![String(o.partition)]})`,
      );
    }
    // The reverse seed copies B's local topic from its first record (all of it was written on B).
    assert.deepEqual(
      fb.seed.map((s) => s.resumeAt),
      fb.seed.map(() => 'earliest'),
    );
  });
});
