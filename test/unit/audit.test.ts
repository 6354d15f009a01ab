import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareTopic, compareTopics, type TopicFacts, type TopicPair } from '../../src/audit/drift';
import { HeartbeatTracker, remoteHeartbeatsTopic, summarizeHeartbeats } from '../../src/audit/freshness';
import {
  committedTopics,
  detectRecreation,
  evaluateTopic,
  parseMirrorSourceOffsets,
  type CommittedOffset,
  type SourcePartitionOffsets,
} from '../../src/audit/recreation';

const NOW = Date.parse('2030-01-01T00:00:00.000Z');

describe('replication freshness (newest MM2 heartbeat)', () => {
  const hb = (source: string, target: string, msBeforeNow: number) => ({
    sourceClusterAlias: source,
    targetClusterAlias: target,
    timestamp: BigInt(NOW - msBeforeNow),
  });
  const summarize = (tracker: HeartbeatTracker, topicExists = true) =>
    summarizeHeartbeats({ topic: 'A.heartbeats', topicExists, tracker, nowMs: NOW, missingHint: 'HINT' });

  it('names the replicated topic <alias>.heartbeats', () => {
    assert.equal(remoteHeartbeatsTopic('A'), 'A.heartbeats');
    assert.equal(remoteHeartbeatsTopic('east', '_'), 'east_heartbeats');
  });

  it('takes the newest heartbeat by its timestamp, not by its position in the log', () => {
    const t = new HeartbeatTracker();
    t.add(hb('B', 'A', 5_000));
    t.add(hb('B', 'A', 2_000)); // newest
    t.add(hb('C', 'A', 9_000)); // read last, but older
    const r = summarize(t);
    assert.equal(r.lastHeartbeatAt, new Date(NOW - 2_000).toISOString());
    assert.equal(r.ageMs, 2_000);
    assert.deepEqual(r.from, { source: 'B', target: 'A' });
    assert.equal(r.recordsRead, 3);
    assert.equal(r.reason, undefined);
    assert.deepEqual(
      r.emitters.map((e) => [e.source, e.target, e.ageMs, e.records]),
      [
        ['B', 'A', 2_000, 2],
        ['C', 'A', 9_000, 1],
      ],
    );
  });

  it('keeps emitters apart even when alias pairs would collide in a naive join', () => {
    const t = new HeartbeatTracker();
    t.add(hb('a.b', 'c', 1_000));
    t.add(hb('a', 'b.c', 3_000));
    assert.equal(summarize(t).emitters.length, 2);
  });

  it('reports a missing topic as a reason, not a figure', () => {
    const r = summarize(new HeartbeatTracker(), false);
    assert.equal(r.lastHeartbeatAt, null);
    assert.equal(r.ageMs, null);
    assert.equal(r.from, null);
    assert.match(r.reason ?? '', /A\.heartbeats does not exist: HINT/);
  });

  it('reports an empty topic as a reason, not a figure', () => {
    const r = summarize(new HeartbeatTracker());
    assert.equal(r.lastHeartbeatAt, null);
    assert.equal(r.recordsRead, 0);
    assert.match(r.reason ?? '', /holds no records: HINT/);
  });

  it('skips unreadable records and says so; only unreadable ones give no figure', () => {
    const t = new HeartbeatTracker();
    t.addUnreadable();
    t.add({ sourceClusterAlias: 'B', targetClusterAlias: 'A', timestamp: -5n });
    const none = summarize(t);
    assert.equal(none.lastHeartbeatAt, null);
    assert.equal(none.unreadableRecords, 2);
    assert.match(none.reason ?? '', /2 records but none is a heartbeat/);

    t.add(hb('B', 'A', 1_000));
    const some = summarize(t);
    assert.equal(some.ageMs, 1_000);
    assert.match(some.reason ?? '', /2 record\(s\) were skipped/);
  });

  it('never reports a negative age; a heartbeat from the future is called clock skew', () => {
    const t = new HeartbeatTracker();
    t.add(hb('B', 'A', -5_000));
    const r = summarize(t);
    assert.equal(r.ageMs, 0);
    assert.match(r.reason ?? '', /5000 ms in the future.*clock/);
  });
});

