import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { committedDataOffsets, type FetchedRecord } from '../../src/kafka/committed-records';
import { mirrorConnectors, sourceConsumerIsolation } from '../../src/mm2/connector-configs';
import { refuseDecision, resolveChoices, type GateView } from '../../src/model/gates';
import { describeGaps, endGrowth, replicationGaps, writesAfterSnapshot } from '../../src/offsets/conservation';
import { computeLag, nextDrainProgress, resumeDrain, unreplicatedRange, withTransactions, type LagReport } from '../../src/offsets/lag';

/** Pure parts of transaction-aware lag and failover conservation (issues 14, 15). */

const COMMIT = Buffer.from([0, 0, 0, 1]);
const ABORT = Buffer.from([0, 0, 0, 0]);
const rec = (offset: number, producerId = '7', inTransaction = true): FetchedRecord => ({
  offset: String(offset),
  key: Buffer.from('k'),
  isControlRecord: false,
  batchContext: { producerId, inTransaction },
});
const marker = (offset: number, key: Buffer, producerId = '7'): FetchedRecord => ({
  offset: String(offset),
  key,
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});

describe('committedDataOffsets: what a read_committed consumer returns', () => {
  it('leaves out commit and abort markers and the records of aborted transactions', () => {
    const records = [rec(0), rec(1), marker(2, COMMIT), rec(3), rec(4), marker(5, ABORT), rec(6), marker(7, COMMIT)];
    assert.deepEqual(committedDataOffsets(records, [{ producerId: '7', firstOffset: '3' }]), [0n, 1n, 6n]);
  });

  it('an aborted transaction of one producer does not hide another producer or plain records interleaved with it', () => {
    const records = [rec(10, '7'), rec(11, '8'), rec(12, '-1', false), rec(13, '7'), marker(14, ABORT, '7'), marker(15, COMMIT, '8')];
    assert.deepEqual(committedDataOffsets(records, [{ producerId: '7', firstOffset: '10' }]), [11n, 12n]);
  });

  it('an aborted transaction that began before the fetched range still hides its records', () => {
    assert.deepEqual(committedDataOffsets([rec(20), marker(21, ABORT), rec(22)], [{ producerId: '7', firstOffset: '15' }]), [22n]);
  });
});

const at = '2026-01-01T00:00:00.000Z';
/** One partition orders-0 with end `end` and committed `committed` (MM2's last replicated offset). */
const report = (end: bigint, committed: bigint | null): LagReport =>
  computeLag(
    'A',
    [{ topic: 'orders', partition: 0, low: 0n, high: end }],
    new Map(committed === null ? [] : [['orders\u00000', { topic: 'orders', partition: 0, offset: committed }]]),
    at,
    ['orders'],
  );
const scan = (
  o: Partial<{ dataRecords: number; markersOrAborted: number; lastStable: string; openTransaction: boolean; complete: boolean }>,
) => ({
  topic: 'orders',
  partition: 0,
  dataRecords: 0,
  markersOrAborted: 0,
  lastStable: '0',
  openTransaction: false,
  complete: true,
  ...o,
});

describe('withTransactions: lag with markers accounted', () => {
  it('a partition whose unreplicated offsets are only markers or aborted records is caught up, and the report drained', () => {
    const raw = report(101n, 99n);
    assert.equal(raw.total, '1');
    assert.equal(raw.drained, false);
    assert.deepEqual(unreplicatedRange(raw.partitions[0]!), { topic: 'orders', partition: 0, from: 100n, to: 101n });
    const r = withTransactions(raw, [scan({ markersOrAborted: 1, lastStable: '101' })]);
    assert.equal(r.total, '0');
    assert.equal(r.drained, true);
    assert.equal(r.partitions[0]!.state, 'caught-up');
    assert.equal(r.partitions[0]!.markersOrAborted, '1');
    assert.match(r.partitions[0]!.note!, /transaction markers or aborted records/);
  });

  it('an open transaction is never drained, whatever the count', () => {
    const r = withTransactions(report(110n, 99n), [scan({ openTransaction: true, lastStable: '100', complete: false })]);
    assert.equal(r.drained, false);
    assert.equal(r.partitions[0]!.state, 'behind');
    assert.equal(r.partitions[0]!.openTransactionAt, '100');
    assert.equal(r.total, '10', 'the raw lag stays (an upper bound)');
    // The drain's heartbeat (the UI) says why it waits.
    assert.match(
      nextDrainProgress(resumeDrain(undefined), r).note!,
      /a transaction is open on orders-0 \(from offset 100\): its producer must commit or abort it/,
    );
  });

  it('a complete scan replaces the raw lag by the committed data records; a scan stopped at the first one keeps the raw lag', () => {
    assert.equal(withTransactions(report(131n, 99n), [scan({ dataRecords: 20, markersOrAborted: 11, lastStable: '131' })]).total, '20');
    const stopped = withTransactions(report(131n, 99n), [scan({ dataRecords: 1, lastStable: '131', complete: false })]);
    assert.equal(stopped.total, '31');
    assert.equal(stopped.drained, false);
  });

  it('a partition MM2 never replicated is scanned from its log start; unscanned and caught-up partitions are left alone', () => {
    const raw = report(3n, null);
    assert.deepEqual(unreplicatedRange(raw.partitions[0]!), { topic: 'orders', partition: 0, from: 0n, to: 3n });
    assert.equal(withTransactions(raw, [scan({ markersOrAborted: 3, lastStable: '3' })]).drained, true);
    assert.equal(unreplicatedRange(report(100n, 99n).partitions[0]!), null);
    assert.deepEqual(withTransactions(report(105n, 99n), []).total, '5');
  });
});

