import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StackConfig } from './config';
import { dirRef } from '../mm2/connector-configs';
import { StackError } from './errors';

/**
 * The secure local stack (`stack up --secure`, KDR_SECURE=1): a CA and certificates made
 * with openssl at the first `up`, on each broker an SSL listener that requires a client
 * certificate (mTLS) and a SASL_SSL listener with one SCRAM-SHA-512 user, Connect's REST
 * API over HTTPS with basic auth, and Connect workers that reach their own cluster over
 * TLS too. Everything secret is a file in `<stack>/secrets` (mode 600); brokers and
 * workers read passwords through Kafka's DirectoryConfigProvider, so no secret is in a
 * config file, a command line or a connector config. Inter-broker traffic stays plaintext.
 * Layout and registry: docs/connecting.md, "The secure local stack".
 */

export interface SecureCluster {
  /** SSL listener, client certificate required: the configured broker port + 4. */
  sslPort: number;
  /** SASL_SSL listener (SCRAM-SHA-512): the configured broker port + 5. */
  saslSslPort: number;
  scramUser: string;
  scramPasswordFile: string;
}

export interface SecureStack {
  secretsDir: string;
  caFile: string;
  caKeyFile: string;
  /** Broker and Connect REST certificate (SAN 127.0.0.1, localhost) in PKCS12. */
  serverKeystore: string;
  /** The client certificate (mTLS): PEM for kafkajs and MM2, PKCS12 for the Connect workers. */
  clientCertFile: string;
  clientKeyFile: string;
  clientKeystore: string;
  /** Password of both PKCS12 files. */
  storePasswordFile: string;
  kafka: { A: SecureCluster; B: SecureCluster };
  connect: { username: string; passwordFile: string; usersFile: string; jaasFile: string };
  /** Written last by ensureSecureMaterial: marks a stack dir as secure for later commands. */
  markerFile: string;
}

const MARKER = '.secure-stack';

/** The secure layout of a stack dir, from its configured ports (parallel stacks need no new setting). */
export function secureLayout(config: Pick<StackConfig, 'stackDir' | 'kafka'>): SecureStack {
  const dir = path.join(config.stackDir, 'secrets');
  const f = (name: string) => path.join(dir, name);
  const cluster = (alias: 'A' | 'B'): SecureCluster => ({
    sslPort: config.kafka[alias].port + 4,
    saslSslPort: config.kafka[alias].port + 5,
    scramUser: 'kdr',
    scramPasswordFile: f(`kafka-${alias.toLowerCase()}-scram-password`),
  });
  return {
    secretsDir: dir,
    caFile: f('ca.pem'),
    caKeyFile: f('ca.key'),
    serverKeystore: f('server.p12'),
    clientCertFile: f('client.pem'),
    clientKeyFile: f('client.key'),
    clientKeystore: f('client.p12'),
    storePasswordFile: f('store-password'),
    kafka: { A: cluster('A'), B: cluster('B') },
    connect: {
      username: 'kdr',
      passwordFile: f('connect-password'),
      usersFile: f('connect-users.properties'),
      jaasFile: f('connect-jaas.conf'),
    },
    markerFile: f(MARKER),
  };
}

/** True when KDR_SECURE asks for it or the stack dir was brought up secure before. */
export function wantsSecure(env: NodeJS.ProcessEnv, stackDir: string): boolean {
  const v = (env.KDR_SECURE ?? '').toLowerCase();
  if (v === '1' || v === 'true') return true;
  return fs.existsSync(path.join(stackDir, 'secrets', MARKER));
}

function providerProps(s: SecureStack): Record<string, string> {
  return {
    'config.providers': 'dir',
    'config.providers.dir.class': 'org.apache.kafka.common.config.provider.DirectoryConfigProvider',
    'config.providers.dir.param.allowed.paths': s.secretsDir,
  };
}

const SCRAM_MODULE = 'org.apache.kafka.common.security.scram.ScramLoginModule';

