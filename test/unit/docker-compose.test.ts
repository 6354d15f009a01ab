import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTES } from '../../src/model/search-attributes';
import { RegistrySchema } from '../../src/registry/schema';
import { MIN_KAFKA_VERSION, versionAtLeast } from '../../src/stack/config';

/**
 * docker-compose.yml is never started in CI (no Docker engine there), so this is
 * its only check: parse it and assert the wiring a DR drill depends on.
 */

// Compiled to dist/test/unit/*.js: three levels up is the repo root.
const COMPOSE_FILE = path.join(__dirname, '..', '..', '..', 'docker-compose.yml');
const text = fs.readFileSync(COMPOSE_FILE, 'utf8');
// merge: the file shares broker/worker settings through `<<: *anchor` merge keys.
const compose: unknown = parse(text, { merge: true });

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function obj(value: unknown, what: string): Obj {
  assert.ok(isObj(value), `${what} must be a mapping`);
  return value;
}

const services = obj(obj(compose, 'docker-compose.yml').services, 'services');

function service(name: string): Obj {
  return obj(services[name], `service ${name}`);
}

function str(value: unknown, what: string): string {
  assert.equal(typeof value, 'string', `${what} must be a string`);
  return value as string;
}

/** `environment:` as a map, whichever of the two compose syntaxes the service uses. */
function env(name: string): Record<string, string> {
  const raw = service(name).environment;
  if (raw === undefined) return {};
  const entries: Array<[string, string]> = Array.isArray(raw)
    ? raw.map((line) => {
        const [key = '', ...rest] = str(line, `${name} environment entry`).split('=');
        return [key, rest.join('=')];
      })
    : Object.entries(obj(raw, `${name}.environment`)).map(([k, v]) => [k, v === null ? '' : String(v)]);
  return Object.fromEntries(entries);
}

/** A command/entrypoint/healthcheck value (string or list) as one string. */
function commandText(value: unknown): string {
  if (value === undefined) return '';
  return Array.isArray(value) ? value.map(String).join(' ') : String(value);
}

/** Published ports as { hostIp, published }, from short ("ip:host:container") or long syntax. */
function publishedPorts(name: string): Array<{ hostIp: string; published: number }> {
  const raw = service(name).ports;
  if (raw === undefined) return [];
  assert.ok(Array.isArray(raw), `${name}.ports must be a list`);
  return raw.map((p: unknown) => {
    if (isObj(p)) return { hostIp: String(p.host_ip ?? ''), published: Number(p.published) };
    // "ip:host:container", "host:container" or "container"; the IP may be [v6].
    const spec = String(p).replace(/\/(tcp|udp)$/, '');
    const full = /^(\[[^\]]+\]|[^:]+):(\d+):\d+$/.exec(spec);
    if (full) return { hostIp: full[1] ?? '', published: Number(full[2]) };
    const short = /^(?:(\d+):)?\d+$/.exec(spec);
    assert.ok(short, `${name}: cannot read port mapping "${spec}"`);
    return { hostIp: '', published: Number(short[1]) };
  });
}

/** key=value lines of the worker.properties a Connect service writes in its command. */
function workerProperties(name: string): Record<string, string> {
  const script = commandText(service(name).command);
  const props: Record<string, string> = {};
  for (const line of script.split('\n')) {
    const m = /^\s*([a-z][a-z0-9.-]*)=(.*)$/.exec(line);
    if (m?.[1] !== undefined) props[m[1]] = (m[2] ?? '').trim();
  }
  assert.ok(Object.keys(props).length > 0, `${name}: no worker properties found in its command`);
  return props;
}

/** Kafka version an image carries: apache/kafka:X.Y.Z, or cp-kafka-connect (CP N.M ships Kafka N-4.M). */
function kafkaVersionOfImage(image: string): { version: string; exact: boolean } | undefined {
  const apache = /^(?:docker\.io\/)?apache\/kafka:(\d+\.\d+\.\d+)$/.exec(image);
  if (apache?.[1] !== undefined) return { version: apache[1], exact: true };
  const cp = /^(?:docker\.io\/)?confluentinc\/cp-kafka-connect(?:-base)?:(\d+)\.(\d+)\.\d+$/.exec(image);
  if (cp?.[1] !== undefined && cp[2] !== undefined) return { version: `${Number(cp[1]) - 4}.${cp[2]}.0`, exact: false };
  return undefined;
}

const majorMinor = (v: string) => v.split('.').slice(0, 2).join('.');

const BROKERS = ['kafka-a', 'kafka-b'] as const;
/** Each Connect worker and the cluster it must write to (its MM2 target). */
const WORKERS = { 'connect-a': 'kafka-a', 'connect-b': 'kafka-b' } as const;
const BYTES = 'org.apache.kafka.connect.converters.ByteArrayConverter';

