import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import type { FailbackFigures, FailbackInput } from '../../src/model/failback-input';
import type { PlaybookReport } from '../../src/model/gates';
import type { failback } from '../../workflows/failback';
import type { failover } from '../../workflows/failover';
import { approveSignal, decideUpdate } from '../../workflows/framework';
import { cycleFailbackInput, endOffsets, forwardOn, planAtoB, plannedFailoverInput, sum, useMirrorPair } from '../helpers/mirror-pair';
import { flowConnectors, retrying } from '../helpers/mm2';
import { e2eGateOpen } from '../helpers/playbook';
import { failBackTraffic, finishFailoverTraffic } from '../helpers/cycle';
import { SEQ_PARTITIONS as PARTITIONS, SeqConsumer, SeqProducer, seqOf, stopTraffic } from '../helpers/seq-clients';
import { eventually, readUntil, sleep, uniqueId } from '../helpers/stack';
import { startPlaybook, withWorker } from '../helpers/worker';
import { captureHistory } from '../replay/capture';

/**
 * The whole DR cycle on the real stack, with traffic the whole time (Identity policy, one
 * topic of 3 partitions): a producer writes sequence-numbered records and a consumer group
 * reads them. Forward MM2 A→B runs; the planned failover moves the producer (stopped at
 * stop-producers, restarted on B at producers-cutover) and the consumer (moved to B at
 * consumers-cutover, where it starts at the offsets the playbook set); B takes writes for
 * a while; a dry run checks the seed derived from the forward flow equals the failover's
 * snapshot; the failback (seeded from the failover's workflow ID, run under the same ID as
 * the failover, as the CLI does) moves the consumer and then the producer back to A; A takes
 * writes again and the resumed forward flow copies them to B.
 *
 * Pass: every acknowledged seq is on A and on B exactly once (0 lost, nothing replayed),
 * the consumer group read every acknowledged seq (0 lost), and its duplicates stay within
 * the bound below (counted and reported).
 */

/**
 * Duplicates the group may see over the two cutovers. They come only from translated offsets
 * that trail the group's last commit (checkpoint emitted before the last commit, or MM2's
 * sparse offset syncs for an older position): at most about one checkpoint interval (1 s) of
 * consumption per partition per cutover, ~60 records. Twice that per cutover leaves room on a
 * loaded machine and still fails on a rewind to the start (hundreds).
 */
const MAX_DUPLICATES = 240;

