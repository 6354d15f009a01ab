import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { decompress as zstdDecompress } from 'fzstd';
import * as lz4js from 'lz4js';
import { hash as xxh32 } from 'lz4js/xxh32.js';
import * as snappyjs from 'snappyjs';

/**
 * Snappy, LZ4 and ZSTD for kafkajs, which ships only gzip: without these a record batch
 * that MM2 (or any Java client, or the broker's `compression.type`) wrote in one of them
 * fails the whole fetch with KafkaJSNotImplemented, and kafka-dr's checks (heartbeats,
 * checkpoints, the drill's reads) stop. Pure JS and one WASM file: no node-gyp build, no
 * platform binary. Importing this module registers them for every kafkajs client in the
 * process; the modules that build clients (./client.ts, the stack health check, test and
 * bench helpers) import it.
 *
 * Each codec writes what Kafka's Java producer writes, and reads that plus the variants
 * other clients write:
 * - Snappy: snappy-java's xerial framing (16-byte header, then length-prefixed chunks of
 *   up to 32 KiB); unframed snappy (librdkafka, older kafkajs codecs) is read too.
 * - LZ4: the LZ4 frame format with a correct header checksum (KIP-57, record batches v2),
 *   independent 64 KiB blocks, no content size, no checksums.
 * - ZSTD: a standard zstd frame; frames without a content size (zstd-jni's streaming
 *   output, which is what Kafka writes) are read with fzstd.
 */

export type CodecName = 'snappy' | 'lz4' | 'zstd';

export class CompressionCodecError extends Error {
  constructor(codec: CodecName, what: string) {
    super(`${codec}: ${what}`);
    this.name = 'CompressionCodecError';
  }
}

const asBuffer = (u8: Uint8Array): Buffer => (Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength));

// ---- Snappy (xerial framing) ----

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]); // \x82SNAPPY\0
const XERIAL_HEADER_BYTES = 16; // magic, int32 version 1, int32 minimum compatible version 1
const XERIAL_CHUNK = 32 * 1024; // snappy-java's default block size

export function snappyCompress(data: Uint8Array): Buffer {
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  const parts: Buffer[] = [header];
  for (let start = 0; start < data.length; start += XERIAL_CHUNK) {
    const chunk = asBuffer(snappyjs.compress(data.subarray(start, start + XERIAL_CHUNK)));
    const length = Buffer.alloc(4);
    length.writeInt32BE(chunk.length);
    parts.push(length, chunk);
  }
  return Buffer.concat(parts);
}

export function snappyDecompress(data: Buffer): Buffer {
  if (data.length < XERIAL_HEADER_BYTES || !data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    return asBuffer(snappyjs.uncompress(data));
  }
  const chunks: Buffer[] = [];
  for (let pos = XERIAL_HEADER_BYTES; pos < data.length;) {
    if (pos + 4 > data.length) throw new CompressionCodecError('snappy', `truncated chunk length at byte ${pos}`);
    const length = data.readInt32BE(pos);
    pos += 4;
    if (length < 0 || pos + length > data.length)
      throw new CompressionCodecError('snappy', `chunk of ${length} bytes at byte ${pos} overruns the ${data.length}-byte input`);
    chunks.push(asBuffer(snappyjs.uncompress(data.subarray(pos, pos + length))));
    pos += length;
  }
  return Buffer.concat(chunks);
}

// ---- LZ4 (frame format) ----

const LZ4_MAGIC = 0x184d2204;
const LZ4_FLG = 0x60; // version 01, independent blocks, no checksums, no content size
const LZ4_BD = 0x40; // maximum block size 64 KiB, as Kafka's Java producer writes
const LZ4_MAX_BLOCK = 64 * 1024;
const LZ4_UNCOMPRESSED = 0x80000000;
// Blocks 16 bytes short of the maximum. lz4js may start a block's last match 10 bytes
// before the block's end; the reference decoder (which Kafka's lz4-java uses through JNI)
// refuses literals that end within 12 bytes of its output buffer unless they are the last,
// and frame decoders size that buffer to the maximum block size. The slack keeps every
// lz4js block decodable (a full 64 KiB lz4js block fails in lz4-java 1.8.0's JNI decoder:
// test/integration/codecs-e2e.test.ts).
const LZ4_BLOCK_INPUT = LZ4_MAX_BLOCK - 16;

