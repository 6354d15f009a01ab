import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateClusterHealth, resolveExpectedBrokers, type ClusterSnapshot } from '../../src/kafka/probes';
import { DEFAULT_VOTER_CAUGHT_UP_MS, evaluateHeadroom, evaluateQuorum } from '../../src/kafka/quorum-headroom';
import {
  decodeDescribeLogDirs,
  decodeDescribeQuorum,
  encodeDescribeLogDirs,
  encodeDescribeQuorum,
  type RawBrokerLogDirs,
  type RawQuorum,
  type RawReplicaState,
} from '../../src/kafka/raw-admin';
import { healthDetails, healthFigures, healthLine } from '../../src/model/health-summary';
import { KafkaClusterSchema } from '../../src/registry/schema';

const NOW = 1_800_000_000_000;
const voter = (replicaId: number, logEndOffset: number, caughtUpAgoMs: number | null, fetchAgoMs = caughtUpAgoMs): RawReplicaState => ({
  replicaId,
  logEndOffset: String(logEndOffset),
  lastFetchTimestamp: fetchAgoMs === null ? -1 : NOW - fetchAgoMs,
  lastCaughtUpTimestamp: caughtUpAgoMs === null ? -1 : NOW - caughtUpAgoMs,
});
// The leader reports itself with lastFetch -1 and lastCaughtUp = its current time.
const leader = (id: number, leo: number): RawReplicaState => ({ ...voter(id, leo, 0), lastFetchTimestamp: -1 });
const quorum = (voters: RawReplicaState[], over: Partial<RawQuorum> = {}): RawQuorum => ({
  error: null,
  leaderId: 1,
  leaderEpoch: 7,
  highWatermark: '500',
  voters,
  observers: [],
  ...over,
});

describe('evaluateQuorum (3 voters)', () => {
  it('all caught up: ok, leader named, lag 0', () => {
    const q = evaluateQuorum(quorum([leader(1, 500), voter(2, 500, 100), voter(3, 499, 300)], { observers: [voter(4, 500, 50)] }), NOW);
    assert.equal(q.status, 'ok');
    assert.equal(q.leaderId, 1);
    assert.deepEqual(
      q.voters.map((v) => [v.id, v.state, v.lag]),
      [
        [1, 'leader', '0'],
        [2, 'caught-up', '0'],
        [3, 'caught-up', '1'],
      ],
    );
    assert.deepEqual([q.caughtUp, q.majority], [3, 2]);
    assert.deepEqual(
      q.observers.map((o) => o.id),
      [4],
    );
    assert.equal(q.summary, '3 of 3 voters caught up (leader 1)');
  });

  it('one voter stopped (not caught up for 60 s): degraded, majority held, the voter named', () => {
    const q = evaluateQuorum(quorum([leader(1, 500), voter(2, 500, 100), voter(3, 420, 60_000)]), NOW);
    assert.equal(q.status, 'degraded');
    assert.equal(q.voters[2]!.state, 'lagging');
    assert.equal(q.voters[2]!.lag, '80');
    assert.equal(q.voters[2]!.lastFetchAgoMs, 60_000);
    assert.match(
      q.summary,
      /2 of 3 voters caught up \(leader 1, majority held\): voter 3 lagging \(last caught up 60 s ago, 80 records behind\)/,
    );
  });

  it('one voter never seen by this leader (timestamps -1): degraded', () => {
    const q = evaluateQuorum(quorum([leader(1, 500), voter(2, 500, 100), voter(3, -1, null)]), NOW);
    assert.equal(q.status, 'degraded');
    assert.equal(q.voters[2]!.state, 'unknown');
    assert.equal(q.voters[2]!.lag, null);
    assert.match(q.summary, /voter 3 not fetching \(leader 1 has seen no fetch from it: stopped or unreachable\)/);
  });

  it('two voters behind: lost (1 of 3, a majority needs 2), both named', () => {
    const q = evaluateQuorum(quorum([leader(1, 500), voter(2, 400, 30_000), voter(3, 420, 60_000)]), NOW);
    assert.equal(q.status, 'lost');
    assert.deepEqual([q.caughtUp, q.majority], [1, 2]);
    assert.match(q.summary, /1 of 3 voters caught up, a majority needs 2 \(leader 1\): voter 2 lagging .*, voter 3 lagging/);
  });

  it('no leader or an error answer: lost, naming the error', () => {
    const noLeader = evaluateQuorum(quorum([voter(1, 500, 0), voter(2, 500, 0), voter(3, 500, 0)], { leaderId: -1 }), NOW);
    assert.equal(noLeader.status, 'lost');
    assert.match(noLeader.summary, /no quorum leader \(leader unknown\)/);
    // A broker forwarded the request and no controller answered: said as a lost quorum seen from the brokers.
    const silent = evaluateQuorum(quorum([], { error: 'no answer in time (DescribeQuorum got no answer in 5 s)', leaderId: -1 }), NOW);
    assert.equal(silent.status, 'lost');
    assert.match(
      silent.summary,
      /^no controller answered DescribeQuorum \(no answer in time .*\): the brokers answer but cannot reach an active controller/,
    );
    assert.match(silent.summary, /Brokers keep serving on their last metadata/);
    const err = evaluateQuorum(quorum([], { error: 'NOT_LEADER_OR_FOLLOWER', leaderId: -1 }), NOW);
    assert.equal(err.status, 'lost');
    assert.equal(err.leaderId, -1);
    assert.match(err.summary, /NOT_LEADER_OR_FOLLOWER/);
  });

  it("ages are measured on the leader's clock, not the worker's", () => {
    // Worker clock 1 h ahead of the leader: the follower is still caught up.
    const q = evaluateQuorum(quorum([leader(1, 500), voter(2, 500, 1_000), voter(3, 500, 2_000)]), NOW + 3_600_000);
    assert.equal(q.status, 'ok');
    assert.equal(q.voters[1]!.lastCaughtUpAgoMs, 1_000);
  });

  it(`a voter caught up exactly ${DEFAULT_VOTER_CAUGHT_UP_MS} ms ago still counts; 1 ms later it does not`, () => {
    assert.equal(evaluateQuorum(quorum([leader(1, 5), voter(2, 5, DEFAULT_VOTER_CAUGHT_UP_MS), voter(3, 5, 0)]), NOW).status, 'ok');
    assert.equal(
      evaluateQuorum(quorum([leader(1, 5), voter(2, 5, DEFAULT_VOTER_CAUGHT_UP_MS + 1), voter(3, 5, 0)]), NOW).status,
      'degraded',
    );
  });

  it('a single-voter quorum (the local stack) is ok with its leader alone', () => {
    const q = evaluateQuorum(quorum([leader(1, 9)]), NOW);
    assert.deepEqual([q.status, q.caughtUp, q.majority], ['ok', 1, 1]);
  });
});

