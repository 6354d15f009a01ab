import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  committedMirrorOffsets,
  computeLag,
  isDrained,
  nextDrainProgress,
  NON_ZERO_SHOWN,
  partitionLag,
  resumeDrain,
  type LagReport,
  type SourcePartitionOffsets,
} from '../../src/offsets/lag';

const NOW = '2025-01-01T00:00:00.000Z';
const src = (topic: string, high: bigint[], low: bigint[] = high.map(() => 0n)): SourcePartitionOffsets[] =>
  high.map((h, partition) => ({ topic, partition, low: low[partition]!, high: h }));
const mm2 = (topic: string, partition: number, offset: number | null, cluster = 'A') => ({
  partition: { cluster, topic, partition },
  offset: offset === null ? null : { offset },
});

describe('replication lag math', () => {
  it('lag = end − (committed + 1); 0 is caught up', () => {
    assert.deepEqual(partitionLag('t', 0, { low: 0n, high: 100n }, 99n), {
      topic: 't',
      partition: 0,
      end: '100',
      committed: '99',
      lag: '0',
      state: 'caught-up',
    });
    const behind = partitionLag('t', 0, { low: 0n, high: 100n }, 49n);
    assert.deepEqual([behind.lag, behind.state], ['50', 'behind']);
  });

  it('not started: the whole partition (end − log start) is lag', () => {
    const p = partitionLag('t', 0, { low: 20n, high: 100n }, null);
    assert.deepEqual([p.lag, p.state, p.committed], ['80', 'not-started', null]);
    const empty = partitionLag('t', 0, { low: 5n, high: 5n }, null);
    assert.deepEqual([empty.lag, empty.state], ['0', 'not-started']);
  });

  it('negative lag (source recreated/truncated) is an anomaly and never drained', () => {
    const p = partitionLag('t', 0, { low: 0n, high: 10n }, 99n);
    assert.deepEqual([p.lag, p.state], ['-90', 'anomaly']);
    assert.match(p.note ?? '', /recreated or truncated/);
    // Everything else at zero: still not drained, and the anomaly does not shrink the total.
    const report = computeLag(
      'A',
      [...src('t', [10n]), ...src('u', [5n])],
      committedMirrorOffsets('A', [mm2('t', 0, 99), mm2('u', 0, 4)]),
      NOW,
    );
    assert.equal(report.anomalies, 1);
    assert.equal(report.total, '0');
    assert.equal(report.drained, false);
  });

  it('sums lags, finds the max, and is drained only when every partition is at 0', () => {
    const committed = committedMirrorOffsets('A', [mm2('t', 0, 99), mm2('t', 1, 89), mm2('t', 2, 69)]);
    const r = computeLag('A', src('t', [100n, 100n, 100n]), committed, NOW);
    assert.deepEqual([r.total, r.maxLag, r.drained], ['40', '30', false]);
    const done = computeLag('A', src('t', [100n, 90n, 70n]), committed, NOW);
    assert.deepEqual([done.total, done.maxLag, done.drained], ['0', '0', true]);
    assert.ok(done.partitions.every((p) => p.state === 'caught-up'));
  });

  it('a partition MM2 has not reached counts as not drained even if others are at 0', () => {
    const r = computeLag('A', src('t', [100n, 10n]), committedMirrorOffsets('A', [mm2('t', 0, 99)]), NOW);
    assert.deepEqual(
      r.partitions.map((p) => [p.partition, p.state, p.lag]),
      [
        [0, 'caught-up', '0'],
        [1, 'not-started', '10'],
      ],
    );
    assert.equal(r.drained, false);
  });

  it('nothing measured is not a drain; a named topic missing from the source is not a drain', () => {
    assert.equal(computeLag('A', [], new Map(), NOW).drained, false);
    const r = computeLag('A', src('t', [1n]), committedMirrorOffsets('A', [mm2('t', 0, 0)]), NOW, ['t', 'typo'], ['typo']);
    assert.deepEqual([r.total, r.drained, r.missingTopics], ['0', false, ['typo']]);
  });

  it('committed offsets of a deleted source topic are listed as source-missing and not counted', () => {
    const r = computeLag('A', src('t', [1n]), committedMirrorOffsets('A', [mm2('t', 0, 0), mm2('gone', 0, 500)]), NOW);
    const gone = r.partitions.find((p) => p.topic === 'gone')!;
    assert.deepEqual([gone.state, gone.lag, gone.end], ['source-missing', null, null]);
    assert.equal(r.drained, true);
  });

  it('reads only MirrorSourceConnector partitions of the source alias; the higher offset wins across connectors; null resets', () => {
    const c = committedMirrorOffsets('A', [
      mm2('t', 0, 10),
      mm2('t', 0, 15),
      mm2('t', 0, 12),
      mm2('t', 1, 3, 'C'), // another source cluster
      { partition: { sourceClusterAlias: 'A', targetClusterAlias: 'B' }, offset: { offset: 0 } }, // heartbeat connector
      mm2('t', 2, null),
    ]);
    assert.deepEqual(
      [...c.values()],
      [
        { topic: 't', partition: 0, offset: 15n },
        { topic: 't', partition: 2, offset: null },
      ],
    );
  });

  it('the topics filter keeps only those topics', () => {
    const committed = committedMirrorOffsets('A', [mm2('t', 0, 0), mm2('u', 0, 0)]);
    const r = computeLag('A', [...src('t', [5n]), ...src('u', [1n])], committed, NOW, ['u']);
    assert.deepEqual(
      r.partitions.map((p) => p.topic),
      ['u'],
    );
  });

  it('the report is JSON (offsets as strings)', () => {
    const r = computeLag('A', src('t', [2n ** 60n]), committedMirrorOffsets('A', [mm2('t', 0, 0)]), NOW);
    assert.equal(r.total, (2n ** 60n - 1n).toString());
    assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
  });
});

