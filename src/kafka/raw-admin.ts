import type { Kafka } from 'kafkajs';
import { QUORUM_NO_ANSWER } from './quorum-headroom';

/**
 * Two admin requests kafkajs 2.2.x does not have, sent as raw Kafka protocol requests
 * over kafkajs' own broker connections (so TLS and SASL are the registry's, exactly as
 * for every other call):
 *
 * - DescribeQuorum (ApiKey 55) v1 (KIP-595, KIP-836): the KRaft metadata quorum, leader,
 *   voters and observers with their log end offsets and last fetch / caught-up times. A
 *   broker forwards it to the active controller, so any broker answers.
 * - DescribeLogDirs (ApiKey 35) v4 (KIP-827): every log dir of the broker that answers,
 *   with total and usable bytes. Each broker reports only its own dirs: one request per
 *   live broker.
 *
 * Both are "flexible" versions: request header v2 (a tagged-field buffer after the client
 * id) and response header v1 (one after the correlation id). kafkajs writes header v1 and
 * reads only the correlation id, so the encoder starts the body with the header's empty
 * tag buffer and the decoder skips the response header's, as kafkajs' own flexible
 * requests (ListPartitionReassignments) do. Wire format: the JSON specs in
 * apache/kafka clients/src/main/resources/common/message/.
 */

export const DESCRIBE_QUORUM_API_KEY = 55;
export const DESCRIBE_LOG_DIRS_API_KEY = 35;
export const DESCRIBE_QUORUM_VERSION = 1;
/** The first version with total_bytes and usable_bytes (Kafka 3.3+). */
export const DESCRIBE_LOG_DIRS_VERSION = 4;
export const METADATA_TOPIC = '__cluster_metadata';
/**
 * Per request, below the client's 15 s: a broker forwarding DescribeQuorum to a
 * controller quorum without a leader holds it until its own timeout (measured: 30 s),
 * and the unplanned failover's source probe has 15 s for the whole health check.
 * kafkajs only lets a request's own timeout lengthen the client's (Math.max in its
 * request queue), so `send` enforces this one itself.
 */
export const RAW_REQUEST_TIMEOUT_MS = 5_000;

/** What `send` rejects with when RAW_REQUEST_TIMEOUT_MS passes without an answer. */
export class RawRequestTimeoutError extends Error {
  override name = 'RawRequestTimeoutError';
}

/** One voter or observer of the quorum as DescribeQuorum v1 reports it (times are the leader's clock, ms; -1 unknown). */
export interface RawReplicaState {
  replicaId: number;
  logEndOffset: string;
  lastFetchTimestamp: number;
  lastCaughtUpTimestamp: number;
}

export interface RawQuorum {
  /** Top-level or partition error name; null when the quorum answered. */
  error: string | null;
  leaderId: number;
  leaderEpoch: number;
  highWatermark: string;
  voters: RawReplicaState[];
  observers: RawReplicaState[];
}

export interface RawLogDir {
  logDir: string;
  /** Error name (KAFKA_STORAGE_ERROR: the dir is offline); null when fine. */
  error: string | null;
  /** -1 when the broker does not know (its file store could not be read). */
  totalBytes: number;
  usableBytes: number;
}

/** What one broker answered to DescribeLogDirs, or why it did not. */
export type RawBrokerLogDirs = { brokerId: number; ok: true; logDirs: RawLogDir[] } | { brokerId: number; ok: false; reason: string };

// ---------------------------------------------------------------------------
// Encoding and decoding (pure; unit-tested against hand-built bytes)
// ---------------------------------------------------------------------------

/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs publishes no types or exports for its protocol codec */
const Encoder = require('kafkajs/src/protocol/encoder') as new () => KafkaEncoder;
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => KafkaDecoder;
const { errorCodes } = require('kafkajs/src/protocol/error') as { errorCodes: Array<{ type: string; code: number }> };
/* eslint-enable @typescript-eslint/no-require-imports */

interface KafkaEncoder {
  writeInt32(v: number): KafkaEncoder;
  writeUVarInt(v: number): KafkaEncoder;
  writeUVarIntString(v: string): KafkaEncoder;
  writeUVarIntBytes(): KafkaEncoder;
  writeUVarIntArray(items: KafkaEncoder[] | null): KafkaEncoder;
  buffer: Buffer;
}

interface KafkaDecoder {
  readInt8(): number;
  readInt16(): number;
  readInt32(): number;
  readInt64(): bigint;
  readUVarIntString(): string | null;
  readUVarIntArray<T>(reader: (d: KafkaDecoder) => T): T[] | null;
  readTaggedFields(): unknown;
}

/** Kafka's error name for a code (kafkajs' table), e.g. 6 → NOT_LEADER_FOR_PARTITION. */
export function kafkaErrorName(code: number): string | null {
  if (code === 0) return null;
  return errorCodes.find((e) => e.code === code)?.type ?? `error code ${code}`;
}

