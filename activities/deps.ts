import type { Client } from '@temporalio/client';
import { ConnectClient } from '../src/connect/client';
import { KafkaClients } from '../src/kafka/client';
import type { DrillSwitch } from '../src/hooks/types';
import type { Registry, ResolvedConnectCluster } from '../src/registry/load';

/** What activities are built with; tests pass real clients for another registry, or stubs. */
export interface ActivityDeps {
  registry: Registry;
  kafka: KafkaClients;
  /** A REST client for a Connect cluster named in the registry (throws UnknownAliasError otherwise). */
  connect(name: string): ConnectClient;
  workerName: string;
  /** The drill's in-process client switch, for gates whose hook is `{ kind: drill }` (absent outside the drill). */
  drillSwitch?: DrillSwitch;
  /**
   * A Temporal client, connected on first use, for activities that read other workflows
   * (failback's seed from a failover workflow ID). Absent: those activities refuse.
   */
  temporalClient?: () => Promise<Client>;
}

/** Optional parts of the deps a caller may add. */
export interface DepsExtras {
  drillSwitch?: DrillSwitch;
  temporalClient?: () => Promise<Client>;
}

export function createDeps(registry: Registry, workerName: string, extras: DepsExtras = {}): ActivityDeps {
  const connectClients = new Map<string, ConnectClient>();
  return {
    ...extras,
    registry,
    kafka: new KafkaClients(registry, 'kafka-dr'),
    workerName,
    connect(name) {
      let client = connectClients.get(name);
      if (!client) {
        client = connectClientFor(registry.connect(name));
        connectClients.set(name, client);
      }
      return client;
    },
  };
}

/** A REST client with the registry entry's timeout, basic auth and TLS (CA, client certificate). */
export function connectClientFor(c: ResolvedConnectCluster): ConnectClient {
  return new ConnectClient(c.url, { timeoutMs: c.requestTimeoutMs, basicAuth: c.basicAuth, tls: c.tls, name: c.name });
}
