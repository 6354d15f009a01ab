import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import { ConfigResourceTypes } from 'kafkajs';
import { createActivities, createDeps } from '../../activities';
import { ConnectClient } from '../../src/connect/client';
import type { AuditFigures, AuditInput } from '../../src/model/audit-input';
import type { PlaybookReport } from '../../src/model/gates';
import type { ReplicationPlanInput } from '../../src/model/replication-plan';
import { stackRegistry } from '../../src/registry/load';
import type { auditDrift } from '../../workflows/audit-drift';
import { approveSignal, statusQuery } from '../../workflows/framework';
import { deployFlowRunning, flowConnectors, heartbeatsOnAConfig } from '../helpers/mm2';
import { eventually, kafka, stack, uniqueId } from '../helpers/stack';
import { withWorker } from '../helpers/worker';
import { captureHistory } from '../replay/capture';

/**
 * The audit-drift playbook on the real stack: a flow A→B deployed by kafka-dr, audited
 * clean; then the test changes retention.ms of the mirrored topic on B (a drift MM2 does
 * not undo before its next config sync, 10 minutes away) and the audit must name exactly
 * that drift, and propose the repair on B only. With the repair gate approved the playbook
 * sets it back on B (A untouched), and the next audit is clean.
 */

const DRIFTED_RETENTION_MS = '3600000';

