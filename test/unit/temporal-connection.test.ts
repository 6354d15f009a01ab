import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import {
  clientConnectionOptions,
  explainConnectFailure,
  loadTemporalSettings,
  nativeConnectionOptions,
  TemporalConfigError,
} from '../../src/temporal/connection';
import { runCli } from '../helpers/cli';
import { testPki, type TestPki } from '../helpers/temporal-tls-proxy';

/**
 * The Temporal connection loader (src/temporal/connection.ts): which setting wins
 * (flags > TEMPORAL_* > TOML profile > the local stack's KDR_* defaults), what TLS and
 * API key it hands to Connection.connect and NativeConnection.connect, and the one-line
 * errors for bad files, naming the setting and never the secret. Nothing is contacted.
 */

const STACK = { address: '127.0.0.1:7233', namespace: 'default' };
const API_KEY = 'kdr-unit-api-key-9f3c2a';

describe('Temporal connection settings', () => {
  let pki: TestPki;
  let dir: string;
  let stackCalls = 0;
  const stack = () => {
    stackCalls++;
    return STACK;
  };
  const load = (env: NodeJS.ProcessEnv, overrides = {}) => loadTemporalSettings({ HOME: dir, ...env }, overrides, stack);
  const refusal = (env: NodeJS.ProcessEnv, pattern: RegExp, overrides = {}) => {
    assert.throws(
      () => load(env, overrides),
      (err: unknown) => {
        assert.ok(err instanceof TemporalConfigError, String(err));
        assert.match(err.message, pattern);
        assert.doesNotMatch(err.message, /\n/, 'one line');
        assert.ok(!err.message.includes(API_KEY), 'no API key in the message');
        assert.ok(!err.message.includes('PRIVATE KEY'), 'no key material in the message');
        return true;
      },
    );
  };
  const toml = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  before(() => {
    pki = testPki();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-temporal-unit-'));
  });
  after(() => {
    pki?.remove();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('nothing set: the local stack, plaintext, no profile', () => {
    stackCalls = 0;
    const s = load({});
    assert.equal(s.address, STACK.address);
    assert.equal(s.namespace, STACK.namespace);
    assert.equal(s.tls, undefined);
    assert.equal(s.apiKey, undefined);
    assert.deepEqual(s.summary, {
      address: STACK.address,
      namespace: 'default',
      tls: 'off',
      apiKey: false,
      profile: null,
      configFile: null,
    });
    assert.equal(stackCalls, 1);
    assert.deepEqual(clientConnectionOptions(s), { address: STACK.address });
  });

  it('TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE beat the stack (not even read), flags beat both, an empty variable is unset', () => {
    stackCalls = 0;
    const env = { TEMPORAL_ADDRESS: 'temporal.example:7233', TEMPORAL_NAMESPACE: 'payments' };
    assert.deepEqual([load(env).address, load(env).namespace], ['temporal.example:7233', 'payments']);
    assert.equal(stackCalls, 0);
    const flagged = load(env, { address: 'other:7233', namespace: 'ops' });
    assert.deepEqual([flagged.address, flagged.namespace], ['other:7233', 'ops']);
    const empty = load({ TEMPORAL_ADDRESS: '', TEMPORAL_NAMESPACE: 'payments' });
    assert.deepEqual([empty.address, empty.namespace], [STACK.address, 'payments']);
  });

  it('a TOML profile supplies what no variable sets; a variable overrides its key only; TEMPORAL_PROFILE and --profile pick the profile', () => {
    const file = toml(
      'temporal.toml',
      `[profile.default]\naddress = "default.example:7233"\nnamespace = "dflt"\n\n` +
        `[profile.prod]\naddress = "prod.tmprl.cloud:7233"\nnamespace = "prod.acct"\napi_key = "${API_KEY}"\n\n` +
        `[profile.staging]\naddress = "staging.example:7233"\nnamespace = "staging"\n`,
    );
    const base = load({ TEMPORAL_CONFIG_FILE: file });
    assert.deepEqual(
      [base.address, base.namespace, base.summary.profile, base.summary.configFile],
      ['default.example:7233', 'dflt', 'default', file],
    );

    const prod = load({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod', TEMPORAL_NAMESPACE: 'override.acct' });
    assert.equal(prod.address, 'prod.tmprl.cloud:7233');
    assert.equal(prod.namespace, 'override.acct', 'the variable beats the profile key');
    assert.equal(prod.apiKey, API_KEY);
    // An API key alone turns TLS on (system CAs), as Temporal Cloud needs.
    assert.equal(prod.tls, true);
    assert.equal(prod.summary.tls, 'tls');
    assert.equal(prod.sources.apiKey, `api_key (profile prod in ${file})`);

    const flag = load({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' }, { profile: 'staging' });
    assert.deepEqual([flag.address, flag.apiKey], ['staging.example:7233', undefined]);
    assert.equal(load({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' }, { address: 'flag:1' }).address, 'flag:1');
  });

  it("the user's default config file (~/.config/temporalio/temporal.toml) is read when TEMPORAL_CONFIG_FILE is unset", () => {
    const home = fs.mkdtempSync(path.join(dir, 'home-'));
    fs.mkdirSync(path.join(home, '.config', 'temporalio'), { recursive: true });
    fs.writeFileSync(path.join(home, '.config', 'temporalio', 'temporal.toml'), '[profile.default]\naddress = "home.example:7233"\n');
    const s = loadTemporalSettings({ HOME: home }, {}, stack);
    assert.deepEqual([s.address, s.namespace], ['home.example:7233', 'default'], 'the stack still gives the namespace');
  });

  it('TEMPORAL_API_KEY: TLS on unless TEMPORAL_TLS=false; the key never in the summary, redacted from text', () => {
    const s = load({ TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_API_KEY: API_KEY });
    assert.equal(s.tls, true);
    assert.equal(s.sources.apiKey, 'TEMPORAL_API_KEY');
    assert.ok(!JSON.stringify(s.summary).includes(API_KEY));
    assert.ok(!JSON.stringify(s.sources).includes(API_KEY));
    assert.equal(s.redact(`authorization: Bearer ${API_KEY}`), 'authorization: Bearer ***');
    assert.deepEqual(nativeConnectionOptions(s), { address: 'x:7233', tls: true, apiKey: API_KEY });
    const plain = load({ TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS: 'false' });
    assert.equal(plain.tls, undefined);
    assert.equal(plain.summary.tls, 'off');
  });

  it('mTLS from TEMPORAL_TLS_* files: CA, client pair and server name reach both connection option sets', () => {
    const s = load({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
      TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey,
      TEMPORAL_TLS_SERVER_NAME: 'temporal-frontend',
    });
    const tls = s.tls as TLSConfig;
    assert.equal(tls.serverNameOverride, 'temporal-frontend');
    assert.deepEqual(Buffer.from(tls.serverRootCACertificate!), fs.readFileSync(pki.caCert));
    assert.deepEqual(Buffer.from(tls.clientCertPair!.crt), fs.readFileSync(pki.clientCert));
    assert.deepEqual(Buffer.from(tls.clientCertPair!.key), fs.readFileSync(pki.clientKey));
    assert.equal(s.summary.tls, 'mtls');
    assert.equal(s.sources.clientCert, `TEMPORAL_TLS_CLIENT_CERT_PATH=${pki.clientCert}`);
    assert.equal(clientConnectionOptions(s).tls, tls);
    assert.equal(nativeConnectionOptions(s).tls, tls);
  });

  it('a profile [tls] table, with a variable overriding one file of it', () => {
    const file = toml(
      'tls.toml',
      `[profile.default]\naddress = "t:7233"\n[profile.default.tls]\nclient_cert_path = "${pki.clientCert}"\nclient_key_path = "${pki.clientKey}"\nserver_ca_cert_path = "${pki.otherCaCert}"\n`,
    );
    const s = load({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert });
    assert.deepEqual(Buffer.from((s.tls as TLSConfig).serverRootCACertificate!), fs.readFileSync(pki.caCert));
    assert.equal(s.sources.serverCA, `TEMPORAL_TLS_SERVER_CA_CERT_PATH=${pki.caCert}`);
    assert.equal(s.sources.clientKey, `client_key_path = ${pki.clientKey} (profile default in ${file})`);
  });

  it('bad files and profiles: one line naming the setting and the file, never the secret', () => {
    const missing = path.join(dir, 'nope.crt');
    refusal(
      { TEMPORAL_TLS_CLIENT_CERT_PATH: missing, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey },
      new RegExp(`^TEMPORAL_TLS_CLIENT_CERT_PATH=${missing}: cannot read the client certificate: no such file$`),
    );
    refusal(
      { TEMPORAL_TLS_SERVER_CA_CERT_PATH: missing },
      /^TEMPORAL_TLS_SERVER_CA_CERT_PATH=.*nope\.crt: cannot read the server CA certificate: no such file$/,
    );
    refusal(
      { TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert },
      /^TEMPORAL_TLS_CLIENT_CERT_PATH=\S+ is set but no client key: set TEMPORAL_TLS_CLIENT_KEY_PATH/,
    );
    refusal({ TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey }, /^TEMPORAL_TLS_CLIENT_KEY_PATH=\S+ is set but no client certificate/);
    refusal(
      { TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.strangerKey },
      /^TEMPORAL_TLS_CLIENT_KEY_PATH=\S+stranger\.key: the client key does not belong to the client certificate in TEMPORAL_TLS_CLIENT_CERT_PATH=\S+client\.crt$/,
    );
    // Swapped files: a key where the certificate goes.
    refusal(
      { TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientKey, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientCert },
      /^TEMPORAL_TLS_CLIENT_CERT_PATH=\S+client\.key: not a PEM certificate/,
    );
    refusal(
      { TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert.replace('ca.crt', 'ca.key') },
      /^TEMPORAL_TLS_SERVER_CA_CERT_PATH=\S+ca\.key: not a PEM certificate/,
    );
    const garbage = toml('garbage.key', `-----BEGIN PRIVATE KEY-----\n${API_KEY}\n-----END PRIVATE KEY-----\n`);
    refusal(
      { TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: garbage },
      /^TEMPORAL_TLS_CLIENT_KEY_PATH=\S+garbage\.key: not a PEM private key/,
    );
    refusal(
      {
        TEMPORAL_TLS_CLIENT_CERT_DATA: fs.readFileSync(pki.clientCert, 'utf8'),
        TEMPORAL_TLS_CLIENT_KEY_DATA: fs.readFileSync(pki.strangerKey, 'utf8'),
      },
      /^TEMPORAL_TLS_CLIENT_KEY_DATA: the client key does not belong to the client certificate in TEMPORAL_TLS_CLIENT_CERT_DATA$/,
    );

    refusal({ TEMPORAL_CONFIG_FILE: missing }, /^TEMPORAL_CONFIG_FILE=\S+nope\.crt: no such file$/);
    refusal({ TEMPORAL_PROFILE: 'prod' }, /^TEMPORAL_PROFILE=prod: no Temporal config file to read it from/);
    const file = toml('one.toml', '[profile.default]\naddress = "a:1"\n');
    refusal(
      { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' },
      new RegExp(`^TEMPORAL_PROFILE=prod: no \\[profile\\.prod\\] in ${file}$`),
    );
    refusal({ TEMPORAL_CONFIG_FILE: file }, new RegExp(`^--profile=prod: no \\[profile\\.prod\\] in ${file}$`), { profile: 'prod' });
    const broken = toml('broken.toml', `[profile.default]\napi_key = "${API_KEY}\naddress = "a:1"\n`);
    refusal({ TEMPORAL_CONFIG_FILE: broken }, new RegExp(`^${broken}: not valid TOML \\(line \\d+, column \\d+\\)$`));
    const profileCert = toml(
      'profile-cert.toml',
      `[profile.default.tls]\nclient_cert_path = "${missing}"\nclient_key_path = "${pki.clientKey}"\n`,
    );
    refusal(
      { TEMPORAL_CONFIG_FILE: profileCert },
      new RegExp(
        `^client_cert_path = ${missing} \\(profile default in ${profileCert}\\): cannot read the client certificate: no such file$`,
      ),
    );
  });

  it('a refused API key or a missing credential is named from the gRPC status, without the key', async () => {
    const s = load({ TEMPORAL_ADDRESS: 'cloud.example:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_API_KEY: API_KEY });
    const grpc16 = Object.assign(new Error(`16 UNAUTHENTICATED: bad key ${API_KEY}`), { code: 16 });
    const refused = await explainConnectFailure(s, new Error('Failed to connect to Temporal server', { cause: grpc16 }));
    assert.equal(refused.kind, 'credentials');
    assert.equal(
      refused.message,
      'Temporal at cloud.example:7233 (namespace ns.acct) rejected the API key from TEMPORAL_API_KEY (unauthenticated): check the key and that it is valid for this namespace',
    );
    const none = await explainConnectFailure({ address: 'a:1', namespace: 'n' }, grpc16);
    assert.match(
      none.message,
      /^Temporal at a:1 \(namespace n\) requires credentials \(unauthenticated\): set TEMPORAL_API_KEY, or a client certificate/,
    );
    const native = await explainConnectFailure(
      s,
      new Error(
        `Failed to call GetSystemInfo: code: 'The request does not have valid authentication credentials', message: "invalid API key"`,
      ),
    );
    assert.equal(native.kind, 'credentials');
  });

  it('the CLI: a bad Temporal setting exits 2 with one line before contacting anything', async () => {
    const missing = path.join(dir, 'absent-client.crt');
    const run = await runCli(['list'], {
      env: { HOME: dir, TEMPORAL_TLS_CLIENT_CERT_PATH: missing, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey },
    });
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stderr, `kafka-dr: TEMPORAL_TLS_CLIENT_CERT_PATH=${missing}: cannot read the client certificate: no such file\n`);
    const profile = await runCli(['--profile', 'nope', 'list'], { env: { HOME: dir } });
    assert.equal(profile.code, 2);
    assert.match(profile.stderr, /^kafka-dr: --profile=nope: no Temporal config file to read it from/);
  });
});
