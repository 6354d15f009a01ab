import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import axios from 'axios';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { startPlaybook } from '../../src/client/playbooks';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from '../../src/hooks/signature';
import type { PlaybookStatus } from '../../src/model/gates';
import { decideUpdate, statusQuery } from '../../workflows/framework';
import { startAuthConnect, type AuthConnect } from '../helpers/auth-connect';
import { freePort } from '../helpers/ports';
import { gateOpen } from '../helpers/playbook';
import { eventually, kafka, REPO_ROOT, stack, uniqueId } from '../helpers/stack';

/**
 * Issue 6, item 8: secrets. Cluster B is reached through its SASL_PLAINTEXT listener
 * (PLAIN, the password in the stack's secrets file), the Connect cluster running the
 * flow has HTTP basic auth (a worker of its own, started here), and the webhooks
 * (escalation notice, cutover hooks) sign with an HMAC secret and send a bearer token.
 * The production worker (the CLI's `worker`, a child process) resolves all four from a
 * registry of `{file}`/`{env}` refs, and runs deploy-replication (gate with escalation),
 * audit-drift and a planned failover (three gates with hooks) through them.
 *
 * Then every place kafka-dr writes to is scanned for each secret value (and the basic
 * auth header's base64): every workflow history (payloads decoded), the worker's
 * stdout/stderr at DEBUG, heartbeat details and last failures of pending activities
 * (polled while the playbooks ran), every status query result and report, the Temporal
 * dev server's SQLite files, and the stack's log files (brokers, connect-a/-b,
 * Temporal) from the point the test started. Connect's own log of the worker that runs
 * the connectors is scanned and reported separately: what Connect logs is Connect's
 * behaviour, not ours.
 */

const id = uniqueId().replace(/-/g, '');
const TOPIC = `sec-orders-${id}`;
const GROUP = `sec-billing-${id}`;
const FLOW = `sec-flow-${id}`;
const CONNECT = 'connect-auth';
const AUTH_WORKER = `connect-auth-${id}`;
const SOURCE = `${FLOW}-source-orders`;
const CONNECTORS = [SOURCE, `${FLOW}-checkpoint`, `${FLOW}-heartbeat`];
/** deploy-replication's heartbeat emitter, on connect-a (the registry's Connect cluster writing to A). */
const EMITTER = `${FLOW}-heartbeat-emitter`;

const CONNECT_USER = 'kdr-connect';
const secrets: Record<string, string> = {
  'Connect basic auth password': `cp-${randomBytes(18).toString('base64url')}`,
  'webhook HMAC secret': `hs-${randomBytes(18).toString('base64url')}`,
  'webhook bearer token': `ht-${randomBytes(18).toString('base64url')}`,
};

/**
 * Every string in `value`, with every bytes field (payload data) decoded as UTF-8, so a
 * secret inside a payload shows. Walks the object itself: protobuf messages' toJSON
 * would turn the bytes into base64 and hide it.
 */
function toText(value: unknown): string {
  const out: string[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (v === null || v === undefined) return;
    if (typeof v === 'string') out.push(v);
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') out.push(String(v));
    else if (v instanceof Uint8Array) out.push(Buffer.from(v).toString('utf8'));
    else if (typeof v === 'object') {
      if (seen.has(v)) return;
      seen.add(v);
      if (Array.isArray(v)) v.forEach(walk);
      else
        for (const [k, x] of Object.entries(v)) {
          out.push(k);
          walk(x);
        }
    }
  };
  walk(value);
  return out.join('\n');
}

