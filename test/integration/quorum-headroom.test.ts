import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { ConnectClient } from '../../src/connect/client';
import type { ClusterHealth } from '../../src/kafka/probes';
import { describeLogDirs, describeQuorum } from '../../src/kafka/raw-admin';
import type { PlaybookReport } from '../../src/model/gates';
import type { FailbackInput } from '../../src/model/failback-input';
import { resolveRegistry, stackRegistryDocument } from '../../src/registry/load';
import type { failback } from '../../workflows/failback';
import { workflowFailure } from '../helpers/playbook';
import { kafka, REPO_ROOT, stack, uniqueId } from '../helpers/stack';
import { runActivity, startSuiteWorker, type SuiteWorker } from '../helpers/worker';

/**
 * DescribeQuorum and DescribeLogDirs (raw protocol requests kafkajs lacks) against the
 * single-node clusters of the local stack, plaintext and SASL_PLAINTEXT PLAIN, and the
 * failback refusing at check-primary when the registry's disk headroom threshold cannot
 * be met: before any other activity, so nothing on Connect or Kafka is touched.
 */

const id = uniqueId();
const doc = stackRegistryDocument(stack);
const saslB = stack.kafka.B.sasl;
const registry = resolveRegistry(
  {
    ...doc,
    clusters: {
      ...doc.clusters,
      // 100 % usable cannot be met by a dir holding any byte.
      A: { ...doc.clusters.A!, minUsableLogDirPercent: 100 },
      ...(saslB
        ? {
            Bsasl: {
              bootstrapServers: [saslB.bootstrap],
              sasl: { mechanism: 'plain', username: saslB.username, password: { file: saslB.passwordFile } },
            },
          }
        : {}),
    },
  } as Parameters<typeof resolveRegistry>[0],
  'quorum-headroom test',
  {},
  REPO_ROOT,
);
const quick = { startToCloseTimeout: '60s', retry: { maximumAttempts: 1 } } as const;

