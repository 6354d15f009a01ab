import type { Admin } from 'kafkajs';
import { ConnectClient, type ConnectorConfig } from '../../src/connect/client';
import { kafka, stack } from './stack';

/**
 * What a bad input must not change, read from the real clusters: the connectors (and
 * their configs) on both Connect workers, the topics on both clusters, and the
 * committed offsets of the named consumer groups. Compare a snapshot before and after.
 */

export interface ClusterSnapshot {
  connectors: Record<string, Record<string, ConnectorConfig | null>>;
  topics: Record<'A' | 'B', string[]>;
  groupOffsets: Record<string, string>;
}

// Topics only the clusters' own machinery writes (offsets, Connect's storage, MM2's internal topics).
const INTERNAL_TOPIC = /^(__.*|connect-[ab]-(configs|offsets|status)|.*\.internal|(.*\.)?heartbeats)$/;

export class SideEffectProbe {
  private admins: Partial<Record<'A' | 'B', Admin>> = {};
  private readonly connect = {
    'connect-a': new ConnectClient(stack.connect['connect-a'].url, 30_000),
    'connect-b': new ConnectClient(stack.connect['connect-b'].url, 30_000),
  };

  constructor(private readonly groups: string[]) {}

  async open(): Promise<void> {
    for (const alias of ['A', 'B'] as const) {
      const admin = kafka(alias).admin();
      await admin.connect();
      this.admins[alias] = admin;
    }
  }

  async close(): Promise<void> {
    for (const admin of Object.values(this.admins)) await admin?.disconnect();
  }

  async snapshot(): Promise<ClusterSnapshot> {
    const connectors: ClusterSnapshot['connectors'] = {};
    for (const [name, client] of Object.entries(this.connect)) {
      const names = (await client.list()).sort();
      connectors[name] = {};
      for (const n of names) connectors[name][n] = (await client.getConfig(n)) ?? null;
    }
    const topics = { A: [] as string[], B: [] as string[] };
    const groupOffsets: Record<string, string> = {};
    for (const alias of ['A', 'B'] as const) {
      const admin = this.admins[alias]!;
      topics[alias] = (await admin.listTopics()).filter((t) => !INTERNAL_TOPIC.test(t)).sort();
      for (const group of this.groups) {
        for (const t of await admin.fetchOffsets({ groupId: group })) {
          for (const p of t.partitions) groupOffsets[`${alias}/${group}/${t.topic}/${p.partition}`] = p.offset;
        }
      }
    }
    return { connectors, topics, groupOffsets };
  }
}
