import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { loadRegistry, RegistryError, resolveRegistry, UnknownAliasError } from '../../src/registry/load';
import { Secret } from '../../src/registry/secret';
import { refused } from '../helpers/registry';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const EXAMPLE = path.join(ROOT, 'docs', 'registry.example.yaml');

const doc = (over: Record<string, unknown> = {}) => ({
  clusters: {
    A: { bootstrapServers: ['a:9092'], sasl: { mechanism: 'plain', username: 'dr', password: { env: 'A_PW' } } },
    B: { bootstrapServers: ['b:9092'] },
  },
  connect: { 'connect-b': { url: 'http://connect-b:8083', writesTo: 'B' } },
  ...over,
});

describe('cluster registry', () => {
  it('resolves aliases, Connect clusters and secrets from the environment', () => {
    const r = resolveRegistry(doc(), 'r.yaml', { A_PW: 's3cret-pw' }, '/');
    assert.deepEqual(r.clusterAliases, ['A', 'B']);
    assert.equal(r.cluster('A').sasl!.password.reveal(), 's3cret-pw');
    assert.equal(r.connect('connect-b').writesTo, 'B');
    assert.deepEqual(
      r.connectWritingTo('B').map((c) => c.name),
      ['connect-b'],
    );
  });

  it('reads the documented example (with its secrets supplied)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-reg-'));
    const pw = path.join(dir, 'b-password');
    fs.writeFileSync(pw, 'from-a-file\n');
    const ca = path.join(dir, 'ca.pem');
    fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
    const text = fs
      .readFileSync(EXAMPLE, 'utf8')
      .replaceAll('/var/run/secrets/kafka-dr/b-password', pw)
      .replaceAll('/etc/kafka-dr/ca.pem', ca);
    const file = path.join(dir, 'registry.yaml');
    fs.writeFileSync(file, text);
    const r = loadRegistry(file, { KAFKA_DR_A_PASSWORD: 'pw-a', CONNECT_B_PASSWORD: 'pw-connect' });
    assert.equal(r.cluster('B').sasl!.password.reveal(), 'from-a-file', 'trailing newline of a secret file is dropped');
    assert.equal(r.cluster('A').expectedBrokers, 3);
    assert.match(r.cluster('A').tls!.ca!, /BEGIN CERTIFICATE/);
    assert.equal(r.connect('connect-b').basicAuth!.password.reveal(), 'pw-connect');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('names the field and the reason for each bad entry', () => {
    refused(doc(), {}, 'clusters.A.sasl.password.env', /environment variable A_PW is not set/);
    refused(
      doc({ connect: { 'connect-b': { url: 'http://c:8083', writesTo: 'C' } } }),
      { A_PW: 'x' },
      'connect.connect-b.writesTo',
      /not under clusters.*A, B/,
    );
    refused({ clusters: { A: { bootstrapServers: [] } } }, {}, 'clusters.A.bootstrapServers', /at least one broker/);
    refused({ clusters: { A: { bootstrapServers: ['no-port'] } } }, {}, 'clusters.A.bootstrapServers.0', /host:port/);
    refused(
      { clusters: { A: { bootstrapServers: ['a:1'], sasl: { mechanism: 'plain', username: 'u', password: 'inline!' } } } },
      {},
      'clusters.A.sasl.password',
      /never the secret itself/,
    );
    refused({ clusters: { 'bad alias!': { bootstrapServers: ['a:1'] } } }, {}, 'clusters.bad alias!', /letters, digits/);
    refused(
      { clusters: { A: { bootstrapServers: ['a:1'], sasl: { mechanism: 'gssapi', username: 'u', password: { env: 'X' } } } } },
      { X: 'y' },
      'clusters.A.sasl.mechanism',
      /plain|scram/,
    );
    refused({ clusters: { A: { bootstrapServers: ['a:1'] } }, extra: 1 }, {}, '', /extra/);
    refused(
      { clusters: { A: { bootstrapServers: ['a:1'], tls: { certFile: 'c.pem' } } } },
      {},
      'clusters.A.tls',
      /certFile and keyFile go together/,
    );
    refused(
      {
        clusters: { A: { bootstrapServers: ['a:1'], sasl: { mechanism: 'plain', username: 'u', password: { file: '/nonexistent/pw' } } } },
      },
      {},
      'clusters.A.sasl.password.file',
      /cannot read \/nonexistent\/pw: ENOENT/,
    );
  });

  it('fails on a file that is not YAML, naming the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-reg-'));
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, 'clusters: [unclosed');
    assert.throws(
      () => loadRegistry(file, {}),
      (e: unknown) => e instanceof RegistryError && e.message.startsWith(`registry ${file}: (top level): not valid YAML/JSON`),
    );
    assert.throws(() => loadRegistry(path.join(dir, 'missing.yaml'), {}), /cannot read the file: ENOENT/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an unknown alias naming the known ones', () => {
    const r = resolveRegistry(doc(), 'r.yaml', { A_PW: 'x' }, '/');
    assert.throws(
      () => r.cluster('C'),
      (e: unknown) => e instanceof UnknownAliasError && /unknown cluster 'C' \(the registry knows: A, B\)/.test(e.message),
    );
    assert.throws(() => r.connect('connect-x'), /unknown Connect cluster 'connect-x'/);
  });
});

describe('secrets never print', () => {
  const secret = new Secret('hunter2-password');

  it('hides the value from String, JSON, inspect and templates', () => {
    const holder = { sasl: { password: secret } };
    for (const text of [String(secret), `${secret}`, JSON.stringify(holder), inspect(holder, { depth: 5 })]) {
      assert.ok(!text.includes('hunter2'), text);
    }
    assert.equal(secret.reveal(), 'hunter2-password');
  });

  it('redacts resolved secret values from any text', () => {
    const r = resolveRegistry(doc(), 'r.yaml', { A_PW: 'hunter2-password' }, '/');
    assert.equal(r.redact('SASL failed for dr with hunter2-password at a:9092'), 'SASL failed for dr with *** at a:9092');
    assert.equal(r.redact('nothing secret here'), 'nothing secret here');
  });
});
