import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import type { ConnectionOptions } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile, type ConfigDataSource } from '@temporalio/envconfig';

/**
 * Where the worker, the CLI and the client connect to Temporal: one loader for all three,
 * on @temporalio/envconfig, so an operator configures kafka-dr exactly like the Temporal
 * CLI and the SDKs: a TOML profile (TEMPORAL_CONFIG_FILE, else
 * ~/.config/temporalio/temporal.toml; TEMPORAL_PROFILE, else `default`) and the standard
 * TEMPORAL_* variables (address, namespace, TLS, client cert/key, server CA and name, API
 * key), which override the profile. Precedence, highest first:
 *
 *   CLI flags (--address, --namespace, --profile)
 *   > TEMPORAL_* variables > the TOML profile
 *   > the local stack's KDR_TEMPORAL_PORT / KDR_TEMPORAL_NAMESPACE (address and namespace only)
 *
 * Certificates and keys are read and checked here, before any connection, so a missing
 * file, a key that does not match its certificate or an expired certificate fails in one
 * line naming the setting (variable or profile key) and the file, never the secret.
 */

/** What Connection.connect (client) and NativeConnection.connect (worker) need. */
export interface TemporalSettings {
  address: string;
  namespace: string;
  /** false/undefined: plaintext; true: TLS with the system's CAs; else CA, server name, client pair. */
  tls?: TLSConfig | boolean;
  /** Secret: sent as `authorization: Bearer <key>`. */
  apiKey?: string;
  /** grpc_meta / TEMPORAL_GRPC_META_*: headers on every call. */
  metadata?: Record<string, string>;
}

/** Safe to log: no key, no certificate contents. */
export interface TemporalSummary {
  address: string;
  namespace: string;
  tls: 'off' | 'tls' | 'mtls';
  apiKey: boolean;
  profile: string | null;
  configFile: string | null;
}

export interface LoadedTemporalSettings extends TemporalSettings {
  summary: TemporalSummary;
  /** Where the server CA, client cert and key came from (a variable or profile key, and the file): for error messages. */
  sources: { serverCA?: string; clientCert?: string; clientKey?: string; apiKey?: string };
  /** Replaces the API key (and an authorization header) in `text`, for logs and errors. */
  redact(text: string): string;
}

/** Bad local Temporal settings (file, profile, certificate): nothing was contacted. */
export class TemporalConfigError extends Error {
  override readonly name = 'TemporalConfigError';
}

