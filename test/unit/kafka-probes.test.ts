import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  changedPartitions,
  describeTopic,
  evaluateClusterHealth,
  hasKafkaErrorType,
  highsOf,
  isQuiet,
  listPartitions,
  MOVED_WHILE_RETRYING,
  observeOffsets,
  offsetsDigest,
  quietHeartbeat,
  resolveExpectedBrokers,
  resumeQuietWindow,
  type ClusterSnapshot,
  type PartitionState,
} from '../../src/kafka/probes';

const part = (topic: string, partition: number, leader: number, replicas: number[], isr = replicas): PartitionState => ({
  topic,
  partition,
  leader,
  replicas,
  isr,
});

const threeBrokers = (partitions: PartitionState[], over: Partial<ClusterSnapshot> = {}): ClusterSnapshot => ({
  brokerIds: [1, 2, 3],
  controllerId: 1,
  partitions,
  source: 'admin',
  ...over,
});

const fromRegistry = (n: number) => resolveExpectedBrokers(undefined, n);

describe('evaluateClusterHealth', () => {
  const good = [part('orders', 0, 1, [1, 2, 3]), part('orders', 1, 2, [2, 3, 1]), part('__consumer_offsets', 0, 3, [3, 1, 2])];

  it('all brokers up, a controller, every partition fully replicated: healthy, no problems', () => {
    const h = evaluateClusterHealth('A', threeBrokers(good), fromRegistry(3));
    assert.equal(h.healthy, true);
    assert.deepEqual(h.problems, []);
    assert.deepEqual(h.brokers, { count: 3, ids: [1, 2, 3] });
    assert.equal(h.controllerId, 1);
    assert.equal(h.topicCount, 2);
    assert.equal(h.partitionCount, 3);
    assert.deepEqual(h.underReplicated, []);
    assert.deepEqual(h.offline, []);
  });

  it('a missing broker: "2 of 3 brokers up", naming the broker partitions still point at', () => {
    const urp = [part('orders', 0, 1, [1, 2, 3], [1, 2]), part('orders', 1, 2, [2, 3, 1], [2, 1])];
    const h = evaluateClusterHealth('A', threeBrokers(urp, { brokerIds: [2, 1] }), fromRegistry(3));
    assert.equal(h.healthy, false);
    assert.deepEqual(h.brokers, { count: 2, ids: [1, 2] });
    assert.deepEqual(h.brokersMissingFromAssignments, [3]);
    assert.match(
      h.problems[0]!,
      /^2 of 3 brokers up \(3 expected per the cluster registry; partitions are assigned to 1 broker not up: 3\)$/,
    );
    assert.match(h.problems[1]!, /^2 under-replicated partitions: orders-0, orders-1$/);
  });

  it('a broker named by assignments but absent, with the count still met, is a problem too', () => {
    const h = evaluateClusterHealth('A', threeBrokers([part('t', 0, 1, [1, 4])]), fromRegistry(3));
    assert.equal(h.healthy, false);
    assert.deepEqual(h.problems, ['partitions are assigned to 1 broker not up: 4']);
  });

  it('more brokers than expected is fine (scale-out in flight)', () => {
    const h = evaluateClusterHealth('A', threeBrokers(good, { brokerIds: [1, 2, 3, 4] }), fromRegistry(3));
    assert.equal(h.healthy, true);
  });

  it('no controller (null or -1): unhealthy, says so', () => {
    for (const controllerId of [null, -1]) {
      const h = evaluateClusterHealth('A', threeBrokers(good, { controllerId }), fromRegistry(3));
      assert.equal(h.healthy, false);
      assert.equal(h.controllerId, null);
      assert.deepEqual(h.problems, ['no active controller (metadata changes and leader elections cannot happen)']);
    }
  });

  it('under-replicated partitions are listed with replicas and isr, sorted, and cut off after 10', () => {
    const urp = Array.from({ length: 12 }, (_, i) => part('orders', 11 - i, 1, [1, 2], [1]));
    const h = evaluateClusterHealth('A', threeBrokers([...good, ...urp]), fromRegistry(3));
    assert.equal(h.healthy, false);
    assert.equal(h.underReplicated.length, 12);
    assert.deepEqual(h.underReplicated[0], { topic: 'orders', partition: 0, replicas: [1, 2], isr: [1] });
    assert.equal(
      h.problems[0],
      '12 under-replicated partitions: orders-0, orders-1, orders-2, orders-3, orders-4, orders-5, orders-6, orders-7, orders-8, orders-9 and 2 more',
    );
  });

  it('an offline partition (no leader) is listed as offline, not also as under-replicated', () => {
    const h = evaluateClusterHealth('A', threeBrokers([...good, part('payments', 2, -1, [2, 3], [])]), fromRegistry(3));
    assert.equal(h.healthy, false);
    assert.deepEqual(h.offline, [{ topic: 'payments', partition: 2 }]);
    assert.deepEqual(h.underReplicated, []);
    assert.deepEqual(h.problems, ['1 offline partition (no leader): payments-2']);
  });

  it('problems come worst first: brokers, controller, offline, under-replicated', () => {
    const parts = [part('a', 0, -1, [3], []), part('b', 0, 1, [1, 3], [1])];
    const h = evaluateClusterHealth('A', threeBrokers(parts, { brokerIds: [1], controllerId: null }), fromRegistry(2));
    assert.deepEqual(
      h.problems.map((p) => p.split(' ').slice(0, 3).join(' ')),
      ['1 of 2', 'no active controller', '1 offline partition', '1 under-replicated partition:'],
    );
    assert.match(h.problems[3]!, /^1 under-replicated partition: b-0$/);
  });

  it('expectedBrokers: the input overrides the registry, and the problem line says which was used', () => {
    assert.deepEqual(resolveExpectedBrokers(undefined, 1), { expectedBrokers: 1, expectedBrokersFrom: 'registry' });
    assert.deepEqual(resolveExpectedBrokers(3, 1), { expectedBrokers: 3, expectedBrokersFrom: 'input' });

    const snap = threeBrokers(good, { brokerIds: [1] });
    const registryOnly = evaluateClusterHealth('A', snap, resolveExpectedBrokers(undefined, 1));
    assert.equal(registryOnly.healthy, false, 'replicas on 2 and 3 still point at absent brokers');
    assert.equal(registryOnly.expectedBrokersFrom, 'registry');

    const asked = evaluateClusterHealth('A', snap, resolveExpectedBrokers(3, 1));
    assert.equal(asked.expectedBrokers, 3);
    assert.equal(asked.expectedBrokersFrom, 'input');
    assert.match(asked.problems[0]!, /^1 of 3 brokers up \(3 expected as asked;/);
  });

  it('an empty cluster (no topics) with all brokers up is healthy', () => {
    const h = evaluateClusterHealth('B', { brokerIds: [1], controllerId: 1, partitions: [], source: 'raw-metadata' }, fromRegistry(1));
    assert.equal(h.healthy, true);
    assert.equal(h.partitionCount, 0);
  });
});

describe('listPartitions', () => {
  it('spells out up to max, then counts the rest', () => {
    const parts = [0, 1, 2].map((partition) => ({ topic: 't', partition }));
    assert.equal(listPartitions(parts, 3), 't-0, t-1, t-2');
    assert.equal(listPartitions(parts, 2), 't-0, t-1 and 1 more');
    assert.equal(listPartitions([], 2), '');
  });
});

describe('describeTopic', () => {
  it('counts partitions, takes the largest replica count, keeps only the four compared configs', () => {
    const d = describeTopic(
      'orders',
      [{ replicas: [1, 2, 3] }, { replicas: [1, 2] }],
      [
        { configName: 'retention.ms', configValue: '3600000' },
        { configName: 'cleanup.policy', configValue: 'compact,delete' },
        { configName: 'segment.bytes', configValue: '1' },
      ],
    );
    assert.deepEqual(d, {
      topic: 'orders',
      exists: true,
      partitions: 2,
      replicationFactor: 3,
      configs: { 'retention.ms': '3600000', 'cleanup.policy': 'compact,delete', 'min.insync.replicas': null, 'max.message.bytes': null },
    });
  });
});

describe('end offset maps', () => {
  const offsets = {
    b: [
      { partition: 1, low: '0', high: '7' },
      { partition: 0, low: '2', high: '5' },
    ],
    a: [{ partition: 0, low: '0', high: '0' }],
  };

  it('highsOf keeps end offsets as strings, keyed by partition, sorted', () => {
    const highs = highsOf(offsets);
    assert.deepEqual(highs, { a: { '0': '0' }, b: { '0': '5', '1': '7' } });
    assert.deepEqual(Object.keys(highs), ['a', 'b']);
    assert.deepEqual(Object.keys(highs.b!), ['0', '1']);
  });

  it('keeps offsets past 2^53 exact', () => {
    const big = '9007199254740993';
    assert.equal(highsOf({ t: [{ partition: 0, low: '0', high: big }] }).t!['0'], big);
  });

  it('the digest ignores key order and changes with any offset, partition or topic', () => {
    const d = offsetsDigest({ a: { '0': '1', '1': '2' }, b: { '0': '3' } });
    assert.equal(d, offsetsDigest({ b: { '0': '3' }, a: { '1': '2', '0': '1' } }));
    assert.notEqual(d, offsetsDigest({ a: { '0': '1', '1': '3' }, b: { '0': '3' } }));
    assert.notEqual(d, offsetsDigest({ a: { '0': '1', '1': '2' }, b: { '0': '3', '1': '0' } }));
    assert.notEqual(d, offsetsDigest({ a: { '0': '1', '1': '2' } }));
    assert.match(d, /^[0-9a-f]{16}$/);
  });

  it('changedPartitions names moved, new and vanished partitions', () => {
    const before = { a: { '0': '1', '1': '2' }, b: { '0': '3' } };
    assert.deepEqual(changedPartitions(before, before), []);
    assert.deepEqual(changedPartitions(before, { a: { '0': '1', '1': '4', '2': '0' } }), ['a-1', 'a-2', 'b-0']);
    // A topic recreated with fewer records: the end offset went down, which is a change too.
    assert.deepEqual(changedPartitions({ t: { '0': '100' } }, { t: { '0': '0' } }), ['t-0']);
  });
});

describe('quiet window', () => {
  const t0 = Date.parse('2025-01-01T00:00:00.000Z');
  const quietMs = 5_000;

  it('unchanged offsets for the whole window: quiet, and quietSince is the first poll', () => {
    let w = observeOffsets(undefined, { t: { '0': '10' } }, t0);
    assert.equal(isQuiet(w, t0, quietMs), false, 'the first poll never counts as quiet on its own');
    w = observeOffsets(w, { t: { '0': '10' } }, t0 + 2_000);
    assert.equal(isQuiet(w, t0 + 2_000, quietMs), false);
    w = observeOffsets(w, { t: { '0': '10' } }, t0 + 5_000);
    assert.equal(isQuiet(w, t0 + 5_000, quietMs), true);
    assert.equal(w.lastChangeAtMs, t0);
    assert.equal(w.polls, 3);
  });

  it('a change restarts the window and names the partition in the heartbeat', () => {
    let w = observeOffsets(undefined, { t: { '0': '10', '1': '4' } }, t0);
    w = observeOffsets(w, { t: { '0': '11', '1': '4' } }, t0 + 4_000);
    assert.equal(w.lastChangeAtMs, t0 + 4_000);
    assert.equal(isQuiet(w, t0 + 6_000, quietMs), false);
    assert.equal(isQuiet(w, t0 + 9_000, quietMs), true);
    const hb = quietHeartbeat(w);
    assert.deepEqual(hb.changedPartitions, ['t-0']);
    assert.equal(hb.changedCount, 1);
    assert.equal(hb.partitions, 2);
    assert.equal(hb.lastChangeAt, '2025-01-01T00:00:04.000Z');
    assert.equal(hb.polls, 2);
  });

  it('the heartbeat lists at most 20 moved partitions but counts all', () => {
    const before = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [String(i), '0']));
    const after = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [String(i), '1']));
    const w = observeOffsets(observeOffsets(undefined, { t: before }, t0), { t: after }, t0 + 1);
    const hb = quietHeartbeat(w);
    assert.equal(hb.changedPartitions.length, 20);
    assert.equal(hb.changedCount, 30);
  });

  it('resumes from heartbeat details: same offsets keep the window start (no needless restart)', () => {
    const highs = { t: { '0': '10' } };
    let w = observeOffsets(undefined, highs, t0);
    w = observeOffsets(w, highs, t0 + 3_000);
    // The attempt dies here; the retry gets the last heartbeat back (through JSON, as Temporal stores it).
    const details: unknown = JSON.parse(JSON.stringify(quietHeartbeat(w)));
    const resumed = resumeQuietWindow(details);
    assert.ok(resumed);
    assert.equal(resumed.lastChangeAtMs, t0);
    assert.equal(resumed.polls, 2);
    const next = observeOffsets(resumed, highs, t0 + 5_500);
    assert.equal(next.lastChangeAtMs, t0, 'window kept');
    assert.equal(isQuiet(next, t0 + 5_500, quietMs), true);
    assert.deepEqual(next.changed, []);
    assert.equal(next.polls, 3);
  });

  it('resumes from heartbeat details: offsets that moved meanwhile restart the window', () => {
    const w = observeOffsets(undefined, { t: { '0': '10' } }, t0);
    const resumed = resumeQuietWindow(JSON.parse(JSON.stringify(quietHeartbeat(w))));
    const next = observeOffsets(resumed, { t: { '0': '12' } }, t0 + 60_000);
    assert.equal(next.lastChangeAtMs, t0 + 60_000);
    assert.equal(isQuiet(next, t0 + 60_000, quietMs), false);
    assert.deepEqual(next.changed, [MOVED_WHILE_RETRYING]);
    // From then on the exact partitions are known again.
    const after = observeOffsets(next, { t: { '0': '13' } }, t0 + 61_000);
    assert.deepEqual(after.changed, ['t-0']);
  });

  it('unreadable heartbeat details start a fresh window', () => {
    for (const details of [
      undefined,
      null,
      'x',
      {},
      { polls: 1, offsetsDigest: 'abc', lastChangeAt: 'not a date' },
      { lastChangeAt: new Date(t0).toISOString() },
    ]) {
      assert.equal(resumeQuietWindow(details), undefined, JSON.stringify(details));
    }
  });
});

describe('hasKafkaErrorType', () => {
  it('finds a broker error type anywhere in a kafkajs cause chain', () => {
    // The shape kafkajs throws when one partition has no leader (KafkaJSNonRetriableError ← KafkaJSProtocolError).
    const protocolError = Object.assign(new Error('There is no leader for this topic-partition'), {
      name: 'KafkaJSProtocolError',
      type: 'LEADER_NOT_AVAILABLE',
    });
    const wrapped = Object.assign(new Error('wrapped'), { name: 'KafkaJSNonRetriableError', cause: protocolError });
    assert.equal(hasKafkaErrorType(wrapped, 'LEADER_NOT_AVAILABLE'), true);
    assert.equal(hasKafkaErrorType(wrapped, 'UNKNOWN_TOPIC_OR_PARTITION'), false);
    assert.equal(hasKafkaErrorType(undefined, 'LEADER_NOT_AVAILABLE'), false);
    const cyclic: { type?: string; cause?: unknown } = {};
    cyclic.cause = cyclic;
    assert.equal(hasKafkaErrorType(cyclic, 'X'), false, 'a cyclic chain terminates');
  });
});
