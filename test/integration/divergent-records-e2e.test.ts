import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import type { FindDivergentResult } from '../../activities/divergent';
import type { FailbackFigures, FailbackInput } from '../../src/model/failback-input';
import type { PlaybookReport } from '../../src/model/gates';
import { ORIGIN_HEADERS, quarantineTopicFor, REPLAY_HEADERS, type DivergentFigures } from '../../src/offsets/divergent';
import type { failback } from '../../workflows/failback';
import { abortSignal, approveSignal } from '../../workflows/framework';
import { eventually, readUntil, uniqueId } from '../helpers/stack';
import { cycleFailbackInput, cycleNames, endOffsets, forwardUntilFailover, produceSeq, sum, useMirrorPair } from '../helpers/mirror-pair';
import { seqOf } from '../helpers/seq-clients';
import { e2eGateOpen } from '../helpers/playbook';
import { runSideBySide } from '../helpers/worker';
import { captureHistory } from '../replay/capture';

/**
 * Divergent records on failback, on the real stack (Identity): the forward flow A→B copied
 * 20 records and was stopped (the failover); then 6 records went to A that B never got (an
 * unplanned tail / stragglers) while B took 10 records of its own. The failback finds the 6
 * on A (the 10 the reverse flow copied back into the same partitions are not divergent)
 * and asks at gate divergent-records. Three flows side by side, one per choice:
 *
 * - replay, after a first failback attempt aborted once the reverse flow had copied the 10
 *   (and 2 more stragglers on A in between, after the copied records): the re-run copies
 *   nothing twice (each DR-period record once on A) and finds 8. Two groups on A: `reader`
 *   committed past them, `early` at the first of them (reported as reading 8 twice). Replay
 *   appends the 8 on A after the cutover snapshot (B untouched until then); the resumed
 *   forward flow copies them: B ends with every record exactly once (counted by seq), the
 *   copies carrying their origin header; `reader` reads each of the 8 once, `early` twice as
 *   reported; the activity run again (a retry) writes nothing; find-divergent with a later
 *   snapshot (a re-run's) counts the 8 originals, not their copies;
 * - quarantine: the 6 land in kafka-dr.quarantine.<topic>.internal on A with origin
 *   headers, in the JSON export, and never on B;
 * - discard: recorded with the count; B never gets them.
 */

const PARTITIONS = 2;
const FORWARD = 20;
const TAIL = 6;
const DR = 10;
const STRAGGLERS = 2;

type Choice = 'replay' | 'quarantine' | 'discard';
/** Tail records per partition the `crashed` group had committed past on A before the failover. */
const READ_BEFORE = 2;