describe('failover then failback on the real stack with producers and consumers running throughout', { timeout: 420_000 }, () => {
  const id = uniqueId();
  const topic = `ff-${id}`;
  const group = `ff-svc-${id}`;
  const forwardPlan = planAtoB(`fff-${id}`, [topic], [group]);
  const forward = flowConnectors(forwardPlan);
  const reverseName = `ffr-${id}`;
  const reverse = flowConnectors({ name: reverseName, topicGroups: [{ name: 'failback', topics: [topic] }] });
  // As the CLI does (cutoverWorkflowId): failover and failback of a pair share one workflow ID.
  const cutoverId = `e2e-cutover-${id}`;
  // Same partitions on both sides (Identity): the failback copies B's partitions to A's.
  const pair = useMirrorPair('failover-failback-e2e', {
    topics: [{ topic, partitions: PARTITIONS, on: ['A', 'B'] }],
    groups: [group],
    connectors: { 'connect-a': reverse.all },
  });
  const { kafkaA, kafkaB, adminA, adminB, connectA } = pair;
  const producer = new SeqProducer(topic);
  const consumer = new SeqConsumer(group);
  pair.onCleanup(() => producer.stop());
  pair.onCleanup(() => consumer.stop());
  const ends = (admin: Admin) => endOffsets(admin, topic);

  it('0 lost on either cluster and for the consumer group, duplicates bounded, nothing replayed to B', async (t) => {
    const started = Date.now();
    const mark = (what: string) => t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);

    // 1. Forward MM2 A→B; traffic on A.
    assert.deepEqual(await pair.deployFlow(forwardPlan), forward.all);
    await producer.start(kafkaA, 'A');
    await consumer.start(kafkaA, [topic], consumer.seen.size === 0);
    await eventually(
      'records mirrored to B and consumed on A',
      async () => (sum(await ends(adminB)) >= 200 && consumer.seen.size >= 200 ? true : undefined),
      90_000,
    );
    mark('forward flow running, traffic on A');

    const { failoverReport, failbackReport } = await withWorker(async (ctx) => {
      // 2. Planned failover A→B; the test plays the operator at each gate.
      const failoverInput = plannedFailoverInput({ policy: 'identity', forward: forwardOn(forward), topics: [topic], groups: [group] });
      const fo = await startPlaybook<typeof failover>(ctx, 'failover', cutoverId, failoverInput, '5 minutes');
      await e2eGateOpen(fo, 'stop-producers');
      await producer.stop();
      await fo.executeUpdate(decideUpdate, {
        args: [{ gate: 'stop-producers', decision: 'approve', by: 'bob', comment: 'producers stopped on A' }],
      });
      mark('failover: producers stopped on A');
      await e2eGateOpen(fo, 'consumers-cutover');
      await consumer.stop();
      await fo.signal(approveSignal, { gate: 'consumers-cutover', by: 'bob' });
      // translate-offsets runs right after the approval (the group stopped on A); the next gate opens once it is set on B.
      const atProducers = await e2eGateOpen(fo, 'producers-cutover');
      assert.deepEqual(atProducers.figures.unplaced, [], 'the group has a position on B for every partition it committed on A');
      await consumer.start(kafkaB, [topic], false);
      mark('failover: consumer moved to B');
      const failoverReport = await finishFailoverTraffic(fo, kafkaB, producer, 'failover-planned-continuous');
      mark('failover completed; producer on B');

      // 3. The DR period: B takes writes, the group reads them on B.
      await eventually(
        'the group reads on B',
        async () => (consumer.seen.size >= producer.ackedOn('A').length + 100 ? true : undefined),
        60_000,
      );

      // 4. The derived seed (no snapshot, no workflow ID), in a dry run: it must equal the failover's snapshot.
      const failbackInput = (seed: FailbackInput['seed'], dryRun: boolean) =>
        cycleFailbackInput(forward, reverseName, { topics: [topic], groups: [group], seed, dryRun });
      const dry = await startPlaybook<typeof failback>(
        ctx,
        'failback',
        `${cutoverId}-dry-run`,
        failbackInput({ mode: 'auto' }, true),
        '2 minutes',
      );
      const dryReport = (await dry.result()) as PlaybookReport<FailbackFigures>;
      await captureHistory(dry, 'failback-dry-run-derived-seed');
      assert.equal(dryReport.outcome, 'completed', dryReport.reason ?? '');
      assert.deepEqual(dryReport.figures.plan.blockers, []);
      const atFailover = failoverReport.figures.snapshots.target.offsets[topic]!;
      assert.deepEqual(
        dryReport.figures.plan.seed.map((s) => [s.topic, s.partition, s.source, s.exact, s.resumeAt]).sort(),
        [...Array(PARTITIONS).keys()].map((p) => [topic, p, 'derived', true, atFailover[String(p)]]),
        `the derived seed starts each partition at B's end at failover: ${JSON.stringify(dryReport.figures.plan.seed)}`,
      );
      mark('dry run: derived seed = failover snapshot');

      // 5. The failback B→A, seeded from the failover named by its workflow ID (its own ID here).
      const fb = await startPlaybook<typeof failback>(
        ctx,
        'failback',
        cutoverId,
        failbackInput({ mode: 'auto', failoverWorkflowId: cutoverId }, false),
        '5 minutes',
      );
      const failbackReport = await failBackTraffic(
        fb,
        { kafkaA, topics: [topic], fromBeginning: consumer.seen.size === 0 },
        producer,
        consumer,
        {
          mark,
        },
      );
      await captureHistory(fb, 'failback-from-failover-id');
      mark('failback completed; producer on A');
      return { failoverReport, failbackReport };
    });

    // 6. Traffic on A again, copied to B by the resumed forward flow; then everything stops.
    const expected = await stopTraffic(producer, consumer);
    const acked = expected.length;
    await eventually(
      'B holds what A holds',
      async () => {
        const [a, b] = await Promise.all([ends(adminA), ends(adminB)]);
        return sum(a) === acked && sum(b) === acked ? true : undefined;
      },
      90_000,
    ).catch(() => undefined);
    mark('traffic stopped');

    // 0 lost, nothing duplicated, on both clusters: each acknowledged seq exactly once.
    for (const [cluster, client] of [
      ['A', kafkaA],
      ['B', kafkaB],
    ] as const) {
      const records = await readUntil(client, topic, (r) => r.length >= acked, 90_000);
      const counts = new Map<number, number>();
      for (const r of records) counts.set(seqOf(r.value), (counts.get(seqOf(r.value)) ?? 0) + 1);
      const missing = expected.filter((s) => !counts.has(s));
      const doubled = [...counts].filter(([, n]) => n > 1).map(([s]) => s);
      assert.deepEqual(missing, [], `acknowledged seqs missing on ${cluster}`);
      assert.deepEqual(doubled, [], `seqs twice on ${cluster} (a replay)`);
      assert.equal(records.length, acked, `${cluster} holds exactly the acknowledged records`);
      await sleep(0);
    }

    // The consumer group: every acknowledged seq read, duplicates counted and bounded.
    const unread = expected.filter((s) => !consumer.seen.has(s));
    assert.deepEqual(unread.slice(0, 20), [], `${unread.length} acknowledged seqs never read by the group`);
    const fo = failoverReport.figures;
    const fb = failbackReport.figures;
    const freshness = (r: PlaybookReport) =>
      JSON.stringify(r.steps.find((s) => s.name === 'translate-offsets')?.details?.checkpointFreshness ?? null);
    t.diagnostic(
      `records acknowledged ${acked} (A ${producer.ackedOn('A').length}, B ${producer.ackedOn('B').length}, failed sends ${producer.failedSends}); ` +
        `consumer duplicates ${consumer.duplicates} (bound ${MAX_DUPLICATES}); failover: drainMs ${fo.drainMs} rtoMs ${fo.rtoMs} offsetsSet ${fo.offsetsSet.length} ` +
        `freshness ${freshness(failoverReport)}; failback: seedFrom ${fb.seedFrom} seedFailover ${JSON.stringify(fb.seedFailover)} toCopy ${fb.seed.map((s) => s.toCopy).join(',')} ` +
        `catchUpMs ${fb.catchUpMs} drainMs ${fb.drainMs} rtoMs ${fb.rtoMs} freshness ${freshness(failbackReport)}; total ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    assert.ok(consumer.duplicates <= MAX_DUPLICATES, `${consumer.duplicates} duplicates > ${MAX_DUPLICATES}`);

    // The failback read the failover's snapshot through its workflow ID, and the forward flow resumed from A's end at cutover.
    assert.equal(fb.seedFrom, 'snapshot');
    assert.equal(fb.seedFailover.workflowId, cutoverId);
    assert.deepEqual(
      fb.seed.map((s) => [s.partition, s.resumeAt]).sort(),
      [...Array(PARTITIONS).keys()].map((p) => [p, fo.snapshots.target.offsets[topic]![String(p)]]),
    );
    assert.deepEqual(
      fb.forwardOffsets.map((o) => [o.topic, o.partition, Number(o.offset)]).sort(),
      [...Array(PARTITIONS).keys()].map((p) => [topic, p, Number(fb.cutover.offsets[topic]![String(p)]) - 1]),
    );
    const onConnectA = await retrying('connect-a connectors', () => connectA.list());
    for (const n of reverse.all) assert.ok(!onConnectA.includes(n), `${n} deleted from connect-a`);
  });
});
