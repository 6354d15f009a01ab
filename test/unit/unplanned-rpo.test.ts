import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildHeartbeatEmitter, buildMirrorConnectors, heartbeatEmitterName } from '../../src/mm2/connector-configs';
import { ReplicationPlanSchema } from '../../src/model/replication-plan';
import { computeRpoEvidence, decodeSourceEnd, encodeSourceEnd, newestSourceEnds, type KnownSourceEnd } from '../../src/offsets/rpo';
import { partitionKey } from '../../src/offsets/lag';
import { rawPlan } from '../helpers/inputs';

const end = (
  topic: string,
  partition: number,
  endOffset: number,
  observedAt: string,
  extra: Partial<KnownSourceEnd> = {},
): KnownSourceEnd => ({
  source: 'A',
  topic,
  partition,
  low: 0n,
  end: BigInt(endOffset),
  observedAt,
  by: 'w1',
  ...extra,
});
const committed = (entries: Array<[string, number, number | null]>) =>
  new Map(
    entries.map(([topic, partition, offset]) => [
      partitionKey(topic, partition),
      { topic, partition, offset: offset === null ? null : BigInt(offset) },
    ]),
  );
const NOW = Date.parse('2025-01-01T00:01:00.000Z');

describe('source end offsets store records', () => {
  it('round-trips; tombstones, other versions and garbage decode to undefined', () => {
    const e = end('orders', 2, 123, '2025-01-01T00:00:00.000Z', { low: 7n });
    const { key, value } = encodeSourceEnd(e);
    assert.equal(key, '["A","orders",2]');
    assert.deepEqual(decodeSourceEnd(Buffer.from(value)), e);
    assert.equal(decodeSourceEnd(null), undefined);
    assert.equal(decodeSourceEnd('not json'), undefined);
    assert.equal(decodeSourceEnd(JSON.stringify({ ...JSON.parse(value), v: 2 })), undefined);
    assert.equal(decodeSourceEnd(JSON.stringify({ ...JSON.parse(value), end: '-1' })), undefined);
  });

  it('keeps the newest observation per partition whatever the order they were written in', () => {
    const newest = newestSourceEnds([
      end('t', 0, 10, '2025-01-01T00:00:02.000Z'),
      end('t', 0, 5, '2025-01-01T00:00:01.000Z'),
      end('t', 1, 3, '2025-01-01T00:00:01.000Z'),
    ]);
    assert.deepEqual(
      [...newest.values()].map((e) => [e.partition, Number(e.end)]),
      [
        [0, 10],
        [1, 3],
      ],
    );
  });
});

