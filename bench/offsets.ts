import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Admin } from 'kafkajs';
import { groupCommitter } from '../src/kafka/group-commit';
import { checkpointsTopic } from '../src/mm2/checkpoints';
import { encodeCheckpoint } from '../src/mm2/codecs';
import { kafka, median, printTable, round, runMain, sizeOption, stack, uniqueId, writeResult } from './lib/common';
import { activities } from './lib/flows';

/**
 * Benchmark 3: offset translation at scale. G consumer groups × 10 partitions. The
 * checkpoints are written straight into `A.checkpoints.internal` on B with kafka-dr's
 * MM2 codec (src/mm2/codecs.ts, pinned against bytes captured from the real MM2), not
 * emitted by MM2's checkpoint connector: 10,000 checkpoints from real groups would take
 * 1,000 consumer groups committing on A and minutes of MM2 emission before each round.
 *
 * Timed, alternating per round (the groups are deleted on B before each round so every
 * offset is really written):
 *  - kafka-dr: planOffsetTranslation (read the checkpoints, describe the groups, plan) and
 *    applyOffsetTranslation (plans again, re-checks each group, sets the offsets), called
 *    in-process as the worker would. The plan always covers all G groups; the apply too
 *    when a 50-group probe (its writes, less one plan) says it fits in 2 minutes, else it is timed on `--apply-sample`
 *    groups and its writes are extrapolated to G (the JSON says which).
 *  - kafka-dr exact (planned failover / failback): the same G groups parked at the same
 *    offsets on A (committed there with the admin API), the topic on A and its copy on B
 *    written with the same keys, values and timestamps; plan and apply with `exact`, which
 *    reads the groups' commits on A, the offset syncs on A (the stack's shared topic, as it
 *    is) and the records around every position on both clusters, and verifies each one.
 *  - the per-group CLI approach: `kafka-consumer-groups --reset-offsets --from-file
 *    <csv> --execute` per group (one JVM each, as kafka-run-class.sh runs it), given the
 *    translated offsets for free (a CSV per group). A sample of N groups is timed and
 *    extrapolated to G: G JVM launches would take far too long on this machine.
 */

const PARTITIONS = 10;
/** The apply runs on every group when the probe says it takes at most this long, else on a sample. */
const APPLY_BUDGET_MS = 120_000;
const RECORDS_PER_PARTITION = 100;
const run = promisify(execFile);
const log = (line: string) => console.error(`bench offsets: ${line}`);

async function cliReset(group: string, csv: string): Promise<number> {
  const t0 = Date.now();
  await run('java', [
    '-Xmx256M',
    '-server',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:InitiatingHeapOccupancyPercent=35',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-Djava.awt.headless=true',
    '-cp',
    `${stack.kafkaLibDir}/*`,
    'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
    '--bootstrap-server',
    stack.kafka.B.bootstrap,
    '--group',
    group,
    '--reset-offsets',
    '--from-file',
    csv,
    '--execute',
  ]);
  return Date.now() - t0;
}

