import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Kafka } from 'kafkajs';
import type { FailbackFigures, FailbackInput } from '../../src/model/failback-input';
import type { PlaybookReport } from '../../src/model/gates';
import type { failback } from '../../workflows/failback';
import { abortSignal, approveSignal, statusQuery } from '../../workflows/framework';
import { eventually, readUntil, uniqueId } from '../helpers/stack';
import { retrying } from '../helpers/mm2';
import {
  cycleFailbackInput,
  cycleNames,
  endOffsets,
  forwardUntilFailover,
  produceSeq,
  sum,
  useMirrorPair,
  type Cluster,
} from '../helpers/mirror-pair';
import { seqOf } from '../helpers/seq-clients';
import { e2eGateOpen } from '../helpers/playbook';
import { runSideBySide } from '../helpers/worker';
import { captureHistory } from '../replay/capture';

/**
 * A failed failback run again, when the previous reverse connector's committed offsets are
 * gone (issue 14 part 4), on the real stack. Per flow: the forward flow A→B copies 20
 * records and stops (the failover); 3 records go to A only (a tail); B takes 10 DR-period
 * records. A first failback attempt copies the 10 to A and is aborted (the reverse flow is
 * deleted); then its source connector is created again STOPPED, its offsets are DELETEd
 * through Connect's offsets API (checked empty) and it is deleted again; B takes 5 more.
 * The re-run must find the 10 on A by content and copy only the 5 (the first attempt's own
 * search finds nothing of this DR period: Identity's tail is A's own, and Default's A
 * `B.<topic>` holds only an earlier failback's copies, whose originals B no longer has):
 *
 * - identity: A's `<topic>` holds every DR-period seq exactly once (with A's own 23);
 * - default: A's `B.<topic>` holds every DR-period seq exactly once;
 * - identity with seed.onPrimary 'ignore' (the negative control): the 10 come again, which
 *   also shows the offsets really were gone (committed offsets would have prevented it).
 */

const PARTITIONS = 2;
const FORWARD = 20;
const TAIL = 3;
const DR1 = 10;
const DR2 = 5;
/** Default: an earlier failback's copies already in A's B.<topic>. */
const OLDER = 2;

type Kind = 'identity' | 'default' | 'ignore';