/** DescribeQuorum v0-v2 body (the same for all three): the metadata topic, partition 0. */
export function encodeDescribeQuorum(): KafkaEncoder {
  const partition = new Encoder().writeInt32(0).writeUVarIntBytes();
  const topic = new Encoder().writeUVarIntString(METADATA_TOPIC).writeUVarIntArray([partition]).writeUVarIntBytes();
  return new Encoder()
    .writeUVarIntBytes() // request header v2: tagged fields
    .writeUVarIntArray([topic])
    .writeUVarIntBytes();
}

function readReplica(d: KafkaDecoder): RawReplicaState {
  const r = {
    replicaId: d.readInt32(),
    logEndOffset: d.readInt64().toString(),
    lastFetchTimestamp: Number(d.readInt64()),
    lastCaughtUpTimestamp: Number(d.readInt64()),
  };
  d.readTaggedFields();
  return r;
}

/** DescribeQuorum v1 response (after the correlation id). */
export function decodeDescribeQuorum(raw: Buffer): RawQuorum {
  const d = new Decoder(raw);
  d.readTaggedFields(); // response header v1
  const topLevel = d.readInt16();
  const topics =
    d.readUVarIntArray((t) => {
      const name = t.readUVarIntString();
      const partitions =
        t.readUVarIntArray((p) => {
          const part = {
            partitionIndex: p.readInt32(),
            errorCode: p.readInt16(),
            leaderId: p.readInt32(),
            leaderEpoch: p.readInt32(),
            highWatermark: p.readInt64().toString(),
            voters: p.readUVarIntArray(readReplica) ?? [],
            observers: p.readUVarIntArray(readReplica) ?? [],
          };
          p.readTaggedFields(); // v1: HighWatermarkUpdateTimeMs (tag 0)
          return part;
        }) ?? [];
      t.readTaggedFields();
      return { name, partitions };
    }) ?? [];
  const part = topics.find((t) => t.name === METADATA_TOPIC)?.partitions.find((p) => p.partitionIndex === 0);
  const error = kafkaErrorName(topLevel) ?? (part ? kafkaErrorName(part.errorCode) : 'no __cluster_metadata partition in the answer');
  return {
    error,
    leaderId: part?.leaderId ?? -1,
    leaderEpoch: part?.leaderEpoch ?? -1,
    highWatermark: part?.highWatermark ?? '-1',
    voters: part?.voters ?? [],
    observers: part?.observers ?? [],
  };
}

/** DescribeLogDirs v4 body: an empty topic list (not null, "all"), so the answer has the dirs and no partitions. */
export function encodeDescribeLogDirs(): KafkaEncoder {
  return new Encoder()
    .writeUVarIntBytes() // request header v2: tagged fields
    .writeUVarIntArray([])
    .writeUVarIntBytes();
}

/** DescribeLogDirs v4 response (after the correlation id). */
export function decodeDescribeLogDirs(raw: Buffer): { error: string | null; logDirs: RawLogDir[] } {
  const d = new Decoder(raw);
  d.readTaggedFields(); // response header v1
  d.readInt32(); // throttle_time_ms
  const error = kafkaErrorName(d.readInt16());
  const logDirs =
    d.readUVarIntArray((r) => {
      const errorCode = r.readInt16();
      const logDir = r.readUVarIntString() ?? '';
      // Topics are not asked for, but skip whatever is there.
      r.readUVarIntArray((t) => {
        t.readUVarIntString();
        t.readUVarIntArray((p) => {
          p.readInt32();
          p.readInt64();
          p.readInt64();
          p.readInt8();
          p.readTaggedFields();
        });
        t.readTaggedFields();
      });
      const totalBytes = Number(r.readInt64());
      const usableBytes = Number(r.readInt64());
      r.readTaggedFields();
      return { logDir, error: kafkaErrorName(errorCode), totalBytes, usableBytes };
    }) ?? [];
  return { error, logDirs };
}

// ---------------------------------------------------------------------------
// I/O (exercised by test/integration/quorum-headroom.test.ts)
// ---------------------------------------------------------------------------

interface RawBroker {
  versions: Record<number, { minVersion: number; maxVersion: number } | undefined>;
  connectionPool: { send(request: unknown): Promise<unknown> };
}

interface RawCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  getNodeIds(): string[];
  findBroker(args: { nodeId: string }): Promise<RawBroker>;
  brokerPool: { seedBroker: RawBroker };
}

function createCluster(kafka: Kafka): RawCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const factory = symbol ? (kafka as unknown as Record<symbol, unknown>)[symbol] : undefined;
  if (typeof factory !== 'function') {
    throw new Error(
      'kafkajs has no cluster factory where kafka-dr expects it (kafkajs 2.2.x internals): upgrade kafka-dr together with kafkajs',
    );
  }
  return (factory as (options: { allowAutoTopicCreation: boolean }) => RawCluster)({ allowAutoTopicCreation: false });
}

