import type { Kafka } from 'kafkajs';

/**
 * kafkajs' own cluster object, for the two batch operations its public admin lacks
 * (offsets of many topics in one request per broker, a group commit without joining).
 * It is reached through the symbol-keyed factory inside `Kafka` (kafkajs 2.2.x, pinned);
 * if that moves, `openCluster` throws at once naming the cause, before anything is read
 * or written.
 */

export interface GroupOffsetWrite {
  topic: string;
  partitions: Array<{ partition: number; offset: string }>;
}

export interface InternalBroker {
  offsetCommit(request: { groupId: string; groupGenerationId: number; memberId: string; topics: GroupOffsetWrite[] }): Promise<unknown>;
}

export interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** No topics: every topic of the cluster (what `admin.listTopics` reads). */
  metadata(): Promise<{ topicMetadata: Array<{ topic: string }> }>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findTopicPartitionMetadata(topic: string): Array<{ partitionId: number }>;
  fetchTopicsOffset(
    topics: Array<{ topic: string; fromBeginning: boolean; partitions: Array<{ partition: number }> }>,
  ): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
  findGroupCoordinator(request: { groupId: string }): Promise<InternalBroker>;
}

/**
 * ListOffsets isolation: kafkajs sends READ_COMMITTED unless told otherwise, so its "end
 * offset" is the last stable offset (LSO): an open transaction's records are beyond it.
 * READ_UNCOMMITTED (0) answers the high watermark.
 */
export interface ClusterOptions {
  isolationLevel?: 0 | 1;
}

/** A connected kafkajs cluster for `kafka`'s brokers and credentials; disconnect it when done. */
export async function openCluster(kafka: Kafka, options: ClusterOptions = {}): Promise<InternalCluster> {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const factory = symbol ? (kafka as unknown as Record<symbol, unknown>)[symbol] : undefined;
  if (typeof factory !== 'function') {
    throw new Error(
      'kafkajs has no cluster factory where kafka-dr expects it (kafkajs 2.2.x internals): upgrade kafka-dr together with kafkajs',
    );
  }
  const cluster = (factory as (options: { allowAutoTopicCreation: boolean; isolationLevel?: number }) => InternalCluster)({
    allowAutoTopicCreation: false,
    ...(options.isolationLevel !== undefined ? { isolationLevel: options.isolationLevel } : {}),
  });
  await cluster.connect();
  return cluster;
}

/** Runs `fn` with a connected cluster, always disconnecting afterwards. */
export async function withCluster<T>(kafka: Kafka, fn: (cluster: InternalCluster) => Promise<T>, options: ClusterOptions = {}): Promise<T> {
  const cluster = await openCluster(kafka, options);
  try {
    return await fn(cluster);
  } finally {
    await cluster.disconnect().catch(() => undefined);
  }
}