// node:test's describe/it return promises the runner itself awaits.

describe('docker-compose.yml', () => {
  it('defines the services of the local stack', () => {
    for (const name of ['kafka-a', 'kafka-b', 'connect-a', 'connect-b', 'temporal', 'temporal-ui', 'postgresql']) {
      assert.ok(isObj(services[name]), `service ${name} is missing`);
    }
  });

  it('runs both Kafka clusters in KRaft mode, with no ZooKeeper anywhere', () => {
    for (const name of BROKERS) {
      const roles = (env(name).KAFKA_PROCESS_ROLES ?? '').split(',').map((r) => r.trim());
      assert.ok(roles.includes('broker') && roles.includes('controller'), `${name}: KAFKA_PROCESS_ROLES=${roles.join(',')}`);
      assert.ok(env(name).CLUSTER_ID, `${name}: CLUSTER_ID is needed to format KRaft storage`);
    }
    assert.notEqual(env('kafka-a').CLUSTER_ID, env('kafka-b').CLUSTER_ID, 'A and B must be distinct clusters');
    assert.doesNotMatch(text, /zookeeper/i);
  });

  it('publishes the stack host ports on 127.0.0.1 only', () => {
    const expected = { 'kafka-a': 19092, 'kafka-b': 29092, 'connect-a': 18083, 'connect-b': 28083, temporal: 7233, 'temporal-ui': 8233 };
    for (const [name, port] of Object.entries(expected)) {
      assert.ok(
        publishedPorts(name).some((p) => p.published === port),
        `${name} must publish host port ${port}`,
      );
    }
    for (const name of Object.keys(services)) {
      for (const p of publishedPorts(name)) {
        assert.equal(p.hostIp, '127.0.0.1', `${name}: host port ${p.published} must be bound to 127.0.0.1`);
      }
    }
  });

  it('wires each Connect worker to its own cluster (cross-wiring would break DR)', () => {
    for (const [worker, broker] of Object.entries(WORKERS)) {
      const bootstrap = workerProperties(worker)['bootstrap.servers'] ?? '';
      const hosts = bootstrap.split(',').map((hp) => hp.trim().replace(/:\d+$/, ''));
      assert.deepEqual(hosts, [broker], `${worker}: bootstrap.servers=${bootstrap} must point at ${broker} only`);
      // ...and at an address that broker actually advertises to containers.
      const advertised = env(broker).KAFKA_ADVERTISED_LISTENERS ?? '';
      assert.ok(advertised.includes(`//${bootstrap}`), `${worker}: ${bootstrap} is not advertised by ${broker} (${advertised})`);
      const dependsOn = obj(service(worker).depends_on, `${worker}.depends_on`);
      assert.equal(obj(dependsOn[broker], `${worker}.depends_on.${broker}`).condition, 'service_healthy');
    }
  });

  it('runs Connect on an image that carries MirrorMaker 2, matching the brokers', () => {
    const brokerVersions = BROKERS.map((name) => {
      const image = str(service(name).image, `${name}.image`);
      const v = kafkaVersionOfImage(image);
      assert.ok(v?.exact, `${name}: expected the official apache/kafka:<x.y.z> image, got ${image}`);
      return v.version;
    });
    assert.equal(new Set(brokerVersions).size, 1, `brokers run different Kafka versions: ${brokerVersions.join(', ')}`);
    const brokerVersion = brokerVersions[0] ?? '';

    for (const worker of Object.keys(WORKERS)) {
      const image = str(service(worker).image, `${worker}.image`);
      const v = kafkaVersionOfImage(image);
      assert.ok(v, `${worker}: ${image} is neither apache/kafka:<x.y.z> nor confluentinc/cp-kafka-connect`);
      assert.ok(
        versionAtLeast(v.version, MIN_KAFKA_VERSION),
        `${worker}: Kafka ${v.version} < ${MIN_KAFKA_VERSION} (Connect offsets API and initial_state)`,
      );
      if (v.exact) assert.equal(v.version, brokerVersion, `${worker}: ${image} vs brokers on ${brokerVersion}`);
      else assert.equal(majorMinor(v.version), majorMinor(brokerVersion), `${worker}: ${image} vs brokers on ${brokerVersion}`);
      if (v.exact) {
        assert.match(commandText(service(worker).command), /connect-distributed\.sh/, `${worker} must run Connect, not a broker`);
      }
    }
  });

  it('configures the Connect workers with ByteArrayConverter (MM2 copies bytes)', () => {
    for (const worker of Object.keys(WORKERS)) {
      const props = workerProperties(worker);
      for (const key of ['key.converter', 'value.converter', 'header.converter']) {
        assert.equal(props[key], BYTES, `${worker}: ${key}`);
      }
    }
  });

  it('starts Temporal after PostgreSQL', () => {
    const dependsOn = service('temporal').depends_on;
    const deps = Array.isArray(dependsOn) ? dependsOn.map(String) : Object.keys(obj(dependsOn, 'temporal.depends_on'));
    assert.ok(deps.includes('postgresql'), `temporal depends_on: ${deps.join(', ')}`);
  });

  it('registers the playbook search attributes', () => {
    assert.match(text, /search-attribute create/);
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
      assert.match(text, new RegExp(`--name\\s+${name}\\s+--type\\s+${type}\\b`), `${name} (${type}) is not registered`);
    }
  });

  it('gives each broker an mTLS listener and a SCRAM-SHA-512 SASL_SSL listener from generated secrets', () => {
    for (const name of BROKERS) {
      const e = env(name);
      assert.match(e.KAFKA_LISTENERS ?? '', /SSL:\/\/:9094,SASL_SSL:\/\/:9095/);
      assert.match(e.KAFKA_ADVERTISED_LISTENERS ?? '', new RegExp(`SSL://${name}:9094,SASL_SSL://${name}:9095`));
      assert.match(e.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? '', /SSL:SSL,SASL_SSL:SASL_SSL/);
      assert.equal(e.KAFKA_INTER_BROKER_LISTENER_NAME, 'PLAINTEXT');
      assert.equal(e.KAFKA_LISTENER_NAME_SSL_SSL_CLIENT_AUTH, 'required');
      assert.equal(e.KAFKA_LISTENER_NAME_SASL__SSL_SASL_ENABLED_MECHANISMS, 'SCRAM-SHA-512');
      assert.equal(e.KAFKA_SSL_KEYSTORE_FILENAME, 'server.p12');
      assert.ok(Object.keys(obj(service(name).depends_on, `${name}.depends_on`)).includes('secrets-init'));
    }
    const init = commandText(service('secrets-init').command);
    assert.match(init, /keytool/);
    assert.match(init, /SAN=dns:kafka-a,dns:kafka-b,dns:connect-a,dns:connect-b/);
    assert.match(
      commandText(service('scram-init').command),
      /SCRAM-SHA-512=\[password=\$\$\(cat \/etc\/kafka\/secrets\/kafka-scram-password\)\]/,
    );
    // Passwords are generated at first start: none is written in the file.
    assert.doesNotMatch(text, /(password|PASSWORD)[=:] *"?[A-Za-z0-9_-]{12,}"?$/m);
  });

  it('serves Connect over HTTPS with basic auth, reaching its cluster over TLS with secrets by reference', () => {
    for (const [name, broker] of Object.entries(WORKERS)) {
      const p = workerProperties(name);
      assert.match(p.listeners ?? '', /^https:\/\/0\.0\.0\.0:8083,http:\/\/127\.0\.0\.1:8084$/);
      assert.equal(p['rest.extension.classes'], 'org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension');
      assert.equal(p['config.providers.dir.class'], 'org.apache.kafka.common.config.provider.DirectoryConfigProvider');
      for (const prefix of ['', 'producer.', 'consumer.', 'admin.']) {
        assert.match(p[`${prefix}security.protocol`] ?? '', /^(SSL|SASL_SSL)$/, `${name} ${prefix}security.protocol`);
      }
      assert.match(p['bootstrap.servers'] ?? '', new RegExp(`^${broker}:909[45]$`));
      for (const [k, v] of Object.entries(p)) if (/password/.test(k)) assert.match(v, /^\$\$\{dir:/, `${name} ${k}`);
    }
    assert.match(commandText(obj(service('connect-a').healthcheck, 'healthcheck').test), /Authorization: Basic/);
  });

  it('runs a kafka-dr worker configured by TEMPORAL_* and a registry of the compose network', () => {
    const e = env('kafka-dr-worker');
    assert.equal(e.TEMPORAL_ADDRESS, 'temporal:7233');
    assert.equal(e.KDR_REGISTRY, '/app/docs/examples/compose-registry.yaml');
    assert.match(commandText(service('kafka-dr-worker').command), /bin\/kafka-dr worker/);
    const registryFile = path.join(path.dirname(COMPOSE_FILE), 'docs', 'examples', 'compose-registry.yaml');
    const registry = RegistrySchema.parse(parse(fs.readFileSync(registryFile, 'utf8')));
    for (const [alias, c] of Object.entries(registry.clusters)) {
      assert.equal(c.connectorSecrets, 'dir-provider', alias);
      assert.equal(c.sasl?.mechanism, 'scram-sha-512', alias);
      for (const hp of c.bootstrapServers) assert.ok(services[hp.replace(/:\d+$/, '')], `${alias}: ${hp} is no compose service`);
    }
    for (const c of Object.values(registry.connect)) assert.match(c.url, /^https:\/\/connect-[ab]:8083$/);
  });
});