async function send<T>(
  broker: RawBroker,
  apiKey: number,
  apiVersion: number,
  apiName: string,
  body: KafkaEncoder,
  decode: (raw: Buffer) => T,
): Promise<T> {
  const sent = broker.connectionPool.send({
    request: { apiKey, apiVersion, apiName, encode: () => Promise.resolve(body) },
    response: { decode: (raw: Buffer) => Promise.resolve(decode(raw)), parse: (decoded: unknown) => Promise.resolve(decoded) },
    requestTimeout: RAW_REQUEST_TIMEOUT_MS,
  }) as Promise<T>;
  // The caller disconnects its cluster in `finally`, which settles the abandoned request.
  sent.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RawRequestTimeoutError(`${apiName} got no answer in ${RAW_REQUEST_TIMEOUT_MS / 1000} s`)),
      RAW_REQUEST_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([sent, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function supports(broker: RawBroker, apiKey: number, version: number): boolean {
  const v = broker.versions?.[apiKey];
  return v !== undefined && v.minVersion <= version && version <= v.maxVersion;
}

/**
 * The quorum of `kafka`'s cluster, asked of the first broker that answers (it forwards
 * to the active controller). A protocol error (no leader, the controller unreachable) is
 * returned in `error`, not thrown: it is the answer. A broker that cannot be reached throws.
 */
export async function describeQuorum(kafka: Kafka): Promise<RawQuorum> {
  const cluster = createCluster(kafka);
  await cluster.connect();
  let abandoned = false;
  try {
    const broker = cluster.brokerPool.seedBroker;
    if (!supports(broker, DESCRIBE_QUORUM_API_KEY, DESCRIBE_QUORUM_VERSION)) {
      return {
        error: 'UNSUPPORTED_VERSION (DescribeQuorum v1 needs a KRaft cluster on Kafka 3.3+)',
        leaderId: -1,
        leaderEpoch: -1,
        highWatermark: '-1',
        voters: [],
        observers: [],
      };
    }
    try {
      return await send(
        broker,
        DESCRIBE_QUORUM_API_KEY,
        DESCRIBE_QUORUM_VERSION,
        'DescribeQuorum',
        encodeDescribeQuorum(),
        decodeDescribeQuorum,
      );
    } catch (err) {
      // A request timeout while the broker is up: it forwards DescribeQuorum to the active
      // controller, and none answered (a quorum without a leader holds it, measured 30 s).
      const e = err as { name?: string; type?: string; message?: string };
      if (e.name === 'KafkaJSRequestTimeoutError' || err instanceof RawRequestTimeoutError) {
        abandoned = err instanceof RawRequestTimeoutError;
        return { ...noLeader, error: `${QUORUM_NO_ANSWER} (${e.message ?? 'request timed out'})` };
      }
      if (e.type) return { ...noLeader, error: e.type };
      throw err;
    }
  } finally {
    // kafkajs' disconnect waits for the request in flight, which the broker holds for its
    // own timeout (30 s): after our timeout, let it close in the background.
    if (abandoned) void cluster.disconnect().catch(() => undefined);
    else await cluster.disconnect().catch(() => undefined);
  }
}

const noLeader = { leaderId: -1, leaderEpoch: -1, highWatermark: '-1', voters: [], observers: [] };

/** Log dirs of every live broker (one request each, in parallel); a broker that does not answer is reported, not thrown. */
export async function describeLogDirs(kafka: Kafka): Promise<RawBrokerLogDirs[]> {
  const cluster = createCluster(kafka);
  await cluster.connect();
  try {
    await cluster.refreshMetadata();
    const ids = cluster.getNodeIds().sort((a, b) => Number(a) - Number(b));
    return await Promise.all(
      ids.map(async (nodeId): Promise<RawBrokerLogDirs> => {
        const brokerId = Number(nodeId);
        try {
          const broker = await cluster.findBroker({ nodeId });
          if (!supports(broker, DESCRIBE_LOG_DIRS_API_KEY, DESCRIBE_LOG_DIRS_VERSION)) {
            return { brokerId, ok: false, reason: 'DescribeLogDirs v4 unsupported (total/usable bytes need Kafka 3.3+)' };
          }
          const res = await send(
            broker,
            DESCRIBE_LOG_DIRS_API_KEY,
            DESCRIBE_LOG_DIRS_VERSION,
            'DescribeLogDirs',
            encodeDescribeLogDirs(),
            decodeDescribeLogDirs,
          );
          if (res.error) return { brokerId, ok: false, reason: res.error };
          return { brokerId, ok: true, logDirs: res.logDirs };
        } catch (err) {
          return { brokerId, ok: false, reason: (err as Error).message || String(err) };
        }
      }),
    );
  } finally {
    await cluster.disconnect().catch(() => undefined);
  }
}