describe('computeRpoEvidence', () => {
  it('records bound = last known end − (committed + 1) per partition and in total, a lower bound as of the oldest knowledge', () => {
    const e = computeRpoEvidence({
      source: 'A',
      topics: ['orders'],
      committed: committed([
        ['orders', 0, 99],
        ['orders', 1, 49],
        ['other', 0, 1],
      ]),
      knownEnds: [
        end('orders', 0, 104, '2025-01-01T00:00:50.000Z'),
        end('orders', 1, 57, '2025-01-01T00:00:40.000Z'),
        end('other', 0, 1000, '2025-01-01T00:00:40.000Z'),
        end('orders', 0, 999, '2025-01-01T00:00:40.000Z', { source: 'C' }),
      ],
      newestRecords: [
        { topic: 'orders', partition: 0, timestampMs: Date.parse('2025-01-01T00:00:30.000Z') },
        { topic: 'orders', partition: 1, timestampMs: Date.parse('2025-01-01T00:00:20.000Z') },
      ],
      lastHeartbeatAt: '2025-01-01T00:00:35.000Z',
      nowMs: NOW,
    });
    assert.deepEqual(
      e.partitions.map((p) => [
        p.topic,
        p.partition,
        p.committedOffset,
        p.lastKnownSourceEnd,
        p.recordsNotReplicated,
        p.newestReplicatedRecordAt,
      ]),
      [
        ['orders', 0, '99', '104', '4', '2025-01-01T00:00:30.000Z'],
        ['orders', 1, '49', '57', '7', '2025-01-01T00:00:20.000Z'],
      ],
    );
    assert.equal(e.records.total, '11');
    assert.equal(e.records.bound, 'lower');
    assert.equal(e.records.asOf, '2025-01-01T00:00:40.000Z', 'the oldest knowledge used');
    assert.equal(e.records.ageMs, 20_000);
    assert.deepEqual(e.records.unknownPartitions, []);
    assert.equal(e.seconds.bound, 'upper');
    assert.equal(e.seconds.heartbeatAgeMs, 25_000);
    assert.equal(e.seconds.newestReplicatedRecordAt, '2025-01-01T00:00:30.000Z');
    assert.equal(e.seconds.newestReplicatedRecordAgeMs, 30_000);
  });

  it('nothing committed counts from the recorded log start; replication past the recorded end counts 0 with a note', () => {
    const e = computeRpoEvidence({
      source: 'A',
      topics: ['t'],
      committed: committed([
        ['t', 0, null],
        ['t', 1, 20],
      ]),
      knownEnds: [end('t', 0, 30, '2025-01-01T00:00:00.000Z', { low: 10n }), end('t', 1, 15, '2025-01-01T00:00:00.000Z')],
      newestRecords: [],
      lastHeartbeatAt: null,
      nowMs: NOW,
    });
    assert.deepEqual(
      e.partitions.map((p) => p.recordsNotReplicated),
      ['20', '0'],
    );
    assert.match(e.partitions[1]!.note!, /below the next offset to replicate 21/);
    assert.equal(e.records.total, '20');
    assert.equal(e.seconds.heartbeatAgeMs, null);
    assert.match(e.seconds.why, /no heartbeat of this flow's emitter/);
  });

  it('partitions without a recorded end are listed, not counted; no recorded end at all: no total', () => {
    const some = computeRpoEvidence({
      source: 'A',
      topics: ['t'],
      committed: committed([
        ['t', 0, 4],
        ['t', 1, 4],
      ]),
      knownEnds: [end('t', 0, 9, '2025-01-01T00:00:00.000Z')],
      newestRecords: [],
      lastHeartbeatAt: null,
      nowMs: NOW,
    });
    assert.equal(some.records.total, '4');
    assert.deepEqual(some.records.unknownPartitions, ['t/1']);
    const none = computeRpoEvidence({
      source: 'A',
      topics: ['t'],
      committed: committed([['t', 0, 4]]),
      knownEnds: [],
      newestRecords: [],
      lastHeartbeatAt: null,
      nowMs: NOW,
    });
    assert.equal(none.records.total, null);
    assert.equal(none.records.asOf, null);
    assert.match(none.records.why, /ever recorded/);
  });
});

describe('heartbeat emitter config', () => {
  const plan = ReplicationPlanSchema.parse(rawPlan({ policy: { type: 'identity' } }));
  const endpoints = {
    source: { alias: 'A', bootstrapServers: ['a:9092'] },
    target: { alias: 'B', bootstrapServers: ['b:9092'] },
  } as never;

  it('is the reverse pair: writes `heartbeats` into the source (target alias A), keyed (B, A), with the flow policy', () => {
    const e = buildHeartbeatEmitter(plan, endpoints);
    assert.equal(e.name, heartbeatEmitterName('mm2-A-to-B'));
    assert.equal(e.name, 'mm2-A-to-B-heartbeat-emitter');
    assert.equal(e.kind, 'emitter');
    assert.equal(e.config['connector.class'], 'org.apache.kafka.connect.mirror.MirrorHeartbeatConnector');
    assert.equal(e.config['source.cluster.alias'], 'B');
    assert.equal(e.config['target.cluster.alias'], 'A');
    assert.equal(e.config['target.cluster.bootstrap.servers'], 'a:9092');
    assert.equal(e.config['source.cluster.bootstrap.servers'], undefined, "B's client settings (credentials) stay off the source side");
    assert.equal(e.config['replication.policy.class'], 'org.apache.kafka.connect.mirror.IdentityReplicationPolicy');
    assert.equal(e.config['emit.heartbeats.interval.seconds'], '1');
    // The flow's first source connector replicates heartbeats topics: that is how the emitter's records reach B.
    assert.equal(buildMirrorConnectors(plan, endpoints)[0]!.config['heartbeats.replication.enabled'], 'true');
  });
});