/** Broker settings added to server.properties (later keys win over the plaintext stack's). */
export function secureBrokerProperties(config: StackConfig, alias: 'A' | 'B'): Record<string, string> {
  const s = config.secure!;
  const node = config.kafka[alias];
  const c = s.kafka[alias];
  const sasl = node.sasl ? `,SASL_PLAINTEXT://127.0.0.1:${node.sasl.port}` : '';
  const secureListeners = `,SSL://127.0.0.1:${c.sslPort},SASL_SSL://127.0.0.1:${c.saslSslPort}`;
  const storePassword = dirRef(s.storePasswordFile);
  return {
    ...providerProps(s),
    listeners: `PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}${sasl}${secureListeners}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${node.port}${sasl}${secureListeners}`,
    'listener.security.protocol.map': `PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${sasl ? ',SASL_PLAINTEXT:SASL_PLAINTEXT' : ''},SSL:SSL,SASL_SSL:SASL_SSL`,
    'ssl.keystore.type': 'PKCS12',
    'ssl.keystore.location': s.serverKeystore,
    'ssl.keystore.password': storePassword,
    'ssl.key.password': storePassword,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': s.caFile,
    'listener.name.ssl.ssl.client.auth': 'required',
    'listener.name.sasl_ssl.sasl.enabled.mechanisms': 'SCRAM-SHA-512',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': `${SCRAM_MODULE} required;`,
  };
}

/**
 * How a Connect worker reaches its own cluster: connect-a over SASL_SSL with SCRAM,
 * connect-b over SSL with the client certificate, so the drill covers both. The same
 * settings for the worker's internal clients and the producers/consumers/admins of tasks.
 */
function workerClientProps(s: SecureStack, alias: 'A' | 'B'): Record<string, string> {
  const c = s.kafka[alias];
  const trust = { 'ssl.truststore.type': 'PEM', 'ssl.truststore.location': s.caFile };
  const base: Record<string, string> =
    alias === 'A'
      ? {
          'security.protocol': 'SASL_SSL',
          'sasl.mechanism': 'SCRAM-SHA-512',
          'sasl.jaas.config': `${SCRAM_MODULE} required username="${c.scramUser}" password="${dirRef(c.scramPasswordFile)}";`,
          ...trust,
        }
      : {
          'security.protocol': 'SSL',
          ...trust,
          'ssl.keystore.type': 'PKCS12',
          'ssl.keystore.location': s.clientKeystore,
          'ssl.keystore.password': dirRef(s.storePasswordFile),
          'ssl.key.password': dirRef(s.storePasswordFile),
        };
  const out: Record<string, string> = {};
  for (const prefix of ['', 'producer.', 'consumer.', 'admin.']) {
    for (const [k, v] of Object.entries(base)) out[`${prefix}${k}`] = v;
  }
  return out;
}

export function secureWorkerBootstrap(config: StackConfig, alias: 'A' | 'B'): string {
  const c = config.secure!.kafka[alias];
  return `127.0.0.1:${alias === 'A' ? c.saslSslPort : c.sslPort}`;
}

/** Connect worker settings added to worker.properties: HTTPS + basic auth, TLS to its cluster. */
export function secureWorkerProperties(config: StackConfig, name: 'connect-a' | 'connect-b'): Record<string, string> {
  const s = config.secure!;
  const node = config.connect[name];
  const storePassword = dirRef(s.storePasswordFile);
  return {
    ...providerProps(s),
    'bootstrap.servers': secureWorkerBootstrap(config, node.writesTo),
    ...workerClientProps(s, node.writesTo),
    listeners: `https://127.0.0.1:${node.port}`,
    'rest.advertised.listener': 'https',
    'listeners.https.ssl.keystore.type': 'PKCS12',
    'listeners.https.ssl.keystore.location': s.serverKeystore,
    'listeners.https.ssl.keystore.password': storePassword,
    'listeners.https.ssl.key.password': storePassword,
    'listeners.https.ssl.client.auth': 'none',
    'rest.extension.classes': 'org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension',
  };
}

/** connect-basic-auth-extension's jar (install.ts fetches it; the path is fixed so components stay pure). */
export function basicAuthJar(config: Pick<StackConfig, 'kafkaLibDir' | 'kafkaVersion'>): string {
  return path.join(path.dirname(config.kafkaLibDir), 'extensions', `connect-basic-auth-extension-${config.kafkaVersion}.jar`);
}

/** A Connect worker's JVM arguments with the basic-auth JAAS file and the extension jar. */
export function secureConnectArgs(config: StackConfig, args: string[]): string[] {
  const s = config.secure!;
  const cp = args.indexOf('-cp');
  const out = [...args];
  if (cp >= 0) out[cp + 1] = `${out[cp + 1]}:${basicAuthJar(config)}`;
  return [`-Djava.security.auth.login.config=${s.connect.jaasFile}`, ...out];
}

/** `kafka-storage format` adds the SCRAM user (KRaft stores credentials in the metadata log). */
export function secureFormatArgs(config: StackConfig, alias: 'A' | 'B'): string[] {
  const c = config.secure!.kafka[alias];
  const password = fs.readFileSync(c.scramPasswordFile, 'utf8').trim();
  return ['--add-scram', `SCRAM-SHA-512=[name=${c.scramUser},password=${password}]`];
}