const GiB = 2 ** 30;
const dirs = (brokerId: number, ...d: Array<[string, number, number, string?]>): RawBrokerLogDirs => ({
  brokerId,
  ok: true,
  logDirs: d.map(([logDir, total, usable, error]) => ({ logDir, totalBytes: total, usableBytes: usable, error: error ?? null })),
});

describe('evaluateHeadroom', () => {
  it('every dir above the minimum: no problems, lowest fraction reported', () => {
    const h = evaluateHeadroom(
      [dirs(2, ['/d1', 100 * GiB, 40 * GiB]), dirs(1, ['/d1', 100 * GiB, 25 * GiB], ['/d0', 100 * GiB, 90 * GiB])],
      10,
    );
    assert.deepEqual(h.problems, []);
    assert.deepEqual(
      h.logDirs.map((d) => [d.brokerId, d.logDir, d.ok]),
      [
        [1, '/d0', true],
        [1, '/d1', true],
        [2, '/d1', true],
      ],
    );
    assert.equal(h.lowestUsableFraction, 0.25);
  });

  it('a dir below the minimum is refused, naming broker, dir and figures', () => {
    const h = evaluateHeadroom([dirs(3, ['/var/kafka', 200 * GiB, 10 * GiB])], 10);
    assert.equal(h.problems.length, 1);
    assert.equal(
      h.problems[0],
      'broker 3 log dir /var/kafka: 5.0 % usable (10.0 GiB of 200.0 GiB), below minUsableLogDirPercent 10 %: free disk or add capacity before moving traffic here',
    );
    assert.equal(h.logDirs[0]!.ok, false);
  });

  it('100 % is impossible to meet: every dir with any used byte is refused', () => {
    const h = evaluateHeadroom([dirs(1, ['/d', 100, 99])], 100);
    assert.equal(h.problems.length, 1);
  });

  it('an offline dir and a broker that did not answer are problems; unknown sizes are listed, not judged', () => {
    const h = evaluateHeadroom(
      [dirs(1, ['/bad', -1, -1, 'KAFKA_STORAGE_ERROR'], ['/unknown', -1, -1]), { brokerId: 2, ok: false, reason: 'Connection timeout' }],
      10,
    );
    assert.deepEqual(h.problems, [
      'broker 1 log dir /bad is offline (KAFKA_STORAGE_ERROR)',
      'broker 2 did not report its log dirs (Connection timeout): disk headroom unknown',
    ]);
    assert.equal(h.logDirs.find((d) => d.logDir === '/unknown')!.usableFraction, null);
    assert.equal(h.lowestUsableFraction, null);
  });
});