describe('topic config drift', () => {
  const facts = (over: Partial<TopicFacts> = {}, configs: TopicFacts['configs'] = {}): TopicFacts => ({
    partitions: 3,
    replicationFactor: 3,
    ...over,
    configs: {
      'retention.ms': '604800000',
      'retention.bytes': '-1',
      'cleanup.policy': 'delete',
      'min.insync.replicas': '2',
      'max.message.bytes': '1048588',
      ...configs,
    },
  });
  const pair = (source?: TopicFacts, target?: TopicFacts): TopicPair => ({ topic: 'orders', remoteTopic: 'A.orders', source, target });
  const only = (p: TopicPair) => compareTopic(p).map((f) => [f.setting, f.severity, f.source, f.target]);

  it('finds nothing when the mirror matches', () => {
    assert.deepEqual(compareTopic(pair(facts(), facts())), []);
  });

  it('equal values written differently are not drift (numbers, policy order and case)', () => {
    const s = facts({}, { 'cleanup.policy': 'compact,delete', 'retention.ms': '3600000' });
    const t = facts({}, { 'cleanup.policy': 'Delete, compact', 'retention.ms': '3600000.0' });
    assert.deepEqual(compareTopic(pair(s, t)), []);
  });

  const matrix: Array<[string, TopicFacts, TopicFacts, Array<[string, string, string | null, string | null]>]> = [
    [
      'retention.ms differs: warn',
      facts({}, { 'retention.ms': '3600000' }),
      facts({}, { 'retention.ms': '7200000' }),
      [['retention.ms', 'warn', '3600000', '7200000']],
    ],
    [
      'retention.bytes differs: warn',
      facts({}, { 'retention.bytes': '-1' }),
      facts({}, { 'retention.bytes': '1000' }),
      [['retention.bytes', 'warn', '-1', '1000']],
    ],
    [
      'cleanup.policy differs: error',
      facts(),
      facts({}, { 'cleanup.policy': 'compact' }),
      [['cleanup.policy', 'error', 'delete', 'compact']],
    ],
    [
      'max.message.bytes differs: warn',
      facts(),
      facts({}, { 'max.message.bytes': '100000' }),
      [['max.message.bytes', 'warn', '1048588', '100000']],
    ],
    ['min.insync.replicas differs: warn', facts(), facts({}, { 'min.insync.replicas': '1' }), [['min.insync.replicas', 'warn', '2', '1']]],
    ['fewer partitions on the target: error', facts(), facts({ partitions: 2 }), [['partitions', 'error', '3', '2']]],
    ['more partitions on the target: warn', facts(), facts({ partitions: 6 }), [['partitions', 'warn', '3', '6']]],
    [
      'replication factor differs, target still meets its min ISR: info',
      facts(),
      facts({ replicationFactor: 2 }),
      [['replication.factor', 'info', '3', '2']],
    ],
    [
      'target replication factor below its min ISR: error',
      facts(),
      facts({ replicationFactor: 1 }),
      [['replication.factor', 'error', '3', '1']],
    ],
    [
      'same replication factor, but below the target min ISR: error',
      facts({ replicationFactor: 1 }, { 'min.insync.replicas': '2' }),
      facts({ replicationFactor: 1 }, { 'min.insync.replicas': '2' }),
      [['replication.factor', 'error', '1', '1']],
    ],
    [
      'a config the target did not report: warn',
      facts(),
      { ...facts(), configs: { ...facts().configs, 'max.message.bytes': undefined } },
      [['max.message.bytes', 'warn', '1048588', null]],
    ],
  ];
  for (const [name, s, t, expected] of matrix) {
    it(name, () => assert.deepEqual(only(pair(s, t)), expected));
  }

  it('explains which settings MM2 keeps in sync and which it never does', () => {
    const [minIsr] = compareTopic(pair(facts(), facts({}, { 'min.insync.replicas': '1' }))).map((f) => f.note);
    assert.match(minIsr ?? '', /never copies/);
    const [retention] = compareTopic(pair(facts(), facts({}, { 'retention.ms': '1' }))).map((f) => f.note);
    assert.match(retention ?? '', /keeps less than the source.*MM2 copies it/);
  });

  it('a missing mirror is an error; a missing source topic is a warning', () => {
    assert.deepEqual(only(pair(facts(), undefined)), [['topic', 'error', 'exists', null]]);
    assert.deepEqual(only(pair(undefined, facts())), [['topic', 'warn', null, 'exists']]);
  });

  it('reports missing topics, counts, and sorts errors first', () => {
    const report = compareTopics([
      { topic: 'a', remoteTopic: 'A.a', source: facts(), target: facts({ replicationFactor: 2 }) },
      { topic: 'b', remoteTopic: 'A.b', source: facts(), target: facts({ partitions: 1 }, { 'retention.ms': '1' }) },
      { topic: 'c', remoteTopic: 'A.c', source: facts() },
      { topic: 'd', remoteTopic: 'A.d' },
    ]);
    assert.equal(report.topicsCompared, 2);
    assert.deepEqual(report.missingOnTarget, ['c']);
    assert.deepEqual(report.missingOnSource, ['d']);
    assert.deepEqual(report.counts, { error: 2, warn: 2, info: 1 });
    assert.deepEqual(
      report.findings.map((f) => [f.severity, f.topic, f.setting]),
      [
        ['error', 'b', 'partitions'],
        ['error', 'c', 'topic'],
        ['warn', 'b', 'retention.ms'],
        ['warn', 'd', 'topic'],
        ['info', 'a', 'replication.factor'],
      ],
    );
  });
});

