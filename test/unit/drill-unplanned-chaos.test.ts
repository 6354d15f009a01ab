import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConnectClient } from '../../src/connect/client';
import type { DrillKafka, SeqAt } from '../../src/drill/clients';
import type { DrillTopic } from '../../src/drill/records';
import { drillMarkdown } from '../../src/drill/markdown';
import { UnplannedChaos } from '../../src/drill/unplanned-chaos';

/**
 * The unplanned chaos drill's accounting (src/drill/unplanned-chaos.ts): a tail record is
 * accounted for only when its offset on A lies in a divergent range the failback reported,
 * the choice was replay, and it is on B and on A afterwards. No cluster: account() is pure
 * given what the drill read back.
 */

const topics: DrillTopic[] = [{ name: 't', partitions: 1, compacted: false }];

function chaosWithTail(tail: number[]): UnplannedChaos {
  const c = new UnplannedChaos(
    {} as DrillKafka,
    topics,
    {} as ConnectClient,
    'src',
    () => Promise.reject(new Error('not measured here')),
    () => undefined,
    'unit',
  );
  c.tail = tail;
  return c;
}

// A holds seqs 0..9 at offsets 0..9; the tail is 6..9 (offsets 6..9).
const onA: SeqAt[] = Array.from({ length: 10 }, (_, i) => ({ topic: 't', partition: 0, offset: BigInt(i), seq: i }));
const failback = (choice: string, ranges: Array<[string, string]>) => ({
  divergent: {
    records: ranges.reduce((n, [a, b]) => n + Number(b) - Number(a) + 1, 0),
    partitions: [{ topic: 't', partition: 0, records: 4, ranges }],
    choice,
    by: 'drill-approver',
    replayed: { copied: 4 },
  },
});

type AccountInput = Parameters<UnplannedChaos['account']>[0];
/** The tail 6..9 accounted against what B holds (seqs 0..bHolds-1) and the failback's answer. */
const accountTail = (bHolds: number, fb: AccountInput['failback'], more: Partial<AccountInput> = {}) =>
  chaosWithTail([6, 7, 8, 9]).account({
    seqsOnB: Array.from({ length: bHolds }, (_, i) => i),
    onA,
    consumed: [],
    failback: fb,
    waitedForBMs: 0,
    ...more,
  });

describe('unplanned chaos accounting', () => {
  it('accounts every tail record found divergent, replayed, on B and on A', () => {
    const r = accountTail(10, failback('replay', [['6', '9']]), { failover: { rpoRecords: 4 } });
    assert.equal(r.accounted, 4);
    assert.equal(r.unaccounted, 0);
    assert.equal(r.tailOnB, 4);
    assert.equal(r.rpoRecords.explained, true, 'no transactions: rpoRecords == the tail');
    assert.deepEqual(r.divergent?.partitions[0]?.ranges, [['6', '9']]);
  });

  it('a tail record on B but outside the divergent ranges is not accounted for', () => {
    const r = accountTail(10, failback('replay', [['6', '8']]), { failover: { rpoRecords: 5 } });
    assert.equal(r.unaccounted, 1);
    assert.deepEqual(r.unaccountedSample, [9]);
    assert.equal(r.rpoRecords.explained, false, 'rpoRecords 5 against a tail of 4 offsets');
  });

  it('quarantine or discard leaves the tail off B: unaccounted; a tail record missing on B too', () => {
    const quarantined = accountTail(6, failback('quarantine', [['6', '9']]));
    assert.equal(quarantined.unaccounted, 4);
    const partial = accountTail(8, failback('replay', [['6', '9']]));
    assert.deepEqual(partial.unaccountedSample, [8, 9]);
  });

  it('a replay written at the end of A counts the record on A twice, still accounted for', () => {
    const rewritten = [...onA, { topic: 't', partition: 0, offset: 10n, seq: 8 }];
    const r = accountTail(10, failback('replay', [['6', '9']]), { onA: rewritten, waitedForBMs: 1_000 });
    assert.equal(r.unaccounted, 0);
    assert.equal(r.tailOnATwice, 1);
  });

  it('tail records the consumer read twice are counted, beside the groups the gate named as reading them again', () => {
    const replayed = failback('replay', [['6', '9']]);
    const fb = { divergent: { ...replayed.divergent, groups: [{ group: 'g', readsOriginals: 0, readBefore: 3 }] } };
    const r = accountTail(10, fb, { consumed: [5, 6, 6, 7, 7, 8, 8, 9] });
    assert.equal(r.tailReadTwice, 3);
    assert.deepEqual(r.divergent?.groups, [{ group: 'g', readsOriginals: 0, readBefore: 3 }]);
  });

  it('an aborted record seen anywhere is counted', () => {
    const c = chaosWithTail([]);
    c.txn.txnAborted.push(3_000_000_000, 3_000_000_001);
    const r = c.account({ seqsOnB: [3_000_000_001], onA, consumed: [], waitedForBMs: 0 });
    assert.equal(r.transactions.abortedSeen, 1);
    assert.equal(r.divergent, null);
  });

  it('the Markdown report shows the measured rpoRecords, the divergent ranges, the choice and the accounting', () => {
    const chaos = accountTail(10, failback('replay', [['6', '9']]), { failover: { rpoRecords: 4 } });
    const md = drillMarkdown({
      mode: 'unplanned',
      drillId: 'u1',
      startedAt: new Date(0).toISOString(),
      endedAt: new Date(1000).toISOString(),
      durationMs: 1000,
      outcome: 'passed',
      produced: 10,
      consumed: 6,
      lost: 0,
      duplicates: 0,
      rpoRecords: 4,
      phases: [],
      chaos,
    });
    assert.match(md, /tail acknowledged by A, never on B: 4 records .*rpoRecords measured by the failover: 4 \(explained by the tail\)/);
    assert.match(md, /divergent records found by the failback: 4 \(t-0 6-9\); choice replay by drill-approver/);
    assert.match(md, /tail accounted for \(divergent, replayed, on B and on A\): 4; unaccounted: 0; aborted records seen: 0/);
  });
});