describe('evaluateClusterHealth with quorum and headroom', () => {
  const snap: ClusterSnapshot = { brokerIds: [1, 2, 3], controllerId: 1, partitions: [], source: 'admin' };
  const expected = resolveExpectedBrokers(undefined, 3);
  const headroom = evaluateHeadroom([dirs(1, ['/d', 100, 50]), dirs(2, ['/d', 100, 50]), dirs(3, ['/d', 100, 50])], 10);

  it('degraded quorum: healthy, with a warning naming the voter', () => {
    const quorumH = evaluateQuorum(quorum([leader(1, 500), voter(2, 500, 0), voter(3, 1, 90_000)]), NOW);
    const h = evaluateClusterHealth('A', snap, expected, { quorum: quorumH, headroom });
    assert.equal(h.healthy, true);
    assert.deepEqual(h.problems, []);
    assert.equal(h.warnings!.length, 1);
    assert.match(h.warnings![0]!, /^controller quorum degraded: .*voter 3 lagging/);
  });

  it('lost quorum and low headroom: unhealthy, both named in problems', () => {
    const quorumH = evaluateQuorum(quorum([leader(1, 500), voter(2, 1, 90_000), voter(3, 1, 90_000)]), NOW);
    const low = evaluateHeadroom([dirs(2, ['/d', 100, 5])], 10);
    const h = evaluateClusterHealth('A', snap, expected, { quorum: quorumH, headroom: low });
    assert.equal(h.healthy, false);
    assert.equal(h.problems.length, 2);
    assert.match(h.problems[0]!, /^controller quorum lost: 1 of 3 voters caught up/);
    assert.match(h.problems[1]!, /^broker 2 log dir \/d: 5\.0 % usable/);
    assert.equal(h.quorum!.status, 'lost');
    assert.equal(h.headroom!.logDirs.length, 1);
  });

  it('without the checks (older results): no quorum, headroom or warnings keys', () => {
    const h = evaluateClusterHealth('A', snap, expected);
    assert.equal('quorum' in h || 'headroom' in h || 'warnings' in h, false);
    assert.equal(healthLine(h), '');
    assert.equal(healthFigures(h), null);
    assert.deepEqual(healthDetails(h), {});
  });

  it('the step line, details and figures a playbook shows', () => {
    const quorumH = evaluateQuorum(quorum([leader(1, 500), voter(2, 500, 0), voter(3, 1, 90_000)]), NOW);
    const h = evaluateClusterHealth('A', snap, expected, { quorum: quorumH, headroom });
    assert.match(healthLine(h), /^quorum degraded: 2 of 3 voters caught up .*; lowest log dir 50 % usable of 3 \(min 10 %\)$/);
    assert.deepEqual(healthFigures(h), {
      quorum: 'degraded',
      quorumLeader: 1,
      votersCaughtUp: '2/3',
      quorumVotersBehind: '3',
      lowestUsableLogDirPercent: 50,
      minUsableLogDirPercent: 10,
    });
    const d = healthDetails(h) as {
      quorum: { voters: Array<{ id: number; state: string }> };
      headroom: { logDirs: unknown[] };
      warnings: string[];
    };
    assert.deepEqual(
      d.quorum.voters.map((v) => v.state),
      ['leader', 'caught-up', 'lagging'],
    );
    assert.equal(d.headroom.logDirs.length, 3);
    assert.equal(d.warnings.length, 1);
  });
});

describe('registry: minUsableLogDirPercent', () => {
  it('defaults to 10 and takes 0..100 only', () => {
    assert.equal(KafkaClusterSchema.parse({ bootstrapServers: ['a:9092'] }).minUsableLogDirPercent, 10);
    assert.equal(KafkaClusterSchema.parse({ bootstrapServers: ['a:9092'], minUsableLogDirPercent: 25 }).minUsableLogDirPercent, 25);
    assert.equal(KafkaClusterSchema.safeParse({ bootstrapServers: ['a:9092'], minUsableLogDirPercent: 101 }).success, false);
  });
});

// ---------------------------------------------------------------------------
// Wire format, against bytes built by hand from the apache/kafka JSON specs
// ---------------------------------------------------------------------------

