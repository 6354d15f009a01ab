/**
 * MirrorMaker 2's internal record formats (Kafka protocol types: STRING is an
 * int16 length then UTF-8, integers big-endian). Mirrors MM2's own Checkpoint,
 * OffsetSync and Heartbeat structs so kafka-dr can read what the real MM2 wrote
 * without a JVM. An unknown version is refused, not guessed at: a misread
 * checkpoint would move a consumer group to a wrong offset.
 */

export class Mm2DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Mm2DecodeError';
  }
}

class Reader {
  private pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new Mm2DecodeError(`${this.what}: truncated (needs ${this.pos + n} bytes, has ${this.buf.length})`);
    }
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  string(): string {
    const len = this.int16();
    if (len < 0) throw new Mm2DecodeError(`${this.what}: null string where MM2 always writes one`);
    this.need(len);
    const v = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return v;
  }
}

class Writer {
  private parts: Buffer[] = [];
  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.parts.push(b);
    return this;
  }
  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }
  int64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v);
    this.parts.push(b);
    return this;
  }
  string(v: string): this {
    const s = Buffer.from(v, 'utf8');
    return this.int16(s.length).raw(s);
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// Offsets are int64 on the wire; they are returned as bigint so nothing is rounded.

/** A Reader of a record value past its int16 version, which must be `expected` (MM2 bumps it on a layout change). */
function versionedValue(value: Buffer, what: string, expected: number): Reader {
  const v = new Reader(value, `${what} value`);
  const version = v.int16();
  if (version !== expected) throw new Mm2DecodeError(`${what} value version ${version} is not supported (expected ${expected})`);
  return v;
}

/** A record of `<source>.checkpoints.internal` on the target cluster. */
export interface Checkpoint {
  consumerGroupId: string;
  /** The downstream (renamed) topic on the target cluster, e.g. `A.orders`. */
  topic: string;
  partition: number;
  /** The group's committed offset on the source cluster. */
  upstreamOffset: bigint;
  /** That offset translated onto the target topic. */
  downstreamOffset: bigint;
  metadata: string;
}

export const CHECKPOINT_VERSION = 0;

export function decodeCheckpoint(key: Buffer, value: Buffer): Checkpoint {
  const k = new Reader(key, 'checkpoint key');
  const consumerGroupId = k.string();
  const topic = k.string();
  const partition = k.int32();
  const v = versionedValue(value, 'checkpoint', CHECKPOINT_VERSION);
  return {
    consumerGroupId,
    topic,
    partition,
    upstreamOffset: v.int64(),
    downstreamOffset: v.int64(),
    metadata: v.string(),
  };
}

export function encodeCheckpoint(c: Checkpoint): { key: Buffer; value: Buffer } {
  return {
    key: new Writer().string(c.consumerGroupId).string(c.topic).int32(c.partition).done(),
    value: new Writer().int16(CHECKPOINT_VERSION).int64(c.upstreamOffset).int64(c.downstreamOffset).string(c.metadata).done(),
  };
}

/** A record of `mm2-offset-syncs.<target>.internal`: one upstream↔downstream offset pair. */
export interface OffsetSync {
  /** The upstream (source cluster) topic name. */
  topic: string;
  partition: number;
  upstreamOffset: bigint;
  downstreamOffset: bigint;
}

// Offset syncs carry no version field: MM2 has never changed their layout.
export function decodeOffsetSync(key: Buffer, value: Buffer): OffsetSync {
  const k = new Reader(key, 'offset-sync key');
  const topic = k.string();
  const partition = k.int32();
  const v = new Reader(value, 'offset-sync value');
  return { topic, partition, upstreamOffset: v.int64(), downstreamOffset: v.int64() };
}

export function encodeOffsetSync(s: OffsetSync): { key: Buffer; value: Buffer } {
  return {
    key: new Writer().string(s.topic).int32(s.partition).done(),
    value: new Writer().int64(s.upstreamOffset).int64(s.downstreamOffset).done(),
  };
}

/** A record of the `heartbeats` topic (and its replicas, e.g. `A.heartbeats`). */
export interface Heartbeat {
  sourceClusterAlias: string;
  targetClusterAlias: string;
  /** Epoch milliseconds when the source's heartbeat connector emitted it. */
  timestamp: bigint;
}

export const HEARTBEAT_VERSION = 0;

export function decodeHeartbeat(key: Buffer, value: Buffer): Heartbeat {
  const k = new Reader(key, 'heartbeat key');
  const sourceClusterAlias = k.string();
  const targetClusterAlias = k.string();
  const v = versionedValue(value, 'heartbeat', HEARTBEAT_VERSION);
  return { sourceClusterAlias, targetClusterAlias, timestamp: v.int64() };
}

export function encodeHeartbeat(h: Heartbeat): { key: Buffer; value: Buffer } {
  return {
    key: new Writer().string(h.sourceClusterAlias).string(h.targetClusterAlias).done(),
    value: new Writer().int16(HEARTBEAT_VERSION).int64(h.timestamp).done(),
  };
}
