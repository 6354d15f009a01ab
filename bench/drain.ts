import type { Admin, Producer } from 'kafkajs';
import { committedMirrorOffsets } from '../src/offsets/lag';
import type { benchDrain } from './workflows';
import { eventually, kafka, median, printTable, round, runMain, sizeOption, sleep, uniqueId, writeResult } from './lib/common';
import { connectClient, deleteFlow, deployFlow, type Flow } from './lib/flows';
import { ensureConnectFlush, runningFlushMs } from './lib/stack-control';
import { startWorkerChild, type WorkerChild } from './lib/worker-child';

/**
 * Benchmark 1: drain detection latency. Producers stop; the playbook's drain step
 * (workflows/steps.ts drainStep → waitForDrain, production defaults) runs on a worker;
 * a 50 ms poller watches Connect's GET /connectors/{name}/offsets for the moment the
 * last record's MM2 offset is committed. Latency = drain step end (journal) − that
 * moment. The floor of the whole drain is Connect's offset flush interval: a record is
 * replicated, then its offset waits up to one interval to be committed.
 *
 * Two flush intervals side by side without restarting Connect between rounds:
 * connect-b (flow A→B) runs with the first, connect-a (flow B→A) with the second,
 * and rounds alternate between them. Both workers get their original interval back.
 */

const PARTITIONS = 3;

interface Round {
  flushMs: number;
  direction: string;
  records: number;
  /** Last acknowledged record on the source → its MM2 offset committed on Connect. */
  ackToCommitMs: number;
  /** Commit visible on Connect → the drain step ended (journal). The figure. */
  commitToDrainEndMs: number;
  /** Commit visible → the client saw the workflow finish. */
  commitToResultMs: number;
  /** The drain step's own duration (journal). */
  drainStepMs: number;
  polls: number;
}

async function produceBurst(producer: Producer, topic: string, records: number): Promise<number> {
  const batch = 200;
  for (let sent = 0; sent < records; sent += batch) {
    const messages = [];
    for (let i = sent; i < Math.min(records, sent + batch); i++) messages.push({ key: `k${i}`, value: `v${i}`, partition: i % PARTITIONS });
    await producer.send({ topic, acks: -1, messages });
  }
  return Date.now();
}

async function oneRound(
  w: WorkerChild,
  flow: Flow,
  topic: string,
  admin: Admin,
  producer: Producer,
  flushMs: number,
  records: number,
): Promise<Round> {
  const connect = connectClient(flow.connect);
  const lastAckAt = await produceBurst(producer, topic, records);
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  const h = await w.client.workflow.start<typeof benchDrain>('benchDrain', {
    taskQueue: w.taskQueue,
    workflowId: `bench-drain-${uniqueId()}`,
    args: [{ connect: flow.connect, connectors: [flow.sourceConnector], source: flow.source, topics: [topic] }],
    workflowExecutionTimeout: '5 minutes',
  });
  const result = h.result().then((r) => ({ r, at: Date.now() }));
  const committedAt = await eventually(
    `the last record's MM2 offset committed on ${flow.connect}`,
    async () => {
      const c = committedMirrorOffsets(flow.source, await connect.getOffsets(flow.sourceConnector));
      for (const [p, end] of ends) {
        const o = [...c.values()].find((x) => x.topic === topic && x.partition === p)?.offset ?? null;
        if (end > 0n && (o === null || o + 1n < end)) return undefined;
      }
      return Date.now();
    },
    120_000,
    50,
  );
  const { r: report, at: resultAt } = await result;
  if (report.outcome !== 'completed') throw new Error(`benchDrain ${report.outcome}: ${report.reason ?? ''}`);
  const step = report.steps.find((s) => s.name === 'drain');
  if (!step?.endedAt) throw new Error('no drain step in the journal');
  const details = (step.details ?? {}) as { polls?: number };
  return {
    flushMs,
    direction: `${flow.source}→${flow.target}`,
    records,
    ackToCommitMs: committedAt - lastAckAt,
    commitToDrainEndMs: Date.parse(step.endedAt) - committedAt,
    commitToResultMs: resultAt - committedAt,
    drainStepMs: step.durationMs ?? Date.parse(step.endedAt) - Date.parse(step.startedAt),
    polls: details.polls ?? 0,
  };
}

