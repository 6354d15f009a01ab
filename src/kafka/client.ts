import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Registry, ResolvedKafkaCluster } from '../registry/load';
import { groupCommitter, type GroupCommitter } from './group-commit';
// Snappy, LZ4 and ZSTD for every kafkajs client (kafkajs itself reads only gzip).
import './compression';

/**
 * kafkajs clients built from the registry. kafkajs retries 5 times with up to 30 s
 * backoff by default; inside a Temporal activity that multiplies with the activity's
 * own retries and hides a dead cluster for minutes. One quick retry here, the rest
 * is Temporal's, where it is visible in the UI.
 */

function sasl(cluster: ResolvedKafkaCluster): SASLOptions | undefined {
  if (!cluster.sasl) return undefined;
  const { mechanism, username, password } = cluster.sasl;
  // reveal(): the one place the password leaves its Secret, straight into the client.
  return { mechanism, username, password: password.reveal() } as SASLOptions;
}

export function kafkaConfig(cluster: ResolvedKafkaCluster, clientId: string): KafkaConfig {
  return {
    clientId,
    brokers: cluster.bootstrapServers,
    ssl: cluster.tls
      ? {
          ca: cluster.tls.ca,
          cert: cluster.tls.cert,
          key: cluster.tls.key,
          passphrase: cluster.tls.keyPassword?.reveal(),
          rejectUnauthorized: cluster.tls.rejectUnauthorized,
        }
      : undefined,
    sasl: sasl(cluster),
    connectionTimeout: 5_000,
    requestTimeout: 15_000,
    retry: { retries: 1, initialRetryTime: 300, maxRetryTime: 2_000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log }: LogEntry) => {
        // kafkajs logs broker addresses and error text, never credentials; still, keep it terse.
        if (level <= logLevel.WARN) console.error(`kafkajs ${namespace}: ${log.message}`);
      },
  };
}

/** One kafkajs instance per alias per worker (kafkajs pools broker connections inside). */
export class KafkaClients {
  private readonly clients = new Map<string, Kafka>();

  constructor(
    private readonly registry: Registry,
    private readonly clientId = 'kafka-dr',
  ) {}

  get(alias: string): Kafka {
    let client = this.clients.get(alias);
    if (!client) {
      client = new Kafka(kafkaConfig(this.registry.cluster(alias), `${this.clientId}-${alias}`));
      this.clients.set(alias, client);
    }
    return client;
  }

  /** Runs `fn` with a group committer (offset commits without joining; see group-commit.ts), always closing it afterwards. */
  async withGroupCommitter<T>(alias: string, fn: (committer: GroupCommitter) => Promise<T>): Promise<T> {
    const committer = await groupCommitter(this.get(alias));
    try {
      return await fn(committer);
    } finally {
      await committer.close();
    }
  }

  /** Runs `fn` with a connected admin client, always disconnecting afterwards. */
  async withAdmin<T>(alias: string, fn: (admin: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
    const admin = this.get(alias).admin();
    await admin.connect();
    try {
      return await fn(admin);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
