import type { Kafka } from 'kafkajs';
import { decodeSourceEnd, encodeSourceEnd, SOURCE_ENDS_TOPIC, SOURCE_ENDS_TOPIC_CONFIGS, type KnownSourceEnd } from '../offsets/rpo';
import { readToEnd, topicExists } from './read-to-end';

/**
 * The store of last known source end offsets (src/offsets/rpo.ts): a compacted topic on
 * the target cluster, written at every lag measurement, read by an unplanned failover.
 */

// Clients (one per cluster and worker) that have seen the topic: a drain records every few
// seconds. A send that fails (the topic deleted meanwhile) forgets it, so the next one re-creates it.
const known = new WeakSet<Kafka>();

/** Creates the topic when it is missing (replication factor: the broker count, at most 3). */
async function ensureTopic(kafka: Kafka): Promise<void> {
  if (known.has(kafka)) return;
  const admin = kafka.admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(SOURCE_ENDS_TOPIC)) {
      known.add(kafka);
      return;
    }
    const brokers = (await admin.describeCluster()).brokers.length;
    await admin.createTopics({
      topics: [
        {
          topic: SOURCE_ENDS_TOPIC,
          numPartitions: 1,
          replicationFactor: Math.max(1, Math.min(3, brokers)),
          configEntries: Object.entries(SOURCE_ENDS_TOPIC_CONFIGS).map(([name, value]) => ({ name, value })),
        },
      ],
      waitForLeaders: true,
    });
    // createTopics answers false (not an error) when another worker created it meanwhile.
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  known.add(kafka);
}

/** Writes one record per source partition (acks all). */
export async function recordSourceEnds(kafka: Kafka, entries: KnownSourceEnd[]): Promise<void> {
  if (entries.length === 0) return;
  await ensureTopic(kafka);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({ topic: SOURCE_ENDS_TOPIC, acks: -1, messages: entries.map(encodeSourceEnd) });
  } catch (err) {
    known.delete(kafka);
    throw err;
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

/** Every readable entry of `source` in the store (empty when the topic does not exist). */
export async function readSourceEnds(kafka: Kafka, source: string, onProgress?: (read: number) => void): Promise<KnownSourceEnd[]> {
  if (!(await topicExists(kafka, SOURCE_ENDS_TOPIC))) return [];
  const out: KnownSourceEnd[] = [];
  await readToEnd(
    kafka,
    SOURCE_ENDS_TOPIC,
    (r) => {
      const e = decodeSourceEnd(r.value);
      if (e && e.source === source) out.push(e);
    },
    { onProgress },
  );
  return out;
}
