import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { hookFor, NO_HOOKS, type ResolvedEscalation, type ResolvedHook, type ResolvedHooks, type ResolvedWebhook } from '../hooks/resolved';
import type { StackConfig } from '../stack/config';
import {
  DEFAULT_MIN_USABLE_LOG_DIR_PERCENT,
  RegistrySchema,
  type TlsSchema,
  type ConnectClusterConfig,
  type KafkaClusterConfig,
  type RegistryFile,
  type SecretRef,
  type WebhookConfig,
} from './schema';
import { Secret } from './secret';

/** A registry problem: which file, which field, why. Raised at worker start. */
export class RegistryError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`registry ${file}: ${field || '(top level)'}: ${reason}`);
    this.name = 'RegistryError';
  }
}

export interface ResolvedKafkaCluster {
  alias: string;
  bootstrapServers: string[];
  expectedBrokers: number;
  /** Usable bytes per log dir, in % of its total, below which the health check refuses. */
  minUsableLogDirPercent: number;
  tls?: { ca?: string; cert?: string; key?: string; keyPassword?: Secret; rejectUnauthorized: boolean };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: Secret };
  /** `dir-provider`: MM2 connectors get `${dir:...}` references to `files`, not contents. */
  connectorSecrets?: 'inline' | 'dir-provider';
  /** Absolute paths of the registry's TLS files and file secrets (for `dir-provider`). */
  files?: { ca?: string; cert?: string; key?: string; keyPassword?: string; saslPassword?: string };
}

export type ResolvedTls = NonNullable<ResolvedKafkaCluster['tls']>;

export interface ResolvedConnectCluster {
  name: string;
  url: string;
  writesTo: string;
  basicAuth?: { username: string; password: Secret };
  tls?: ResolvedTls;
  requestTimeoutMs: number;
}

export class Registry {
  constructor(
    readonly source: string,
    private readonly kafka: Map<string, ResolvedKafkaCluster>,
    private readonly connectClusters: Map<string, ResolvedConnectCluster>,
    private readonly secrets: Secret[],
    private readonly hookConfig: ResolvedHooks = NO_HOOKS,
  ) {}

  /** The cutover hook of a gate (docs/operations.md, "Cutover hooks"); manual when the registry names none. */
  hook(playbook: string, gate: string): { key: string | null; hook: ResolvedHook } {
    return hookFor(this.hookConfig, playbook, gate);
  }

  /** Where an escalated gate is announced; `log` when the registry names nothing. */
  get escalationNotification(): ResolvedEscalation {
    return this.hookConfig.escalation;
  }

  get clusterAliases(): string[] {
    return [...this.kafka.keys()];
  }

  get connectNames(): string[] {
    return [...this.connectClusters.keys()];
  }

  hasCluster(alias: string): boolean {
    return this.kafka.has(alias);
  }

  hasConnect(name: string): boolean {
    return this.connectClusters.has(name);
  }

  /** Throws UnknownAliasError naming the known aliases; callers turn it into a non-retryable failure. */
  cluster(alias: string): ResolvedKafkaCluster {
    const c = this.kafka.get(alias);
    if (!c) throw new UnknownAliasError('cluster', alias, this.clusterAliases);
    return c;
  }

  connect(name: string): ResolvedConnectCluster {
    const c = this.connectClusters.get(name);
    if (!c) throw new UnknownAliasError('Connect cluster', name, this.connectNames);
    return c;
  }

  /** The Connect clusters that write to `alias` (where MM2 flows into that cluster run). */
  connectWritingTo(alias: string): ResolvedConnectCluster[] {
    return [...this.connectClusters.values()].filter((c) => c.writesTo === alias);
  }

  /**
   * Replaces every resolved secret value in `text` with `***`. Applied to anything
   * that leaves an activity (failure messages, heartbeat details), as a second line
   * of defence behind Secret's own redaction: a broker or Connect error message may
   * echo a credential it was given.
   */
  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) {
      const v = s.reveal();
      if (v.length >= 4) out = out.split(v).join('***');
    }
    return out;
  }
}

export class UnknownAliasError extends Error {
  constructor(
    readonly kind: string,
    readonly alias: string,
    readonly known: string[],
  ) {
    super(`unknown ${kind} '${alias}' (the registry knows: ${known.join(', ') || 'none'})`);
    this.name = 'UnknownAliasError';
  }
}

function firstIssue(error: z.ZodError): { field: string; reason: string } {
  const issue = error.issues[0]!;
  // A bad record key (an alias) carries its real reason one level down.
  const nested = issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
  const reason = nested ? `alias ${nested}` : issue.message;
  return { field: issue.path.map(String).join('.'), reason };
}