/** The server could not be reached or refused the connection (TLS, credentials): one line, no secret. */
export class TemporalConnectError extends Error {
  override readonly name = 'TemporalConnectError';
  constructor(
    message: string,
    readonly kind: 'unreachable' | 'tls' | 'credentials',
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

export interface TemporalOverrides {
  address?: string;
  namespace?: string;
  profile?: string;
}

/** The Temporal CLI's default config file for this user (envconfig's rule), or undefined without a home. */
export function defaultConfigFile(env: NodeJS.ProcessEnv): string | undefined {
  if (os.platform() === 'win32') return env.APPDATA ? path.join(env.APPDATA, 'temporalio', 'temporal.toml') : undefined;
  if (os.platform() === 'darwin')
    return env.HOME ? path.join(env.HOME, 'Library', 'Application Support', 'temporalio', 'temporal.toml') : undefined;
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg) return path.isAbsolute(xdg) ? path.join(xdg, 'temporalio', 'temporal.toml') : undefined;
  return env.HOME ? path.join(env.HOME, '.config', 'temporalio', 'temporal.toml') : undefined;
}

/** Which TEMPORAL_* variable sets each TLS file setting, and its key in a TOML profile's [tls] table. */
const TLS_FILES = {
  serverCA: { what: 'server CA certificate', env: 'TEMPORAL_TLS_SERVER_CA_CERT', toml: 'server_ca_cert' },
  clientCert: { what: 'client certificate', env: 'TEMPORAL_TLS_CLIENT_CERT', toml: 'client_cert' },
  clientKey: { what: 'client key', env: 'TEMPORAL_TLS_CLIENT_KEY', toml: 'client_key' },
} as const;
type TlsFile = keyof typeof TLS_FILES;

/**
 * Loads the settings (see the module comment for precedence). `stackDefaults` is only
 * called when neither flags, variables nor profile name an address or a namespace.
 */
export function loadTemporalSettings(
  env: NodeJS.ProcessEnv,
  overrides: TemporalOverrides,
  stackDefaults: () => { address: string; namespace: string },
): LoadedTemporalSettings {
  const vars = temporalVariables(env);
  const profileName = overrides.profile ?? vars.TEMPORAL_PROFILE;
  const configFile = vars.TEMPORAL_CONFIG_FILE ?? defaultConfigFile(env);
  const explicitFile = vars.TEMPORAL_CONFIG_FILE !== undefined;
  if (explicitFile && !fs.existsSync(configFile!)) throw new TemporalConfigError(`TEMPORAL_CONFIG_FILE=${configFile}: no such file`);
  const fileUsed = configFile !== undefined && fs.existsSync(configFile) ? configFile : undefined;
  if (!fileUsed && profileName !== undefined) {
    throw new TemporalConfigError(
      `${profileSetting(overrides)}=${profileName}: no Temporal config file to read it from (set TEMPORAL_CONFIG_FILE, or create ${configFile ?? '~/.config/temporalio/temporal.toml'})`,
    );
  }

  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({
      ...(profileName !== undefined ? { profile: profileName } : {}),
      ...(fileUsed ? { configSource: { path: fileUsed } } : { disableFile: true }),
      overrideEnvVars: vars,
    });
  } catch (err) {
    throw profileError(err, fileUsed, profileName, overrides);
  }
  const where = `profile ${profileName ?? 'default'} in ${fileUsed}`;

  const sources: LoadedTemporalSettings['sources'] = {};
  const tlsProfile = profile.tls;
  // Files of a disabled TLS table are not used (envconfig's rule), so not checked either.
  if (tlsProfile && tlsProfile.disabled !== true) {
    for (const file of Object.keys(TLS_FILES) as TlsFile[]) {
      const source = tlsProfile[file === 'serverCA' ? 'serverCACert' : file];
      if (source) sources[file] = sourceLabel(file, source, vars, where);
    }
    checkTlsFiles(tlsProfile.serverCACert, tlsProfile.clientCert, tlsProfile.clientKey, sources);
  }
  if (profile.apiKey !== undefined) sources.apiKey = vars.TEMPORAL_API_KEY !== undefined ? 'TEMPORAL_API_KEY' : `api_key (${where})`;

  // envconfig's own mapping (an API key alone turns TLS on; disabled wins), so kafka-dr and the SDKs agree.
  const options = toClientOptions(profile).connectionOptions;
  let defaults: { address: string; namespace: string } | undefined;
  const address = overrides.address ?? profile.address ?? (defaults ??= stackDefaults()).address;
  const namespace = overrides.namespace ?? profile.namespace ?? (defaults ??= stackDefaults()).namespace;
  const tls = options.tls === false || options.tls === undefined || options.tls === null ? undefined : options.tls;
  const apiKey = typeof options.apiKey === 'string' ? options.apiKey : undefined;
  const metadata = profile.grpcMeta && Object.keys(profile.grpcMeta).length > 0 ? { ...profile.grpcMeta } : undefined;
  const secrets = [apiKey, metadata?.authorization].filter((s): s is string => typeof s === 'string' && s.length >= 4);
  return {
    address,
    namespace,
    ...(tls !== undefined ? { tls } : {}),
    ...(apiKey !== undefined ? { apiKey } : {}),
    ...(metadata ? { metadata } : {}),
    summary: {
      address,
      namespace,
      tls: tls === undefined ? 'off' : typeof tls === 'object' && tls.clientCertPair ? 'mtls' : 'tls',
      apiKey: apiKey !== undefined,
      profile: fileUsed ? (profileName ?? 'default') : null,
      configFile: fileUsed ?? null,
    },
    sources,
    redact: (text) => secrets.reduce((t, s) => t.split(s).join('***'), text),
  };
}

