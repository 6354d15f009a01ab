import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import axios from 'axios';
import { properties } from '../../src/stack/components';
import { connectBasicAuthExtension } from '../../src/stack/install';
import { freePort } from './ports';
import { eventually, stack } from './stack';

/**
 * A Connect worker with HTTP basic auth (Connect's BasicAuthSecurityRestExtension and
 * a JAAS PropertyFileLoginModule users file), started by a test next to the stack's
 * workers: its own group id, internal topics, port and log file, writing to cluster B.
 * The stack's connect-a/connect-b stay as they are.
 */
export interface AuthConnect {
  url: string;
  username: string;
  logFile: string;
  stop(): Promise<void>;
}

export async function startAuthConnect(name: string, username: string, password: string): Promise<AuthConnect> {
  const jar = connectBasicAuthExtension(stack, () => undefined);
  const port = await freePort();
  const dir = path.join(stack.dataDir, name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const users = path.join(dir, 'users.properties');
  fs.writeFileSync(users, `${username}: ${password}\n`, { mode: 0o600 });
  const jaas = path.join(dir, 'connect-jaas.conf');
  fs.writeFileSync(
    jaas,
    `KafkaConnect {\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file="${users}";\n};\n`,
    { mode: 0o600 },
  );
  const worker = path.join(dir, 'worker.properties');
  fs.writeFileSync(
    worker,
    properties({
      'bootstrap.servers': stack.kafka.B.bootstrap,
      'group.id': name,
      'config.storage.topic': `${name}-configs`,
      'offset.storage.topic': `${name}-offsets`,
      'status.storage.topic': `${name}-status`,
      'config.storage.replication.factor': 1,
      'offset.storage.replication.factor': 1,
      'status.storage.replication.factor': 1,
      'offset.storage.partitions': 1,
      'status.storage.partitions': 1,
      'key.converter': 'org.apache.kafka.connect.converters.ByteArrayConverter',
      'value.converter': 'org.apache.kafka.connect.converters.ByteArrayConverter',
      'header.converter': 'org.apache.kafka.connect.converters.ByteArrayConverter',
      listeners: `http://127.0.0.1:${port}`,
      'rest.advertised.host.name': '127.0.0.1',
      'rest.advertised.port': port,
      'rest.extension.classes': 'org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension',
      'offset.flush.interval.ms': stack.connectOffsetFlushMs,
      'scheduled.rebalance.max.delay.ms': 0,
      'plugin.discovery': 'service_load',
    }),
  );
  // The stack's connect-b log4j2 config (console appender): output goes to our log file.
  const log4j = path.join(stack.dataDir, 'connect-b', 'log4j2.yaml');
  const logFile = path.join(stack.logDir, `${name}.log`);
  const out = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(
    'java',
    [
      '-Xms64m',
      '-Xmx384m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Djava.awt.headless=true',
      `-Djava.security.auth.login.config=${jaas}`,
      `-Dlog4j2.configurationFile=${log4j}`,
      `-Dkafkadr.component=${name}@${stack.stackDir}`,
      '-cp',
      `${stack.kafkaLibDir}/*:${jar}`,
      'org.apache.kafka.connect.cli.ConnectDistributed',
      worker,
    ],
    { stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const auth = { username, password };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    // Its users file holds the password: leave nothing behind but the log.
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Up when it answers an authenticated request and has joined its group (GET /connectors answers 200).
    await eventually(
      `${name} (Connect with basic auth) ready at ${url}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}; see ${logFile}`);
        const plugins = await axios.get<Array<{ class: string }>>(`${url}/connector-plugins`, { auth, timeout: 5_000 });
        if (!plugins.data.some((p) => p.class.endsWith('MirrorSourceConnector'))) return undefined;
        const list = await axios.get(`${url}/connectors`, { auth, timeout: 5_000, validateStatus: () => true });
        return list.status === 200 ? true : undefined;
      },
      180_000,
      1_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, username, logFile, stop };
}
