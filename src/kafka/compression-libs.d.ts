// The parts of two untyped pure-JS packages that ./compression.ts uses.

declare module 'lz4js' {
  /** Compresses src[sIndex, sIndex + sLength) into dst as one LZ4 block; 0 when nothing matched at the input's start. */
  export function compressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, hashTable: Uint32Array): number;
  export function compressBound(n: number): number;
  /** Decodes a whole LZ4 frame (checksums are skipped, not verified). */
  export function decompress(src: Uint8Array, maxSize?: number): Uint8Array;
}

declare module 'lz4js/xxh32.js' {
  export function hash(seed: number, src: Uint8Array, index: number, length: number): number;
}

declare module 'snappyjs' {
  export function compress(input: Uint8Array): Uint8Array;
  export function uncompress(input: Uint8Array, maxLength?: number): Uint8Array;
}
