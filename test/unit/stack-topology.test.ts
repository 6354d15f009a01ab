import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { componentSpec, connectWorkerProperties, kafkaServerProperties } from '../../src/stack/components';
import { componentsOf, kafkaNodes, loadStackConfig, portsOf, topologyFile } from '../../src/stack/config';
import { load, parseProps, ROOT } from '../helpers/stack-config';
import { StackError } from '../../src/stack/errors';
import { assertTopology, clusterComponents, formatClusters } from '../../src/stack/stack';

/** An HA cluster's processes, brokers first, then its dedicated controllers. */
const haCluster = (c: 'a' | 'b') => ['', '-2', '-3', '-controller-1', '-controller-2', '-controller-3'].map((n) => `kafka-${c}${n}`);
import { stackRegistryDocument } from '../../src/registry/load';
import { deployInput, drillNames, failbackInput } from '../../src/drill/inputs';

describe('stack topology', () => {
  it('single (the default) keeps one node per cluster, RF 1, on the configured ports', () => {
    const c = load();
    assert.equal(c.topology, 'single');
    assert.deepEqual(componentsOf(c), ['kafka-a', 'kafka-b', 'connect-a', 'connect-b', 'temporal']);
    assert.equal(c.kafka.A.bootstrap, '127.0.0.1:19092');
    assert.deepEqual(c.kafka.B.bootstrapServers, ['127.0.0.1:29092']);
    assert.equal(c.replicationFactor, 1);
    assert.equal(c.kafkaHeap, '512m');
    const a = parseProps(kafkaServerProperties(c, 'A'));
    assert.equal(a.get('node.id'), '1');
    assert.equal(a.get('controller.quorum.voters'), '1@127.0.0.1:19093');
    assert.equal(a.get('min.insync.replicas'), '1');
    assert.equal(parseProps(connectWorkerProperties(c, 'connect-a')).get('offset.storage.replication.factor'), '1');
  });

  it('ha derives brokers 2 and 3 and controllers 2 and 3 from the configured ports (+10, +20), SASL on every B broker', () => {
    const c = load({ KDR_TOPOLOGY: 'ha', KDR_KAFKA_A_PORT: '31092', KDR_KAFKA_A_CONTROLLER_PORT: '31093' });
    assert.deepEqual(
      c.kafka.A.nodes.map((n) => [n.component, n.nodeId, n.roles, n.port]),
      [
        ['kafka-a', 1, 'broker', 31092],
        ['kafka-a-2', 2, 'broker', 31102],
        ['kafka-a-3', 3, 'broker', 31112],
      ],
    );
    assert.deepEqual(
      c.kafka.A.controllers.map((n) => [n.component, n.nodeId, n.roles, n.controllerPort, n.bootstrap]),
      [
        ['kafka-a-controller-1', 101, 'controller', 31093, '127.0.0.1:31093'],
        ['kafka-a-controller-2', 102, 'controller', 31103, '127.0.0.1:31103'],
        ['kafka-a-controller-3', 103, 'controller', 31113, '127.0.0.1:31113'],
      ],
    );
    // Every port of a cluster within base .. base + 60 of its KDR_KAFKA_<A|B>_PORT (parallel HA stacks sit 1000 apart).
    for (const alias of ['A', 'B'] as const) {
      const base = c.kafka[alias].port;
      for (const p of portsOf(c).filter(
        (x) => x.setting.startsWith(`KDR_KAFKA_${alias}_`) || (alias === 'B' && x.setting.startsWith('KDR_KAFKA_B_SASL')),
      )) {
        assert.ok(p.port >= base && p.port <= base + 60, `${p.setting} ${p.port} within ${base}..${base + 60}`);
      }
    }
    assert.equal(c.kafka.A.bootstrap, '127.0.0.1:31092,127.0.0.1:31102,127.0.0.1:31112');
    assert.deepEqual(
      c.kafka.B.nodes.map((n) => n.saslPort),
      [29094, 29104, 29114],
    );
    assert.equal(c.kafka.B.sasl?.bootstrap, '127.0.0.1:29094,127.0.0.1:29104,127.0.0.1:29114');
    assert.deepEqual(componentsOf(c), [...haCluster('a'), ...haCluster('b'), 'connect-a', 'connect-b', 'temporal']);
    const ports = portsOf(c);
    assert.equal(ports.length, 6 + 6 + 3 + 2 + 4, 'a port per broker and per controller, SASL on B brokers, Connect, Temporal');
    assert.equal(new Set(ports.map((p) => p.port)).size, ports.length, 'derived ports are distinct');
    assert.ok(ports.some((p) => p.component === 'kafka-b-3' && p.port === 29112 && p.setting === 'KDR_KAFKA_B_PORT + 20 (node 3)'));
    assert.ok(
      ports.some(
        (p) =>
          p.component === 'kafka-b-controller-3' && p.port === 29113 && p.setting === 'KDR_KAFKA_B_CONTROLLER_PORT + 20 (controller 3)',
      ),
    );
  });

  it('ha: split roles, three controller-only voters, RF 3 and min ISR 2 for internal, Connect and broker-default topics', () => {
    const c = load({ KDR_TOPOLOGY: 'ha' });
    const b2 = parseProps(kafkaServerProperties(c, 'B', 2));
    assert.equal(b2.get('process.roles'), 'broker');
    assert.equal(b2.get('node.id'), '2');
    assert.equal(b2.get('controller.quorum.voters'), '101@127.0.0.1:29093,102@127.0.0.1:29103,103@127.0.0.1:29113');
    assert.equal(b2.get('listeners'), 'PLAINTEXT://127.0.0.1:29102,SASL_PLAINTEXT://127.0.0.1:29104');
    assert.equal(b2.get('controller.listener.names'), 'CONTROLLER');
    const k3 = parseProps(kafkaServerProperties(c, 'B', 103));
    assert.equal(k3.get('process.roles'), 'controller');
    assert.equal(k3.get('node.id'), '103');
    assert.equal(k3.get('controller.quorum.voters'), b2.get('controller.quorum.voters'));
    assert.equal(k3.get('listeners'), 'CONTROLLER://127.0.0.1:29113');
    assert.equal(k3.get('listener.security.protocol.map'), 'CONTROLLER:PLAINTEXT');
    assert.equal(k3.get('log.dirs'), '/repo/.stack/data/kafka-b-controller-3/log');
    // Controllers place a new topic's replicas: the defaults are theirs too.
    assert.equal(k3.get('default.replication.factor'), '3');
    assert.equal(k3.get('min.insync.replicas'), '2');
    assert.ok(componentSpec(c, 'kafka-b-controller-3').args.includes('-Xmx160m'));
    assert.equal(load({ KDR_TOPOLOGY: 'ha', KDR_KAFKA_CONTROLLER_HEAP: '192m' }).controllerHeap, '192m');
    assert.equal(b2.get('log.dirs'), '/repo/.stack/data/kafka-b-2/log');
    for (const key of ['default.replication.factor', 'offsets.topic.replication.factor', 'transaction.state.log.replication.factor']) {
      assert.equal(b2.get(key), '3', key);
    }
    assert.equal(b2.get('min.insync.replicas'), '2');
    assert.equal(b2.get('transaction.state.log.min.isr'), '2');
    const w = parseProps(connectWorkerProperties(c, 'connect-a'));
    assert.equal(w.get('bootstrap.servers'), '127.0.0.1:19092,127.0.0.1:19102,127.0.0.1:19112');
    assert.equal(w.get('config.storage.replication.factor'), '3');
    assert.equal(w.get('status.storage.replication.factor'), '3');
    // Kafka nodes get the smaller heap; Connect keeps KDR_JVM_HEAP.
    assert.ok(componentSpec(c, 'kafka-a-3').args.includes('-Xmx320m'));
    assert.ok(componentSpec(c, 'connect-a').args.includes('-Xmx512m'));
    assert.ok(load({ KDR_TOPOLOGY: 'ha', KDR_KAFKA_HEAP: '384m' }).kafkaHeap === '384m');
  });

  it('ha: the registry expects three brokers; MM2 and the drill create RF 3 topics', () => {
    const c = load({ KDR_TOPOLOGY: 'ha' });
    const doc = stackRegistryDocument(c);
    assert.deepEqual(doc.clusters.A?.bootstrapServers, c.kafka.A.bootstrapServers);
    assert.equal(doc.clusters.A?.expectedBrokers, 3);
    const names = drillNames('t');
    assert.equal(deployInput(names, undefined, c.replicationFactor).plan.replicationFactor, 3);
    const snapshot = { cluster: 'B', takenAt: new Date(0).toISOString(), offsets: {}, missingTopics: [] };
    assert.equal(failbackInput(names, snapshot, undefined, c.replicationFactor).reverse.replicationFactor, 3);
  });

  it('refuses an unknown topology and derived ports beyond 65535, naming the setting', () => {
    assert.throws(
      () => load({ KDR_TOPOLOGY: 'triple' }),
      (e: unknown) => e instanceof StackError && /^KDR_TOPOLOGY=triple: .*single, ha/.test(e.message),
    );
    assert.throws(
      () => load({ KDR_TOPOLOGY: 'ha', KDR_KAFKA_A_PORT: '65520', KDR_KAFKA_A_CONTROLLER_PORT: '65521' }),
      (e: unknown) =>
        e instanceof StackError && /^KDR_KAFKA_A_PORT=65520: node 3 of cluster A would listen on 65540, above 65535/.test(e.message),
    );
    assert.throws(
      () => load({ KDR_TOPOLOGY: 'ha', KDR_KAFKA_A_CONTROLLER_PORT: '65520' }),
      (e: unknown) =>
        e instanceof StackError &&
        /^KDR_KAFKA_A_CONTROLLER_PORT=65520: controller 3 of cluster A would listen on 65540, above 65535/.test(e.message),
    );
    assert.throws(
      () => kafkaNodes('B', 3, { port: 65400, controllerPort: 65401, saslPort: 65520 }, 'X'),
      /X=65400: node 3 of cluster B would listen on 65540/,
    );
    // A derived port that meets another setting is a collision like any other.
    assert.throws(
      () => load({ KDR_TOPOLOGY: 'ha', KDR_CONNECT_A_PORT: '19102' }),
      (e: unknown) =>
        e instanceof StackError &&
        /KDR_CONNECT_A_PORT=19102: the same port is already set for KDR_KAFKA_A_PORT \+ 10 \(node 2\)/.test(e.message),
    );
  });

  it('a stack dir remembers its topology; KDR_TOPOLOGY overrides it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-topology-'));
    try {
      assert.equal(loadStackConfig({ KDR_STACK_DIR: dir }, ROOT).topology, 'single');
      fs.writeFileSync(topologyFile(dir), 'ha\n');
      assert.equal(loadStackConfig({ KDR_STACK_DIR: dir }, ROOT).topology, 'ha');
      assert.equal(loadStackConfig({ KDR_STACK_DIR: dir, KDR_TOPOLOGY: 'single' }, ROOT).topology, 'single');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('status names brokers and controllers per cluster, and a lost quorum', () => {
    const text = formatClusters([
      {
        cluster: 'A',
        topology: 'ha',
        brokers: [1, 3],
        expectedBrokers: 3,
        controllers: { voters: [101, 102, 103], running: [101, 103], quorum: 2 },
      },
      {
        cluster: 'B',
        topology: 'ha',
        brokers: null,
        expectedBrokers: 3,
        controllers: { voters: [101, 102, 103], running: [101], quorum: 2 },
      },
    ]);
    assert.equal(
      text,
      'cluster A (ha): brokers 2/3 [1,3]; controllers 2/3 running [101,103], quorum needs 2\n' +
        'cluster B (ha): brokers 0/3 (no node answers); controllers 1/3 running [101], QUORUM LOST (needs 2)',
    );
  });

  it('"all of cluster A" is its brokers and its controllers', () => {
    assert.deepEqual(clusterComponents(load({ KDR_TOPOLOGY: 'ha' }), 'A'), haCluster('a'));
    assert.deepEqual(clusterComponents(load(), 'B'), ['kafka-b']);
  });

  it('an HA dir formatted with combined roles is refused before anything starts', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-topology-'));
    try {
      fs.writeFileSync(topologyFile(dir), 'ha\n');
      fs.mkdirSync(path.join(dir, 'data', 'kafka-a', 'log'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'data', 'kafka-a', 'log', 'meta.properties'), 'node.id=1\n');
      assert.throws(
        () => assertTopology(loadStackConfig({ KDR_STACK_DIR: dir }, ROOT)),
        (e: unknown) => e instanceof StackError && /formatted with combined broker\+controller nodes/.test(e.message),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