async function main(): Promise<void> {
  const groups = sizeOption('groups', 1000, 50);
  const sample = sizeOption('cli-sample', 10, 3);
  const rounds = sizeOption('rounds', 2, 1);
  const applySample = sizeOption('apply-sample', 30, 10);
  const id = uniqueId();
  const topic = `offs-${id}`;
  const downstream = `A.${topic}`;
  const groupNames = Array.from({ length: groups }, (_, i) => `offs-${id}-g${String(i).padStart(5, '0')}`);
  const adminB: Admin = kafka('B').admin();
  await adminB.connect();
  const adminA: Admin = kafka('A').admin();
  await adminA.connect();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-bench-offsets-'));
  try {
    // The mirrored topic on B with records, and the checkpoints topic as MM2 creates it (compacted, 1 partition).
    await adminB.createTopics({ topics: [{ topic: downstream, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
    await adminA.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
    await adminB.createTopics({
      topics: [
        {
          topic: checkpointsTopic('A'),
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
      waitForLeaders: true,
    });
    const producer = kafka('B').producer({ allowAutoTopicCreation: false });
    await producer.connect();
    // The same records on A and B (key, value, timestamp): B's topic is a copy of A's, offset for offset.
    const filler = [];
    const ts = Date.now();
    for (let p = 0; p < PARTITIONS; p++)
      for (let i = 0; i < RECORDS_PER_PARTITION; i++)
        filler.push({ partition: p, key: `k${p}-${i}`, value: `r${i}`, timestamp: String(ts + i) });
    await producer.send({ topic: downstream, acks: -1, messages: filler });
    const producerA = kafka('A').producer({ allowAutoTopicCreation: false });
    await producerA.connect();
    await producerA.send({ topic, acks: -1, messages: filler });
    await producerA.disconnect();
    // One checkpoint per group-partition: a deterministic offset inside the topic.
    const expected = new Map<string, number[]>();
    for (const [g, group] of groupNames.entries()) {
      const offsets = Array.from({ length: PARTITIONS }, (_, p) => ((g * 7 + p * 13) % RECORDS_PER_PARTITION) + 1);
      expected.set(group, offsets);
    }
    for (let i = 0; i < groupNames.length; i += 100) {
      const messages = groupNames.slice(i, i + 100).flatMap((group) =>
        expected.get(group)!.map((o, partition) =>
          encodeCheckpoint({
            consumerGroupId: group,
            topic: downstream,
            partition,
            upstreamOffset: BigInt(o),
            downstreamOffset: BigInt(o),
            metadata: '',
          }),
        ),
      );
      await producer.send({ topic: checkpointsTopic('A'), acks: -1, messages });
    }
    await producer.disconnect();
    log(`${groups} groups × ${PARTITIONS} partitions: ${groups * PARTITIONS} checkpoints written to ${checkpointsTopic('A')} on B`);
    const input = { source: 'A', target: 'B', groups: [`offs-${id}-g.*`], topics: [topic] };
    const sampleGroups = groupNames.slice(0, sample);
    for (const group of sampleGroups) {
      fs.writeFileSync(
        path.join(dir, `${group}.csv`),
        expected
          .get(group)!
          .map((o, p) => `${downstream},${p},${o}\n`)
          .join(''),
      );
    }

    // A probe decides whether the apply runs on every group or on a sample (extrapolated):
    // at seconds per group, 1,000 groups would take over an hour per round.
    // Every apply first re-plans (reads all G groups' checkpoints), so the probe times a plan
    // too and charges only the rest to the probe's groups.
    // 50 groups, so the fixed cost of an apply (connections, group coordinator lookups) does not pass for a per-group cost.
    const probeGroups = groupNames.slice(0, Math.min(50, groups));
    await adminB.deleteGroups(probeGroups).catch(() => undefined);
    const p0 = Date.now();
    await activities.planOffsetTranslation({ ...input, groups: probeGroups });
    const p1 = Date.now();
    await activities.applyOffsetTranslation({ ...input, groups: probeGroups });
    const probePerGroupMs = Math.max(0, Date.now() - p1 - (p1 - p0)) / probeGroups.length;
    const applyGroups = p1 - p0 + probePerGroupMs * groups <= APPLY_BUDGET_MS ? groups : Math.min(groups, applySample);
    log(
      `apply probe: ${round(probePerGroupMs)} ms per group → apply timed on ${applyGroups} of ${groups} groups${applyGroups < groups ? ' (extrapolated)' : ''}`,
    );
    const applyInput = applyGroups === groups ? input : { ...input, groups: groupNames.slice(0, applyGroups) };

    const gp = groups * PARTITIONS;
    const results: Array<{ planMs: number; applyMs: number; applyGroups: number; applied: number; cliPerGroupMs: number[] }> = [];
    for (let r = 0; r < rounds; r++) {
      await adminB.deleteGroups(groupNames).catch(() => undefined);
      const t0 = Date.now();
      const plan = await activities.planOffsetTranslation(input);
      const planMs = Date.now() - t0;
      if (plan.groups.length !== groups) throw new Error(`planned ${plan.groups.length} groups, expected ${groups}`);
      const t1 = Date.now();
      const applied = await activities.applyOffsetTranslation(applyInput);
      const applyMs = Date.now() - t1;
      if (applied.applied.length !== applyGroups * PARTITIONS) {
        throw new Error(
          `applied ${applied.applied.length} offsets, expected ${applyGroups * PARTITIONS} (${applied.checkpointsRead} checkpoints read)`,
        );
      }
      // The CLI side on the sample (deleted first, so it writes from scratch as kafka-dr did).
      await adminB.deleteGroups(sampleGroups).catch(() => undefined);
      const cliPerGroupMs: number[] = [];
      for (const group of sampleGroups) cliPerGroupMs.push(await cliReset(group, path.join(dir, `${group}.csv`)));
      const check = await adminB.fetchOffsets({ groupId: sampleGroups[0]!, topics: [downstream] });
      const got = check[0]!.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
      if (JSON.stringify(got) !== JSON.stringify(expected.get(sampleGroups[0]!))) throw new Error(`CLI reset left ${got.join(',')}`);
      log(
        `round ${r + 1}/${rounds}: kafka-dr plan ${planMs} ms, apply ${applyMs} ms (${applied.applied.length} offsets); CLI median ${median(cliPerGroupMs)} ms per group (${sample} groups)`,
      );
      results.push({ planMs, applyMs, applyGroups, applied: applied.applied.length, cliPerGroupMs });
    }
    // Exact: the groups committed on A at the checkpoints' upstream offsets (100 = the end: caught up).
    // One OffsetCommit per group (kafkajs' setOffsets joins the group as a consumer: seconds each).
    const committer = await groupCommitter(kafka('A'));
    try {
      for (const group of groupNames) {
        await committer.commit(group, [
          { topic, partitions: expected.get(group)!.map((o, partition) => ({ partition, offset: String(o) })) },
        ]);
      }
    } finally {
      await committer.close();
    }
    const exactInput = { ...input, exact: true, policy: 'default' as const };
    const exactRounds: Array<{
      planMs: number;
      applyMs: number;
      verified: number;
      applied: number;
      recordsRead: number;
      syncsRead: number;
    }> = [];
    for (let r = 0; r < rounds; r++) {
      await adminB.deleteGroups(groupNames).catch(() => undefined);
      const t0 = Date.now();
      const plan = await activities.planOffsetTranslation(exactInput);
      const planMs = Date.now() - t0;
      const exactParts = plan.groups.flatMap((g) => g.partitions).filter((p) => p.method === 'exact');
      if (exactParts.length !== gp)
        throw new Error(`exact plan: ${exactParts.length} of ${gp} group-partitions verified (${JSON.stringify(plan.exactReads)})`);
      const t1 = Date.now();
      const applied = await activities.applyOffsetTranslation(exactInput);
      const applyMs = Date.now() - t1;
      if (applied.applied.length !== gp) throw new Error(`exact apply: ${applied.applied.length} offsets, expected ${gp}`);
      const check = await adminB.fetchOffsets({ groupId: groupNames[groups - 1]!, topics: [downstream] });
      const got = check[0]!.partitions.sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
      if (JSON.stringify(got) !== JSON.stringify(expected.get(groupNames[groups - 1]!)))
        throw new Error(`exact apply left ${got.join(',')}`);
      const reads = applied.exactReads!;
      // One pass over the checkpoints and one over the offset syncs for the whole apply, not one per group or partition.
      if (applied.readPasses?.checkpoints !== 1 || applied.readPasses.offsetSyncs !== 1)
        throw new Error(`exact apply read the internal topics ${JSON.stringify(applied.readPasses)} times, expected once each`);
      log(
        `exact round ${r + 1}/${rounds}: plan ${planMs} ms, apply ${applyMs} ms (${reads.verified}/${reads.attempted} verified, ${reads.sourceRecordsRead}+${reads.targetRecordsRead} records, ${reads.syncsRead} syncs read; passes: checkpoints ${applied.readPasses.checkpoints}, syncs ${applied.readPasses.offsetSyncs})`,
      );
      exactRounds.push({
        planMs,
        applyMs,
        verified: reads.verified,
        applied: applied.applied.length,
        recordsRead: reads.sourceRecordsRead + reads.targetRecordsRead,
        syncsRead: reads.syncsRead,
      });
    }
    const planMs = median(results.map((x) => x.planMs));
    // The apply re-plans (reads every checkpoint) and writes applyGroups groups: scale the writes only.
    const measuredApplyMs = median(results.map((x) => x.applyMs));
    const applyMs = applyGroups === groups ? measuredApplyMs : planMs + (Math.max(0, measuredApplyMs - planMs) * groups) / applyGroups;
    const cliPerGroup = median(results.flatMap((x) => x.cliPerGroupMs));
    const cliTotal = cliPerGroup * groups;
    const summary = {
      groupPartitions: gp,
      kafkaDr: {
        planMs: round(planMs),
        applyMs: round(applyMs),
        applyTimedOnGroups: applyGroups,
        applyExtrapolated: applyGroups < groups,
        measuredApplyMs: round(measuredApplyMs),
        groupPartitionsPerSecond: round(gp / (applyMs / 1000), 1),
      },
      cli: {
        sampledGroups: sample,
        medianPerGroupMs: round(cliPerGroup),
        extrapolatedTotalMs: round(cliTotal),
        groupPartitionsPerSecond: round(PARTITIONS / (cliPerGroup / 1000), 1),
      },
      speedup: round(cliTotal / applyMs, 2),
      exact: {
        planMs: round(median(exactRounds.map((x) => x.planMs))),
        applyMs: round(median(exactRounds.map((x) => x.applyMs))),
        verified: exactRounds[0]?.verified ?? 0,
        recordsRead: exactRounds[0]?.recordsRead ?? 0,
        syncsRead: exactRounds[0]?.syncsRead ?? 0,
      },
    };
    printTable(`Offset translation, ${groups} groups × ${PARTITIONS} partitions = ${gp} group-partitions (${rounds} round(s), medians)`, [
      ['approach', 'read + plan', 'read + plan + apply', 'group-partitions/s', 'goal'],
      [
        `kafka-dr (plan / apply activities${applyGroups < groups ? `, apply on ${applyGroups} groups, extrapolated` : ''})`,
        `${round(planMs)} ms`,
        `${round(applyMs)} ms`,
        summary.kafkaDr.groupPartitionsPerSecond,
        '10,000 in ≤ 10 s',
      ],
      [
        'kafka-dr exact (verified by record content; apply re-plans)',
        `${summary.exact.planMs} ms`,
        `${summary.exact.applyMs} ms`,
        round(gp / (summary.exact.applyMs / 1000), 1),
        '10,000 in ≤ 10 s',
      ],
      [`CLI reset per group (${sample} sampled, extrapolated)`, 'given', `${round(cliTotal)} ms`, summary.cli.groupPartitionsPerSecond, ''],
    ]);
    writeResult('offsets', {
      what: 'consumer-group offset translation at scale: kafka-dr plan + apply vs kafka-consumer-groups --reset-offsets per group',
      checkpoints: 'written directly into A.checkpoints.internal on B with the MM2 codec (src/mm2/codecs.ts), not emitted by MM2',
      settings: {
        groups,
        partitions: PARTITIONS,
        rounds,
        cliSample: sample,
        applyTimedOnGroups: applyGroups,
        applyProbeMsPerGroup: round(probePerGroupMs),
      },
      goal: '10,000 group-partitions translated and applied in ≤ 10 s',
      summary,
      rounds: results,
      exactRounds,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    // Tombstones for the bench's checkpoints, so compaction drops them from the stack's checkpoints topic.
    const cleaner = kafka('B').producer({ allowAutoTopicCreation: false });
    await cleaner.connect();
    for (let i = 0; i < groupNames.length; i += 100) {
      const messages = groupNames.slice(i, i + 100).flatMap((group) =>
        Array.from({ length: PARTITIONS }, (_, partition) => ({
          key: encodeCheckpoint({
            consumerGroupId: group,
            topic: downstream,
            partition,
            upstreamOffset: 0n,
            downstreamOffset: 0n,
            metadata: '',
          }).key,
          value: null,
        })),
      );
      await cleaner.send({ topic: checkpointsTopic('A'), acks: -1, messages }).catch(() => undefined);
    }
    await cleaner.disconnect();
    await adminB.deleteGroups(groupNames).catch(() => undefined);
    await adminB.deleteTopics({ topics: [downstream] }).catch(() => undefined);
    await adminB.disconnect();
    await adminA.deleteGroups(groupNames).catch(() => undefined);
    await adminA.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await adminA.disconnect();
  }
}

runMain(main);
