import assert from 'node:assert/strict';
import { inState } from '../../src/connect/client';
import type { FailbackFigures, FailbackInput } from '../../src/model/failback-input';
import type { PlaybookReport } from '../../src/model/gates';
import { committedMirrorOffsets } from '../../src/offsets/lag';
import { flowConnectors, retrying } from './mm2';
import { endOffsets, FAST_INTERVALS, planAtoB, produceSeq, stopFlow, sum, useMirrorPair, type MirrorPair } from './mirror-pair';
import { seqOf } from './seq-clients';
import { eventually, readUntil, uniqueId } from './stack';

/**
 * The failback of failback-e2e and worker-crash-failback: Identity, one topic of 2
 * partitions on A and B; the forward flow A→B copied 50 records and was stopped at a
 * (simulated) failover; B took 30 records of its own and the group consumed all 80 there.
 */

export const PARTITIONS = 2;
export const FORWARD_RECORDS = 50;
export const DR_RECORDS = 30;
export const TOTAL = FORWARD_RECORDS + DR_RECORDS;

export interface FailbackScenario {
  id: string;
  topic: string;
  group: string;
  pair: MirrorPair;
  forwardConnectors: string[];
  forwardSource: string;
  reverseName: string;
  reverseConnectors: string[];
  /** End offsets of the topic on `cluster`, by partition. */
  ends(cluster: 'A' | 'B'): Promise<number[]>;
  /** Seqs from..to-1 to the topic on `cluster`. */
  produce(cluster: 'A' | 'B', from: number, to: number): Promise<void>;
  /** Forward flow, 50 records, failover, DR period: B's ends at the failover and the group's position on B. */
  failOver(): Promise<{ snapshot: Record<string, Record<string, string>>; consumedOnB: number[] }>;
  /** The failback input of both tests; `gateDeadline` and `catchUpTimeoutSeconds` differ. */
  input(snapshot: Record<string, Record<string, string>>, gateDeadline: string, catchUpTimeoutSeconds: number): FailbackInput;
  /** The uninterrupted failback's end state on the clusters; returns A's ends at cutover. */
  assertFailedBack(report: PlaybookReport<FailbackFigures>, consumedOnB: number[]): Promise<number[]>;
}