/** For Connection.connect (@temporalio/client). */
export function clientConnectionOptions(s: TemporalSettings): ConnectionOptions {
  return {
    address: s.address,
    ...(s.tls ? { tls: s.tls } : {}),
    ...(s.apiKey !== undefined ? { apiKey: s.apiKey } : {}),
    ...(s.metadata ? { metadata: s.metadata } : {}),
  };
}

/** For NativeConnection.connect (@temporalio/worker): the same fields, the worker's type. */
export function nativeConnectionOptions(s: TemporalSettings): {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
  metadata?: Record<string, string>;
} {
  return {
    address: s.address,
    ...(s.tls ? { tls: s.tls } : {}),
    ...(s.apiKey !== undefined ? { apiKey: s.apiKey } : {}),
    ...(s.metadata ? { metadata: s.metadata } : {}),
  };
}

/**
 * One line saying why a connection to Temporal failed, naming the setting to fix, never
 * the key. grpc-js (the client) only says "Failed to connect before the deadline" for
 * every TLS failure, so when TLS is on and the server gave no gRPC status, a TLS
 * handshake of our own with the same settings (probeTls) finds the cause.
 */
export async function explainConnectFailure(
  s: TemporalSettings & Partial<Pick<LoadedTemporalSettings, 'sources' | 'redact'>>,
  err: unknown,
): Promise<TemporalConnectError> {
  const texts: string[] = [];
  let code: number | undefined;
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof Error) texts.push(e.message);
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'number' && code === undefined) code = c;
  }
  const redact = s.redact ?? ((t: string) => t);
  const at = `Temporal at ${s.address} (namespace ${s.namespace})`;
  const sources = s.sources ?? {};
  if (err instanceof TemporalConnectError) return err;
  if (code === 16 || /UNAUTHENTICATED|valid authentication credentials/i.test(texts.join(' | '))) {
    return new TemporalConnectError(
      s.apiKey !== undefined
        ? `${at} rejected the API key from ${sources.apiKey ?? 'the settings'} (unauthenticated): check the key and that it is valid for this namespace`
        : `${at} requires credentials (unauthenticated): set TEMPORAL_API_KEY, or a client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH)`,
      'credentials',
    );
  }
  const tlsCause = s.tls && code === undefined ? await probeTls(s) : undefined;
  if (tlsCause) return new TemporalConnectError(`${at}: ${tlsCause}`, 'tls');
  if (!s.tls && code === undefined && (await answersTls(s.address))) {
    return new TemporalConnectError(
      `${at}: the server expects TLS there and the connection is plaintext: set TEMPORAL_TLS=true (and TEMPORAL_TLS_SERVER_CA_CERT_PATH if a private CA signed its certificate)`,
      'tls',
    );
  }
  return new TemporalConnectError(`${at} is unreachable: ${redact((texts[0] ?? String(err)).split('\n')[0]!.trim())}`, 'unreachable', err);
}

function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

/** Whether a TLS handshake (certificate not checked) succeeds at `address`: a plaintext client met a TLS server. */
async function answersTls(address: string): Promise<boolean> {
  const { host, port } = hostPort(address);
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 5_000);
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Node's TLS error codes, grouped by what the operator must fix. */
const UNTRUSTED_SERVER = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
const REFUSED_CLIENT =
  /ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|HANDSHAKE_FAILURE|CERTIFICATE_EXPIRED|ACCESS_DENIED|DECRYPT_ERROR)/;

/**
 * A TLS handshake to the server with the settings' CA, server name and client pair, to
 * name why TLS failed; undefined when the handshake succeeds (the cause is elsewhere) or
 * the server cannot be reached at all. Sends nothing after the handshake.
 */