describe('secrets: no credential reaches history, logs, heartbeats or query results (issue 6.8)', { timeout: 900_000 }, () => {
  let authConnect: AuthConnect | undefined;
  let worker: ChildProcess | undefined;
  let workerOutput = '';
  let receiver: http.Server | undefined;
  const received: Array<{ url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  let connection: Connection;
  let client: Client;
  const started: WorkflowHandle[] = [];
  /** Heartbeat details, last failures and query results gathered while the playbooks ran. */
  const observed: Array<{ what: string; text: string }> = [];
  const logOffsets = new Map<string, number>();
  let registryDir: string;
  let wrongRegistryFile: string;

  /** The production worker, as an operator runs it (the CLI's `worker`), at DEBUG; its output is kept. */
  async function startWorker(registryFile: string, env: Record<string, string>): Promise<void> {
    const cli = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');
    const child = spawn(process.execPath, ['-e', `require(${JSON.stringify(cli)}).run()`, 'kafka-dr', 'worker'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        KDR_REGISTRY: registryFile,
        KDR_WORKER_LOG_LEVEL: 'DEBUG',
        KDR_WORKER_METRICS_PORT: '0',
        KDR_WORKER_RUNNING_POLL_SECONDS: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker = child;
    const startAt = workerOutput.length;
    child.stdout!.on('data', (d: Buffer) => (workerOutput += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (workerOutput += d.toString()));
    await eventually(
      'the worker started',
      async () => {
        if (child.exitCode !== null) throw new Error(`worker exited ${child.exitCode}: ${workerOutput.slice(startAt)}`);
        return /worker started/.test(workerOutput.slice(startAt)) ? true : undefined;
      },
      120_000,
      250,
    );
  }

  async function stopWorker(): Promise<void> {
    const child = worker;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }

  /** Each secret value and the forms it could take on the wire (basic auth base64). */
  const needles = (): Array<{ name: string; value: string }> => {
    const list = Object.entries(secrets).map(([name, value]) => ({ name, value }));
    const basic = Buffer.from(`${CONNECT_USER}:${secrets['Connect basic auth password']!}`).toString('base64');
    list.push({ name: 'Connect Authorization header (base64)', value: basic });
    return list;
  };
  const found = (text: string) =>
    needles()
      .filter((n) => text.includes(n.value))
      .map((n) => n.name);

  before(async () => {
    assert.ok(stack.kafka.B.sasl, 'the stack has a SASL listener on B');
    secrets['Kafka B SASL password'] = fs.readFileSync(stack.kafka.B.sasl.passwordFile, 'utf8');
    assert.ok(secrets['Kafka B SASL password']!.length >= 16);
    // The stack's log files as of now: only what is written during the test is scanned.
    for (const f of fs.readdirSync(stack.logDir)) logOffsets.set(f, fs.statSync(path.join(stack.logDir, f)).size);

    // Webhook receiver: checks the signature with the HMAC secret, answers 200.
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push({ url: req.url ?? '', headers: req.headers, body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    const hookPort = await freePort();
    await new Promise<void>((r) => receiver!.listen(hookPort, '127.0.0.1', r));

    authConnect = await startAuthConnect(AUTH_WORKER, CONNECT_USER, secrets['Connect basic auth password']!);
    const unauthenticated = await axios.get(`${authConnect.url}/connectors`, { validateStatus: () => true });
    assert.equal(unauthenticated.status, 401, 'the Connect worker refuses requests without credentials');

    // Fixture: a topic with records and a group with committed offsets on A.
    const admin = kafka('A').admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    const producer = kafka('A').producer();
    await producer.connect();
    await producer.send({ topic: TOPIC, messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    await producer.disconnect();
    await admin.setOffsets({ groupId: GROUP, topic: TOPIC, partitions: [{ partition: 0, offset: '15' }] });
    await admin.disconnect();

    registryDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-secrets-'));
    const webhook = (pathName: string) => ({
      kind: 'webhook',
      url: `http://127.0.0.1:${hookPort}/${pathName}`,
      secret: { env: 'KDR_TEST_HOOK_SECRET' },
      headers: { Authorization: { env: 'KDR_TEST_HOOK_TOKEN' } },
    });
    const registry = {
      clusters: {
        A: { bootstrapServers: [stack.kafka.A.bootstrap] },
        B: {
          bootstrapServers: [stack.kafka.B.sasl.bootstrap],
          sasl: { mechanism: 'plain', username: stack.kafka.B.sasl.username, password: { file: stack.kafka.B.sasl.passwordFile } },
        },
      },
      connect: {
        'connect-a': { url: stack.connect['connect-a'].url, writesTo: 'A' },
        [CONNECT]: {
          url: authConnect.url,
          writesTo: 'B',
          basicAuth: { username: CONNECT_USER, password: { env: 'KDR_TEST_CONNECT_PASSWORD' } },
        },
      },
      hooks: { 'stop-producers': webhook('cutover'), 'consumers-cutover': webhook('cutover'), 'producers-cutover': webhook('cutover') },
      notifications: { escalation: webhook('escalation') },
    };
    const registryFile = path.join(registryDir, 'registry.json');
    fs.writeFileSync(registryFile, JSON.stringify(registry, null, 2), { mode: 0o600 });
    assert.deepEqual(found(fs.readFileSync(registryFile, 'utf8')), [], 'the registry file holds references only');

    // The same registry with B's password from the environment: the wrong-credentials case sets a wrong one.
    const wrong = structuredClone(registry);
    wrong.clusters.B.sasl.password = { env: 'KDR_TEST_SASL_PASSWORD' } as never;
    wrongRegistryFile = path.join(registryDir, 'registry-wrong.json');
    fs.writeFileSync(wrongRegistryFile, JSON.stringify(wrong, null, 2), { mode: 0o600 });

    await startWorker(registryFile, {
      KDR_TEST_CONNECT_PASSWORD: secrets['Connect basic auth password']!,
      KDR_TEST_HOOK_SECRET: secrets['webhook HMAC secret']!,
      KDR_TEST_HOOK_TOKEN: `Bearer ${secrets['webhook bearer token']!}`,
    });

    connection = await Connection.connect({ address: stack.temporal.address });
    client = new Client({ connection, namespace: stack.temporal.namespace });
  });

  after(async () => {
    if (authConnect) {
      const auth = { username: CONNECT_USER, password: secrets['Connect basic auth password']! };
      for (const name of CONNECTORS)
        await axios.delete(`${authConnect.url}/connectors/${name}`, { auth, validateStatus: () => true }).catch(() => undefined);
      await axios.delete(`${stack.connect['connect-a'].url}/connectors/${EMITTER}`, { validateStatus: () => true }).catch(() => undefined);
      await authConnect.stop();
    }
    await stopWorker();
    await new Promise((r) => (receiver ? receiver.close(r) : r(undefined)));
    await connection?.close();
    if (registryDir) fs.rmSync(registryDir, { recursive: true, force: true });
  });

  /** Polls describe() while `h` runs: pending activities' heartbeat details and last failures. */
  function watch(h: WorkflowHandle): () => Promise<void> {
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        try {
          const d = await h.describe();
          for (const p of d.raw.pendingActivities ?? []) {
            observed.push({
              what: `pending activity ${p.activityType?.name ?? '?'} of ${h.workflowId}`,
              text: toText({ heartbeat: p.heartbeatDetails, lastFailure: p.lastFailure }),
            });
          }
        } catch {
          // closed or not yet visible
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    return async () => {
      stop = true;
      await loop;
    };
  }

  async function queryStatus(h: WorkflowHandle, what: string): Promise<PlaybookStatus> {
    const s = await h.query(statusQuery);
    observed.push({ what: `status query ${what} (${h.workflowId})`, text: JSON.stringify(s) });
    return s;
  }

  const approve = async (h: WorkflowHandle, gate: string) => {
    await gateOpen(h, gate);
    await queryStatus(h, `at gate ${gate}`);
    const record = await h.executeUpdate(decideUpdate, { args: [{ gate, decision: 'approve', by: 'bob', comment: 'ok' }] });
    observed.push({ what: `decide update answer ${gate}`, text: JSON.stringify(record) });
  };

  it('deploy-replication through SASL (B) and basic auth (Connect), gate with an escalation webhook: completes', async () => {
    const { handle } = await startPlaybook(
      client,
      'deploy-replication',
      {
        plan: {
          source: 'A',
          target: 'B',
          connect: CONNECT,
          name: FLOW,
          policy: { type: 'default' },
          topicGroups: [{ name: 'orders', topics: [TOPIC] }],
          groups: [GROUP],
          replicationFactor: 1,
          intervals: { refreshTopicsSeconds: 5, refreshGroupsSeconds: 5, emitCheckpointsSeconds: 1 },
        },
        requestedBy: 'alice',
        gate: { approvers: ['bob'], deadline: '10m', escalateAfter: '1s' },
        waitSeconds: 180,
      },
      { workflowId: `secrets-deploy-${id}` },
    );
    started.push(handle);
    const unwatch = watch(handle);
    try {
      await gateOpen(handle, 'deploy');
      // The escalation notice arrives signed with the HMAC secret and carrying the token.
      const notice = await eventually('escalation webhook', async () => received.find((r) => r.url === '/escalation'), 60_000, 200);
      assert.equal(notice.headers.authorization, `Bearer ${secrets['webhook bearer token']!}`);
      const check = verify(secrets['webhook HMAC secret']!, {
        body: notice.body,
        signature: notice.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined,
        timestamp: notice.headers[TIMESTAMP_HEADER.toLowerCase()] as string | undefined,
      });
      assert.deepEqual(check, { ok: true });
      await approve(handle, 'deploy');
      const report = await handle.result();
      observed.push({ what: 'deploy report', text: JSON.stringify(report) });
      assert.equal(report.outcome, 'completed');
      assert.deepEqual([...(report.figures.created as string[])].sort(), [...CONNECTORS, EMITTER].sort());
    } finally {
      await unwatch();
    }
    // Known Connect behaviour, pinned: its config endpoint returns the MM2 connector's JAAS line in plain text.
    const config = await axios.get<Record<string, string>>(`${authConnect!.url}/connectors/${SOURCE}/config`, {
      auth: { username: CONNECT_USER, password: secrets['Connect basic auth password']! },
    });
    const jaas = config.data['target.cluster.sasl.jaas.config'] ?? '';
    console.log(
      `Connect GET /connectors/${SOURCE}/config returns the SASL password in plain text: ${jaas.includes(secrets['Kafka B SASL password']!)}`,
    );
  });

  it('audit-drift reads the flow through both credentials (connector configs included): completes', async () => {
    const { handle } = await startPlaybook(
      client,
      'audit-drift',
      {
        flows: [
          { source: 'A', target: 'B', connect: CONNECT, connectors: [SOURCE], otherConnectors: CONNECTORS.slice(1), topics: [TOPIC] },
        ],
        requestedBy: 'alice',
      },
      { workflowId: `secrets-audit-${id}` },
    );
    started.push(handle);
    const unwatch = watch(handle);
    try {
      const report = await handle.result();
      observed.push({ what: 'audit report', text: JSON.stringify(report) });
      assert.equal(report.outcome, 'completed');
      await queryStatus(handle, 'after completion');
    } finally {
      await unwatch();
    }
  });

  it('a planned failover through both credentials, three gates each followed by a signed cutover hook: completes', async () => {
    // Let MM2 copy the records and emit a checkpoint for the group first.
    await eventually(
      'records mirrored on B',
      async () => {
        const admin = kafka('B').admin();
        await admin.connect();
        try {
          const offsets = await admin.fetchTopicOffsets(`A.${TOPIC}`);
          return offsets.every((o) => o.high === '20') ? true : undefined;
        } finally {
          await admin.disconnect();
        }
      },
      120_000,
      1000,
    );
    const gate = { approvers: ['bob'], deadline: '10m' };
    const { handle } = await startPlaybook(
      client,
      'failover',
      {
        source: 'A',
        target: 'B',
        mode: 'planned',
        forward: { connect: CONNECT, connectors: CONNECTORS, sourceConnectors: [SOURCE] },
        topics: [TOPIC],
        groups: [GROUP],
        requestedBy: 'alice',
        gates: { 'stop-producers': gate, 'consumers-cutover': gate, 'producers-cutover': gate },
        quietSeconds: 2,
      },
      { workflowId: `secrets-failover-${id}` },
    );
    started.push(handle);
    const unwatch = watch(handle);
    try {
      for (const g of ['stop-producers', 'consumers-cutover', 'producers-cutover']) await approve(handle, g);
      const report = await handle.result();
      observed.push({ what: 'failover report', text: JSON.stringify(report) });
      assert.equal(report.outcome, 'completed', report.reason ?? '');
      await queryStatus(handle, 'after completion');
    } finally {
      await unwatch();
    }
    // One signed webhook per hook step the playbook ran. (Until the failover passes its
    // cutover direction to the framework, it runs none, and only the escalation notice
    // above carries the HMAC secret and the token.)
    const hookSteps = (await handle.query(statusQuery)).steps.filter((st) => st.name.startsWith('hook:'));
    const hooks = received.filter((r) => r.url === '/cutover');
    console.log(`failover ran ${hookSteps.length} cutover hook step(s); the receiver got ${hooks.length} signed cutover webhook(s)`);
    assert.equal(hooks.length, hookSteps.length, 'one signed cutover webhook per hook step');
    for (const r of hooks) {
      const ok = verify(secrets['webhook HMAC secret']!, {
        body: r.body,
        signature: r.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined,
        timestamp: r.headers[TIMESTAMP_HEADER.toLowerCase()] as string | undefined,
      });
      assert.deepEqual(ok, { ok: true });
    }
  });

  it('wrong credentials (B SASL password, Connect basic auth): the audit reports the refusals without echoing either password', async () => {
    await stopWorker();
    // Mistyped passwords are often close to real ones: they must not leak either.
    secrets['wrong SASL password'] = `ws-${randomBytes(18).toString('base64url')}`;
    secrets['wrong Connect password'] = `wc-${randomBytes(18).toString('base64url')}`;
    await startWorker(wrongRegistryFile, {
      KDR_TEST_SASL_PASSWORD: secrets['wrong SASL password']!,
      KDR_TEST_CONNECT_PASSWORD: secrets['wrong Connect password']!,
      KDR_TEST_HOOK_SECRET: secrets['webhook HMAC secret']!,
      KDR_TEST_HOOK_TOKEN: `Bearer ${secrets['webhook bearer token']!}`,
    });
    const { handle } = await startPlaybook(
      client,
      'audit-drift',
      {
        flows: [{ source: 'A', target: 'B', connect: CONNECT, connectors: [SOURCE], topics: [TOPIC] }],
        requestedBy: 'alice',
      },
      { workflowId: `secrets-audit-wrong-${id}` },
    );
    started.push(handle);
    const unwatch = watch(handle);
    let outcome: string;
    try {
      outcome = await handle.result().then(
        (r) => JSON.stringify(r),
        (e: unknown) => {
          const chain: string[] = [];
          for (let x: unknown = e; x instanceof Error; x = x.cause) chain.push(`${x.name}: ${x.message}`);
          return chain.join(' <- ');
        },
      );
    } finally {
      await unwatch();
    }
    observed.push({ what: 'audit with wrong credentials: report or failure', text: outcome });
    const refusals = outcome.match(/[^"]{0,120}(401|Unauthorized|[Aa]uthentication)[^"]{0,120}/g) ?? [];
    console.log(`audit with wrong credentials: ${refusals.slice(0, 4).join(' | ')}`);
    assert.ok(refusals.length > 0, `the refusal is reported: ${outcome.slice(0, 2000)}`);
  });

  it('scan: no secret value in any history, worker log, heartbeat, failure, query result, Temporal DB or stack log', async () => {
    assert.equal(started.length, 4);
    const report: string[] = [];
    const leaks: string[] = [];
    const scan = (what: string, text: string, ours = true) => {
      const hits = found(text);
      report.push(`${what}: ${text.length} chars${hits.length ? `, FOUND ${hits.join(', ')}` : ', clean'}`);
      if (ours && hits.length) leaks.push(`${what}: ${hits.join(', ')}`);
    };
    for (const h of started) {
      const history = await h.fetchHistory();
      const text = toText(history);
      // A sanity check that the decoding works: the input's topic is in the decoded history.
      assert.ok(text.includes(TOPIC), `history of ${h.workflowId} decoded`);
      scan(`history ${h.workflowId} (${history.events?.length ?? 0} events)`, text);
      scan(`describe ${h.workflowId}`, toText((await h.describe()).raw));
    }
    assert.ok(
      observed.some((o) => o.what.startsWith('pending activity')),
      'pending activities were seen while the playbooks ran',
    );
    for (const o of observed) scan(o.what, o.text);
    scan('worker stdout+stderr (DEBUG)', workerOutput);
    assert.ok(workerOutput.length > 1000, 'the worker logged');
    const temporalDir = path.join(stack.dataDir, 'temporal');
    for (const f of fs.readdirSync(temporalDir).filter((n) => n.startsWith('temporal.sqlite'))) {
      const db = fs.readFileSync(path.join(temporalDir, f)).toString('latin1');
      // Payloads are stored uncompressed: the inputs' plain strings are findable there.
      if (f === 'temporal.sqlite') assert.ok(db.includes(TOPIC), 'the SQLite search sees payload strings');
      scan(`Temporal SQLite ${f}`, db);
    }
    for (const f of fs.readdirSync(stack.logDir)) {
      const file = path.join(stack.logDir, f);
      const from = logOffsets.get(f) ?? 0;
      const fd = fs.openSync(file, 'r');
      const size = fs.fstatSync(fd).size;
      const buf = Buffer.alloc(Math.max(0, size - from));
      fs.readSync(fd, buf, 0, buf.length, from);
      fs.closeSync(fd);
      // The Connect worker that runs the connectors is Connect's own output: reported, not asserted.
      scan(`stack log ${f} (written during the test)`, buf.toString('utf8'), f !== `${AUTH_WORKER}.log`);
    }
    console.log(`secrets scan:\n  ${report.join('\n  ')}`);
    assert.deepEqual(leaks, []);
  });
});