/** Registers the scenario's mirror pair (see useMirrorPair) in the calling describe. */
export function useFailbackScenario(name: string, prefix: string): FailbackScenario {
  const id = uniqueId();
  const topic = `${prefix}-${id}`;
  const group = `${prefix}-svc-${id}`;
  const forwardPlan = planAtoB(`${prefix}f-${id}`, [topic], [group]);
  const forwardConnectors = flowConnectors(forwardPlan).all;
  const forwardSource = forwardConnectors[0]!;
  const reverseName = `${prefix}r-${id}`;
  const reverseConnectors = flowConnectors({ name: reverseName, topicGroups: [{ name: 'failback', topics: [topic] }] }).all;
  const pair = useMirrorPair(name, {
    topics: [{ topic, partitions: PARTITIONS, on: ['A', 'B'] }],
    groups: [group],
    connectors: { 'connect-a': reverseConnectors },
  });
  const { kafkaA, kafkaB, adminA, adminB, connectA, connectB } = pair;
  const ends = (cluster: 'A' | 'B') => endOffsets(cluster === 'A' ? adminA : adminB, topic);
  const produce = (cluster: 'A' | 'B', from: number, to: number) =>
    produceSeq(cluster === 'A' ? kafkaA : kafkaB, topic, from, to, PARTITIONS);

  return {
    id,
    topic,
    group,
    pair,
    forwardConnectors,
    forwardSource,
    reverseName,
    reverseConnectors,
    ends,
    produce,
    async failOver() {
      assert.deepEqual(await pair.deployFlow(forwardPlan), forwardConnectors);
      await produce('A', 0, FORWARD_RECORDS);
      await eventually(
        'B drained the 50 forward records',
        async () => (sum(await ends('B')) === FORWARD_RECORDS ? true : undefined),
        90_000,
      );
      // The failover, simulated: forward flow stopped, B's end offsets snapshot.
      await stopFlow(connectB, forwardConnectors);
      const atFailover = await ends('B');
      assert.equal(sum(atFailover), FORWARD_RECORDS);
      const snapshot = { [topic]: Object.fromEntries(atFailover.map((o, p) => [String(p), String(o)])) };
      // The DR period: producers write to B; the group consumes everything there, commits and stops.
      await produce('B', FORWARD_RECORDS, TOTAL);
      const consumedOnB = await ends('B');
      assert.equal(sum(consumedOnB), TOTAL);
      const consumerB = kafkaB.consumer({ groupId: group, maxWaitTimeInMs: 200 });
      await consumerB.connect();
      try {
        await consumerB.subscribe({ topic, fromBeginning: true });
        const seen = new Set<number>();
        await consumerB.run({ autoCommit: false, eachMessage: async ({ message }) => void seen.add(seqOf(message.value)) });
        await eventually('the group consumed the 80 records on B', async () => (seen.size === TOTAL ? true : undefined), 60_000, 200);
        await consumerB.commitOffsets(consumedOnB.map((o, partition) => ({ topic, partition, offset: String(o) })));
      } finally {
        await consumerB.disconnect();
      }
      return { snapshot, consumedOnB };
    },
    input(snapshot, gateDeadline, catchUpTimeoutSeconds) {
      return {
        primary: 'A',
        dr: 'B',
        forward: { connect: 'connect-b', connectors: forwardConnectors, sourceConnectors: [forwardSource] },
        reverse: { connect: 'connect-a', name: reverseName, replicationFactor: 1, intervals: FAST_INTERVALS },
        topics: [topic],
        groups: [group],
        policy: 'identity',
        seed: { mode: 'auto', snapshot },
        requestedBy: 'tester',
        gates: {
          'consumers-cutover': { deadline: gateDeadline },
          'stop-producers': { deadline: gateDeadline },
          'producers-cutover': { deadline: gateDeadline },
        },
        lagThreshold: 0,
        catchUpTimeoutSeconds,
        quietSeconds: 2,
      };
    },
    async assertFailedBack(report, consumedOnB) {
      // A holds every seq exactly once: the 50 forward records were not copied back, the 30 DR ones arrived.
      const onAEnds = await ends('A');
      assert.equal(sum(onAEnds), TOTAL, `A's end offsets ${onAEnds.join(',')}`);
      const onA = await readUntil(kafkaA, topic, (r) => r.length >= TOTAL);
      assert.deepEqual(
        onA.map((r) => seqOf(r.value)).sort((a, b) => a - b),
        [...Array(TOTAL).keys()],
        'each seq 0..79 exactly once on A',
      );
      assert.equal(sum(report.figures.seed.map((s) => Number(s.toCopy))), DR_RECORDS, JSON.stringify(report.figures.seed));

      // The group's offsets on A: its position on B.
      const [onAGroup] = await adminA.fetchOffsets({ groupId: group, topics: [topic] });
      assert.deepEqual(
        onAGroup!.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset)),
        consumedOnB,
      );

      // The reverse flow is gone from connect-a.
      const onConnectA = await retrying('connect-a connectors', () => connectA.list());
      for (const n of reverseConnectors) assert.ok(!onConnectA.includes(n), `${n} deleted from connect-a`);

      // The cutover boundary is A's end, and the forward source resumes right after it.
      const cutover = report.figures.cutover.offsets[topic]!;
      assert.deepEqual(
        [...Array(PARTITIONS).keys()].map((p) => Number(cutover[String(p)])),
        onAEnds,
      );
      for (const n of forwardConnectors) {
        const status = await retrying(`${n} status`, () => connectB.status(n));
        assert.ok(inState(status, 'RUNNING', n.endsWith('-checkpoint')), `${n} RUNNING: ${JSON.stringify(status)}`);
      }
      const committed = committedMirrorOffsets('A', await retrying('forward offsets', () => connectB.getOffsets(forwardSource)));
      assert.deepEqual(
        [...committed.values()]
          .filter((c) => c.topic === topic) // MM2 also mirrors the shared `heartbeats` topic
          .sort((a, b) => a.partition - b.partition)
          .map((c) => [c.topic, c.partition, Number(c.offset)]),
        onAEnds.map((e, p) => [topic, p, e - 1]),
        'forward committed offsets = A end at cutover − 1',
      );
      return onAEnds;
    },
  };
}

/** B holds each seq 0..TOTAL once after one more record on A: nothing replayed, the new one copied. */
export async function assertNothingReplayed(s: FailbackScenario): Promise<void> {
  await s.produce('A', TOTAL, TOTAL + 1);
  await eventually('the new record on A copied to B', async () => (sum(await s.ends('B')) === TOTAL + 1 ? true : undefined), 60_000);
  const onB = await readUntil(s.pair.kafkaB, s.topic, (r) => r.length >= TOTAL + 1);
  assert.deepEqual(
    onB.map((r) => seqOf(r.value)).sort((a, b) => a - b),
    [...Array(TOTAL + 1).keys()],
    'each seq 0..80 exactly once on B',
  );
}