describe('failback re-run: copies nothing twice when the previous reverse offsets are gone', { timeout: 900_000 }, () => {
  const flows = (['identity', 'default', 'ignore'] as const).map((kind) => flowFor(kind, uniqueId()));
  const defaultFlow = flows.find((f) => f.kind === 'default')!;
  // B's <topic> is where producers write during DR (Default: B-local; Identity: also the forward target).
  const pair = useMirrorPair('reseed-e2e', {
    topics: [
      ...flows.map((f) => ({ topic: f.topic, partitions: PARTITIONS, on: ['A', 'B'] as Cluster[] })),
      // Default: A's B.<topic> already holds an earlier failback's copies (written in `before`).
      { topic: defaultFlow.copyTopic, partitions: PARTITIONS },
    ],
    connectors: { 'connect-b': flows.flatMap((f) => f.forwardConnectors), 'connect-a': flows.flatMap((f) => f.reverseConnectors) },
  });
  pair.leaves({ topics: { B: flows.map((f) => f.forwardTopic) } });
  const { connectA, kafkaA, kafkaB, adminA } = pair;

  function flowFor(kind: Kind, id: string) {
    const topic = `rs-${kind}-${id}`;
    const policy: 'identity' | 'default' = kind === 'default' ? 'default' : 'identity';
    return {
      kind,
      id,
      policy,
      topic,
      /** Where the reverse flow writes on A. */
      copyTopic: policy === 'default' ? `B.${topic}` : topic,
      /** Where the forward flow writes on B. */
      forwardTopic: policy === 'default' ? `A.${topic}` : topic,
      group: `rs-svc-${id}`,
      ...cycleNames(`rsf-${id}`, `rsr-${id}`),
    };
  }
  type Flow = ReturnType<typeof flowFor>;

  const ends = endOffsets;
  const produce = (client: Kafka, topic: string, from: number, to: number, timestamp?: number) =>
    produceSeq(client, topic, from, to, PARTITIONS, timestamp);

  const seqs = async (client: Kafka, topic: string, count: number) =>
    (await readUntil(client, topic, (r) => r.length >= count)).map((r) => seqOf(r.value)).sort((a, b) => a - b);
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

  before(async () => {
    // Default: the earlier failback's copies in A's B.<topic> (seqs 90, 91, an hour old), not on B now.
    await produce(kafkaA, defaultFlow.copyTopic, 90, 92, Date.now() - 3_600_000);
  });

  /** Forward flow deployed, 20 replicated, stopped (the failover); a tail on A; the first DR records on B; the snapshot. */
  async function prepare(f: Flow): Promise<Record<string, Record<string, string>>> {
    const atFailover = await forwardUntilFailover(pair, f, {
      forward: FORWARD,
      partitions: PARTITIONS,
      policy: f.policy,
      forwardTopic: f.forwardTopic,
    });
    await produce(kafkaA, f.topic, FORWARD, FORWARD + TAIL); // never reaches B
    await produce(kafkaB, f.topic, 100, 100 + DR1); // the DR period
    return { [f.topic]: Object.fromEntries(atFailover.map((o, p) => [String(p), String(o)])) };
  }

  function failbackInput(f: Flow, snapshot: Record<string, Record<string, string>>, rerun: boolean): FailbackInput {
    const gate = { deadline: '10 minutes' };
    return cycleFailbackInput({ all: f.forwardConnectors, sources: [f.forwardSource] }, f.reverseName, {
      topics: [f.topic],
      groups: [f.group],
      policy: f.policy,
      seed: { mode: 'auto', snapshot, ...(rerun && f.kind === 'ignore' ? { onPrimary: 'ignore' as const } : {}) },
      gates: { 'consumers-cutover': gate, 'stop-producers': gate, 'producers-cutover': gate },
      lagThreshold: 0,
      catchUpTimeoutSeconds: 240,
    });
  }

  /** Up to 5 minutes a gate on the loaded stack; fails at once if the playbook ends. */
  const gateOpen = (h: WorkflowHandle, gate: string) => e2eGateOpen(h, gate, 300_000);

  /** The previous reverse source connector's Connect offsets, really gone: created STOPPED, offsets DELETEd, checked, deleted. */
  async function forgetReverseOffsets(f: Flow, config: Record<string, string>): Promise<number> {
    await retrying(`${f.reverseSource} created STOPPED`, () => connectA.create(f.reverseSource, config, 'STOPPED'));
    await eventually(`${f.reverseSource} STOPPED`, async () =>
      (await connectA.status(f.reverseSource)).connector.state === 'STOPPED' ? true : undefined,
    );
    // A delete keeps a connector's offsets: the recreated one sees the first attempt's.
    const kept = (await connectA.getOffsets(f.reverseSource)).filter(
      (o) => (o.partition as { topic?: string }).topic === f.topic && o.offset !== null,
    ).length;
    await retrying(`${f.reverseSource} offsets reset`, () => connectA.resetOffsets(f.reverseSource));
    await eventually(`${f.reverseSource} offsets gone`, async () =>
      (await connectA.getOffsets(f.reverseSource)).length === 0 ? true : undefined,
    );
    await connectA.delete(f.reverseSource);
    return kept;
  }

  async function scenario(client: Client, taskQueue: string, f: Flow, snapshot: Record<string, Record<string, string>>) {
    const first = await client.workflow.start<typeof failback>('failback', {
      taskQueue,
      workflowId: `reseed-e2e-${f.id}-1`,
      args: [failbackInput(f, snapshot, false)],
      workflowExecutionTimeout: '10 minutes',
    });
    const atGate = await gateOpen(first, 'consumers-cutover');
    // The first attempt searched too: nothing of this DR period on A (Identity: the tail is A's own; Default: an older copy).
    assert.deepEqual(
      (atGate.figures.seedOrigin as FailbackFigures['seedOrigin'] | undefined)?.map((o) => o.origin),
      Array(PARTITIONS).fill('from-start'),
    );
    assert.equal(
      sum(await ends(adminA, f.copyTopic)),
      f.policy === 'identity' ? FORWARD + TAIL + DR1 : OLDER + DR1,
      'the first attempt copied the 10 to A',
    );
    const config = (await connectA.getConfig(f.reverseSource))!;
    await first.signal(abortSignal, { by: 'tester', reason: 'a failback that fails after copying' });
    const r1 = (await first.result()) as PlaybookReport<FailbackFigures>;
    assert.equal(r1.outcome, 'aborted');
    assert.deepEqual(r1.compensation!.undone, ['delete the reverse flow']);
    const kept = await forgetReverseOffsets(f, config);
    assert.equal(kept, PARTITIONS, 'Connect had kept the first attempt offsets across the delete');
    await produce(kafkaB, f.topic, 100 + DR1, 100 + DR1 + DR2); // more DR-period records

    const h = await client.workflow.start<typeof failback>('failback', {
      taskQueue,
      workflowId: `reseed-e2e-${f.id}`,
      args: [failbackInput(f, snapshot, true)],
      workflowExecutionTimeout: '10 minutes',
    });
    // Every gate approved (Identity: divergent-records opens for the tail).
    for (;;) {
      const s = await eventually(
        'a gate or the end',
        async () => {
          const st = await h.query(statusQuery);
          return st.state === 'finished' || st.openGate ? st : undefined;
        },
        300_000,
        300,
      );
      if (s.state === 'finished') break;
      // divergent-records (Identity's tail): discard, so A holds exactly what this test counts (replay appends copies on A).
      const gate = s.openGate!.name;
      await h.signal(approveSignal, { gate, by: 'approver', ...(gate === 'divergent-records' ? { choices: { records: 'discard' } } : {}) });
      await eventually('gate closed', async () => ((await h.query(statusQuery)).openGate?.name !== s.openGate!.name ? true : undefined));
    }
    const report = (await h.result()) as PlaybookReport<FailbackFigures>;
    if (f.kind !== 'ignore') await captureHistory(h, `failback-reseed-${f.kind}`);
    return report;
  }

  it('Identity and Default find the first attempt copy on A and copy only the rest; ignoring it copies again', async (t) => {
    const started = Date.now();
    const reports = await runSideBySide(flows, prepare, ({ client, taskQueue }, f, snapshot) => scenario(client, taskQueue, f, snapshot));
    const [identity, def, ignore] = reports as [
      PlaybookReport<FailbackFigures>,
      PlaybookReport<FailbackFigures>,
      PlaybookReport<FailbackFigures>,
    ];
    const [fi, fd, fx] = flows as [Flow, Flow, Flow];
    const dr = range(100, 100 + DR1 + DR2);

    // Identity: the search found the last copy per partition: B's offset 14 (10 forward + 5 DR each).
    assert.equal(identity.figures.seedFromPrevious, undefined, 'no committed offsets were there to use');
    assert.deepEqual(
      identity.figures.seedOrigin.map((o) => [o.partition, o.origin, o.offset]),
      [
        [0, 'found-on-primary', String(FORWARD / 2 + DR1 / 2 - 1)],
        [1, 'found-on-primary', String(FORWARD / 2 + DR1 / 2 - 1)],
      ],
    );
    const seedStep = identity.steps.find((s) => s.name === 'seed-reverse')!;
    assert.match(String((seedStep.details!.search as { bound: string }).bound), /after the forward flow's committed offset/);
    const ownOnA = range(0, FORWARD + TAIL);
    const totalI = FORWARD + TAIL + DR1 + DR2;
    assert.equal(sum(await ends(adminA, fi.topic)), totalI, 'Identity: no DR-period record copied twice');
    assert.deepEqual(await seqs(kafkaA, fi.topic, totalI), [...ownOnA, ...dr], 'Identity: every record exactly once on A');

    // Default: A's B.<topic> holds only copies; the last one located on B at offset 4 per partition.
    assert.deepEqual(
      def.figures.seedOrigin.map((o) => [o.partition, o.origin, o.offset, o.copyOnPrimary?.topic]),
      [
        [0, 'found-on-primary', String(DR1 / 2 - 1), fd.copyTopic],
        [1, 'found-on-primary', String(DR1 / 2 - 1), fd.copyTopic],
      ],
    );
    assert.equal(sum(await ends(adminA, fd.copyTopic)), OLDER + DR1 + DR2, 'Default: no DR-period record copied twice');
    assert.deepEqual(
      await seqs(kafkaA, fd.copyTopic, OLDER + DR1 + DR2),
      [90, 91, ...dr],
      'Default: every DR-period record exactly once on A',
    );

    // Negative control: told to ignore the primary, with the offsets gone, the 10 come back again.
    assert.equal(ignore.figures.seedOrigin, undefined);
    const totalX = FORWARD + TAIL + DR1 + DR1 + DR2;
    assert.equal(sum(await ends(adminA, fx.topic)), totalX, 'ignore: the first attempt copy comes again');
    const twice = await seqs(kafkaA, fx.topic, totalX);
    assert.deepEqual(
      twice.filter((s, i) => twice.indexOf(s) !== i),
      range(100, 100 + DR1),
      'ignore: exactly the first attempt 10 are duplicated',
    );
    t.diagnostic(
      `durations ms: identity ${identity.durationMs}, default ${def.durationMs}, ignore ${ignore.durationMs}; test ${Date.now() - started}; ` +
        `seed-reverse ms ${reports.map((r) => r.steps.find((s) => s.name === 'seed-reverse')?.durationMs).join(',')}; ` +
        `search ${JSON.stringify(seedStep.details!.search)}`,
    );
  });
});
