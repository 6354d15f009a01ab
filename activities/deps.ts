import { ConnectClient } from '../src/connect/client';
import { KafkaClients } from '../src/kafka/client';
import type { Registry } from '../src/registry/load';

/** What activities are built with; tests pass real clients for another registry, or stubs. */
export interface ActivityDeps {
  registry: Registry;
  kafka: KafkaClients;
  /** A REST client for a Connect cluster named in the registry (throws UnknownAliasError otherwise). */
  connect(name: string): ConnectClient;
  workerName: string;
}

export function createDeps(registry: Registry, workerName: string): ActivityDeps {
  const connectClients = new Map<string, ConnectClient>();
  return {
    registry,
    kafka: new KafkaClients(registry, 'kafka-dr'),
    workerName,
    connect(name) {
      let client = connectClients.get(name);
      if (!client) {
        const c = registry.connect(name);
        client = new ConnectClient(c.url, { timeoutMs: c.requestTimeoutMs, basicAuth: c.basicAuth });
        connectClients.set(name, client);
      }
      return client;
    },
  };
}
