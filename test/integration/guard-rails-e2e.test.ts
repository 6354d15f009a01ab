import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { Admin } from 'kafkajs';
import { readLatestCheckpoints } from '../../src/mm2/checkpoints';
import type { FailoverFigures, FailoverInput } from '../../src/model/failover-input';
import type { PlaybookReport } from '../../src/model/gates';
import type { RecreateTopicInput } from '../../src/model/recreate-topic-input';
import type { failover } from '../../workflows/failover';
import { approveSignal, statusQuery } from '../../workflows/framework';
import type { recreateTopic } from '../../workflows/recreate-topic';
import { forwardOn, planAtoB, plannedFailoverInput, TWO_SECOND_REFRESH, useMirrorPair } from '../helpers/mirror-pair';
import { flowConnectors } from '../helpers/mm2';
import { eventually, readUntil, uniqueId } from '../helpers/stack';
import { startPlaybook, withWorker } from '../helpers/worker';

/**
 * Guard rails on the real stack (issue 15), through a real worker with the production
 * activities:
 * 1. an Identity flow: a failover told `policy: default` and a topic outside the flow is
 *    refused (dry run: every blocker at once; real run: before any gate, nothing stopped);
 * 2. the same flow failed over (planned, correct input), producers write to B's live
 *    topic, then recreate-topic for that topic is refused: B's topic keeps every record
 *    and the forward connectors stay STOPPED;
 * 3. a Default-policy flow with separator `-`: the dry run without `separator` names it;
 *    with it, deploy + planned failover complete with MM2's mirror names (`A-<topic>`),
 *    checkpoints read from `A-checkpoints-internal` and the group placed on `A-<topic>`.
 */
