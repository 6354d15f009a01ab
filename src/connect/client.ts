import axios, { type AxiosInstance } from 'axios';
import { z } from 'zod';

/**
 * Kafka Connect REST API, typed: every response is checked against a schema, so a
 * proxy's HTML error page or a version with another shape fails loudly instead of
 * being read as "no tasks". No retry layer here: Temporal's activity retries own that.
 */

export const ConnectorStateSchema = z.enum(['RUNNING', 'PAUSED', 'STOPPED', 'FAILED', 'UNASSIGNED', 'RESTARTING']);
export type ConnectorState = z.infer<typeof ConnectorStateSchema>;

export const ConnectorStatusSchema = z.object({
  name: z.string(),
  connector: z.object({ state: ConnectorStateSchema, worker_id: z.string(), trace: z.string().optional() }),
  tasks: z.array(
    z.object({ id: z.number().int(), state: ConnectorStateSchema, worker_id: z.string(), trace: z.string().optional() }),
  ),
  type: z.string().optional(),
});
export type ConnectorStatus = z.infer<typeof ConnectorStatusSchema>;

export type ConnectorConfig = Record<string, string>;

export class ConnectRestError extends Error {
  constructor(
    readonly status: number | undefined,
    readonly connectMessage: string,
    readonly operation: string,
  ) {
    super(`${operation}: ${status ? `HTTP ${status}` : 'no response'}: ${connectMessage}`);
    this.name = 'ConnectRestError';
  }
}

export class ConnectClient {
  private readonly http: AxiosInstance;

  constructor(
    readonly baseUrl: string,
    timeoutMs = 10_000,
  ) {
    this.http = axios.create({ baseURL: baseUrl, timeout: timeoutMs, headers: { 'Content-Type': 'application/json' } });
  }

  private async call<T>(operation: string, run: () => Promise<{ data: unknown }>, schema?: z.ZodType<T>): Promise<T> {
    try {
      const res = await run();
      return schema ? schema.parse(res.data) : (res.data as T);
    } catch (err) {
      if (axios.isAxiosError(err)) {
        const body = err.response?.data as { message?: string } | undefined;
        throw new ConnectRestError(err.response?.status, body?.message ?? err.code ?? err.message, operation);
      }
      throw err;
    }
  }

  /** Creates the connector or replaces its config (PUT is idempotent: safe to repeat). */
  putConfig(name: string, config: ConnectorConfig): Promise<unknown> {
    return this.call(`PUT /connectors/${name}/config`, () =>
      this.http.put(`/connectors/${encodeURIComponent(name)}/config`, config),
    );
  }

  status(name: string): Promise<ConnectorStatus> {
    return this.call(
      `GET /connectors/${name}/status`,
      () => this.http.get(`/connectors/${encodeURIComponent(name)}/status`),
      ConnectorStatusSchema,
    );
  }

  list(): Promise<string[]> {
    return this.call('GET /connectors', () => this.http.get('/connectors'), z.array(z.string()));
  }

  /** Deletes the connector; one that is already gone counts as deleted. */
  async delete(name: string): Promise<'deleted' | 'absent'> {
    try {
      await this.call(`DELETE /connectors/${name}`, () => this.http.delete(`/connectors/${encodeURIComponent(name)}`));
      return 'deleted';
    } catch (err) {
      if (err instanceof ConnectRestError && err.status === 404) return 'absent';
      throw err;
    }
  }
}

/**
 * True when the connector and every task are in `state`. A connector whose
 * tasks have not been assigned yet (empty list) is not there yet, unless it is
 * allowed to have none (MM2's checkpoint connector before any group matches).
 */
export function inState(status: ConnectorStatus, state: ConnectorState, allowNoTasks = false): boolean {
  if (status.connector.state !== state) return false;
  if (status.tasks.length === 0) return allowNoTasks;
  return status.tasks.every((t) => t.state === state);
}
