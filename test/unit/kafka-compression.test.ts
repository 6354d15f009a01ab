import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import * as lz4js from 'lz4js';
import * as snappyjs from 'snappyjs';
import { CompressionCodecError, KAFKAJS_CODECS, lz4Compress, snappyCompress } from '../../src/kafka/compression';
import { CODECS, digest, fixtureValues, lz4Blocks, lz4EdgeBlock, parseRecords, readFixture } from '../helpers/compression';

const roundTrip = async (codec: (typeof CODECS)[number], data: Buffer) =>
  KAFKAJS_CODECS[codec].decompress(await KAFKAJS_CODECS[codec].compress({ buffer: data }));

/** Deterministic bytes: a hash chain (incompressible) or a pattern with long repeats. */
function bytes(n: number, kind: 'random' | 'repetitive'): Buffer {
  const out = Buffer.alloc(n);
  if (kind === 'repetitive') {
    for (let i = 0; i < n; i++) out[i] = (i % 251 < 200 ? i % 13 : (i * 31) >> 3) & 0xff;
    return out;
  }
  let h = Buffer.from(String(n));
  for (let i = 0; i < n; i += 32) {
    h = createHash('sha256').update(h).digest();
    h.copy(out, i);
  }
  return out;
}

/**
 * The end-of-block rules of the reference LZ4 decoder (LZ4_decompress_safe, which Kafka's
 * lz4-java calls through JNI), for a block decoded into `capacity` bytes: a sequence whose
 * literals end within 12 bytes of the capacity must be the last, a match must end at least
 * 5 bytes before it. Returns the first violation, or null.
 */
function referenceDecoderComplaint(block: Uint8Array, capacity: number): string | null {
  let ip = 0;
  let op = 0;
  const length = (base: number) => {
    let n = base;
    if (base === 15) {
      let b: number;
      do {
        b = block[ip++]!;
        n += b;
      } while (b === 255);
    }
    return n;
  };
  while (ip < block.length) {
    const token = block[ip++]!;
    const literals = length(token >> 4);
    ip += literals;
    op += literals;
    if (ip === block.length) return null; // the last sequence: literals only
    if (op > capacity - 12) return `literals end at ${op}, within 12 bytes of ${capacity}, in a sequence that is not the last`;
    ip += 2; // match offset
    op += length(token & 15) + 4;
    if (op > capacity - 5) return `a match ends at ${op}, within 5 bytes of ${capacity}`;
  }
  return 'the block does not end with literals';
}

describe('kafkajs compression codecs', () => {
  it('are registered with kafkajs for snappy, lz4 and zstd (gzip stays kafkajs’ own)', () => {
    assert.equal(CompressionCodecs[CompressionTypes.Snappy](), KAFKAJS_CODECS.snappy);
    assert.equal(CompressionCodecs[CompressionTypes.LZ4](), KAFKAJS_CODECS.lz4);
    assert.equal(CompressionCodecs[CompressionTypes.ZSTD](), KAFKAJS_CODECS.zstd);
    assert.notEqual(CompressionCodecs[CompressionTypes.GZIP](), undefined);
  });

  for (const codec of CODECS) {
    it(`${codec}: decodes a record batch the Kafka broker (JVM) compressed`, async () => {
      const fixture = readFixture(codec);
      assert.equal(fixture.codec, codec);
      const section = await KAFKAJS_CODECS[codec].decompress(Buffer.from(fixture.compressedHex, 'hex'));
      assert.deepEqual(
        parseRecords(section, fixture.records).map((r) => digest(r.value)),
        fixtureValues().map(digest),
      );
    });

    it(`${codec}: round-trips empty, tiny, block-boundary, repetitive and incompressible inputs`, async () => {
      for (const n of [0, 1, 13, 100, 32 * 1024 - 1, 32 * 1024, 32 * 1024 + 1, 65_519, 65_520, 65_521, 65_536, 300_000]) {
        for (const kind of ['random', 'repetitive'] as const) {
          const data = bytes(n, kind);
          assert.ok((await roundTrip(codec, data)).equals(data), `${n} ${kind} bytes`);
        }
      }
      const repetitive = bytes(300_000, 'repetitive');
      assert.ok((await KAFKAJS_CODECS[codec].compress({ buffer: repetitive })).length < repetitive.length / 4, 'it compresses');
    });

    it(`${codec}: refuses garbage with an error naming the codec`, async () => {
      const garbage = Buffer.from('this is not a compressed record batch, not at all');
      await assert.rejects(KAFKAJS_CODECS[codec].decompress(garbage), (err: unknown) => {
        assert.ok(err instanceof CompressionCodecError, String(err));
        assert.match(err.message, new RegExp(`^${codec}: `));
        return true;
      });
    });
  }

  it('writes the framing Kafka’s Java producer writes: the same header bytes as the broker’s batches', () => {
    // LZ4: magic, FLG (version 1, independent blocks), BD (64 KiB), header checksum (KIP-57).
    assert.deepEqual(lz4Compress(Buffer.from('x')).subarray(0, 7), Buffer.from(readFixture('lz4').compressedHex, 'hex').subarray(0, 7));
    // Snappy: snappy-java's xerial header (magic, version 1, compatible version 1).
    assert.deepEqual(
      snappyCompress(Buffer.from('x')).subarray(0, 16),
      Buffer.from(readFixture('snappy').compressedHex, 'hex').subarray(0, 16),
    );
  });

  it('snappy: reads unframed snappy too (what librdkafka and older kafkajs codecs send)', async () => {
    const data = bytes(10_000, 'repetitive');
    assert.ok((await KAFKAJS_CODECS.snappy.decompress(Buffer.from(snappyjs.compress(data)))).equals(data));
  });

  it('lz4: every block, decoded into the 64 KiB a frame decoder allots, meets the reference decoder’s end-of-block rules', () => {
    // Negative control: lz4js compressing a full 64 KiB block (what its own frame writer would do with 64 KiB blocks).
    const full = lz4EdgeBlock(65_536);
    const scratch = new Uint8Array(lz4js.compressBound(full.length));
    const n = lz4js.compressBlock(full, scratch, 0, full.length, new Uint32Array(1 << 16));
    assert.match(referenceDecoderComplaint(scratch.subarray(0, n), 65_536) ?? 'accepted', /not the last/);

    for (const data of [
      lz4EdgeBlock(65_520),
      lz4EdgeBlock(65_520 * 3),
      lz4EdgeBlock(200_001),
      bytes(300_000, 'repetitive'),
      Buffer.from(fixtureValues().join('')),
    ]) {
      const blocks = lz4Blocks(lz4Compress(data));
      assert.ok(blocks.some((b) => b.compressed));
      for (const [i, b] of blocks.entries()) {
        if (b.compressed)
          assert.equal(referenceDecoderComplaint(b.data, 65_536), null, `block ${i} of ${blocks.length} (${data.length} bytes)`);
      }
    }
  });
});
