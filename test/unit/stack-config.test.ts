import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { componentSpec, connectWorkerProperties, kafkaArtifacts, kafkaServerProperties } from '../../src/stack/components';
import { portsOf } from '../../src/stack/config';
import { load, parseProps } from '../helpers/stack-config';
import { StackError } from '../../src/stack/errors';
import { newClusterId } from '../../src/stack/stack';

const refusal = (env: Record<string, string>, pattern: RegExp) =>
  assert.throws(
    () => load(env),
    (e: unknown) => e instanceof StackError && e.kind === 'bad-config' && pattern.test(e.message) && !e.message.includes('\n'),
  );

describe('stack settings', () => {
  it('defaults to Kafka 4.1.1 on loopback ports under .stack', () => {
    const c = load();
    assert.equal(c.kafkaVersion, '4.1.1');
    assert.equal(c.stackDir, '/repo/.stack');
    assert.equal(c.cacheDir, '/repo/.stack/cache');
    assert.equal(c.kafka.A.bootstrap, '127.0.0.1:19092');
    assert.equal(c.connect['connect-b'].url, 'http://127.0.0.1:28083');
    assert.equal(c.temporal.address, '127.0.0.1:7233');
    assert.equal(new Set(portsOf(c).map((p) => p.port)).size, portsOf(c).length, 'default ports are distinct');
  });

  it('takes ports, dirs and the Kafka version from KDR_* variables', () => {
    const c = load({ KDR_KAFKA_VERSION: '3.9.1', KDR_KAFKA_B_PORT: '39092', KDR_STACK_DIR: '/tmp/s', KDR_CACHE_DIR: '/tmp/c' });
    assert.equal(c.kafka.B.bootstrap, '127.0.0.1:39092');
    assert.equal(c.kafkaLibDir, '/tmp/c/kafka-3.9.1/libs');
    assert.equal(c.dataDir, '/tmp/s/data');
  });

  it('refuses a malformed version, one older than 3.7, a bad port and duplicate ports', () => {
    refusal({ KDR_KAFKA_VERSION: '4.1' }, /^KDR_KAFKA_VERSION=4\.1: .*major\.minor\.patch/);
    refusal({ KDR_KAFKA_VERSION: '3.6.2' }, /^KDR_KAFKA_VERSION=3\.6\.2: .*3\.7\.0 or newer/);
    refusal({ KDR_KAFKA_A_PORT: 'abc' }, /^KDR_KAFKA_A_PORT=abc: /);
    refusal({ KDR_CONNECT_A_PORT: '80' }, /^KDR_CONNECT_A_PORT=80: .*between 1024 and 65535/);
    refusal({ KDR_TEMPORAL_UI_PORT: '19092' }, /^KDR_TEMPORAL_UI_PORT=19092: the same port is already set for KDR_KAFKA_A_PORT/);
  });

  it('accepts 3.7.0 exactly and 10.0.0 (numeric, not lexical, comparison)', () => {
    assert.equal(load({ KDR_KAFKA_VERSION: '3.7.0' }).kafkaVersion, '3.7.0');
    assert.equal(load({ KDR_KAFKA_VERSION: '10.0.0' }).kafkaVersion, '10.0.0');
  });
});

describe('stack components', () => {
  const c = load();

  it('configures each broker as a single-node KRaft cluster on loopback', () => {
    const a = parseProps(kafkaServerProperties(c, 'A'));
    assert.equal(a.get('process.roles'), 'broker,controller');
    assert.equal(a.get('controller.quorum.voters'), '1@127.0.0.1:19093');
    assert.equal(a.get('listeners'), 'PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093');
    assert.equal(a.get('offsets.topic.replication.factor'), '1');
    assert.equal(a.get('log.dirs'), '/repo/.stack/data/kafka-a/log');
    const b = parseProps(kafkaServerProperties(c, 'B'));
    // B also has a SASL_PLAINTEXT (PLAIN) listener on its port + 2, for the secrets tests.
    assert.equal(b.get('advertised.listeners'), 'PLAINTEXT://127.0.0.1:29092,SASL_PLAINTEXT://127.0.0.1:29094');
    assert.equal(b.get('inter.broker.listener.name'), 'PLAINTEXT');
    // The password is read from the stack's secrets file, never written into server.properties.
    assert.match(
      b.get('listener.name.sasl_plaintext.plain.sasl.jaas.config')!,
      /password="\$\{dir:\/repo\/\.stack\/secrets:kafka-b-sasl-password\}"/,
    );
    assert.equal(a.get('sasl.enabled.mechanisms'), undefined, 'A stays PLAINTEXT only');
  });

  it('points each Connect worker at the cluster it writes to, with a short offset flush', () => {
    const a = parseProps(connectWorkerProperties(c, 'connect-a'));
    const b = parseProps(connectWorkerProperties(c, 'connect-b'));
    assert.equal(a.get('bootstrap.servers'), '127.0.0.1:19092');
    assert.equal(b.get('bootstrap.servers'), '127.0.0.1:29092');
    assert.notEqual(a.get('group.id'), b.get('group.id'));
    assert.equal(b.get('offset.flush.interval.ms'), '1000');
    assert.equal(b.get('value.converter'), 'org.apache.kafka.connect.converters.ByteArrayConverter');
    assert.equal(b.get('listeners'), 'http://127.0.0.1:28083');
  });

  it('marks every process command line with its component and stack dir', () => {
    for (const name of ['kafka-a', 'connect-b', 'temporal'] as const) {
      const spec = componentSpec(c, name);
      assert.ok(spec.args.join(' ').includes(spec.marker), `${name} command line carries its marker`);
    }
    const temporal = componentSpec(c, 'temporal').args.join(' ');
    assert.match(temporal, /--ip 127\.0\.0\.1 --port 7233 --ui-port 8233/);
    assert.match(temporal, /--search-attribute KafkaDrPlaybook=Keyword/);
  });

  it('adds the logging binding the Kafka POMs leave out, per major version', () => {
    const ids = (v: string) => kafkaArtifacts(v).map((a) => a.artifactId);
    assert.ok(ids('4.1.1').includes('log4j-slf4j-impl'));
    assert.ok(ids('3.9.1').includes('slf4j-reload4j'));
    assert.ok(ids('4.1.1').includes('connect-mirror'));
  });

  it('makes Kafka-style cluster ids (22 URL-safe base64 chars, no leading dash)', () => {
    for (let i = 0; i < 200; i++) assert.match(newClusterId(), /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});
