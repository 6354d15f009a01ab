import * as path from 'node:path';
import { SEARCH_ATTRIBUTES } from '../model/search-attributes';
import {
  clusterOf,
  clusterProcesses,
  isControllerComponent,
  isKafkaComponent,
  kafkaProcessNode,
  quorumVoters,
  type ComponentName,
  type KafkaComponent,
  type KafkaNode,
  type StackConfig,
} from './config';
import { secureBrokerProperties, secureConnectArgs, secureWorkerProperties } from './secure';

/**
 * What each stack process is: its config files and its command line. Pure, so the
 * exact broker/worker settings are unit-tested and visible in one place.
 */

export interface ComponentSpec {
  name: ComponentName;
  /** Files written into the component's dir before start (name → content). */
  files: Record<string, string>;
  command: string;
  args: string[];
  /** A string that appears in /proc/<pid>/cmdline only for this stack's process of this component. */
  marker: string;
  address: string;
}

export function componentDir(config: StackConfig, name: ComponentName): string {
  return path.join(config.dataDir, name);
}

export function isKafka4(version: string): boolean {
  return Number(version.split('.')[0]) >= 4;
}

/** Maven coordinates of the jars that make a Kafka distribution's libs/ for this version. */
export function kafkaArtifacts(version: string): Array<{ groupId: string; artifactId: string; version: string }> {
  const kafka = (artifactId: string) => ({ groupId: 'org.apache.kafka', artifactId, version });
  // The Kafka POMs leave the SLF4J binding out: without one the JVMs log nothing,
  // which hides exactly the startup errors an operator needs to see.
  const logging = isKafka4(version)
    ? [
        { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-slf4j-impl', version: '2.24.3' },
        { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-core', version: '2.24.3' },
      ]
    : [
        { groupId: 'ch.qos.reload4j', artifactId: 'reload4j', version: '1.2.25' },
        { groupId: 'org.slf4j', artifactId: 'slf4j-reload4j', version: '1.7.36' },
      ];
  return [
    kafka('kafka_2.13'),
    kafka('connect-runtime'),
    kafka('connect-mirror'),
    kafka('connect-mirror-client'),
    kafka('kafka-tools'),
    ...logging,
  ];
}

export function kafkaLibsPom(version: string): string {
  const deps = kafkaArtifacts(version)
    .map(
      (a) =>
        `    <dependency><groupId>${a.groupId}</groupId><artifactId>${a.artifactId}</artifactId><version>${a.version}</version></dependency>`,
    )
    .join('\n');
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>kafka-dr.stack</groupId>
  <artifactId>kafka-libs</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
${deps}
  </dependencies>
</project>
`;
}

export function properties(entries: Record<string, string | number | boolean>): string {
  return Object.entries(entries)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join('\n')
    .concat('\n');
}

/**
 * The SASL_PLAINTEXT listener's settings: one PLAIN user whose password the broker
 * reads from the stack's secrets dir through Kafka's DirectoryConfigProvider, so the
 * password is in no config file, command line or config log line.
 */
function saslListenerProperties(sasl: NonNullable<KafkaNode['sasl']>): Record<string, string> {
  const dir = path.dirname(sasl.passwordFile);
  const password = `\${dir:${dir}:${path.basename(sasl.passwordFile)}}`;
  return {
    'config.providers': 'dir',
    'config.providers.dir.class': 'org.apache.kafka.common.config.provider.DirectoryConfigProvider',
    'config.providers.dir.param.allowed.paths': dir,
    'sasl.enabled.mechanisms': 'PLAIN',
    'listener.name.sasl_plaintext.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required username="${sasl.username}" password="${password}" user_${sasl.username}="${password}";`,
  };
}

/**
 * One Kafka process's server.properties. A single-node stack runs the broker and
 * controller roles in one process; HA splits them (docs/ha.md): three brokers and three
 * controller-only voters per cluster, so a controller can stop while every broker serves.
 * Internal topics, and through the defaults every topic created without explicit
 * settings, get the topology's replication factor and min.insync.replicas (the
 * controllers carry the defaults too: in KRaft they place the replicas of a new topic).
 */
export function kafkaServerProperties(config: StackConfig, alias: 'A' | 'B', nodeId = 1): string {
  const cluster = config.kafka[alias];
  const node = clusterProcesses(cluster).find((n) => n.nodeId === nodeId);
  if (!node) throw new Error(`cluster ${alias} has no node ${nodeId} in a ${config.topology} stack`);
  const rf = config.replicationFactor;
  const minIsr = config.minInsyncReplicas;
  const quorum = {
    'node.id': node.nodeId,
    // A static voter set works on 3.x and 4.x alike and needs no --standalone format.
    'controller.quorum.voters': quorumVoters(cluster)
      .map((n) => `${n.nodeId}@127.0.0.1:${n.controllerPort}`)
      .join(','),
    'controller.listener.names': 'CONTROLLER',
    'log.dirs': path.join(componentDir(config, node.component), 'log'),
    'num.partitions': 1,
    'default.replication.factor': rf,
    'min.insync.replicas': minIsr,
  };
  if (node.roles === 'controller') {
    return properties({
      'process.roles': 'controller',
      ...quorum,
      listeners: `CONTROLLER://127.0.0.1:${node.controllerPort}`,
      'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT',
    });
  }
  const sasl = cluster.sasl && node.saslPort !== undefined ? { ...cluster.sasl, port: node.saslPort } : undefined;
  const controller = node.roles === 'broker,controller' ? `,CONTROLLER://127.0.0.1:${node.controllerPort}` : '';
  return properties({
    'process.roles': node.roles,
    ...quorum,
    listeners: `PLAINTEXT://127.0.0.1:${node.port}${controller}${sasl ? `,SASL_PLAINTEXT://127.0.0.1:${sasl.port}` : ''}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${node.port}${sasl ? `,SASL_PLAINTEXT://127.0.0.1:${sasl.port}` : ''}`,
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': `PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${sasl ? ',SASL_PLAINTEXT:SASL_PLAINTEXT' : ''}`,
    ...(sasl ? saslListenerProperties(sasl) : {}),
    // Every internal topic fits the cluster: RF 1 on one node, RF 3 / min ISR 2 on three.
    'offsets.topic.replication.factor': rf,
    'offsets.topic.num.partitions': 10,
    'transaction.state.log.replication.factor': rf,
    'transaction.state.log.min.isr': minIsr,
    'share.coordinator.state.topic.replication.factor': rf,
    'share.coordinator.state.topic.min.isr': minIsr,
    'group.initial.rebalance.delay.ms': 0,
    // Topics appear only when a playbook or MM2 creates them, so a typo shows up as an error.
    'auto.create.topics.enable': false,
    'log.retention.check.interval.ms': 30000,
    ...(config.secure ? secureBrokerProperties(config, alias) : {}),
  });
}

export function connectWorkerProperties(config: StackConfig, name: 'connect-a' | 'connect-b'): string {
  const node = config.connect[name];
  const kafka = config.kafka[node.writesTo];
  return properties({
    'bootstrap.servers': kafka.bootstrap,
    'group.id': `kafka-dr-${name}`,
    'config.storage.topic': `${name}-configs`,
    'offset.storage.topic': `${name}-offsets`,
    'status.storage.topic': `${name}-status`,
    'config.storage.replication.factor': config.replicationFactor,
    'offset.storage.replication.factor': config.replicationFactor,
    'status.storage.replication.factor': config.replicationFactor,
    'offset.storage.partitions': 5,
    'status.storage.partitions': 1,
    // MM2 copies bytes; any other converter would re-encode records.
    'key.converter': 'org.apache.kafka.connect.converters.ByteArrayConverter',
    'value.converter': 'org.apache.kafka.connect.converters.ByteArrayConverter',
    'header.converter': 'org.apache.kafka.connect.converters.ByteArrayConverter',
    listeners: node.url,
    'rest.advertised.host.name': '127.0.0.1',
    'rest.advertised.port': node.port,
    // Committed MM2 source offsets are the drain signal; the default 60 s would make
    // every drain wait a minute longer than the data needs.
    'offset.flush.interval.ms': config.connectOffsetFlushMs,
    'scheduled.rebalance.max.delay.ms': 0,
    // The MM2 connectors are on the classpath; service loading skips the reflective scan.
    'plugin.discovery': 'service_load',
    ...(config.secure ? secureWorkerProperties(config, name) : {}),
  });
}

const LOG4J2 = `Configuration:
  status: warn
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: org.apache.kafka.clients
        level: WARN
      - name: org.apache.kafka.common.utils.AppInfoParser
        level: WARN
      - name: org.apache.kafka.clients.consumer.internals
        level: WARN
`;

const LOG4J1 = properties({
  'log4j.rootLogger': 'INFO, stdout',
  'log4j.appender.stdout': 'org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout': 'org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern': '[%d] %p %m (%c)%n',
  'log4j.logger.org.apache.kafka.clients': 'WARN',
});

function loggingFile(version: string): { name: string; content: string; flag: (file: string) => string } {
  return isKafka4(version)
    ? { name: 'log4j2.yaml', content: LOG4J2, flag: (f) => `-Dlog4j2.configurationFile=${f}` }
    : { name: 'log4j.properties', content: LOG4J1, flag: (f) => `-Dlog4j.configuration=file:${f}` };
}

export function javaArgs(config: StackConfig, name: ComponentName, mainClass: string, mainArgs: string[]): string[] {
  const dir = componentDir(config, name);
  const logging = loggingFile(config.kafkaVersion);
  return [
    `-Xms64m`,
    `-Xmx${isControllerComponent(name) ? config.controllerHeap : isKafkaComponent(name) ? config.kafkaHeap : config.jvmHeap}`,
    // Two cores for five JVM-heavy processes: a serial collector and C1-only JIT
    // start faster and leave CPU for the others; throughput is not the point here.
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    '-Djava.net.preferIPv4Stack=true',
    `-Dkafka.logs.dir=${path.join(dir, 'logs')}`,
    logging.flag(path.join(dir, logging.name)),
    // Lets `stack down` prove a PID is still ours before signalling it.
    `-Dkafkadr.component=${name}@${config.stackDir}`,
    '-cp',
    `${config.kafkaLibDir}/*`,
    mainClass,
    ...mainArgs,
  ];
}

export function componentSpec(config: StackConfig, name: ComponentName): ComponentSpec {
  const dir = componentDir(config, name);
  const marker = `kafkadr.component=${name}@${config.stackDir}`;
  const logging = loggingFile(config.kafkaVersion);
  if (isKafkaComponent(name)) {
    const node = kafkaProcessNode(config, name);
    const props = path.join(dir, 'server.properties');
    return {
      name,
      files: { 'server.properties': kafkaServerProperties(config, clusterOf(name), node.nodeId), [logging.name]: logging.content },
      command: 'java',
      args: javaArgs(config, name, 'kafka.Kafka', [props]),
      marker,
      address: node.bootstrap,
    };
  }
  switch (name) {
    case 'connect-a':
    case 'connect-b': {
      const props = path.join(dir, 'worker.properties');
      return {
        name,
        files: { 'worker.properties': connectWorkerProperties(config, name), [logging.name]: logging.content },
        command: 'java',
        args: ((a) => (config.secure ? secureConnectArgs(config, a) : a))(
          javaArgs(config, name, 'org.apache.kafka.connect.cli.ConnectDistributed', [props]),
        ),
        marker,
        address: config.connect[name].url,
      };
    }
    case 'temporal': {
      const t = config.temporal;
      const db = path.join(dir, 'temporal.sqlite');
      return {
        name,
        files: {},
        command: config.temporalBin,
        args: [
          'server',
          'start-dev',
          '--ip',
          '127.0.0.1',
          '--port',
          String(t.port),
          '--ui-port',
          String(t.uiPort),
          '--http-port',
          String(t.httpPort),
          '--metrics-port',
          String(t.metricsPort),
          '--db-filename',
          db,
          '--namespace',
          t.namespace,
          ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([key, type]) => ['--search-attribute', `${key}=${type}`]),
          '--ui-disable-news-fetch',
          '--log-level',
          'warn',
        ],
        // The SQLite path is unique to this stack dir.
        marker: db,
        address: t.address,
      };
    }
  }
}

/** The one-shot `kafka-storage format` run a broker's log dir needs before its first start. */
export function formatArgs(config: StackConfig, name: KafkaComponent, clusterId: string): string[] {
  const props = path.join(componentDir(config, name), 'server.properties');
  return javaArgs(config, name, 'kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', props, '--ignore-formatted']);
}
