import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { stackRegistryDocument } from '../../src/registry/load';
import { RegistrySchema } from '../../src/registry/schema';
import { componentSpec, connectWorkerProperties, kafkaServerProperties } from '../../src/stack/components';
import { loadStackConfig, portsOf } from '../../src/stack/config';
import { StackError } from '../../src/stack/errors';
import { ensureSecureMaterial, secureFormatArgs } from '../../src/stack/secure';

const ROOT = '/repo';

function parse(props: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of props.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

describe('secure local stack (stack up --secure)', () => {
  const config = loadStackConfig({ KDR_SECURE: '1', KDR_STACK_DIR: '/tmp/kdr-secure-unit' }, ROOT);
  const secrets = '/tmp/kdr-secure-unit/secrets';

  it('derives the SSL and SASL_SSL ports from the broker ports and serves Connect over HTTPS', () => {
    assert.equal(config.secure!.kafka.A.sslPort, 19096);
    assert.equal(config.secure!.kafka.A.saslSslPort, 19097);
    assert.equal(config.secure!.kafka.B.sslPort, 29096);
    assert.equal(config.connect['connect-a'].url, 'https://127.0.0.1:18083');
    const ports = portsOf(config).map((p) => p.port);
    for (const p of [19096, 19097, 29096, 29097]) assert.ok(ports.includes(p), `port ${p} is checked at stack up`);
    assert.equal(loadStackConfig({ KDR_STACK_DIR: '/tmp/kdr-plain-unit' }, ROOT).secure, undefined);
  });

  it('gives each broker an mTLS listener and a SCRAM-SHA-512 SASL_SSL listener, passwords by reference', () => {
    for (const alias of ['A', 'B'] as const) {
      const p = parse(kafkaServerProperties(config, alias));
      const c = config.secure!.kafka[alias];
      assert.match(p.get('listeners')!, new RegExp(`SSL://127\\.0\\.0\\.1:${c.sslPort},SASL_SSL://127\\.0\\.0\\.1:${c.saslSslPort}$`));
      assert.match(p.get('listener.security.protocol.map')!, /SSL:SSL,SASL_SSL:SASL_SSL/);
      assert.equal(p.get('inter.broker.listener.name'), 'PLAINTEXT');
      assert.equal(p.get('listener.name.ssl.ssl.client.auth'), 'required');
      assert.equal(p.get('listener.name.sasl_ssl.sasl.enabled.mechanisms'), 'SCRAM-SHA-512');
      assert.equal(p.get('ssl.keystore.password'), `\${dir:${secrets}:store-password}`);
      assert.equal(p.get('config.providers.dir.param.allowed.paths'), secrets);
    }
    // B keeps its SASL_PLAINTEXT (PLAIN) listener.
    assert.match(parse(kafkaServerProperties(config, 'B')).get('listeners')!, /SASL_PLAINTEXT:\/\/127\.0\.0\.1:29094/);
  });

  it('runs Connect over HTTPS with basic auth, reaching A over SASL_SSL/SCRAM and B over mTLS', () => {
    const a = parse(connectWorkerProperties(config, 'connect-a'));
    assert.equal(a.get('listeners'), 'https://127.0.0.1:18083');
    assert.equal(a.get('rest.extension.classes'), 'org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension');
    assert.equal(a.get('bootstrap.servers'), '127.0.0.1:19097');
    for (const prefix of ['', 'producer.', 'consumer.', 'admin.']) {
      assert.equal(a.get(`${prefix}security.protocol`), 'SASL_SSL');
      assert.match(a.get(`${prefix}sasl.jaas.config`)!, /password="\$\{dir:[^}]+:kafka-a-scram-password\}"/);
    }
    const b = parse(connectWorkerProperties(config, 'connect-b'));
    assert.equal(b.get('bootstrap.servers'), '127.0.0.1:29096');
    assert.equal(b.get('producer.security.protocol'), 'SSL');
    assert.equal(b.get('ssl.keystore.location'), `${secrets}/client.p12`);
    const args = componentSpec(config, 'connect-a').args;
    assert.equal(args[0], `-Djava.security.auth.login.config=${secrets}/connect-jaas.conf`);
    assert.match(args[args.indexOf('-cp') + 1]!, /extensions\/connect-basic-auth-extension-4\.1\.1\.jar$/);
  });

  it('adds the SCRAM user when formatting storage, with the generated password', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-secure-fmt-'));
    const c = loadStackConfig({ KDR_SECURE: '1', KDR_STACK_DIR: dir }, ROOT);
    fs.mkdirSync(c.secure!.secretsDir, { recursive: true });
    fs.writeFileSync(c.secure!.kafka.A.scramPasswordFile, 'pw-abc_123\n');
    assert.deepEqual(secureFormatArgs(c, 'A'), ['--add-scram', 'SCRAM-SHA-512=[name=kdr,password=pw-abc_123]']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('builds a registry whose secrets are file references the Connect workers resolve', () => {
    const doc = stackRegistryDocument(config);
    assert.ok(RegistrySchema.safeParse(doc).success);
    assert.deepEqual(doc.clusters.A!.bootstrapServers, ['127.0.0.1:19097']);
    assert.equal(doc.clusters.A!.sasl!.mechanism, 'scram-sha-512');
    assert.deepEqual(doc.clusters.A!.sasl!.password, { file: `${secrets}/kafka-a-scram-password` });
    assert.equal(doc.clusters.B!.tls!.certFile, `${secrets}/client.pem`);
    assert.equal(doc.clusters.B!.connectorSecrets, 'dir-provider');
    assert.equal(doc.connect['connect-b']!.url, 'https://127.0.0.1:28083');
    assert.deepEqual(doc.connect['connect-b']!.basicAuth!.password, { file: `${secrets}/connect-password` });
  });

  it('refuses a stack dir whose brokers were formatted without SCRAM users', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-secure-plain-'));
    const c = loadStackConfig({ KDR_SECURE: '1', KDR_STACK_DIR: dir }, ROOT);
    fs.mkdirSync(path.join(c.dataDir, 'kafka-a', 'log'), { recursive: true });
    fs.writeFileSync(path.join(c.dataDir, 'kafka-a', 'log', 'meta.properties'), 'version=1\n');
    assert.throws(
      () => ensureSecureMaterial(c, () => undefined),
      (err: unknown) => err instanceof StackError && /already holds a plaintext stack .*use another KDR_STACK_DIR/.test(err.message),
    );
    assert.ok(!fs.existsSync(c.secure!.markerFile), 'nothing generated');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
