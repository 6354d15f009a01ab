import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  decodeCheckpoint,
  decodeHeartbeat,
  decodeOffsetSync,
  encodeCheckpoint,
  encodeHeartbeat,
  encodeOffsetSync,
  Mm2DecodeError,
} from '../../src/mm2/codecs';

const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'mm2');

interface Fixture {
  keyHex: string;
  valueHex: string;
  decoded: Record<string, string | number>;
}

function fixture(kind: string): { key: Buffer; value: Buffer; decoded: Fixture['decoded'] } {
  const f = JSON.parse(fs.readFileSync(path.join(FIXTURES, `${kind}.json`), 'utf8')) as Fixture;
  return { key: Buffer.from(f.keyHex, 'hex'), value: Buffer.from(f.valueHex, 'hex'), decoded: f.decoded };
}

describe('MM2 codecs on bytes the real MirrorMaker 2 wrote', () => {
  it('decodes a checkpoint and re-encodes it to the same bytes', () => {
    const { key, value, decoded } = fixture('checkpoint');
    const c = decodeCheckpoint(key, value);
    assert.equal(c.consumerGroupId, decoded.consumerGroupId);
    assert.equal(c.topic, decoded.topic);
    assert.equal(c.partition, decoded.partition);
    assert.equal(c.upstreamOffset, BigInt(decoded.upstreamOffset!));
    assert.equal(c.downstreamOffset, BigInt(decoded.downstreamOffset!));
    const again = encodeCheckpoint(c);
    assert.deepEqual(again.key, key);
    assert.deepEqual(again.value, value);
  });

  it('decodes an offset sync and re-encodes it to the same bytes', () => {
    const { key, value, decoded } = fixture('offset-sync');
    const s = decodeOffsetSync(key, value);
    assert.equal(s.topic, decoded.topic);
    assert.equal(s.partition, decoded.partition);
    assert.deepEqual(encodeOffsetSync(s), { key, value });
  });

  it('decodes a heartbeat and re-encodes it to the same bytes', () => {
    const { key, value, decoded } = fixture('heartbeat');
    const h = decodeHeartbeat(key, value);
    assert.equal(h.sourceClusterAlias, 'A');
    assert.equal(h.targetClusterAlias, 'B');
    assert.equal(h.timestamp, BigInt(decoded.timestamp!));
    assert.deepEqual(encodeHeartbeat(h), { key, value });
  });
});

describe('MM2 codecs refuse what they cannot read', () => {
  const checkpoint = {
    consumerGroupId: 'orders-service',
    topic: 'A.orders',
    partition: 7,
    upstreamOffset: 2n ** 40n + 5n,
    downstreamOffset: 2n ** 40n + 3n,
    metadata: 'm',
  };

  it('round-trips offsets beyond 2^53 without rounding', () => {
    const big = { ...checkpoint, upstreamOffset: 2n ** 62n + 1n, downstreamOffset: 2n ** 62n - 1n };
    const { key, value } = encodeCheckpoint(big);
    assert.deepEqual(decodeCheckpoint(key, value), big);
  });

  it('fails on an unknown checkpoint version instead of guessing', () => {
    const { key, value } = encodeCheckpoint(checkpoint);
    const v1 = Buffer.from(value);
    v1.writeInt16BE(1, 0);
    assert.throws(
      () => decodeCheckpoint(key, v1),
      (e: unknown) => e instanceof Mm2DecodeError && /version 1/.test(e.message),
    );
  });

  it('fails on an unknown heartbeat version', () => {
    const { key, value } = encodeHeartbeat({ sourceClusterAlias: 'A', targetClusterAlias: 'B', timestamp: 1n });
    const v9 = Buffer.from(value);
    v9.writeInt16BE(9, 0);
    assert.throws(() => decodeHeartbeat(key, v9), Mm2DecodeError);
  });

  it('fails on truncated records', () => {
    const { key, value } = encodeCheckpoint(checkpoint);
    assert.throws(() => decodeCheckpoint(key.subarray(0, key.length - 2), value), /truncated/);
    assert.throws(() => decodeCheckpoint(key, value.subarray(0, 10)), /truncated/);
    const sync = encodeOffsetSync({ topic: 'orders', partition: 0, upstreamOffset: 1n, downstreamOffset: 1n });
    assert.throws(() => decodeOffsetSync(sync.key, sync.value.subarray(0, 15)), /truncated/);
  });
});