describe('conservation figures', () => {
  const stopped = withTransactions(report(112n, 99n), [scan({ dataRecords: 7, markersOrAborted: 5, lastStable: '112' })]);

  it('replicationGaps lists partitions with unreplicated records: next offset, end and the exact count', () => {
    assert.deepEqual(replicationGaps(stopped), [{ topic: 'orders', partition: 0, end: '112', next: '100', records: '7' }]);
    assert.deepEqual(replicationGaps(report(100n, 99n)), []);
    assert.equal(describeGaps(replicationGaps(stopped)), 'orders-0: 7 record(s) (replicated up to 100, end 112)');
  });

  it('endGrowth compares end offsets of two readings, partitions in both only', () => {
    const drainEnd = [
      { topic: 'orders', partition: 0, end: '100' },
      { topic: 'orders', partition: 1, end: '50' },
      { topic: 'gone', partition: 0, end: '5' },
    ];
    assert.deepEqual(endGrowth(drainEnd, { orders: { '0': '104', '1': '50' } }), [
      { topic: 'orders', partition: 0, before: '100', after: '104', grown: '4' },
    ]);
  });

  it('writesAfterSnapshot subtracts the gap accepted at the check; the rest are writes after the snapshot', () => {
    const accepted = replicationGaps(stopped);
    const later = withTransactions(report(122n, 99n), [scan({ dataRecords: 17, markersOrAborted: 5, lastStable: '122' })]);
    const w = writesAfterSnapshot(accepted, later, 'end');
    assert.equal(w.records, '10');
    assert.equal(w.unreplicated, '17');
    assert.deepEqual(w.partitions, [{ topic: 'orders', partition: 0, records: '10', end: '122' }]);
    assert.equal(writesAfterSnapshot([], stopped, 'consumers-cutover').records, '7');
  });
});

describe('MM2 source consumer isolation', () => {
  it('deploy sets read_committed; source.consumer.* wins over consumer.*; the Kafka default is read_uncommitted', () => {
    const flow = {
      source: { alias: 'A', bootstrapServers: 'a:9092' },
      target: { alias: 'B', bootstrapServers: 'b:9092' },
      name: 'f',
      topics: ['t'],
      groups: ['g'],
      policy: 'identity' as const,
      replicationFactor: 1,
      intervalSeconds: 5,
    };
    assert.equal(sourceConsumerIsolation(mirrorConnectors(flow)['f-source']!), 'read_committed');
    assert.equal(sourceConsumerIsolation({}), 'read_uncommitted');
    assert.equal(sourceConsumerIsolation({ 'consumer.isolation.level': 'read_committed' }), 'read_committed');
    assert.equal(
      sourceConsumerIsolation({ 'consumer.isolation.level': 'read_committed', 'source.consumer.isolation.level': 'READ_UNCOMMITTED' }),
      'read_uncommitted',
    );
  });
});

describe('gate choices with a default', () => {
  const gap = { options: ['re-drain', 'accept-loss'], keys: ['gap'], default: 're-drain' };
  const view = (choices?: typeof gap): GateView => ({
    known: ['replication-gap', 'stop-producers'],
    open: { name: 'replication-gap', approvers: null, fourEyes: false, requestedBy: 'alice', ...(choices ? { choices } : {}) },
    closed: {},
    aborted: null,
  });

  it("an approval may name one of the open gate's choices; a bare one takes the default; none on a gate without choices", () => {
    assert.equal(
      refuseDecision(view(gap), { gate: 'replication-gap', decision: 'approve', by: 'bob', choices: { '*': 'accept-loss' } }),
      undefined,
    );
    assert.equal(refuseDecision(view(gap), { gate: 'replication-gap', decision: 'approve', by: 'bob' }), undefined);
    assert.deepEqual(resolveChoices(gap, undefined), { gap: 're-drain' });
    assert.deepEqual(resolveChoices(gap, { '*': 'accept-loss' }), { gap: 'accept-loss' });
    assert.match(
      refuseDecision(view(gap), { gate: 'replication-gap', decision: 'approve', by: 'bob', choices: { '*': 'skip' } })!,
      /\*=skip: not a choice here \(choices: re-drain, accept-loss\)/,
    );
    assert.match(
      refuseDecision(view(), { gate: 'replication-gap', decision: 'approve', by: 'bob', choices: { '*': 're-drain' } })!,
      /takes no choices/,
    );
  });
});