describe('guard rails end to end on the real stack', { timeout: 600_000 }, () => {
  const id = uniqueId();
  // Flow 1: Identity, two topics; a third topic on A the flow does not mirror.
  const t1 = `gr-${id}-orders`;
  const t2 = `gr-${id}-payments`;
  const outside = `gr-${id}-outside`;
  const g1 = `gr-svc-${id}`;
  const identityPlan = { ...planAtoB(`gr-id-${id}`, [t1, t2], [g1]), intervals: TWO_SECOND_REFRESH };
  const identity = flowConnectors(identityPlan);

  // Flow 3: Default policy, separator '-'. Not '_': Kafka refuses a topic whose name differs
  // from an existing one only by '.' vs '_' (they collide in metric names), so on a cluster
  // that already has a '.' flow from A, MM2 cannot create mm2-offset-syncs_B_internal,
  // A_checkpoints_internal or A_heartbeats, and the source task that carries heartbeats stalls.
  const t3 = `gr-${id}-sep`;
  const g3 = `gr-sep-svc-${id}`;
  const sepPlan = { ...planAtoB(`gr-sep-${id}`, [t3], [g3], { type: 'default', separator: '-' }), intervals: TWO_SECOND_REFRESH };
  const sep = flowConnectors(sepPlan);
  const sepMirror = `A-${t3}`;
  const pair = useMirrorPair('guard-rails-e2e', {
    topics: [t1, t2, outside, t3].map((topic) => ({ topic, partitions: 2 })),
    groups: [g1, g3],
  });
  // t3: B's local topic the Default-policy failover created.
  pair.leaves({ topics: { B: [t1, t2, sepMirror, t3] } });
  const { kafkaA, kafkaB, adminA, adminB, connectB: connect } = pair;

  const produce = async (cluster: 'A' | 'B', topic: string, count: number, prefix: string) => {
    const producer = (cluster === 'A' ? kafkaA : kafkaB).producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: count }, (_, i) => ({ key: `${prefix}-${i}`, value: `${prefix}-${i}`, partition: i % 2 })),
      });
    } finally {
      await producer.disconnect();
    }
  };
  const total = async (admin: Admin, topic: string) =>
    (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);

  const failoverInput = (o: Partial<FailoverInput> & Pick<FailoverInput, 'forward' | 'topics' | 'groups'>) =>
    plannedFailoverInput({ requestedBy: 'e2e', ...o });

  /** Runs a failover to its end, approving every gate it opens. */
  async function runFailover(
    client: Client,
    taskQueue: string,
    input: FailoverInput,
    name: string,
  ): Promise<PlaybookReport<FailoverFigures>> {
    const h = await startPlaybook<typeof failover>({ client, taskQueue }, 'failover', `guard-e2e-${name}-${id}`, input, '5 minutes');
    for (;;) {
      const s = await eventually(
        `${name}: a gate open or finished`,
        async () => {
          const st = await h.query(statusQuery).catch(() => undefined);
          return st && (st.openGate || st.state === 'finished') ? st : undefined;
        },
        180_000,
        300,
      ).catch(() => undefined);
      if (!s || s.state === 'finished' || !s.openGate) break;
      await h.signal(approveSignal, { gate: s.openGate.name, by: 'e2e-approver' });
      await eventually(
        `${name}: ${s.openGate.name} decided`,
        async () => {
          const st = await h.query(statusQuery).catch(() => undefined);
          return !st || st.state === 'finished' || st.openGate?.name !== s.openGate!.name ? true : undefined;
        },
        60_000,
        200,
      );
    }
    return (await h.result()) as PlaybookReport<FailoverFigures>;
  }

  const failureOf = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError, `expected a failed workflow, got ${String(err)}`);
    return err.cause?.message ?? '';
  };

  it('Identity flow: a policy mismatch and a topic outside the flow are refused, naming the fields; then a correct failover, and recreate-topic is refused while failed over', async () => {
    await pair.deployFlow(identityPlan);
    await produce('A', t1, 20, 'a');
    await produce('A', t2, 10, 'a');
    await readUntil(kafkaB, t1, (r) => r.length >= 20);
    await readUntil(kafkaB, t2, (r) => r.length >= 10);
    const forward = forwardOn(identity);
    let onB = 0;

    await withWorker(async ({ client, taskQueue }) => {
      // Dry run: every blocker at once.
      const dry = (await client.workflow.execute<typeof failover>('failover', {
        taskQueue,
        workflowId: `guard-e2e-dry-${id}`,
        args: [failoverInput({ forward, topics: [t1, outside], groups: [g1], policy: 'default', dryRun: true })],
        workflowExecutionTimeout: '3 minutes',
      })) as PlaybookReport<FailoverFigures>;
      assert.equal(dry.outcome, 'completed');
      const blockers = dry.figures.plan.blockers;
      assert.ok(
        blockers.some((b) => /^policy: is 'default' but the flow uses the IdentityReplicationPolicy/.test(b)),
        blockers.join('\n'),
      );
      assert.ok(
        blockers.some((b) => b.startsWith(`topics: '${outside}' is not mirrored by the flow`)),
        blockers.join('\n'),
      );
      assert.ok(
        blockers.some((b) => b.startsWith(`topics: the flow also mirrors '${t2}'`)),
        blockers.join('\n'),
      );

      // A real run with the wrong policy: refused before any gate; the forward flow keeps running.
      const refused = await failureOf(
        client.workflow.execute<typeof failover>('failover', {
          taskQueue,
          workflowId: `guard-e2e-policy-${id}`,
          args: [failoverInput({ forward, topics: [t1, t2], groups: [g1], policy: 'default' })],
          workflowExecutionTimeout: '3 minutes',
        }),
      );
      assert.match(refused, /policy: is 'default' but the flow uses the IdentityReplicationPolicy.*nothing was changed/);
      for (const n of identity.all) assert.equal((await connect.status(n)).connector.state, 'RUNNING', n);

      // The input that says what the flow does: the failover completes.
      const report = await runFailover(
        client,
        taskQueue,
        failoverInput({ forward, topics: [t1, t2], groups: [g1], policy: 'identity' }),
        'identity',
      );
      assert.equal(report.outcome, 'completed', report.reason ?? '');
      for (const n of identity.all) assert.equal((await connect.status(n)).connector.state, 'STOPPED', n);

      // DR period: producers write to B's live topic.
      await produce('B', t1, 60, 'dr');
      onB = await total(adminB, t1);
      assert.ok(onB >= 80, `B's ${t1}: 20 mirrored + 60 written on B, got ${onB}`);

      // recreate-topic for that topic: refused before its gate, saying to fail back first.
      const recreate: RecreateTopicInput = {
        source: 'A',
        target: 'B',
        connect: 'connect-b',
        sourceConnector: identity.sources[0]!,
        topic: t1,
        policy: 'identity',
        requestedBy: 'e2e',
        gate: { deadline: '5 minutes' },
        waitSeconds: 60,
      };
      const why = await failureOf(
        client.workflow.execute<typeof recreateTopic>('recreateTopic', {
          taskQueue,
          workflowId: `guard-e2e-recreate-${id}`,
          args: [recreate],
          workflowExecutionTimeout: '3 minutes',
        }),
      );
      assert.match(
        why,
        new RegExp(`sourceConnector: ${identity.sources[0]} on connect-b is STOPPED while B's ${t1} exists.*fail back first`),
      );
    });

    // B's topic intact, the forward flow still stopped.
    assert.equal(await total(adminB, t1), onB, "B's live topic keeps every record");
    assert.ok((await adminB.listTopics()).includes(t1));
    for (const n of identity.all) assert.equal((await connect.status(n)).connector.state, 'STOPPED', n);
  });

  it("Default policy with separator '-': the dry run names `separator`; deploy + planned failover complete with MM2's names", async () => {
    await pair.deployFlow(sepPlan);
    await produce('A', t3, 30, 's');
    await readUntil(kafkaB, sepMirror, (r) => r.length >= 30);

    // The group reads 30 records on A and commits: MM2 checkpoints it into A-checkpoints-internal on B.
    const consumer = kafkaA.consumer({ groupId: g3, maxWaitTimeInMs: 200 });
    await consumer.connect();
    let read = 0;
    try {
      await consumer.subscribe({ topic: t3, fromBeginning: true });
      await consumer.run({ eachMessage: async () => void read++ });
      await eventually('the group read 30 on A', async () => (read >= 30 ? true : undefined), 60_000, 200);
      await eventually(
        'the group committed on A',
        async () => {
          const [c] = await adminA.fetchOffsets({ groupId: g3, topics: [t3] });
          return c!.partitions.reduce((n, p) => n + Number(p.offset), 0) === 30 ? true : undefined;
        },
        60_000,
        500,
      );
    } finally {
      await consumer.disconnect();
    }
    await eventually(
      'checkpoints of the group on B (separator -)',
      async () => {
        const r = await readLatestCheckpoints(kafkaB, 'A', { groups: [g3], separator: '-' });
        const ours = r.checkpoints.filter((c) => c.topic === sepMirror);
        return ours.length === 2 && ours.reduce((n, c) => n + Number(c.downstreamOffset), 0) === 30 ? true : undefined;
      },
      90_000,
      1000,
    );

    const forward = forwardOn(sep);
    await withWorker(async ({ client, taskQueue }) => {
      const dry = (await client.workflow.execute<typeof failover>('failover', {
        taskQueue,
        workflowId: `guard-e2e-sep-dry-${id}`,
        args: [failoverInput({ forward, topics: [t3], groups: [g3], policy: 'default', dryRun: true })],
        workflowExecutionTimeout: '3 minutes',
      })) as PlaybookReport<FailoverFigures>;
      assert.deepEqual(dry.figures.plan.blockers.filter((b) => b.startsWith('separator:')).length, 1, dry.figures.plan.blockers.join('\n'));
      assert.match(dry.figures.plan.blockers.join('\n'), /separator: is '\.' but the flow's replication\.policy\.separator is '-'/);

      const report = await runFailover(
        client,
        taskQueue,
        failoverInput({ forward, topics: [t3], groups: [g3], policy: 'default', separator: '-' }),
        'sep',
      );
      assert.equal(report.outcome, 'completed', report.reason ?? '');
      assert.deepEqual(
        report.figures.snapshots.target.offsets[sepMirror] &&
          Object.values(report.figures.snapshots.target.offsets[sepMirror]).reduce((n, o) => n + Number(o), 0),
        30,
      );
      assert.equal(report.figures.rpoRecords, 0);
      // B's local topic producers will write to exists now (Default policy), the group at its end.
      assert.deepEqual(
        report.figures.localTopics?.map((l) => [l.topic, l.mirror, l.action, l.partitions]),
        [[t3, sepMirror, 'created', 2]],
      );
      assert.deepEqual(
        report.figures.localPositions?.filter((p) => p.group === g3).map((p) => [p.topic, p.offset, p.action]),
        [
          [t3, '0', 'set'],
          [t3, '0', 'set'],
        ],
      );
      // The group is placed on A-<topic>, at what it had read on A.
      const placed = report.figures.offsetsSet.filter((o) => o.group === g3);
      assert.deepEqual([...new Set(placed.map((o) => o.topic))], [sepMirror], JSON.stringify(report.figures.offsetsSet));
      assert.equal(
        placed.reduce((n, o) => n + Number(o.offset), 0),
        30,
      );
    });
    const [committed] = await adminB.fetchOffsets({ groupId: g3, topics: [sepMirror] });
    assert.equal(
      committed!.partitions.reduce((n, p) => n + Number(p.offset), 0),
      30,
    );
    assert.equal(await total(adminB, sepMirror), 30, '0 lost');
    for (const n of sep.all) assert.equal((await connect.status(n)).connector.state, 'STOPPED', n);
  });
});
