import { Client, Connection } from '@temporalio/client';
import { clientConnectionOptions, explainConnectFailure, type TemporalSettings } from '../src/temporal/connection';

/**
 * A Temporal client for activities (ActivityDeps.temporalClient), connected on first use:
 * most workers never need one, and a worker whose activities never ask opens no extra
 * connection. The connection lives as long as the worker process; grpc-js does not keep
 * the process alive on an idle channel, so a worker that shuts down still exits. It uses
 * the worker's own settings (TLS, API key), never passed to a workflow.
 */
export function lazyTemporalClient(settings: TemporalSettings): () => Promise<Client> {
  let client: Promise<Client> | undefined;
  return () => {
    client ??= Connection.connect(clientConnectionOptions(settings)).then(
      (connection) => new Client({ connection, namespace: settings.namespace }),
      async (err: unknown) => {
        // Let the next call (the activity's retry) try again instead of caching the failure.
        client = undefined;
        throw await explainConnectFailure(settings, err);
      },
    );
    return client;
  };
}