export async function probeTls(
  s: TemporalSettings & Partial<Pick<LoadedTemporalSettings, 'sources'>>,
  waitAfterHandshakeMs = 1500,
): Promise<string | undefined> {
  const tlsConfig = typeof s.tls === 'object' ? s.tls : {};
  const sources = s.sources ?? {};
  const { host, port } = hostPort(s.address);
  const servername = tlsConfig.serverNameOverride ?? (net.isIP(host) ? undefined : host);
  const clientCert = tlsConfig.clientCertPair;
  const outcome = await new Promise<{ error?: NodeJS.ErrnoException; handshake: boolean }>((resolve) => {
    let handshake = false;
    const socket = tls.connect({
      host,
      port,
      ...(servername ? { servername } : {}),
      ...(tlsConfig.serverRootCACertificate ? { ca: Buffer.from(tlsConfig.serverRootCACertificate) } : {}),
      ...(clientCert ? { cert: Buffer.from(clientCert.crt), key: Buffer.from(clientCert.key) } : {}),
      ALPNProtocols: ['h2'],
    });
    const timer = setTimeout(() => done(), 10_000);
    const done = (error?: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ error, handshake });
    };
    socket.once('secureConnect', () => {
      handshake = true;
      // TLS 1.3: the server checks the client certificate after the client's handshake is done; its alert comes next.
      setTimeout(() => done(), waitAfterHandshakeMs);
    });
    socket.once('error', (e) => done(e));
    socket.once('close', () => done(handshake ? Object.assign(new Error('closed'), { code: 'CLOSED_AFTER_HANDSHAKE' }) : undefined));
  });
  const e = outcome.error;
  if (!e) return undefined;
  const code = e.code ?? '';
  const ca = sources.serverCA ? `the CA in ${sources.serverCA}` : 'a CA this machine trusts (TEMPORAL_TLS_SERVER_CA_CERT_PATH is not set)';
  if (UNTRUSTED_SERVER.has(code))
    return `the server's TLS certificate is not signed by ${ca}: point TEMPORAL_TLS_SERVER_CA_CERT_PATH at the CA that signed it`;
  if (code === 'CERT_HAS_EXPIRED') return "the server's TLS certificate has expired";
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `the server's TLS certificate is not valid for ${servername ?? host}: set TEMPORAL_TLS_SERVER_NAME to a name it holds`;
  if (/CERTIFICATE_REQUIRED/.test(code) || (!clientCert && code === 'CLOSED_AFTER_HANDSHAKE')) {
    return "the server requires a client certificate (mTLS): set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or client_cert_path and client_key_path in the profile's [tls])";
  }
  if (clientCert && (REFUSED_CLIENT.test(code) || code === 'CLOSED_AFTER_HANDSHAKE' || (outcome.handshake && code === 'ECONNRESET'))) {
    return `the server refused the client certificate in ${sources.clientCert ?? 'the TLS settings'}: it is not signed by a CA the server trusts (or is revoked or expired there)`;
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    return 'TLS is on but the server does not answer TLS there: use its TLS port, or turn TLS off (TEMPORAL_TLS=false, no API key)';
  }
  if (/^ERR_SSL_|^ERR_TLS_/.test(code)) return `the TLS handshake failed (${code})`;
  return undefined;
}

/** TEMPORAL_* variables, an empty one being unset (`TEMPORAL_ADDRESS= kafka-dr …`); an empty TEMPORAL_GRPC_META_* still removes its header. */
function temporalVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('TEMPORAL_') || v === undefined) continue;
    if (v === '' && !k.startsWith('TEMPORAL_GRPC_META_')) continue;
    vars[k] = v;
  }
  return vars;
}

const profileSetting = (o: TemporalOverrides) => (o.profile !== undefined ? '--profile' : 'TEMPORAL_PROFILE');