export function lz4Compress(data: Uint8Array): Buffer {
  const header = Buffer.alloc(7);
  header.writeUInt32LE(LZ4_MAGIC, 0);
  header[4] = LZ4_FLG;
  header[5] = LZ4_BD;
  header[6] = (xxh32(0, header, 4, 2) >>> 8) & 0xff;
  const parts: Buffer[] = [header];
  const hashTable = new Uint32Array(1 << 16);
  const scratch = new Uint8Array(lz4js.compressBound(LZ4_BLOCK_INPUT));
  for (let start = 0; start < data.length; start += LZ4_BLOCK_INPUT) {
    const length = Math.min(LZ4_BLOCK_INPUT, data.length - start);
    // A fresh table per block: no match may point into an earlier block (independent blocks).
    hashTable.fill(0);
    const compressed = lz4js.compressBlock(data, scratch, start, length, hashTable);
    const size = Buffer.alloc(4);
    if (compressed > 0 && compressed < length) {
      size.writeUInt32LE(compressed);
      parts.push(size, Buffer.from(scratch.subarray(0, compressed)));
    } else {
      size.writeUInt32LE((LZ4_UNCOMPRESSED | length) >>> 0);
      parts.push(size, Buffer.from(data.subarray(start, start + length)));
    }
  }
  parts.push(Buffer.alloc(4)); // end mark
  return Buffer.concat(parts);
}

export function lz4Decompress(data: Buffer): Buffer {
  if (data.length < 7 || data.readUInt32LE(0) !== LZ4_MAGIC) {
    throw new CompressionCodecError('lz4', 'not an LZ4 frame (bad magic number)');
  }
  return asBuffer(lz4js.decompress(data));
}

// ---- ZSTD ----

type ZstdWasm = typeof import('@bokuweb/zstd-wasm');
let zstdWasm: Promise<ZstdWasm> | undefined;

// The WASM compressor loads on first use: only a producer that asks for zstd pays for it.
function zstdCompressor(): Promise<ZstdWasm> {
  zstdWasm ??= import('@bokuweb/zstd-wasm').then(
    async (m) => {
      await m.init();
      return m;
    },
    (err: unknown) => {
      zstdWasm = undefined; // a later batch tries again
      throw err;
    },
  );
  return zstdWasm;
}

export async function zstdCompress(data: Uint8Array): Promise<Buffer> {
  // Level 3: zstd's default, and Kafka's (`compression.zstd.level`).
  return Buffer.from((await zstdCompressor()).compress(data, 3));
}

export function zstdDecompressSync(data: Buffer): Buffer {
  return asBuffer(zstdDecompress(data));
}

// ---- kafkajs ----

interface KafkajsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

function codec(name: CodecName, compress: (data: Buffer) => Buffer | Promise<Buffer>, decompress: (data: Buffer) => Buffer): KafkajsCodec {
  return {
    async compress(encoder) {
      return compress(encoder.buffer);
    },
    async decompress(buffer) {
      try {
        return decompress(buffer);
      } catch (err) {
        if (err instanceof CompressionCodecError) throw err;
        throw new CompressionCodecError(
          name,
          `cannot decompress a ${buffer.length}-byte record batch: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    },
  };
}

export const KAFKAJS_CODECS: Record<CodecName, KafkajsCodec> = {
  snappy: codec('snappy', snappyCompress, snappyDecompress),
  lz4: codec('lz4', lz4Compress, lz4Decompress),
  zstd: codec('zstd', zstdCompress, zstdDecompressSync),
};

CompressionCodecs[CompressionTypes.Snappy] = () => KAFKAJS_CODECS.snappy;
CompressionCodecs[CompressionTypes.LZ4] = () => KAFKAJS_CODECS.lz4;
CompressionCodecs[CompressionTypes.ZSTD] = () => KAFKAJS_CODECS.zstd;
