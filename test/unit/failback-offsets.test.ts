import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findSync, OffsetSyncHistory, translateUpstream } from '../../src/mm2/offset-syncs';
import {
  connectOffsetsBody,
  FailbackSeedError,
  planFailbackSeed,
  planForwardResume,
  toConnectOffsets,
  type FailbackSeedInput,
  type SeedEntry,
} from '../../src/offsets/failback';

const sync = (upstreamOffset: bigint, downstreamOffset: bigint) => ({ upstreamOffset, downstreamOffset });

describe('offset sync translation (MM2 OffsetSyncStore rule)', () => {
  const syncs = [sync(10n, 100n), sync(20n, 105n), sync(30n, 120n)];

  it('is exact on a sync, one past the governing sync between syncs', () => {
    assert.equal(translateUpstream(syncs, 20n), 105n);
    assert.equal(translateUpstream(syncs, 25n), 106n, 'records between syncs may be gone: only +1 is certain');
    assert.equal(translateUpstream(syncs, 1000n), 121n);
  });

  it('is undefined behind the oldest sync', () => {
    assert.equal(translateUpstream(syncs, 9n), undefined);
    assert.equal(translateUpstream([], 0n), undefined);
  });

  it('does not depend on the order syncs are given in, and takes the last of equal ones', () => {
    assert.deepEqual(findSync([sync(30n, 120n), sync(10n, 100n), sync(20n, 105n)], 29n), sync(20n, 105n));
    const later = sync(20n, 107n);
    assert.equal(findSync([sync(20n, 105n), later], 20n), later);
  });

  it('works beyond 2^53', () => {
    const big = 2n ** 60n;
    assert.equal(translateUpstream([sync(big, big + 5n)], big + 3n), big + 6n);
  });
});

describe('offset sync history', () => {
  const s = (topic: string, partition: number, u: bigint, d: bigint) => ({ topic, partition, upstreamOffset: u, downstreamOffset: d });

  it('keeps the latest syncs per partition and the best one at or below a tracked offset', () => {
    const h = new OffsetSyncHistory(3);
    h.track('orders', 0, 12n);
    for (let i = 0n; i < 10n; i++) h.add(s('orders', 0, i * 5n, i * 5n));
    h.add(s('orders', 1, 7n, 9n));
    assert.deepEqual(h.latest('orders', 0), s('orders', 0, 45n, 45n));
    assert.deepEqual(
      h.syncs('orders', 0).map((x) => x.upstreamOffset),
      [10n, 35n, 40n, 45n],
      'the tracked sync stays after the window rolled past it',
    );
    assert.deepEqual(h.atOrBelow('orders', 0, 12n), s('orders', 0, 10n, 10n));
    assert.deepEqual(h.partitions(), [
      { topic: 'orders', partition: 0 },
      { topic: 'orders', partition: 1 },
    ]);
  });

  it('starts over when offsets go backwards (topic recreated): old syncs describe a log that is gone', () => {
    const h = new OffsetSyncHistory();
    h.track('t', 0, 100n);
    h.add(s('t', 0, 50n, 50n));
    h.add(s('t', 0, 3n, 60n));
    assert.equal(h.resets('t', 0), 1);
    assert.deepEqual(h.syncs('t', 0), [s('t', 0, 3n, 60n)]);
    assert.deepEqual(h.atOrBelow('t', 0, 100n), s('t', 0, 3n, 60n));
  });
});

const base: FailbackSeedInput = {
  policy: { type: 'identity' },
  reverseSource: 'B',
  reverseTarget: 'A',
  include: ['orders', 'events-.*'],
  current: {},
};

const entry = (plan: { partitions: SeedEntry[] }, topic: string, partition: number) => {
  const e = plan.partitions.find((p) => p.topic === topic && p.partition === partition);
  assert.ok(e, `${topic}-${partition} in the plan`);
  return e;
};