/** Validates a parsed registry document and resolves its secrets from `env` and files. */
export function resolveRegistry(doc: unknown, source: string, env: NodeJS.ProcessEnv, baseDir: string): Registry {
  const parsed = RegistrySchema.safeParse(doc);
  if (!parsed.success) {
    const { field, reason } = firstIssue(parsed.error);
    throw new RegistryError(source, field, reason);
  }
  const file: RegistryFile = parsed.data;
  const secrets: Secret[] = [];

  const readSecret = (ref: SecretRef, field: string): Secret => {
    let value: string | undefined;
    if ('env' in ref) {
      value = env[ref.env];
      if (value === undefined || value === '') {
        throw new RegistryError(source, `${field}.env`, `environment variable ${ref.env} is not set or empty`);
      }
    } else {
      const p = path.resolve(baseDir, ref.file);
      try {
        value = fs.readFileSync(p, 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        throw new RegistryError(source, `${field}.file`, `cannot read ${p}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      if (value === '') throw new RegistryError(source, `${field}.file`, `${p} is empty`);
    }
    const secret = new Secret(value);
    secrets.push(secret);
    return secret;
  };

  const readFile = (p: string | undefined, field: string): string | undefined => {
    if (p === undefined) return undefined;
    const full = path.resolve(baseDir, p);
    try {
      return fs.readFileSync(full, 'utf8');
    } catch (err) {
      throw new RegistryError(source, field, `cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  };

  const resolveTls = (t: z.infer<typeof TlsSchema> | undefined, field: string): ResolvedTls | undefined =>
    t && t.enabled
      ? {
          ca: readFile(t.caFile, `${field}.caFile`),
          cert: readFile(t.certFile, `${field}.certFile`),
          key: readFile(t.keyFile, `${field}.keyFile`),
          keyPassword: t.keyPassword ? readSecret(t.keyPassword, `${field}.keyPassword`) : undefined,
          rejectUnauthorized: t.rejectUnauthorized,
        }
      : undefined;
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(baseDir, p));
  const fileOf = (ref: SecretRef | undefined, field: string, dirProvider: boolean): string | undefined => {
    if (!ref) return undefined;
    if ('file' in ref) return abs(ref.file);
    if (dirProvider) {
      throw new RegistryError(
        source,
        `${field}.env`,
        'connectorSecrets: dir-provider hands Connect a file reference, so this secret must be { file: /path } (a file the Connect workers can read)',
      );
    }
    return undefined;
  };

  const kafka = new Map<string, ResolvedKafkaCluster>();
  for (const [alias, c] of Object.entries(file.clusters) as Array<[string, KafkaClusterConfig]>) {
    const field = `clusters.${alias}`;
    const dirProvider = c.connectorSecrets === 'dir-provider';
    const tlsOn = c.tls !== undefined && c.tls.enabled;
    kafka.set(alias, {
      alias,
      bootstrapServers: c.bootstrapServers,
      expectedBrokers: c.expectedBrokers,
      minUsableLogDirPercent: c.minUsableLogDirPercent,
      tls: resolveTls(c.tls, `${field}.tls`),
      connectorSecrets: c.connectorSecrets,
      files: {
        ca: tlsOn ? abs(c.tls?.caFile) : undefined,
        cert: tlsOn ? abs(c.tls?.certFile) : undefined,
        key: tlsOn ? abs(c.tls?.keyFile) : undefined,
        keyPassword: tlsOn ? fileOf(c.tls?.keyPassword, `${field}.tls.keyPassword`, dirProvider) : undefined,
        saslPassword: fileOf(c.sasl?.password, `${field}.sasl.password`, dirProvider),
      },
      sasl: c.sasl
        ? { mechanism: c.sasl.mechanism, username: c.sasl.username, password: readSecret(c.sasl.password, `${field}.sasl.password`) }
        : undefined,
    });
  }

  const connect = new Map<string, ResolvedConnectCluster>();
  for (const [name, c] of Object.entries(file.connect) as Array<[string, ConnectClusterConfig]>) {
    connect.set(name, {
      name,
      url: c.url.replace(/\/+$/, ''),
      writesTo: c.writesTo,
      basicAuth: c.basicAuth
        ? { username: c.basicAuth.username, password: readSecret(c.basicAuth.password, `connect.${name}.basicAuth.password`) }
        : undefined,
      tls: resolveTls(c.tls, `connect.${name}.tls`),
      requestTimeoutMs: c.requestTimeoutMs,
    });
  }
  // An HMAC key shorter than this is guessable from a few signed bodies.
  const MIN_SIGNING_SECRET = 16;
  const resolveWebhook = (w: WebhookConfig, field: string): ResolvedWebhook => {
    const secret = readSecret(w.secret, `${field}.secret`);
    if (secret.reveal().length < MIN_SIGNING_SECRET) {
      const where = 'env' in w.secret ? `${field}.secret.env` : `${field}.secret.file`;
      throw new RegistryError(
        source,
        where,
        `the signing secret has ${secret.reveal().length} characters: use at least ${MIN_SIGNING_SECRET} (e.g. \`openssl rand -hex 32\`)`,
      );
    }
    const headers: Record<string, string | Secret> = {};
    for (const [name, value] of Object.entries(w.headers)) {
      headers[name] = typeof value === 'string' ? value : readSecret(value, `${field}.headers.${name}`);
    }
    return { kind: 'webhook', url: w.url, secret, timeoutMs: w.timeoutMs, headers };
  };
  const hooks = new Map<string, ResolvedHook>();
  for (const [key, h] of Object.entries(file.hooks ?? {})) {
    hooks.set(key, h.kind === 'webhook' ? resolveWebhook(h, `hooks.${key}`) : h);
  }
  const escalationConfig = file.notifications?.escalation;
  const escalation: ResolvedEscalation =
    escalationConfig?.kind === 'webhook' ? resolveWebhook(escalationConfig, 'notifications.escalation') : { kind: 'log' };

  return new Registry(source, kafka, connect, secrets, { hooks, escalation });
}

/** Reads a registry file (YAML or JSON); every problem names the file and the field. */
export function loadRegistry(file: string, env: NodeJS.ProcessEnv = process.env): Registry {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new RegistryError(file, '', `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    throw new RegistryError(file, '', `not valid YAML/JSON: ${reason}`);
  }
  return resolveRegistry(doc, file, env, path.dirname(path.resolve(file)));
}

/**
 * The registry of the local stack: clusters A and B, connect-a and connect-b, no credentials;
 * on the secure stack A over SASL_SSL/SCRAM, B over mTLS and Connect over HTTPS with basic auth.
 */
export function stackRegistryDocument(stack: StackConfig): RegistryFile {
  if (stack.secure) return secureStackRegistryDocument(stack);
  return {
    clusters: {
      A: {
        bootstrapServers: stack.kafka.A.bootstrapServers,
        expectedBrokers: stack.kafka.A.nodes.length,
        minUsableLogDirPercent: DEFAULT_MIN_USABLE_LOG_DIR_PERCENT,
        connectorSecrets: 'inline',
      },
      B: {
        bootstrapServers: stack.kafka.B.bootstrapServers,
        expectedBrokers: stack.kafka.B.nodes.length,
        minUsableLogDirPercent: DEFAULT_MIN_USABLE_LOG_DIR_PERCENT,
        connectorSecrets: 'inline',
      },
    },
    connect: {
      'connect-a': { url: stack.connect['connect-a'].url, writesTo: 'A', requestTimeoutMs: 30_000 },
      'connect-b': { url: stack.connect['connect-b'].url, writesTo: 'B', requestTimeoutMs: 30_000 },
    },
  };
}

export function stackRegistry(stack: StackConfig): Registry {
  return resolveRegistry(stackRegistryDocument(stack), 'local stack', {}, stack.repoRoot);
}

function secureStackRegistryDocument(stack: StackConfig): RegistryFile {
  const s = stack.secure!;
  const tls = (mtls: boolean) => ({
    enabled: true,
    caFile: s.caFile,
    rejectUnauthorized: true,
    ...(mtls ? { certFile: s.clientCertFile, keyFile: s.clientKeyFile } : {}),
  });
  const connect = (name: 'connect-a' | 'connect-b', writesTo: 'A' | 'B') => ({
    url: stack.connect[name].url,
    writesTo,
    requestTimeoutMs: 30_000,
    basicAuth: { username: s.connect.username, password: { file: s.connect.passwordFile } },
    tls: tls(false),
  });
  return {
    clusters: {
      A: {
        bootstrapServers: [`127.0.0.1:${s.kafka.A.saslSslPort}`],
        expectedBrokers: 1,
        minUsableLogDirPercent: DEFAULT_MIN_USABLE_LOG_DIR_PERCENT,
        tls: tls(false),
        sasl: { mechanism: 'scram-sha-512', username: s.kafka.A.scramUser, password: { file: s.kafka.A.scramPasswordFile } },
        connectorSecrets: 'dir-provider',
      },
      B: {
        bootstrapServers: [`127.0.0.1:${s.kafka.B.sslPort}`],
        expectedBrokers: 1,
        minUsableLogDirPercent: DEFAULT_MIN_USABLE_LOG_DIR_PERCENT,
        tls: tls(true),
        connectorSecrets: 'dir-provider',
      },
    },
    connect: { 'connect-a': connect('connect-a', 'A'), 'connect-b': connect('connect-b', 'B') },
  };
}
