import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KAFKAJS_CODECS, type CodecName } from '../../src/kafka/compression';

/**
 * What the codec unit tests and the codec end-to-end test share: the records of the
 * fixture batches (written by the real broker, see test/integration/codecs-e2e.test.ts),
 * a parser for the record section of a decompressed batch, and a count of the batches
 * kafkajs decompressed with each codec.
 */

export const CODECS: CodecName[] = ['lz4', 'snappy', 'zstd'];

export const FIXTURE_DIR = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'compression');

/**
 * The fixture batch's values: short, long and repetitive (several LZ4 blocks and snappy
 * chunks), and hex of a hash chain (compresses only by its 4-bit alphabet).
 */
export function fixtureValues(): string[] {
  const lines = Array.from(
    { length: 1_000 },
    (_, i) => `{"order":${i},"sku":"sku-${i % 37}","qty":${i % 7},"note":"kafka-dr codec fixture"}`,
  );
  let h = Buffer.from('kafka-dr');
  const hex: string[] = [];
  for (let i = 0; i < 64; i++) {
    h = createHash('sha256').update(h).digest();
    hex.push(h.toString('hex'));
  }
  return ['first record', lines.join('\n'), hex.join('')];
}

/** A short, comparable stand-in for a long value in assertion messages. */
export const digest = (v: Buffer | string | null | undefined) =>
  v === null || v === undefined ? null : `${v.length}:${createHash('sha256').update(v).digest('hex').slice(0, 16)}`;

export interface CompressionFixture {
  capturedFrom: string;
  codec: CodecName;
  /** Records in the batch (the batch header's count; the compressed section carries no count). */
  records: number;
  /** The batch's compressed records section as the broker wrote it. */
  compressedHex: string;
}

export function fixturePath(codec: CodecName): string {
  return path.join(FIXTURE_DIR, `${codec}.json`);
}

export function readFixture(codec: CodecName): CompressionFixture {
  return JSON.parse(fs.readFileSync(fixturePath(codec), 'utf8')) as CompressionFixture;
}

function varint(buf: Buffer, at: { pos: number }): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (at.pos >= buf.length) throw new Error(`varint runs past the end at byte ${at.pos}`);
    const b = buf[at.pos++]!;
    result |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
    if (shift > 28) throw new Error('varint longer than 5 bytes');
  }
  return (result >>> 1) ^ -(result & 1); // zigzag
}

function bytes(buf: Buffer, at: { pos: number }): Buffer | null {
  const length = varint(buf, at);
  if (length < 0) return null;
  const out = buf.subarray(at.pos, at.pos + length);
  at.pos += length;
  return out;
}

/** The keys and values of a record batch's (decompressed) record section, in order; asserts it ends exactly. */
export function parseRecords(section: Buffer, count: number): Array<{ key: Buffer | null; value: Buffer | null }> {
  const at = { pos: 0 };
  const out: Array<{ key: Buffer | null; value: Buffer | null }> = [];
  for (let i = 0; i < count; i++) {
    const length = varint(section, at);
    const end = at.pos + length;
    at.pos += 1; // attributes
    varint(section, at); // timestamp delta
    varint(section, at); // offset delta
    const key = bytes(section, at);
    const value = bytes(section, at);
    const headers = varint(section, at);
    for (let h = 0; h < headers; h++) {
      bytes(section, at);
      bytes(section, at);
    }
    if (at.pos !== end) throw new Error(`record ${i} ends at byte ${at.pos}, its length says ${end}`);
    out.push({ key, value });
  }
  if (at.pos !== section.length) throw new Error(`${section.length - at.pos} bytes left after ${count} records`);
  return out;
}

/**
 * Counts the batches kafkajs decompresses with each codec in this process from now on
 * (and keeps the compressed input of each, for fixtures). A read that a check made
 * through a codec shows up here; one that found uncompressed batches does not.
 */
export function watchDecompression(): { count(codec: CodecName): number; inputs(codec: CodecName): Buffer[]; stop(): void } {
  const inputs: Record<CodecName, Buffer[]> = { lz4: [], snappy: [], zstd: [] };
  const originals = CODECS.map((c) => [c, KAFKAJS_CODECS[c].decompress] as const);
  for (const [c, original] of originals) {
    KAFKAJS_CODECS[c].decompress = async (buffer: Buffer) => {
      inputs[c].push(Buffer.from(buffer));
      return original(buffer);
    };
  }
  return {
    count: (c) => inputs[c].length,
    inputs: (c) => inputs[c],
    stop: () => {
      for (const [c, original] of originals) KAFKAJS_CODECS[c].decompress = original;
    },
  };
}

/**
 * Long repeats up to 40 bytes before the end, then a 4-byte repeat 11 bytes before it:
 * lz4js starts its last match there, which the reference LZ4 decoder refuses when the
 * block fills the buffer it decodes into (a full 64 KiB block).
 */
export function lz4EdgeBlock(n: number): Buffer {
  const data = Buffer.alloc(n, 'abcdefgh');
  for (let i = n - 40; i < n; i++) data[i] = (i * 37 + 11) & 0xff;
  data.write('WXYZ', n - 35, 'latin1');
  data.write('WXYZ', n - 11, 'latin1');
  return data;
}

/** The blocks of one of our LZ4 frames (7-byte header, no checksums). */
export function lz4Blocks(frame: Buffer): Array<{ compressed: boolean; data: Buffer }> {
  const blocks: Array<{ compressed: boolean; data: Buffer }> = [];
  for (let pos = 7; ;) {
    const size = frame.readUInt32LE(pos);
    pos += 4;
    if (size === 0) return blocks;
    const length = size & 0x7fffffff;
    blocks.push({ compressed: (size & 0x80000000) === 0, data: frame.subarray(pos, pos + length) });
    pos += length;
  }
}
