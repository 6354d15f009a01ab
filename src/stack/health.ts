import * as https from 'node:https';
import axios, { type AxiosRequestConfig } from 'axios';
import { Kafka, logLevel } from 'kafkajs';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../model/search-attributes';
import '../kafka/compression';
import { describeQuorum, type RawQuorum } from '../kafka/raw-admin';
import { DEFAULT_VOTER_CAUGHT_UP_MS } from '../kafka/quorum-headroom';
import {
  clusterOf,
  isKafkaComponent,
  kafkaProcessNode,
  quorumVoters,
  type ComponentName,
  type KafkaProcessNode,
  type StackConfig,
} from './config';
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

/** DescribeQuorum asked of one controller on its CONTROLLER listener (KIP-919: controllers answer clients there). */
async function askController(address: string): Promise<RawQuorum> {
  const kafka = new Kafka({
    clientId: 'kafka-dr-stack-health',
    brokers: [address],
    connectionTimeout: 2000,
    requestTimeout: 5000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  return describeQuorum(kafka);
}

/**
 * A dedicated controller's health: it answers on its controller listener, and the quorum
 * leader (itself, or the voter that answers as leader) counts it as caught up. Only the
 * leader answers DescribeQuorum in full; a follower says NOT_LEADER_OR_FOLLOWER.
 */
export async function controllerHealth(node: KafkaProcessNode, voters: KafkaProcessNode[]): Promise<Health> {
  try {
    const own = await askController(node.bootstrap);
    let leader: RawQuorum | undefined = own.error === null ? own : undefined;
    for (const v of voters) {
      if (leader || v.nodeId === node.nodeId) continue;
      const q = await askController(v.bootstrap).catch(() => undefined);
      if (q && q.error === null) leader = q;
    }
    if (!leader) return { healthy: false, detail: `answers (${own.error ?? 'no leader'}), but no voter answers as the quorum leader` };
    const self = leader.voters.find((v) => v.replicaId === node.nodeId);
    const reference = leader.voters.find((v) => v.replicaId === leader.leaderId)?.lastCaughtUpTimestamp ?? Date.now();
    const caughtUp =
      self !== undefined && self.lastCaughtUpTimestamp > 0 && reference - self.lastCaughtUpTimestamp <= DEFAULT_VOTER_CAUGHT_UP_MS;
    const role = leader.leaderId === node.nodeId ? 'quorum leader' : `follower of leader ${leader.leaderId}`;
    if (!caughtUp) return { healthy: false, detail: `${role}, not caught up with the metadata log yet` };
    return {
      healthy: true,
      detail: `controller, ${role} (epoch ${leader.leaderEpoch}), ${leader.observers.length} observer(s)`,
    };
  } catch (err) {
    return { healthy: false, detail: reason(err) };
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
    if (node.roles === 'controller') return controllerHealth(node, quorumVoters(config.kafka[clusterOf(name)]));
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