describe('source topic recreation', () => {
  const c = (partition: number, offset: bigint | null, topic = 'orders', connector = 'mm2-source'): CommittedOffset => ({
    connector,
    topic,
    partition,
    offset,
  });
  const p = (partition: number, high: bigint, low = 0n): SourcePartitionOffsets => ({ partition, low, high });
  const evaluate = (committed: CommittedOffset[], source: SourcePartitionOffsets[] | undefined, target: number | undefined) =>
    evaluateTopic('orders', 'A.orders', new Map(committed.map((x) => [x.partition, x])), source, target);
  const kinds = (r: ReturnType<typeof evaluate>) => r.findings.map((f) => [f.kind, f.partition]);

  it('end == committed + 1 is caught up, end > committed + 1 is lag: neither is flagged', () => {
    const r = evaluate([c(0, 99n), c(1, 10n)], [p(0, 100n), p(1, 50n)], 2);
    assert.equal(r.recreationSuspected, false);
    assert.deepEqual(r.findings, []);
    assert.deepEqual(
      r.partitions.map((x) => [x.partition, x.status, x.lastReplicated, x.sourceEnd, x.lag]),
      [
        [0, 'caught-up', '99', '100', '0'],
        [1, 'lagging', '10', '50', '39'],
      ],
    );
    assert.match(r.summary, /consistent/);
  });

  it('end < committed + 1 is flagged with both numbers', () => {
    const r = evaluate([c(0, 99n)], [p(0, 99n)], 1);
    assert.equal(r.recreationSuspected, true);
    assert.deepEqual(kinds(r), [['end-below-committed', 0]]);
    assert.equal(r.findings[0]!.message, 'partition 0: recreated or truncated on the source: end 99 < last replicated 99 + 1');
    assert.equal(r.partitions[0]!.status, 'end-below-committed');
    assert.match(r.summary, /recreate-topic/);
  });

  it('a recreated topic with more partitions: truncation on 0, nothing to compare on the new one, count change', () => {
    const r = evaluate([c(0, 99n)], [p(0, 5n), p(1, 3n)], 1);
    assert.deepEqual(kinds(r), [
      ['end-below-committed', 0],
      ['partition-count-changed', undefined],
    ]);
    assert.match(r.findings[1]!.message, /^partition count changed: source 2, target 1/);
    assert.deepEqual(
      r.partitions.map((x) => [x.partition, x.status]),
      [
        [0, 'end-below-committed'],
        [1, 'no-committed-offset'],
      ],
    );
  });

  it('new partitions MM2 has already mirrored are not flagged', () => {
    const r = evaluate([c(0, 9n)], [p(0, 10n), p(1, 0n)], 2);
    assert.equal(r.recreationSuspected, false);
    assert.equal(r.partitions[1]!.status, 'no-committed-offset');
  });

  it('committed offsets for partitions the source no longer has are flagged (recreated with fewer)', () => {
    const r = evaluate([c(0, 4n), c(1, 7n), c(2, 8n)], [p(0, 5n)], 3);
    assert.equal(r.recreationSuspected, true);
    assert.deepEqual(kinds(r), [
      ['committed-partition-missing', 1],
      ['committed-partition-missing', 2],
      ['partition-count-changed', undefined],
    ]);
    assert.match(r.findings[2]!.message, /source 1, target 3 \(Kafka cannot remove partitions/);
    assert.deepEqual(
      r.partitions.map((x) => [x.partition, x.status]),
      [
        [0, 'caught-up'],
        [1, 'missing-on-source'],
        [2, 'missing-on-source'],
      ],
    );
  });

  it('a topic with no committed offsets yet is not flagged, and says why', () => {
    const r = evaluate([], [p(0, 10n)], 1);
    assert.equal(r.recreationSuspected, false);
    assert.deepEqual(r.findings, []);
    assert.match(r.summary, /not committed an offset/);
    // A reset (null) offset is the same as none.
    const reset = evaluate([c(0, null)], [p(0, 0n)], 1);
    assert.equal(reset.recreationSuspected, false);
    assert.equal(reset.partitions[0]!.status, 'no-committed-offset');
  });

  it('a topic deleted on the source (with committed offsets) is flagged; never replicated and absent is not', () => {
    const gone = evaluate([c(0, 3n)], undefined, 1);
    assert.deepEqual(kinds(gone), [['topic-missing-on-source', undefined]]);
    assert.equal(gone.recreationSuspected, true);
    const never = evaluate([], undefined, undefined);
    assert.equal(never.recreationSuspected, false);
    assert.deepEqual(never.findings, []);
  });

  it('records expired before MM2 copied them are reported, not called a recreation', () => {
    const r = evaluate([c(0, 9n)], [p(0, 100n, 50n)], 1);
    assert.equal(r.recreationSuspected, false);
    assert.deepEqual(kinds(r), [['expired-before-replicated', 0]]);
    assert.match(r.findings[0]!.message, /records 10\.\.49 were deleted/);
  });

  it('a missing mirror is reported once MM2 has replicated the topic', () => {
    const r = evaluate([c(0, 9n)], [p(0, 10n)], undefined);
    assert.deepEqual(kinds(r), [['remote-topic-missing', undefined]]);
    assert.equal(r.recreationSuspected, false);
  });

  it('takes the highest offset when two connectors committed the same partition', () => {
    const [r] = detectRecreation({
      topics: ['orders'],
      remoteTopic: (t) => `A.${t}`,
      committed: [c(0, 120n, 'orders', 'old'), c(0, 99n, 'orders', 'new'), c(0, null, 'orders', 'reset')],
      source: new Map([['orders', [p(0, 100n)]]]),
      targetPartitions: new Map([['A.orders', 1]]),
    });
    assert.deepEqual(kinds(r!), [['end-below-committed', 0]]);
    assert.equal(r!.partitions[0]!.connector, 'old');
  });

  it("parses Connect's offsets answer, keeping only the flow's source alias", () => {
    const parsed = parseMirrorSourceOffsets(
      'mm2-source',
      [
        { partition: { cluster: 'A', topic: 'orders', partition: 0 }, offset: { offset: 99 } },
        { partition: { cluster: 'A', topic: 'heartbeats', partition: 0 }, offset: { offset: 31 } },
        { partition: { cluster: 'A', topic: 'orders', partition: 1 }, offset: null },
        { partition: { cluster: 'C', topic: 'orders', partition: 0 }, offset: { offset: 5 } },
        { partition: { cluster: 'A', topic: 'orders' }, offset: { offset: 5 } },
        { partition: { cluster: 'A', topic: 'orders', partition: 2 }, offset: { offset: 2 ** 60 } },
      ],
      'A',
    );
    assert.deepEqual(parsed.committed, [
      { connector: 'mm2-source', topic: 'orders', partition: 0, offset: 99n },
      { connector: 'mm2-source', topic: 'heartbeats', partition: 0, offset: 31n },
      { connector: 'mm2-source', topic: 'orders', partition: 1, offset: null },
    ]);
    assert.equal(parsed.otherClusters, 1);
    assert.equal(parsed.unrecognized, 2);
    assert.deepEqual(committedTopics(parsed.committed), ['heartbeats', 'orders']);
  });
});