describe('audit-drift end to end on the real stack', { timeout: 300_000 }, () => {
  const id = uniqueId();
  const topic = `ad-${id}`;
  const mirrored = `A.${topic}`;
  const plan: ReplicationPlanInput & { name: string } = {
    source: 'A',
    target: 'B',
    connect: 'connect-b',
    name: `ad-${id}`,
    policy: { type: 'default' },
    topicGroups: [{ name: 'main', topics: [topic] }],
    groups: [],
    replicationFactor: 1,
    intervals: { refreshTopicsSeconds: 1, refreshGroupsSeconds: 1, emitCheckpointsSeconds: 1, emitHeartbeatsSeconds: 1 },
  };
  const connectors = flowConnectors(plan);
  const activities = createActivities(createDeps(stackRegistry(stack), 'test-audit-drift-e2e'));
  const connectB = new ConnectClient(stack.connect['connect-b'].url);
  const connectA = new ConnectClient(stack.connect['connect-a'].url);
  // Heartbeats written to A, as a bidirectional setup's B→A heartbeat connector does: the
  // freshness check reads them replicated to B (A.heartbeats), and nothing else may write them now.
  const heartbeatOnA = `ad-${id}-heartbeat-a`;
  const kafkaA = kafka('A');
  const kafkaB = kafka('B');
  let adminA: Admin;
  let adminB: Admin;

  const input = (repair: boolean): AuditInput => ({
    flows: [
      {
        source: 'A',
        target: 'B',
        connect: 'connect-b',
        connectors: connectors.sources,
        otherConnectors: connectors.all.slice(1),
        topics: [topic],
        policy: 'default',
      },
    ],
    freshnessMaxAgeMs: 60_000,
    lagMax: 10_000,
    repair,
    requestedBy: 'auditor',
    gates: { repair: { approvers: ['bob'], deadline: '5 minutes' } },
  });

  const retentionOn = async (admin: Admin, name: string): Promise<string | undefined> => {
    const { resources } = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name, configNames: ['retention.ms'] }],
      includeSynonyms: false,
    });
    return resources[0]?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue;
  };

  before(async () => {
    adminA = kafkaA.admin();
    adminB = kafkaB.admin();
    await Promise.all([adminA.connect(), adminB.connect()]);
    await adminA.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
    await connectA.putConfig(heartbeatOnA, heartbeatsOnAConfig(heartbeatOnA, 'B'));
  });

  after(async () => {
    await Promise.all(connectors.all.map((n) => connectB.delete(n).catch(() => undefined)));
    await connectA.delete(heartbeatOnA).catch(() => undefined);
    await adminA.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await adminB.deleteTopics({ topics: [mirrored] }).catch(() => undefined);
    await Promise.all([adminA.disconnect(), adminB.disconnect()]);
  });

  it('audits clean, names exactly the retention drift the test made on B, repairs it on B only once approved, audits clean again', async (t) => {
    await deployFlowRunning(activities, plan, connectB);
    const producer = kafkaA.producer();
    await producer.connect();
    await producer.send({ topic, messages: [...Array(10).keys()].map((i) => ({ value: `r${i}`, partition: i % 2 })) });
    await producer.disconnect();
    await eventually(
      'the records mirrored to B',
      async () => {
        const ends = await adminB.fetchTopicOffsets(mirrored).catch(() => []);
        return ends.reduce((n, o) => n + Number(o.high), 0) === 10 ? true : undefined;
      },
      90_000,
    );
    await eventually(
      'fresh heartbeats from A on B',
      async () => {
        const f = await activities.replicationFreshness({ target: 'B', sourceAlias: 'A' });
        return f.ageMs !== null && f.ageMs < 10_000 ? true : undefined;
      },
      90_000,
      1000,
    );
    const sourceRetention = await retentionOn(adminA, topic);
    // MM2 syncs topic configs when it starts: wait for the mirror to match before calling it clean.
    await eventually(
      'B retention equal to A',
      async () => ((await retentionOn(adminB, mirrored)) === sourceRetention ? true : undefined),
      60_000,
    );

    await withWorker(async ({ client, taskQueue }) => {
      const run = async (name: string, repair: boolean, approve: boolean) => {
        const h = await client.workflow.start<typeof auditDrift>('auditDrift', {
          taskQueue,
          workflowId: `audit-e2e-${name}-${id}`,
          args: [input(repair)],
          workflowExecutionTimeout: '3 minutes',
        });
        if (approve) {
          await eventually(
            'repair gate open',
            async () => ((await h.query(statusQuery)).openGate?.name === 'repair' ? true : undefined),
            90_000,
            200,
          );
          await h.signal(approveSignal, { gate: 'repair', by: 'bob' });
        }
        const report = (await h.result()) as PlaybookReport<AuditFigures>;
        await captureHistory(h, `audit-drift-${name}`);
        return report;
      };

      // 1. Before the drift: nothing above info.
      const clean = await run('clean', false, false);
      assert.equal(clean.outcome, 'completed');
      assert.deepEqual(
        clean.figures.findings.filter((f) => f.severity !== 'info'),
        [],
        JSON.stringify(clean.figures.findings),
      );
      assert.deepEqual(clean.figures.repairs, []);

      // 2. The drift: B keeps the mirror one hour instead of A's retention.
      await adminB.alterConfigs({
        validateOnly: false,
        resources: [
          { type: ConfigResourceTypes.TOPIC, name: mirrored, configEntries: [{ name: 'retention.ms', value: DRIFTED_RETENTION_MS }] },
        ],
      });
      assert.equal(await retentionOn(adminB, mirrored), DRIFTED_RETENTION_MS);

      // 3. The audit with the repair gate, approved.
      const drifted = await run('drift-repair-approved', true, true);
      t.diagnostic(`findings: ${JSON.stringify(drifted.figures.findings)}; repairs: ${JSON.stringify(drifted.figures.repairs)}`);
      assert.equal(drifted.outcome, 'completed');
      const notInfo = drifted.figures.findings.filter((f) => f.severity !== 'info');
      assert.deepEqual(
        notInfo.map((f) => [f.flow, f.check, f.subject]),
        [['A->B', 'drift', `${mirrored}:retention.ms`]],
        `exactly the drift the test made: ${JSON.stringify(drifted.figures.findings)}`,
      );
      assert.deepEqual(
        drifted.figures.repairs.map((r) => [r.cluster, r.topic, r.setting, r.from, r.to]),
        [['B', mirrored, 'retention.ms', DRIFTED_RETENTION_MS, sourceRetention]],
        'the repair is on the target (B) only, back to the source value',
      );
      assert.deepEqual(
        drifted.decisions.map((d) => [d.gate, d.decision, d.by]),
        [['repair', 'approved', 'bob']],
      );
      // Approved: set on B, read back; A never touched.
      assert.equal(drifted.figures.repairOutcome, 'applied');
      assert.deepEqual(drifted.figures.repairsApplied, [
        { cluster: 'B', topic: mirrored, setting: 'retention.ms', value: sourceRetention },
      ]);
      assert.equal(await retentionOn(adminB, mirrored), sourceRetention, 'B repaired');
      assert.equal(await retentionOn(adminA, topic), sourceRetention, 'A never touched');

      // 4. The next audit is clean again.
      const after = await run('after-repair', false, false);
      assert.deepEqual(
        after.figures.findings.filter((f) => f.severity !== 'info'),
        [],
        JSON.stringify(after.figures.findings),
      );
      assert.deepEqual(after.figures.repairs, []);
    });
  });
});
