import * as https from 'node:https';
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
  tasks: z.array(z.object({ id: z.number().int(), state: ConnectorStateSchema, worker_id: z.string(), trace: z.string().optional() })),
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

export interface ConnectClientOptions {
  timeoutMs?: number;
  /** Basic auth; the password is read from a Secret at request time and never stored in errors. */
  basicAuth?: { username: string; password: { reveal(): string } };
  /** HTTPS: a private CA, a client certificate (PEM contents, as the registry resolves them). */
  tls?: { ca?: string; cert?: string; key?: string; keyPassword?: { reveal(): string }; rejectUnauthorized: boolean };
  /** The registry name, for errors an operator must fix in the registry (TLS trust, credentials). */
  name?: string;
}

// Node's codes for a certificate the client does not trust (or that does not name the host).
const TLS_TRUST_CODES =
  /^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_UNTRUSTED|ERR_TLS_CERT_ALTNAME_INVALID)$/;

/** The operator's fix for a TLS or credential failure, naming the Connect cluster; undefined for other errors. */
export function connectAccessProblem(name: string, code: string | undefined, status: number | undefined): string | undefined {
  if (code && TLS_TRUST_CODES.test(code)) {
    return `Connect cluster ${name}: its TLS certificate is not trusted (${code}): set connect.${name}.tls.caFile to the CA that signed it`;
  }
  if (code === 'EPROTO' || code === 'ECONNRESET') return undefined;
  if (status === 401) return `Connect cluster ${name}: HTTP 401, the basic-auth credentials were refused: check connect.${name}.basicAuth`;
  if (status === 403) return `Connect cluster ${name}: HTTP 403, the user may not do this: check connect.${name}.basicAuth`;
  return undefined;
}

/** Connect's offsets API shape for one source partition (MM2: {cluster, topic, partition} → {offset}). */
export const ConnectorOffsetSchema = z.object({
  partition: z.record(z.string(), z.unknown()),
  offset: z.record(z.string(), z.unknown()).nullable(),
});
export type ConnectorOffset = z.infer<typeof ConnectorOffsetSchema>;
const OffsetsSchema = z.object({ offsets: z.array(ConnectorOffsetSchema) });
const MessageSchema = z.object({ message: z.string() }).partial();

export class ConnectClient {
  private readonly http: AxiosInstance;
  private readonly name: string;

  constructor(
    readonly baseUrl: string,
    options: ConnectClientOptions | number = {},
  ) {
    const opts = typeof options === 'number' ? { timeoutMs: options } : options;
    this.name = opts.name ?? baseUrl;
    const tls = opts.tls;
    this.http = axios.create({
      baseURL: baseUrl,
      timeout: opts.timeoutMs ?? 10_000,
      headers: { 'Content-Type': 'application/json' },
      ...(tls
        ? {
            httpsAgent: new https.Agent({
              ca: tls.ca,
              cert: tls.cert,
              key: tls.key,
              passphrase: tls.keyPassword?.reveal(),
              rejectUnauthorized: tls.rejectUnauthorized,
            }),
          }
        : {}),
    });
    const auth = opts.basicAuth;
    if (auth) {
      // Added per request, so the credential is not part of the instance defaults that
      // axios copies into every error's `config`.
      this.http.interceptors.request.use((config) => {
        config.headers.set('Authorization', `Basic ${Buffer.from(`${auth.username}:${auth.password.reveal()}`).toString('base64')}`);
        return config;
      });
    }
  }

  private async call<T>(operation: string, run: () => Promise<{ data: unknown }>, schema?: z.ZodType<T>): Promise<T> {
    try {
      const res = await run();
      return schema ? schema.parse(res.data) : (res.data as T);
    } catch (err) {
      if (axios.isAxiosError(err)) {
        const body = err.response?.data as { message?: string } | undefined;
        const access = connectAccessProblem(this.name, err.code, err.response?.status);
        throw new ConnectRestError(
          err.response?.status,
          access ?? body?.message ?? (err.code ? `${err.code} (${err.message})` : err.message),
          operation,
        );
      }
      throw err;
    }
  }

  /** Creates the connector or replaces its config (PUT is idempotent: safe to repeat). */
  putConfig(name: string, config: ConnectorConfig): Promise<unknown> {
    return this.call(`PUT /connectors/${name}/config`, () => this.http.put(`/connectors/${encodeURIComponent(name)}/config`, config));
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

  /** The connector's config, or undefined when it does not exist. */
  async getConfig(name: string): Promise<ConnectorConfig | undefined> {
    try {
      return await this.call(
        `GET /connectors/${name}/config`,
        () => this.http.get(`/connectors/${encodeURIComponent(name)}/config`),
        z.record(z.string(), z.string()),
      );
    } catch (err) {
      if (err instanceof ConnectRestError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * Creates a connector in `initialState` (KIP-980, Connect 3.7+). STOPPED lets its
   * offsets be seeded before it copies a single record. 409 when it already exists.
   */
  create(name: string, config: ConnectorConfig, initialState: 'RUNNING' | 'PAUSED' | 'STOPPED'): Promise<unknown> {
    return this.call(`POST /connectors (${name}, ${initialState})`, () =>
      this.http.post('/connectors', { name, config, initial_state: initialState }),
    );
  }

  pause(name: string): Promise<unknown> {
    return this.call(`PUT /connectors/${name}/pause`, () => this.http.put(`/connectors/${encodeURIComponent(name)}/pause`));
  }

  resume(name: string): Promise<unknown> {
    return this.call(`PUT /connectors/${name}/resume`, () => this.http.put(`/connectors/${encodeURIComponent(name)}/resume`));
  }

  /** STOPPED: tasks shut down and their offsets committed; the offsets API works only then. */
  stop(name: string): Promise<unknown> {
    return this.call(`PUT /connectors/${name}/stop`, () => this.http.put(`/connectors/${encodeURIComponent(name)}/stop`));
  }

  restart(name: string, options: { includeTasks?: boolean; onlyFailed?: boolean } = {}): Promise<unknown> {
    return this.call(`POST /connectors/${name}/restart`, () =>
      this.http.post(`/connectors/${encodeURIComponent(name)}/restart`, undefined, {
        params: { includeTasks: options.includeTasks ?? false, onlyFailed: options.onlyFailed ?? false },
      }),
    );
  }

  async getOffsets(name: string): Promise<ConnectorOffset[]> {
    const res = await this.call(
      `GET /connectors/${name}/offsets`,
      () => this.http.get(`/connectors/${encodeURIComponent(name)}/offsets`),
      OffsetsSchema,
    );
    return res.offsets;
  }

  /** PATCH: sets the given partitions' offsets (null resets one); the connector must be STOPPED. */
  async alterOffsets(name: string, offsets: ConnectorOffset[]): Promise<string> {
    const res = await this.call(
      `PATCH /connectors/${name}/offsets`,
      () => this.http.patch(`/connectors/${encodeURIComponent(name)}/offsets`, { offsets }),
      MessageSchema,
    );
    return res.message ?? '';
  }

  /** DELETE: forgets every offset of the connector; it must be STOPPED. */
  async resetOffsets(name: string): Promise<string> {
    const res = await this.call(
      `DELETE /connectors/${name}/offsets`,
      () => this.http.delete(`/connectors/${encodeURIComponent(name)}/offsets`),
      MessageSchema,
    );
    return res.message ?? '';
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