const secret = () => randomBytes(24).toString('base64url');

function writeSecret(file: string, content: string): void {
  fs.writeFileSync(file, content, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || '').split('\n').find((l) => l.trim() !== '') ?? `exit ${r.status}`;
    throw new StackError(
      r.error ? 'missing-tool' : 'start-failed',
      `openssl ${args[0]} failed: ${why}${r.error ? ' (Debian: apt-get install -y openssl)' : ''}`,
    );
  }
}

/** A self-signed CA (key and certificate, PEM), made by openssl in `cwd`. */
export function selfSignedCa(ca: { keyFile: string; certFile: string; days: string; subject: string }, cwd: string): void {
  openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', ca.keyFile, '-out', ca.certFile, '-days', ca.days, '-subj', ca.subject],
    cwd,
  );
}

/**
 * Generates what the secure stack needs, once per stack dir: passwords, a CA, the server
 * and client certificates, the Connect users and JAAS files. Refuses a stack dir whose
 * brokers were formatted without SCRAM users (they would never accept the passwords).
 */
export function ensureSecureMaterial(config: StackConfig, log: (line: string) => void): void {
  const s = config.secure!;
  if (fs.existsSync(s.markerFile)) return;
  for (const name of ['kafka-a', 'kafka-b']) {
    if (fs.existsSync(path.join(config.dataDir, name, 'log', 'meta.properties'))) {
      throw new StackError(
        'bad-config',
        `--secure: ${config.stackDir} already holds a plaintext stack (its brokers have no SCRAM users): use another KDR_STACK_DIR, or 'stack down' and remove ${config.dataDir}`,
      );
    }
  }
  log(`generating the secure stack's CA, certificates and passwords in ${s.secretsDir}`);
  fs.mkdirSync(s.secretsDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(s.secretsDir, 0o700);
  const dir = s.secretsDir;
  for (const file of [s.kafka.A.scramPasswordFile, s.kafka.B.scramPasswordFile, s.storePasswordFile, s.connect.passwordFile]) {
    writeSecret(file, secret());
  }
  const storePassword = `file:${s.storePasswordFile}`;
  const days = '825';
  selfSignedCa({ keyFile: s.caKeyFile, certFile: s.caFile, days, subject: '/CN=kafka-dr local CA' }, dir);
  const sign = (name: string, subject: string, ext: string) => {
    const key = path.join(dir, `${name}.key`);
    const csr = path.join(dir, `${name}.csr`);
    const pem = path.join(dir, `${name}.pem`);
    const extFile = path.join(dir, `${name}.ext`);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject], dir);
    fs.writeFileSync(extFile, ext);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        s.caFile,
        '-CAkey',
        s.caKeyFile,
        '-CAcreateserial',
        '-out',
        pem,
        '-days',
        days,
        '-extfile',
        extFile,
      ],
      dir,
    );
    fs.rmSync(csr);
    fs.rmSync(extFile);
    return { key, pem };
  };
  const server = sign('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  const client = sign('client', '/CN=kdr-client', 'extendedKeyUsage=clientAuth\n');
  openssl(
    ['pkcs12', '-export', '-in', server.pem, '-inkey', server.key, '-name', 'server', '-out', s.serverKeystore, '-passout', storePassword],
    dir,
  );
  openssl(
    ['pkcs12', '-export', '-in', client.pem, '-inkey', client.key, '-name', 'client', '-out', s.clientKeystore, '-passout', storePassword],
    dir,
  );
  fs.rmSync(server.key);
  fs.rmSync(server.pem);
  fs.rmSync(path.join(dir, 'ca.srl'), { force: true });
  const connectPassword = fs.readFileSync(s.connect.passwordFile, 'utf8');
  writeSecret(s.connect.usersFile, `${s.connect.username}: ${connectPassword}\n`);
  writeSecret(
    s.connect.jaasFile,
    `KafkaConnect {\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file="${s.connect.usersFile}";\n};\n`,
  );
  for (const f of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, f), 0o600);
  writeSecret(s.markerFile, new Date().toISOString());
}

/** HTTPS + basic auth for the stack's own Connect health check. */
export function secureConnectRequest(config: StackConfig): { ca: string; username: string; password: string } | undefined {
  const s = config.secure;
  if (!s) return undefined;
  return {
    ca: fs.readFileSync(s.caFile, 'utf8'),
    username: s.connect.username,
    password: fs.readFileSync(s.connect.passwordFile, 'utf8').trim(),
  };
}
