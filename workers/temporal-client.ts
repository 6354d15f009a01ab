import { Client, Connection } from '@temporalio/client';

/**
 * A Temporal client for activities (ActivityDeps.temporalClient), connected on first use:
 * most workers never need one, and a worker whose activities never ask opens no extra
 * connection. The connection lives as long as the worker process; grpc-js does not keep
 * the process alive on an idle channel, so a worker that shuts down still exits.
 */
export function lazyTemporalClient(address: string, namespace: string): () => Promise<Client> {
  let client: Promise<Client> | undefined;
  return () => {
    client ??= Connection.connect({ address }).then(
      (connection) => new Client({ connection, namespace }),
      (err: unknown) => {
        // Let the next call (the activity's retry) try again instead of caching the failure.
        client = undefined;
        throw err;
      },
    );
    return client;
  };
}