class Bytes {
  private parts: Buffer[] = [];
  private fixed(size: number, write: (b: Buffer) => void) {
    const b = Buffer.alloc(size);
    write(b);
    return this.push(b);
  }
  i8(v: number) {
    return this.fixed(1, (b) => b.writeInt8(v));
  }
  i16(v: number) {
    return this.fixed(2, (b) => b.writeInt16BE(v));
  }
  i32(v: number) {
    return this.fixed(4, (b) => b.writeInt32BE(v));
  }
  i64(v: bigint) {
    return this.fixed(8, (b) => b.writeBigInt64BE(v));
  }
  /** Unsigned varint; values here stay below 128. */
  uv(v: number) {
    assert.ok(v < 128);
    return this.i8(v);
  }
  str(s: string) {
    return this.uv(s.length + 1).push(Buffer.from(s));
  }
  tags() {
    return this.uv(0);
  }
  push(b: Buffer) {
    this.parts.push(b);
    return this;
  }
  get buffer() {
    return Buffer.concat(this.parts);
  }
}

describe('DescribeQuorum v1 wire format', () => {
  it('request body: header tags, [__cluster_metadata [0]]', () => {
    const expectedBytes = new Bytes().tags().uv(2).str('__cluster_metadata').uv(2).i32(0).tags().tags().tags().buffer;
    assert.deepEqual(encodeDescribeQuorum().buffer, expectedBytes);
  });

  it('response: leader, voters with end offsets and timestamps, observers; tagged fields skipped', () => {
    const replica = (b: Bytes, id: number, leo: bigint, fetch: bigint, caught: bigint) => b.i32(id).i64(leo).i64(fetch).i64(caught).tags();
    const b = new Bytes().tags().i16(0).uv(2).str('__cluster_metadata').uv(2).i32(0).i16(0).i32(2).i32(9).i64(1234n);
    b.uv(4);
    replica(b, 1, 1234n, 1000n, 1001n);
    replica(b, 2, 1234n, -1n, 2000n);
    replica(b, 3, 1200n, 900n, 800n);
    b.uv(2);
    replica(b, 4, 1234n, 1500n, 1500n);
    // Partition tagged fields: HighWatermarkUpdateTimeMs (tag 0, 8 bytes).
    b.uv(1).uv(0).uv(8).i64(42n);
    b.tags().tags();
    const q = decodeDescribeQuorum(b.buffer);
    assert.deepEqual(q, {
      error: null,
      leaderId: 2,
      leaderEpoch: 9,
      highWatermark: '1234',
      voters: [
        { replicaId: 1, logEndOffset: '1234', lastFetchTimestamp: 1000, lastCaughtUpTimestamp: 1001 },
        { replicaId: 2, logEndOffset: '1234', lastFetchTimestamp: -1, lastCaughtUpTimestamp: 2000 },
        { replicaId: 3, logEndOffset: '1200', lastFetchTimestamp: 900, lastCaughtUpTimestamp: 800 },
      ],
      observers: [{ replicaId: 4, logEndOffset: '1234', lastFetchTimestamp: 1500, lastCaughtUpTimestamp: 1500 }],
    });
  });

  it('a partition error is the answer, by name', () => {
    const b = new Bytes()
      .tags()
      .i16(0)
      .uv(2)
      .str('__cluster_metadata')
      .uv(2)
      .i32(0)
      .i16(6)
      .i32(-1)
      .i32(-1)
      .i64(-1n)
      .uv(1)
      .uv(1)
      .tags()
      .tags()
      .tags();
    const q = decodeDescribeQuorum(b.buffer);
    assert.equal(q.error, 'NOT_LEADER_FOR_PARTITION'); // kafkajs' name for code 6 (Kafka's NOT_LEADER_OR_FOLLOWER)
    assert.equal(q.leaderId, -1);
  });
});

describe('DescribeLogDirs v4 wire format', () => {
  it('request body: header tags, an empty (not null) topic list', () => {
    assert.deepEqual(encodeDescribeLogDirs().buffer, new Bytes().tags().uv(1).tags().buffer);
  });

  it('response: each dir with total and usable bytes; partitions (if any) skipped', () => {
    const b = new Bytes().tags().i32(0).i16(0).uv(3);
    // Dir 1 with one topic and one partition, to prove they are skipped correctly.
    b.i16(0).str('/data/a').uv(2).str('t').uv(2).i32(0).i64(10n).i64(0n).i8(0).tags().tags().i64(1000n).i64(250n).tags();
    b.i16(56).str('/data/b').uv(1).i64(-1n).i64(-1n).tags();
    b.tags();
    const r = decodeDescribeLogDirs(b.buffer);
    assert.deepEqual(r, {
      error: null,
      logDirs: [
        { logDir: '/data/a', error: null, totalBytes: 1000, usableBytes: 250 },
        { logDir: '/data/b', error: 'KAFKA_STORAGE_ERROR', totalBytes: -1, usableBytes: -1 },
      ],
    });
  });
});