async function main(): Promise<void> {
  const rounds = sizeOption('rounds', 5, 2);
  const records = sizeOption('records', 3000, 600);
  const flushes = [sizeOption('flush-1', 1000, 1000), sizeOption('flush-2', 5000, 5000)];
  const log = (line: string) => console.error(`bench drain: ${line}`);
  const original = { 'connect-b': runningFlushMs('connect-b'), 'connect-a': runningFlushMs('connect-a') };
  const id = uniqueId();
  const setups: Array<{ flushMs: number; flow: Flow; topic: string; admin: Admin; producer: Producer }> = [];
  let w: WorkerChild | undefined;
  try {
    await ensureConnectFlush('connect-b', flushes[0]!, log);
    await ensureConnectFlush('connect-a', flushes[1]!, log);
    for (const [i, source] of (['A', 'B'] as const).entries()) {
      const topic = `bench-drain-${source}-${id}`;
      const admin = kafka(source).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
      const producer = kafka(source).producer({ allowAutoTopicCreation: false });
      await producer.connect();
      const flow = await deployFlow({
        name: `bench-drain-${source}-${id}`,
        source,
        topics: [topic],
        groups: ['bench-drain-none'],
        policy: 'default',
      });
      setups.push({ flushMs: flushes[i]!, flow, topic, admin, producer });
    }
    w = await startWorkerChild();
    // Warm-up: replication started, the worker's bundle loaded, one drain each (not counted).
    for (const s of setups) await oneRound(w, s.flow, s.topic, s.admin, s.producer, s.flushMs, 10);
    const results: Round[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const s of setups) {
        const res = await oneRound(w, s.flow, s.topic, s.admin, s.producer, s.flushMs, records);
        log(
          `round ${r + 1}/${rounds} flush ${s.flushMs} ms: commit→drain end ${res.commitToDrainEndMs} ms (ack→commit ${res.ackToCommitMs} ms, ${res.polls} polls)`,
        );
        results.push(res);
        await sleep(500);
      }
    }
    const summary = flushes.map((flushMs) => {
      const rs = results.filter((x) => x.flushMs === flushMs);
      const m = (k: keyof Round) => median(rs.map((x) => x[k] as number));
      const latency = m('commitToDrainEndMs');
      return {
        flushMs,
        direction: rs[0]?.direction,
        rounds: rs.length,
        medianCommitToDrainEndMs: round(latency),
        medianAckToCommitMs: round(m('ackToCommitMs')),
        medianAckToDrainEndMs: round(median(rs.map((x) => x.ackToCommitMs + x.commitToDrainEndMs))),
        medianCommitToResultMs: round(m('commitToResultMs')),
        goalMs: flushMs + 1000,
        latencyOverFloor: round(latency / flushMs, 2),
      };
    });
    printTable(`Drain detection (${rounds} rounds each, ${records} records per burst, medians)`, [
      ['flush interval (floor)', 'commit → drain step done', 'last ack → commit', 'last ack → drain done', 'goal (flush + 1 s)'],
      ...summary.map((s) => [
        `${s.flushMs} ms`,
        `${s.medianCommitToDrainEndMs} ms`,
        `${s.medianAckToCommitMs} ms`,
        `${s.medianAckToDrainEndMs} ms`,
        `${s.goalMs} ms`,
      ]),
    ]);
    writeResult('drain', {
      what: 'drain detection latency: last MM2 offset committed on Connect → the playbook drain step (waitForDrain, production defaults) done',
      settings: { rounds, recordsPerBurst: records, partitions: PARTITIONS, pollOffsetsEveryMs: 50 },
      summary,
      rounds: results,
    });
  } finally {
    await w?.stop();
    for (const s of setups) {
      await deleteFlow(s.flow);
      await s.admin.deleteTopics({ topics: [s.topic] }).catch(() => undefined);
      const target = kafka(s.flow.target).admin();
      await target.connect();
      await target.deleteTopics({ topics: [`${s.flow.source}.${s.topic}`] }).catch(() => undefined);
      await target.disconnect();
      await s.producer.disconnect();
      await s.admin.disconnect();
    }
    if (original['connect-b'] !== undefined) await ensureConnectFlush('connect-b', original['connect-b'], log);
    if (original['connect-a'] !== undefined) await ensureConnectFlush('connect-a', original['connect-a'], log);
  }
}

runMain(main);
