import * as https from 'node:https';
import axios, { type AxiosRequestConfig } from 'axios';
import { Kafka, logLevel } from 'kafkajs';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../model/search-attributes';
import '../kafka/compression';
import { isKafkaComponent, kafkaProcessNode, type ComponentName, type StackConfig } from './config';
import { secureConnectRequest } from './secure';

/**
 * "Healthy" means usable by a playbook, not just "port open": a broker that has
 * elected its controller, a Connect worker that has joined its group and offers
 * the MM2 connectors, a Temporal frontend that serves with our search attributes.
 */

export interface Health {
  healthy: boolean;
  detail: string;
}

const MM2_CONNECTORS = [
  'org.apache.kafka.connect.mirror.MirrorSourceConnector',
  'org.apache.kafka.connect.mirror.MirrorCheckpointConnector',
  'org.apache.kafka.connect.mirror.MirrorHeartbeatConnector',
];

function reason(err: unknown): string {
  if (axios.isAxiosError(err)) {
    if (err.response) return `HTTP ${err.response.status}`;
    return err.code ?? err.message;
  }
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

/**
 * A Kafka node's health, asked of that node alone; with `nodeId`, the node must also be
 * registered as a broker (a node whose controller quorum is lost answers but is not).
 */
export async function kafkaHealth(bootstrap: string | string[], nodeId?: number): Promise<Health & { brokers?: number[] }> {
  const kafka = new Kafka({
    clientId: 'kafka-dr-stack-health',
    brokers: typeof bootstrap === 'string' ? [bootstrap] : bootstrap,
    connectionTimeout: 2000,
    requestTimeout: 5000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    const brokers = cluster.brokers.map((b) => b.nodeId).sort((x, y) => x - y);
    if (cluster.controller === null || cluster.controller < 0) {
      return { healthy: false, detail: 'no active controller yet', brokers };
    }
    if (nodeId !== undefined && !brokers.includes(nodeId)) {
      return {
        healthy: false,
        detail: `node ${nodeId} answers but is not a registered broker yet (brokers ${brokers.join(',')})`,
        brokers,
      };
    }
    return {
      healthy: true,
      detail: `${cluster.brokers.length} broker(s) [${brokers.join(',')}], controller ${cluster.controller}, cluster ${cluster.clusterId}`,
      brokers,
    };
  } catch (err) {
    return { healthy: false, detail: reason(err) };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function connectHealth(url: string, secure?: { ca: string; username: string; password: string }): Promise<Health> {
  const opts: AxiosRequestConfig = {
    timeout: 3000,
    ...(secure ? { httpsAgent: new https.Agent({ ca: secure.ca }), auth: { username: secure.username, password: secure.password } } : {}),
  };
  try {
    const root = await axios.get<{ version: string; kafka_cluster_id: string }>(`${url}/`, opts);
    // /connectors answers only once the worker has joined its group and read its config topic.
    await axios.get(`${url}/connectors`, opts);
    const plugins = await axios.get<Array<{ class: string }>>(`${url}/connector-plugins`, opts);
    const offered = new Set(plugins.data.map((p) => p.class));
    const missing = MM2_CONNECTORS.filter((c) => !offered.has(c));
    if (missing.length > 0) return { healthy: false, detail: `MM2 connectors missing: ${missing.join(', ')}` };
    return { healthy: true, detail: `Connect ${root.data.version}, writes to cluster ${root.data.kafka_cluster_id}, MM2 ready` };
  } catch (err) {
    return { healthy: false, detail: reason(err) };
  }
}

export async function temporalHealth(config: StackConfig): Promise<Health> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address: config.temporal.address, connectTimeout: '3s' });
    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace: config.temporal.namespace,
    });
    const missing = Object.keys(SEARCH_ATTRIBUTES).filter((k) => !(customAttributes && k in customAttributes));
    if (missing.length > 0) return { healthy: false, detail: `search attributes not registered: ${missing.join(', ')}` };
    await axios.get(config.temporal.uiUrl, { timeout: 3000 });
    return { healthy: true, detail: `namespace ${config.temporal.namespace}, UI ${config.temporal.uiUrl}` };
  } catch (err) {
    return { healthy: false, detail: reason(err) };
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

export function checkHealth(config: StackConfig, name: ComponentName): Promise<Health> {
  if (isKafkaComponent(name)) {
    const node = kafkaProcessNode(config, name);
    return kafkaHealth(node.bootstrap, config.topology === 'single' ? undefined : node.nodeId);
  }
  switch (name) {
    case 'connect-a':
    case 'connect-b':
      return connectHealth(config.connect[name].url, secureConnectRequest(config));
    case 'temporal':
      return temporalHealth(config);
  }
}