describe('quorum and disk headroom on the local stack', { timeout: 180_000 }, () => {
  let worker: SuiteWorker | undefined;
  let ctx: SuiteWorker['ctx'];

  before(async () => {
    worker = await startSuiteWorker({ registry });
    ctx = worker.ctx;
  });

  after(async () => {
    await worker?.stop();
  });

  it('DescribeQuorum on A: one voter, which is the leader, no error', async () => {
    const q = await describeQuorum(kafka('A'));
    assert.equal(q.error, null);
    assert.equal(q.voters.length, 1);
    assert.equal(q.voters[0]!.replicaId, q.leaderId);
    assert.ok(q.leaderId >= 0 && q.leaderEpoch >= 0);
    assert.ok(BigInt(q.highWatermark) > 0n, `metadata log high watermark ${q.highWatermark}`);
    assert.ok(BigInt(q.voters[0]!.logEndOffset) >= BigInt(q.highWatermark), 'the leader holds the log up to the high watermark');
  });

  it('DescribeLogDirs on A: every live broker answers with real total and usable bytes (0 < usable <= total)', async () => {
    const res = await describeLogDirs(kafka('A'));
    assert.equal(res.length, 1);
    const b = res[0]!;
    assert.ok(b.ok, JSON.stringify(b));
    assert.ok(b.logDirs.length >= 1);
    for (const d of b.logDirs) {
      assert.equal(d.error, null);
      assert.ok(d.totalBytes > 0, `total ${d.totalBytes}`);
      assert.ok(d.usableBytes > 0 && d.usableBytes <= d.totalBytes, `usable ${d.usableBytes} of ${d.totalBytes}`);
      assert.ok(d.logDir.startsWith('/'), d.logDir);
    }
  });

  it('over SASL_PLAINTEXT PLAIN (kafka-b): both requests answer through the authenticated connection', { skip: !saslB }, async () => {
    const { readFileSync } = await import('node:fs');
    const client = new Kafka({
      brokers: [saslB!.bootstrap],
      sasl: { mechanism: 'plain', username: saslB!.username, password: readFileSync(saslB!.passwordFile, 'utf8').trim() },
      logLevel: logLevel.NOTHING,
    });
    const [q, dirs] = await Promise.all([describeQuorum(client), describeLogDirs(client)]);
    assert.equal(q.error, null);
    assert.deepEqual(
      q.voters.map((v) => v.replicaId),
      [q.leaderId],
    );
    assert.ok(dirs[0]!.ok && dirs[0]!.logDirs[0]!.totalBytes > 0);
  });

  it(
    'clusterHealth (via the registry, SASL for Bsasl): quorum ok with its leader, headroom figures per log dir',
    { skip: !saslB },
    async () => {
      const { result, failure } = await runActivity<ClusterHealth>(ctx, 'clusterHealth', [{ cluster: 'Bsasl' }], quick);
      assert.equal(failure, undefined, failure?.message);
      assert.ok(result?.quorum && result.headroom);
      assert.equal(result.healthy, true, result.problems.join('; '));
      assert.equal(result.quorum.status, 'ok');
      assert.deepEqual(
        result.quorum.voters.map((v) => [v.id, v.state]),
        [[result.quorum.leaderId, 'leader']],
      );
      assert.equal(result.headroom.minUsablePercent, 10, 'the registry default');
      assert.equal(result.headroom.logDirs.length, 1);
      const f = result.headroom.logDirs[0]!.usableFraction!;
      assert.ok(f > 0 && f <= 1, String(f));
      assert.deepEqual(result.warnings, []);
    },
  );

  it('clusterHealth on A with minUsableLogDirPercent 100: unhealthy, naming broker 1 and its log dir', async () => {
    const { result } = await runActivity<ClusterHealth>(ctx, 'clusterHealth', [{ cluster: 'A' }], quick);
    assert.ok(result?.headroom);
    assert.equal(result.healthy, false);
    assert.equal(result.quorum?.status, 'ok');
    const dir = result.headroom.logDirs[0]!.logDir;
    assert.deepEqual(result.problems.length, 1, result.problems.join('; '));
    assert.ok(result.problems[0]!.startsWith(`broker 1 log dir ${dir}: `), result.problems[0]);
    assert.match(result.problems[0]!, /below minUsableLogDirPercent 100 %/);
  });

  it('failback refuses at check-primary naming broker and log dir; no other activity ran, no connector created', async () => {
    const reverseName = `mm2-quorum-${id}`;
    const input: FailbackInput = {
      primary: 'A',
      dr: 'B',
      forward: { connect: 'connect-b', connectors: [`fwd-quorum-${id}`], sourceConnectors: [`fwd-quorum-${id}`] },
      reverse: { connect: 'connect-a', name: reverseName, replicationFactor: 1 },
      topics: [`quorum-${id}`],
      groups: [`quorum-${id}`],
      policy: 'identity',
      seed: { mode: 'earliest' },
      requestedBy: 'quorum-test',
      quietSeconds: 1,
    } as FailbackInput;
    const h = await ctx.client.workflow.start<typeof failback>('failback', {
      taskQueue: ctx.taskQueue,
      workflowId: `quorum-headroom-failback-${id}`,
      args: [input],
      workflowExecutionTimeout: '3 minutes',
    });
    const failure = await workflowFailure(h);
    assert.match(
      failure.message,
      /primary A is not healthy: broker 1 log dir \/\S+: \d+\.\d % usable .* below minUsableLogDirPercent 100 %/,
    );

    const history = await h.fetchHistory();
    const scheduled = (history.events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter((n): n is string => typeof n === 'string');
    assert.deepEqual(scheduled, ['clusterHealth'], 'refused before any other activity (no connector read or written)');

    const report = failure.details?.[0] as PlaybookReport | undefined;
    const step = report?.steps.find((s) => s.name === 'check-primary');
    assert.equal(step?.state, 'failed');
    const details = step?.details as { quorum?: { status: string }; headroom?: { logDirs: Array<{ usablePercent: number }> } };
    assert.equal(details.quorum?.status, 'ok');
    assert.ok((details.headroom?.logDirs[0]?.usablePercent ?? -1) > 0);
    assert.equal((report?.figures as { primaryHealth?: { quorum?: string } }).primaryHealth?.quorum, 'ok');

    const names = await new ConnectClient(stack.connect['connect-a'].url, 30_000).list();
    assert.deepEqual(
      names.filter((n) => n.startsWith(reverseName)),
      [],
    );
  });
});