const report = (lags: number[], extra: Partial<LagReport> = {}): LagReport => {
  const partitions = lags.map((lag, partition) => ({
    topic: 't',
    partition,
    end: '100',
    committed: String(99 - lag),
    lag: String(lag),
    state: lag === 0 ? ('caught-up' as const) : lag < 0 ? ('anomaly' as const) : ('behind' as const),
  }));
  const positive = lags.filter((l) => l > 0);
  return {
    source: 'A',
    partitions,
    total: String(positive.reduce((a, b) => a + b, 0)),
    maxLag: String(Math.max(0, ...positive)),
    anomalies: lags.filter((l) => l < 0).length,
    drained: lags.length > 0 && lags.every((l) => l === 0),
    missingTopics: [],
    measuredAt: NOW,
    ...extra,
  };
};

describe('drain: consecutive zero polls', () => {
  it('needs K zero polls in a row; a non-zero poll resets the count', () => {
    let p = resumeDrain(undefined);
    const seq = [
      [0, 0],
      [0, 0],
      [3, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ];
    const drainedAt: boolean[] = [];
    for (const lags of seq) {
      p = nextDrainProgress(p, report(lags));
      drainedAt.push(isDrained(p, 3));
    }
    assert.deepEqual(drainedAt, [false, false, false, false, false, true]);
    assert.deepEqual([p.polls, p.consecutiveZero], [6, 3]);
  });

  it('K = 1 returns on the first zero poll', () => {
    assert.equal(isDrained(nextDrainProgress(resumeDrain(undefined), report([0, 0])), 1), true);
  });

  it('an anomaly is never a zero poll, even with total 0', () => {
    const p = nextDrainProgress(resumeDrain(undefined), report([0, -5]));
    assert.equal(p.consecutiveZero, 0);
    assert.deepEqual(p.nonZero, [{ topic: 't', partition: 1, lag: '-5', state: 'anomaly' }]);
    assert.match(p.note ?? '', /negative lag/);
  });

  it('heartbeat details show totals and at most 20 non-zero partitions, largest first', () => {
    const lags = Array.from({ length: 30 }, (_, i) => i); // partition 0 at 0, 29 at 29
    const p = nextDrainProgress(resumeDrain(undefined), report(lags));
    assert.equal(p.nonZero.length, NON_ZERO_SHOWN);
    assert.deepEqual(
      p.nonZero.slice(0, 2).map((x) => x.partition),
      [29, 28],
    );
    assert.equal(p.total, String((29 * 30) / 2));
    assert.equal(p.maxLag, '29');
  });

  it('resumes the poll count from heartbeat details but restarts consecutive zeros', () => {
    let p = resumeDrain(undefined);
    p = nextDrainProgress(p, report([0]));
    p = nextDrainProgress(p, report([0]));
    assert.equal(p.consecutiveZero, 2);
    // What the server hands the next attempt: the JSON of the last heartbeat.
    const resumed = resumeDrain(JSON.parse(JSON.stringify(p)));
    assert.deepEqual([resumed.polls, resumed.consecutiveZero, resumed.resumedFromPolls], [2, 0, 2]);
    const after = nextDrainProgress(resumed, report([0]));
    assert.deepEqual([after.polls, after.consecutiveZero, isDrained(after, 3)], [3, 1, false]);
    assert.equal(after.resumedFromPolls, 2);
  });

  it('ignores heartbeat details it does not understand', () => {
    for (const junk of [null, 'x', { polls: -1 }, { polls: 'many' }, [1, 2]]) {
      const p = resumeDrain(junk);
      assert.deepEqual([p.polls, p.consecutiveZero, p.resumedFromPolls], [0, 0, undefined]);
    }
  });
});