describe('failback: divergent records kept on the real stack (Identity)', { timeout: 600_000 }, () => {
  const exportDir = mkdtempSync(join(tmpdir(), 'kdr-quarantine-'));
  const flows = (['replay', 'quarantine', 'discard'] as const).map((choice) => flowFor(choice, uniqueId()));
  const pair = useMirrorPair('divergent-e2e', {
    topics: flows.map((f) => ({ topic: f.topic, partitions: PARTITIONS, on: ['A', 'B'] })),
    connectors: { 'connect-b': flows.flatMap((f) => f.forwardConnectors), 'connect-a': flows.flatMap((f) => f.reverseConnectors) },
    groups: flows.flatMap((f) => [`${f.group}-reader`, `${f.group}-early`, `${f.group}-crashed`]),
  });
  pair.leaves({ topics: { A: flows.map((f) => quarantineTopicFor(f.topic)) } });
  const { activities, kafkaA, kafkaB, adminA, adminB } = pair;

  function flowFor(choice: Choice, id: string) {
    return {
      choice,
      id,
      topic: `dv-${choice}-${id}`,
      group: `dv-svc-${id}`,
      ...cycleNames(`dvf-${id}`, `dvr-${id}`),
    };
  }
  type Flow = ReturnType<typeof flowFor>;

  const ends = endOffsets;
  const produce = (client: Kafka, topic: string, from: number, to: number) => produceSeq(client, topic, from, to, PARTITIONS);

  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
  /** What the replay flow's failback showed at its gates, before resume-forward. */
  const seen: {
    divergent?: DivergentFigures;
    description?: string;
    bAtProducersCutover?: number;
    aAtProducersCutover?: number;
    rerunFind?: FindDivergentResult;
  } = {};
  /** Reads with `groupId` from its committed positions until `count` records, then 3 s more (a duplicate would show). */
  const consumeGroup = async (groupId: string, topic: string, count: number) => {
    const consumer = kafkaA.consumer({ groupId, maxWaitTimeInMs: 250 });
    const got: number[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: false });
      await consumer.run({ eachMessage: async ({ message }) => void got.push(seqOf(message.value)) });
      await eventually(`${groupId} read ${count}`, async () => (got.length >= count ? true : undefined), 60_000, 250);
      await new Promise((r) => setTimeout(r, 3_000));
    } finally {
      await consumer.disconnect();
    }
    return got.sort((a, b) => a - b);
  };

  before(() => {
    process.env['KDR_QUARANTINE_DIR'] = exportDir;
  });

  /** Forward flow deployed, 20 records replicated, flow stopped (the failover), tail on A, DR records on B; the snapshot. */
  async function prepare(f: Flow): Promise<Record<string, Record<string, string>>> {
    const atFailover = await forwardUntilFailover(pair, f, { forward: FORWARD, partitions: PARTITIONS });
    assert.equal(sum(atFailover), FORWARD);
    await produce(kafkaA, f.topic, FORWARD, FORWARD + TAIL); // never reaches B
    await produce(kafkaB, f.topic, 100, 100 + DR); // the DR period
    return { [f.topic]: Object.fromEntries(atFailover.map((o, p) => [String(p), String(o)])) };
  }

  function failbackInput(f: Flow, snapshot: Record<string, Record<string, string>>): FailbackInput {
    const gate = { deadline: '8 minutes' };
    return cycleFailbackInput({ all: f.forwardConnectors, sources: [f.forwardSource] }, f.reverseName, {
      topics: [f.topic],
      groups: [f.group],
      seed: { mode: 'auto', snapshot },
      gates: { 'consumers-cutover': gate, 'stop-producers': gate, 'producers-cutover': gate },
      lagThreshold: 0,
      catchUpTimeoutSeconds: 180,
    });
  }

  /** Up to 4 minutes a gate on the loaded stack; fails at once if the playbook ends. */
  const gateOpen = (h: WorkflowHandle, gate: string) => e2eGateOpen(h, gate, 240_000);

  async function runFailback(client: Client, taskQueue: string, f: Flow, snapshot: Record<string, Record<string, string>>) {
    // Replay scenario: a first attempt aborted after the reverse flow copied the DR-period records.
    if (f.choice === 'replay') {
      const first = await client.workflow.start<typeof failback>('failback', {
        taskQueue,
        workflowId: `divergent-e2e-${f.id}-1`,
        args: [failbackInput(f, snapshot)],
        workflowExecutionTimeout: '8 minutes',
      });
      await gateOpen(first, 'consumers-cutover');
      assert.equal(sum(await ends(adminA, f.topic)), FORWARD + TAIL + DR, 'the first attempt copied the 10 to A');
      await first.signal(abortSignal, { by: 'tester', reason: 'a failback that fails after copying' });
      const r1 = (await first.result()) as PlaybookReport<FailbackFigures>;
      assert.equal(r1.outcome, 'aborted');
      assert.deepEqual(r1.compensation!.undone, ['delete the reverse flow']);
      // Stragglers on A between the attempts: after the copied records, interleaved with them.
      await produce(kafkaA, f.topic, FORWARD + TAIL, FORWARD + TAIL + STRAGGLERS);
      // reader: committed past every divergent record; early: at the first of them (the forward flow's end).
      const endsNow = await ends(adminA, f.topic);
      await adminA.setOffsets({
        groupId: `${f.group}-reader`,
        topic: f.topic,
        partitions: endsNow.map((o, p) => ({ partition: p, offset: String(o) })),
      });
      await adminA.setOffsets({
        groupId: `${f.group}-early`,
        topic: f.topic,
        partitions: endsNow.map((_, p) => ({ partition: p, offset: String(FORWARD / PARTITIONS) })),
      });
      // crashed: had read the first READ_BEFORE tail records of each partition on A before the failover.
      await adminA.setOffsets({
        groupId: `${f.group}-crashed`,
        topic: f.topic,
        partitions: endsNow.map((_, p) => ({ partition: p, offset: String(Number(snapshot[f.topic]![String(p)]) + READ_BEFORE) })),
      });
    }
    const h = await client.workflow.start<typeof failback>('failback', {
      taskQueue,
      workflowId: `divergent-e2e-${f.id}`,
      args: [failbackInput(f, snapshot)],
      workflowExecutionTimeout: '8 minutes',
    });
    await gateOpen(h, 'consumers-cutover');
    await h.signal(approveSignal, { gate: 'consumers-cutover', by: 'approver' });
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'approver' });
    const s = await gateOpen(h, 'divergent-records');
    const expected = f.choice === 'replay' ? TAIL + STRAGGLERS : TAIL;
    assert.match(s.openGate!.description, new RegExp(`^${expected} record\\(s\\) on A never reached B`));
    if (f.choice === 'replay') {
      seen.divergent = s.figures['divergent'] as DivergentFigures;
      seen.description = s.openGate!.description;
    }
    // A bare approve takes the default (replay); the others name their choice.
    await h.signal(approveSignal, {
      gate: 'divergent-records',
      by: 'approver',
      ...(f.choice === 'replay' ? {} : { choices: { records: f.choice } }),
    });
    const atProducers = await gateOpen(h, 'producers-cutover');
    if (f.choice === 'replay') {
      // The copies are on A now, above the snapshot; B gets nothing from kafka-dr itself.
      seen.bAtProducersCutover = sum(await ends(adminB, f.topic));
      const aNow = await ends(adminA, f.topic);
      seen.aAtProducersCutover = sum(aNow);
      // A re-run would snapshot above the copies: find-divergent counts the originals, never the copies.
      const seed = atProducers.figures['seed'] as FailbackFigures['seed'];
      seen.rerunFind = await activities.findDivergentRecords({
        primary: 'A',
        dr: 'B',
        policy: 'identity',
        forward: { connect: 'connect-b', sourceConnectors: [f.forwardSource] },
        cutover: { [f.topic]: Object.fromEntries(aNow.map((o, p) => [String(p), String(o)])) },
        reverseFrom: seed.map((x) => ({ topic: x.topic, partition: x.partition, from: x.resumeAt === 'earliest' ? null : x.resumeAt })),
      });
    }
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'approver' });
    const report = (await h.result()) as PlaybookReport<FailbackFigures>;
    await captureHistory(h, `failback-divergent-${f.choice}`);
    return report;
  }

  it('finds the records B never got, and replays, quarantines or discards them as chosen; a re-run copies nothing twice', async (t) => {
    const started = Date.now();
    const reports = await runSideBySide(flows, prepare, ({ client, taskQueue }, f, snapshot) =>
      runFailback(client, taskQueue, f, snapshot),
    );
    const [replay, quarantine, discard] = reports as [
      PlaybookReport<FailbackFigures>,
      PlaybookReport<FailbackFigures>,
      PlaybookReport<FailbackFigures>,
    ];

    // replay: 8 found (6 tail + 2 stragglers), none of the 10 copied back from B.
    const [fr, fq, fd] = flows as [Flow, Flow, Flow];
    const dr = replay.figures.divergent;
    assert.equal(dr.records, TAIL + STRAGGLERS, JSON.stringify(dr));
    assert.equal(dr.choice, 'replay');
    assert.equal(dr.by, 'approver');
    assert.equal(sum(dr.partitions.map((p) => p.fromDr)), DR, 'the 10 DR-period records on A are recognised as copied back');
    const DIVERGENT = TAIL + STRAGGLERS;
    const divergentSeqs = range(FORWARD, FORWARD + DIVERGENT);
    assert.deepEqual(dr.replayed, { copied: DIVERGENT, written: DIVERGENT, topics: [fr.topic] });
    // Part 4: the re-run seeded after the first attempt's copy, so each DR-period record is on A once.
    assert.ok((replay.figures.seedFromPrevious ?? []).length > 0, JSON.stringify(replay.figures.seed));
    // The groups on A, reported at the gate: reader past the originals, early reads them too.
    // crashed: its commits on A from before the failover, read before deploy-reverse (reader's lies past
    // the first attempt's copies from B: not a position from before the failover).
    const readBefore = READ_BEFORE * PARTITIONS;
    assert.deepEqual(
      seen.divergent!.groups!.map((g) => [g.group, g.readsOriginals, g.readBefore]),
      [
        [`${fr.group}-crashed`, DIVERGENT - readBefore, readBefore],
        [`${fr.group}-early`, DIVERGENT, undefined],
        [`${fr.group}-reader`, 0, undefined],
      ],
      JSON.stringify(seen.divergent),
    );
    assert.match(
      seen.description!,
      new RegExp(`twice: ${fr.group}-crashed \\(${DIVERGENT - readBefore}\\), ${fr.group}-early \\(${DIVERGENT}\\)`),
    );
    assert.match(seen.description!, new RegExp(`before the failover .* again: ${fr.group}-crashed \\(${readBefore}\\) duplicate`));
    assert.match(seen.description!, /compacted topic/);
    const totalA = FORWARD + TAIL + STRAGGLERS + DR;
    assert.equal(seen.bAtProducersCutover, FORWARD + DR, 'before resume-forward B has none of the 8: kafka-dr writes nothing to B');
    // The replay writes in one transaction: a commit marker follows the copies in each partition it wrote.
    const markers = dr.partitions.length;
    assert.equal(seen.aAtProducersCutover, totalA + DIVERGENT + markers, 'the 8 copies are on A before the producers move');
    assert.deepEqual(
      [seen.rerunFind!.records, seen.rerunFind!.replayCopies],
      [DIVERGENT, DIVERGENT],
      'a re-run above the copies finds the 8 originals, not the copies',
    );
    // The forward flow resumes at the snapshot, below the copies.
    const cut = replay.figures.cutover.offsets[fr.topic]!;
    assert.deepEqual(
      replay.figures.forwardOffsets.map((o) => [o.partition, o.offset]),
      Object.entries(cut).map(([p, end]) => [Number(p), String(Number(end) - 1)]),
    );
    // A: the originals (each record once, no DR-period record copied twice) and one copy of each of the 8 above the snapshot.
    assert.equal(sum(await ends(adminA, fr.topic)), totalA + DIVERGENT + markers);
    const expectAll = [...range(0, FORWARD + TAIL + STRAGGLERS), ...range(100, 100 + DR)];
    const onA = await readUntil(kafkaA, fr.topic, (r) => r.length >= totalA + DIVERGENT);
    assert.deepEqual(
      onA.map((r) => seqOf(r.value)).sort((a, b) => a - b),
      [...expectAll, ...divergentSeqs].sort((a, b) => a - b),
      'A: every record once, the 8 divergent twice (original and copy)',
    );
    const copies = onA.filter((r) => r.headers?.[REPLAY_HEADERS.origin] !== undefined);
    assert.equal(copies.length, DIVERGENT);
    for (const c of copies) {
      assert.ok(Number(c.offset) >= Number(cut[String(c.partition)]), `copy at ${c.partition}/${c.offset} is above the snapshot`);
      const [t, p, o] = String(c.headers![REPLAY_HEADERS.origin]).split('/');
      const original = onA.find((r) => r.partition === Number(p) && r.offset === o)!;
      assert.equal(t, fr.topic);
      assert.equal(original.value!.toString(), c.value!.toString(), 'the origin offset holds the same record');
      assert.equal(original.key!.toString(), c.key!.toString());
    }
    // B: the copies arrive through the resumed forward flow (bounded poll), then every record exactly once.
    const copiedAt = Date.now();
    await eventually(
      `B receives the ${DIVERGENT} copies through MM2`,
      async () => (sum(await ends(adminB, fr.topic)) >= totalA ? true : undefined),
      90_000,
      500,
    );
    const arrivedMs = Date.now() - copiedAt;
    await new Promise((r) => setTimeout(r, 5_000));
    assert.equal(sum(await ends(adminB, fr.topic)), totalA, 'B: nothing more after the copies');
    const onB = await readUntil(kafkaB, fr.topic, (r) => r.length >= totalA);
    assert.deepEqual(
      onB.map((r) => seqOf(r.value)).sort((a, b) => a - b),
      expectAll,
      'B: every record exactly once, none of the DR period twice',
    );
    assert.deepEqual(
      onB
        .filter((r) => r.headers?.[REPLAY_HEADERS.origin] !== undefined)
        .map((r) => seqOf(r.value))
        .sort((a, b) => a - b),
      divergentSeqs,
      'the 8 on B are the replayed copies (MM2 kept the origin header)',
    );
    // The groups on A: reader reads each copy once; early reads each of the 8 twice, as reported.
    assert.deepEqual(await consumeGroup(`${fr.group}-reader`, fr.topic, DIVERGENT), divergentSeqs, 'reader: each of the 8 once');
    const early = await consumeGroup(`${fr.group}-early`, fr.topic, totalA - FORWARD + DIVERGENT);
    const twice = [...new Set(early)].filter((x) => early.filter((y) => y === x).length === 2);
    assert.deepEqual(twice, divergentSeqs, 'early: the originals and the copies, as readsOriginals said');
    // crashed: the originals past its position twice, and a copy of each it had read before: readBefore more.
    const crashed = await consumeGroup(`${fr.group}-crashed`, fr.topic, totalA - FORWARD - readBefore + DIVERGENT);
    const times = (x: number) => crashed.filter((y) => y === x).length;
    const readEarlier = divergentSeqs.filter((x) => Math.floor((x - FORWARD) / PARTITIONS) < READ_BEFORE);
    assert.equal(readEarlier.length, readBefore);
    assert.deepEqual(
      divergentSeqs.map((x) => [x, times(x)]),
      divergentSeqs.map((x) => [x, readEarlier.includes(x) ? 1 : 2]),
      'crashed: once more each of the readBefore it had read, twice each of readsOriginals',
    );
    // The replay activity run again (an activity retry): finds its copies above the snapshot, writes nothing.
    const again = await activities.copyDivergentRecords({
      primary: 'A',
      dr: 'B',
      choice: 'replay',
      partitions: dr.partitions.map((p) => ({
        topic: p.topic,
        partition: p.partition,
        ranges: p.ranges,
        drTopic: p.topic,
        drEnd: '0',
        after: p.to,
      })),
      workflowId: `divergent-e2e-${fr.id}`,
      runId: 'retry',
    });
    assert.deepEqual([again.copied, again.written], [DIVERGENT, 0]);
    assert.equal(sum(await ends(adminA, fr.topic)), totalA + DIVERGENT + markers, 'A: the retry appended nothing, not even a marker');
    t.diagnostic(`replay: waited ${arrivedMs} ms for the copies on B after the checks on A`);

    // quarantine: the 6 on A's quarantine topic with origin headers, in the export, not on B.
    const dq = quarantine.figures.divergent;
    assert.equal(dq.records, TAIL);
    assert.equal(dq.choice, 'quarantine');
    assert.equal(dq.quarantine!.copied, TAIL);
    assert.deepEqual(dq.quarantine!.topics, [quarantineTopicFor(fq.topic)]);
    const quarantined = await readUntil(kafkaA, quarantineTopicFor(fq.topic), (r) => r.length >= TAIL);
    assert.equal(quarantined.length, TAIL);
    assert.deepEqual(
      quarantined.map((r) => seqOf(r.value)).sort((a, b) => a - b),
      range(FORWARD, FORWARD + TAIL),
    );
    const onAq = await readUntil(kafkaA, fq.topic, (r) => r.length >= FORWARD + TAIL + DR);
    for (const r of quarantined) {
      const h = (n: string) => String(r.headers![n]);
      const origin = onAq.find((o) => o.partition === Number(h(ORIGIN_HEADERS.partition)) && o.offset === h(ORIGIN_HEADERS.offset))!;
      assert.equal(h(ORIGIN_HEADERS.topic), fq.topic);
      assert.equal(origin.value!.toString(), r.value!.toString(), 'the origin offset holds the same record on A');
      assert.match(h(ORIGIN_HEADERS.timestamp), /^\d{13}$/);
    }
    const exported = JSON.parse(readFileSync(dq.quarantine!.exportPath, 'utf8')) as { records: Array<{ value: string; offset: string }> };
    assert.ok(dq.quarantine!.exportPath.startsWith(exportDir));
    assert.deepEqual(
      exported.records.map((r) => seqOf(Buffer.from(r.value, 'base64'))).sort((a, b) => a - b),
      range(FORWARD, FORWARD + TAIL),
    );
    assert.equal(sum(await ends(adminB, fq.topic)), FORWARD + DR, 'quarantined records never reach B');

    // discard: recorded, nothing copied anywhere.
    const dd = discard.figures.divergent;
    assert.equal(dd.records, TAIL);
    assert.equal(dd.choice, 'discard');
    assert.equal(dd.discarded, TAIL);
    assert.equal(sum(await ends(adminB, fd.topic)), FORWARD + DR, 'discarded records never reach B');
    assert.ok(!(await adminA.listTopics()).includes(quarantineTopicFor(fd.topic)));
    t.diagnostic(
      `durations ms: replay ${replay.durationMs}, quarantine ${quarantine.durationMs}, discard ${discard.durationMs}; test ${Date.now() - started}; ` +
        `find-divergent ms ${reports.map((r) => r.steps.find((s) => s.name === 'find-divergent')?.durationMs).join(',')}`,
    );
  });
});