describe('failback seed from a failover snapshot', () => {
  const input: FailbackSeedInput = {
    ...base,
    current: {
      orders: { '0': '150', '1': '40', '2': '7' },
      'events-new': { '0': '12' },
      unrelated: { '0': '5' },
      heartbeats: { '0': '99' },
    },
    snapshot: { orders: { '0': '100', '1': '0' } },
  };
  const plan = planFailbackSeed(input);

  it('skips what B had at failover: offset = end - 1, so MM2 resumes at the end', () => {
    assert.deepEqual(entry(plan, 'orders', 0), {
      topic: 'orders',
      partition: 0,
      source: 'snapshot',
      offset: '99',
      resumeAt: '100',
      exact: true,
      toCopy: '50',
      note: undefined,
    });
  });

  it('copies an empty-at-failover partition from its first record (null offset, never -1)', () => {
    const e = entry(plan, 'orders', 1);
    assert.equal(e.source, 'snapshot');
    assert.equal(e.offset, null);
    assert.equal(e.resumeAt, 'earliest');
    assert.equal(e.toCopy, '40');
  });

  it('copies a partition added during DR and a topic created during DR from the start, saying so', () => {
    const added = entry(plan, 'orders', 2);
    assert.equal(added.source, 'earliest');
    assert.equal(added.offset, null);
    assert.match(added.note!, /partition added during DR/);
    const created = entry(plan, 'events-new', 0);
    assert.equal(created.source, 'earliest');
    assert.match(created.note!, /not on B at failover \(created during DR\)/);
  });

  it('leaves topics outside the allowlist and heartbeats alone', () => {
    assert.deepEqual([...new Set(plan.partitions.map((p) => p.topic))], ['events-new', 'orders']);
  });

  it('notes that compaction gaps do not move the boundary', () => {
    assert.ok(plan.notes.some((n) => /compacted topic/.test(n) && /offset \+ 1/.test(n)));
    assert.equal(plan.sourceAlias, 'B');
  });

  it('says when nothing happened on B during DR', () => {
    const p = planFailbackSeed({ ...base, current: { orders: { '0': '100' } }, snapshot: { orders: { '0': '100' } } });
    assert.equal(entry(p, 'orders', 0).toCopy, '0');
    assert.equal(entry(p, 'orders', 0).note, 'no DR-period writes');
  });

  it('refuses a partition whose end went below the snapshot (recreated on B), unless seed is earliest', () => {
    const recreated = { ...base, current: { orders: { '0': '3' } }, snapshot: { orders: { '0': '100' } } };
    assert.throws(
      () => planFailbackSeed(recreated),
      (err: unknown) =>
        err instanceof FailbackSeedError && /orders-0 \(B's end offset now \(3\) is below the snapshot's \(100\)/.test(err.message),
    );
    const e = entry(planFailbackSeed({ ...recreated, seed: 'earliest' }), 'orders', 0);
    assert.equal(e.source, 'earliest');
    assert.equal(e.offset, null);
    assert.match(e.note!, /seed: earliest/);
  });

  it('computes offsets beyond 2^53 exactly', () => {
    const end = 2n ** 62n + 7n;
    const p = planFailbackSeed({
      ...base,
      current: { orders: { '0': (end + 10n).toString() } },
      snapshot: { orders: { '0': end.toString() } },
    });
    assert.equal(entry(p, 'orders', 0).offset, (end - 1n).toString());
    assert.equal(entry(p, 'orders', 0).toCopy, '10');
  });

  it('refuses malformed offsets', () => {
    assert.throws(() => planFailbackSeed({ ...base, current: { orders: { '0': '-1' } }, snapshot: {} }), /not a decimal offset/);
    assert.throws(() => planFailbackSeed({ ...base, current: { orders: { x: '1' } }, snapshot: {} }), /not a partition number/);
  });
});

describe('failback seed derived from the forward flow (no snapshot)', () => {
  const forward = {
    committed: [
      { topic: 'orders', partition: 0, offset: '41' },
      { topic: 'orders', partition: 1, offset: '50' },
    ],
    syncs: [
      // Partition 0: a sync for exactly the last replicated record (clean stop, offset.lag.max=0).
      { topic: 'orders', partition: 0, upstreamOffset: '41', downstreamOffset: '41' },
      // Partition 1: the newest sync at or below 50 is for 45 (compaction gap before it: 45 → 43).
      { topic: 'orders', partition: 1, upstreamOffset: '45', downstreamOffset: '43' },
      { topic: 'orders', partition: 1, upstreamOffset: '60', downstreamOffset: '55' },
    ],
    topicsOnA: ['orders'],
  };
  const current = { orders: { '0': '60', '1': '70', '2': '9' }, 'events-dr': { '0': '4' } };

  it("seeds exactly from a sync for the last replicated record: B's offset of A's last record", () => {
    const p = planFailbackSeed({ ...base, current, forward });
    assert.deepEqual(entry(p, 'orders', 0), {
      topic: 'orders',
      partition: 0,
      source: 'derived',
      offset: '41',
      resumeAt: '42',
      exact: true,
      maxDuplicates: undefined,
      toCopy: '18',
      note: undefined,
    });
  });

  it('uses the conservative lower bound between syncs and bounds the duplicates', () => {
    const e = entry(planFailbackSeed({ ...base, current, forward }), 'orders', 1);
    assert.equal(e.source, 'derived');
    assert.equal(e.offset, '44', 'sync 45→43, last replicated 50: at least 43 + 1');
    assert.equal(e.exact, false);
    assert.equal(e.maxDuplicates, '4', 'records 46..49 at most');
    assert.match(e.note!, /lower bound/);
  });

  it('copies from the start a partition the forward flow never replicated, and a topic created on B during DR', () => {
    const p = planFailbackSeed({ ...base, current, forward });
    assert.equal(entry(p, 'orders', 2).source, 'derived');
    assert.equal(entry(p, 'orders', 2).offset, null);
    assert.match(entry(p, 'orders', 2).note!, /never replicated a record of this partition/);
    assert.equal(entry(p, 'events-dr', 0).source, 'earliest');
    assert.match(entry(p, 'events-dr', 0).note!, /not on A \(created on B during DR\)/);
  });

  it('lists every partition it cannot derive, and falls back to earliest only when the operator chose it', () => {
    const noSync = { ...forward, syncs: [], topicsOnA: ['orders', 'events-dr'] };
    assert.throws(
      () => planFailbackSeed({ ...base, current, forward: noSync }),
      (err: unknown) =>
        err instanceof FailbackSeedError &&
        err.partitions.map((x) => `${x.topic}-${x.partition}`).join(',') === 'events-dr-0,orders-0,orders-1' &&
        /no offset sync at or below A's offset 41/.test(err.message) &&
        /no committed offsets for events-dr/.test(err.message) &&
        /seed 'earliest'/.test(err.message),
    );
    const p = planFailbackSeed({ ...base, current, forward: noSync, seed: 'earliest' });
    assert.deepEqual(
      p.partitions.map((x) => [x.topic, x.partition, x.source, x.offset]),
      [
        ['events-dr', 0, 'earliest', null],
        ['orders', 0, 'earliest', null],
        ['orders', 1, 'earliest', null],
        ['orders', 2, 'derived', null],
      ],
    );
  });

  it('refuses a sync that points past the end of B (topic recreated on B)', () => {
    assert.throws(() => planFailbackSeed({ ...base, current: { orders: { '0': '41' } }, forward }), /recreated or truncated on B/);
  });

  it('refuses without a snapshot and without forward offsets', () => {
    assert.throws(() => planFailbackSeed({ ...base, current }), /no failover snapshot and no forward-flow offsets/);
  });

  it('under the Default policy seeds B-local topics from the start and skips A.* topics as cycles', () => {
    const p = planFailbackSeed({
      ...base,
      policy: { type: 'default' },
      include: ['orders', 'A\\.orders'],
      current: { orders: { '0': '5' }, 'A.orders': { '0': '500' } },
      forward,
    });
    assert.deepEqual(
      p.partitions.map((x) => [x.topic, x.source, x.offset]),
      [['orders', 'derived', null]],
    );
    assert.match(p.partitions[0]!.note!, /A's records were replicated to A\.orders/);
    assert.deepEqual(p.skippedTopics, [{ topic: 'A.orders', reason: 'came from A (MM2 skips it as a cycle)' }]);
  });
});

describe('forward resume at the producer cutover', () => {
  type ResumeInput = Parameters<typeof planForwardResume>[0];
  /** The forward flow is always A → B here; the cases differ in policy, topics and offsets. */
  const resume = (policy: 'identity' | 'default', rest: Omit<ResumeInput, 'policy' | 'forwardSource' | 'forwardTarget'>) =>
    planForwardResume({ policy: { type: policy }, forwardSource: 'A', forwardTarget: 'B', ...rest });

  it("resumes every forward partition at A's end offset; an empty partition from its start", () => {
    const p = resume('identity', {
      include: ['orders'],
      endOffsets: { orders: { '0': '180', '1': '0' }, other: { '0': '3' } },
      committed: [{ topic: 'orders', partition: 0, offset: '99' }],
    });
    assert.equal(p.sourceAlias, 'A');
    assert.deepEqual(
      p.partitions.map((x) => [x.topic, x.partition, x.offset, x.resumeAt, x.skipped]),
      [
        ['orders', 0, '179', '180', '80'],
        ['orders', 1, null, 'earliest', undefined],
      ],
    );
    assert.match(
      p.partitions[0]!.note!,
      /80 records on A since the forward flow stopped are not copied to B by resuming here: the DR-period records that came back from B; anything else .* find-divergent/,
    );
  });

  it("under the Default policy leaves B.* topics on A to MM2 (cycles) and resumes A's own records where the flow stopped", () => {
    const p = resume('default', {
      include: ['.*'],
      endOffsets: { orders: { '0': '10', '1': '5', '2': '4' }, 'B.orders': { '0': '30' } },
      committed: [
        { topic: 'orders', partition: 0, offset: '7' },
        { topic: 'orders', partition: 1, offset: '4' },
      ],
    });
    assert.deepEqual(p.skippedTopics, [{ topic: 'B.orders', reason: 'came from B (MM2 skips it as a cycle)' }]);
    // 0: two records written on A while stopped are copied (not skipped); 1: caught up, nothing replayed;
    // 2: never replicated, copied from its first record.
    assert.deepEqual(
      p.partitions.map((x) => [x.topic, x.partition, x.offset, x.resumeAt, x.skipped]),
      [
        ['orders', 0, '7', '8', '0'],
        ['orders', 1, '4', '5', '0'],
        ['orders', 2, null, 'earliest', '0'],
      ],
    );
    assert.match(p.partitions[0]!.note!, /2 record\(s\) written on A while the forward flow was stopped are copied to B now/);
    assert.equal(p.partitions[1]!.note, undefined);
  });

  for (const [policy, title] of [
    ['default', "under the Default policy resumes at A's end when A's topic was recreated (end below the committed offset)"],
    ['identity', 'notes a topic recreated on A (end below the committed offset)'],
  ] as const) {
    it(title, () => {
      const p = resume(policy, {
        include: ['orders'],
        endOffsets: { orders: { '0': '5' } },
        committed: [{ topic: 'orders', partition: 0, offset: '99' }],
      });
      assert.equal(p.partitions[0]!.offset, '4');
      assert.match(p.partitions[0]!.note!, /recreated or truncated on A/);
    });
  }
});

describe('Connect offsets for seeds and resumes', () => {
  const entries = [
    { topic: 'orders', partition: 0, offset: '99' },
    { topic: 'orders', partition: 1, offset: null },
  ];

  it('builds PATCH entries keyed like MM2 ({cluster, topic, partition} → {offset}), null to reset', () => {
    assert.deepEqual(toConnectOffsets('B', entries), [
      { partition: { cluster: 'B', topic: 'orders', partition: 0 }, offset: { offset: 99 } },
      { partition: { cluster: 'B', topic: 'orders', partition: 1 }, offset: null },
    ]);
  });

  it('refuses to round an offset beyond 2^53; the raw body keeps it exact', () => {
    const big = [{ topic: 'orders', partition: 0, offset: '9007199254740993' }];
    assert.throws(() => toConnectOffsets('B', big), /beyond 2\^53/);
    const body = connectOffsetsBody('B', big);
    assert.equal(body, '{"offsets":[{"partition":{"cluster":"B","topic":"orders","partition":0},"offset":{"offset":9007199254740993}}]}');
    assert.deepEqual(JSON.parse(connectOffsetsBody('B', entries)), { offsets: toConnectOffsets('B', entries) });
    assert.throws(() => connectOffsetsBody('B', [{ topic: 't', partition: 0, offset: '1e3' }]), /not a decimal offset/);
  });
});