function profileError(
  err: unknown,
  file: string | undefined,
  profileName: string | undefined,
  overrides: TemporalOverrides,
): TemporalConfigError {
  if (err instanceof TemporalConfigError) return err;
  const e = err as { line?: unknown; column?: unknown; codeblock?: unknown };
  // A TOML parse error (smol-toml's TomlError) quotes the offending lines, which may hold an api_key: position only.
  if (err instanceof Error && typeof e.line === 'number' && typeof e.codeblock === 'string') {
    return new TemporalConfigError(`${file}: not valid TOML (line ${e.line}, column ${String(e.column)})`);
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/^Profile '.*' not found/.test(message)) {
    return new TemporalConfigError(`${profileSetting(overrides)}=${profileName}: no [profile.${profileName}] in ${file}`);
  }
  // envconfig's remaining errors name keys (e.g. both client_cert_path and client_cert_data), never values.
  return new TemporalConfigError(`Temporal settings${file ? ` (${file})` : ''}: ${message.split('\n')[0]}`);
}

function sourceLabel(file: TlsFile, source: ConfigDataSource, vars: Record<string, string>, where: string): string {
  const { env, toml } = TLS_FILES[file];
  if ('path' in source)
    return vars[`${env}_PATH`] !== undefined ? `${env}_PATH=${source.path}` : `${toml}_path = ${source.path} (${where})`;
  return vars[`${env}_DATA`] !== undefined ? `${env}_DATA` : `${toml}_data (${where})`;
}

function readSource(file: TlsFile, source: ConfigDataSource, label: string): Buffer {
  if (!('path' in source)) return Buffer.from(source.data);
  try {
    return fs.readFileSync(source.path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : (code ?? 'unreadable');
    throw new TemporalConfigError(`${label}: cannot read the ${TLS_FILES[file].what}: ${why}`);
  }
}

function parseCertificate(file: TlsFile, bytes: Buffer, label: string): X509Certificate {
  // Both grpc-js and the worker's core read PEM only.
  if (!/-----BEGIN CERTIFICATE-----/.test(bytes.toString('latin1')))
    throw new TemporalConfigError(`${label}: not a PEM certificate (the ${TLS_FILES[file].what} must be PEM)`);
  try {
    return new X509Certificate(bytes);
  } catch {
    throw new TemporalConfigError(`${label}: the ${TLS_FILES[file].what} is not a valid PEM certificate`);
  }
}

/** Reads and checks the TLS files (nothing is contacted); throws TemporalConfigError naming the setting. */
function checkTlsFiles(
  ca: ConfigDataSource | undefined,
  cert: ConfigDataSource | undefined,
  key: ConfigDataSource | undefined,
  sources: LoadedTemporalSettings['sources'],
): void {
  if (ca) parseCertificate('serverCA', readSource('serverCA', ca, sources.serverCA!), sources.serverCA!);
  if (cert && !key)
    throw new TemporalConfigError(
      `${sources.clientCert} is set but no client key: set TEMPORAL_TLS_CLIENT_KEY_PATH (or client_key_path in the profile's [tls])`,
    );
  if (key && !cert)
    throw new TemporalConfigError(
      `${sources.clientKey} is set but no client certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH (or client_cert_path in the profile's [tls])`,
    );
  if (!cert || !key) return;
  const certificate = parseCertificate('clientCert', readSource('clientCert', cert, sources.clientCert!), sources.clientCert!);
  const keyBytes = readSource('clientKey', key, sources.clientKey!);
  let privateKey: KeyObject;
  try {
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyBytes.toString('latin1'))) throw new Error('not PEM');
    privateKey = createPrivateKey(keyBytes);
  } catch {
    // Never the parser's message: it may quote the key.
    throw new TemporalConfigError(`${sources.clientKey}: not a PEM private key (an encrypted key is not supported)`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TemporalConfigError(
      `${sources.clientKey}: the client key does not belong to the client certificate in ${sources.clientCert}`,
    );
  }
  const now = Date.now();
  if (Date.parse(certificate.validTo) < now)
    throw new TemporalConfigError(`${sources.clientCert}: the client certificate expired on ${certificate.validTo}`);
  if (Date.parse(certificate.validFrom) > now)
    throw new TemporalConfigError(`${sources.clientCert}: the client certificate is not valid before ${certificate.validFrom}`);
}
