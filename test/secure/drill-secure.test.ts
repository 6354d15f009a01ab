import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectClientFor } from '../../activities/deps';
import { kafkaFailure, toFailure } from '../../src/failures';
import { KafkaClients } from '../../src/kafka/client';
import { resolveRegistry, stackRegistry, stackRegistryDocument, type Registry } from '../../src/registry/load';
import { loadStackConfig, type StackConfig } from '../../src/stack/config';
import { selfSignedCa } from '../../src/stack/secure';

/**
 * Issue 16: the secure stack end to end. A stack of its own (`stack up --secure` in its
 * own dir, on its own ports, jars from the shared cache) runs `drill --secure --json`:
 * every kafkajs client, Connect call and MM2 task over TLS, with SCRAM (cluster A) or a
 * client certificate (cluster B). Then: the connectors' stored configs hold references,
 * no secret; nothing the stack and the drill wrote holds a secret; a wrong password, an
 * untrusted CA, a missing client certificate and wrong basic auth each fail with one line
 * naming the cluster and the fix. The stack is stopped whatever happens.
 */

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
// Below the ephemeral range (32768+), apart from the shared stack's ports.
const PORTS = {
  KDR_KAFKA_A_PORT: '21092',
  KDR_KAFKA_A_CONTROLLER_PORT: '21093',
  KDR_KAFKA_B_PORT: '22092',
  KDR_KAFKA_B_CONTROLLER_PORT: '22093',
  KDR_CONNECT_A_PORT: '21083',
  KDR_CONNECT_B_PORT: '22083',
  KDR_TEMPORAL_PORT: '21233',
  KDR_TEMPORAL_UI_PORT: '21234',
  KDR_TEMPORAL_HTTP_PORT: '21243',
  KDR_TEMPORAL_METRICS_PORT: '21244',
};
const shared = loadStackConfig(process.env, REPO_ROOT);
const env: NodeJS.ProcessEnv = {
  ...process.env,
  ...PORTS,
  KDR_STACK_DIR: path.join(REPO_ROOT, '.stack-secure-test'),
  KDR_CACHE_DIR: shared.cacheDir,
  KDR_SECURE: '1',
};
// Derived from the ports above, and the Temporal the CLI talks to is this stack's own.
for (const k of ['KDR_KAFKA_B_SASL_PORT', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'KDR_REGISTRY', 'KDR_TEMPORAL_ADDRESS']) delete env[k];

function cli(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'kafka-dr'), ...args], { env, cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every file under `dir` (recursively) whose content holds one of `needles`: [file, what]. */
function filesHolding(dir: string, needles: Record<string, string>, skip: (f: string) => boolean): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.isFile() && !skip(f)) {
        const text = fs.readFileSync(f).toString('latin1');
        for (const [what, v] of Object.entries(needles)) if (text.includes(v)) hits.push(`${f}: ${what}`);
      }
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return hits;
}

describe('secure stack: drill --secure over TLS, SCRAM and mTLS', { timeout: 900_000 }, () => {
  let config: StackConfig;
  let registry: Registry;
  let upSeconds = 0;
  let passed = false;
  const reportsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-secure-drill-'));
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'kdr-secure-bad-'));

  before(async () => {
    const t0 = Date.now();
    const upResult = await cli(['stack', 'up', '--secure'], 480_000);
    upSeconds = (Date.now() - t0) / 1000;
    assert.equal(upResult.code, 0, `stack up --secure failed:\n${upResult.stderr.slice(-3000)}`);
    config = loadStackConfig(env, REPO_ROOT);
    registry = stackRegistry(config);
  });

  after(async () => {
    const down = await cli(['stack', 'down'], 180_000);
    if (down.code !== 0) console.error(`secure stack down failed: ${down.stderr}`);
    // Its generated secrets go too; a failed run keeps the dir (logs) for inspection.
    else if (passed) fs.rmSync(env.KDR_STACK_DIR!, { recursive: true, force: true });
    fs.rmSync(reportsDir, { recursive: true, force: true });
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('passes the planned drill with 0 lost; connector configs hold references, not secrets', async () => {
    const t0 = Date.now();
    const drill = await cli(['drill', '--secure', '--json', '--keep', '--reports-dir', reportsDir], 480_000);
    const drillSeconds = (Date.now() - t0) / 1000;
    assert.equal(drill.code, 0, `drill --secure failed (exit ${drill.code}):\n${drill.stderr.slice(-4000)}`);
    const report = JSON.parse(drill.stdout) as { outcome: string; produced: number; lost: number; duplicates: number };
    assert.equal(report.outcome, 'passed');
    assert.equal(report.lost, 0);
    assert.ok(report.produced > 0);
    console.log(`secure stack up ${upSeconds.toFixed(0)} s, drill ${drillSeconds.toFixed(0)} s, ${report.produced} records, 0 lost`);

    const s = config.secure!;
    const secrets: Record<string, string> = {};
    for (const f of [s.kafka.A.scramPasswordFile, s.kafka.B.scramPasswordFile, s.storePasswordFile, s.connect.passwordFile]) {
      secrets[path.basename(f)] = fs.readFileSync(f, 'utf8').trim();
    }
    // A line of the client's private key (PEM body), enough to spot the key anywhere.
    secrets['client key'] = fs.readFileSync(s.clientKeyFile, 'utf8').split('\n')[5]!;

    let secured = 0;
    for (const name of ['connect-a', 'connect-b'] as const) {
      const connect = connectClientFor(registry.connect(name));
      for (const connector of await connect.list()) {
        const cfg = (await connect.getConfig(connector))!;
        const text = JSON.stringify(cfg);
        for (const [what, v] of Object.entries(secrets)) assert.ok(!text.includes(v), `${name}/${connector} config holds ${what}`);
        for (const [k, v] of Object.entries(cfg)) {
          if (/sasl\.jaas\.config$|ssl\.keystore\.key$/.test(k)) assert.match(v, /\$\{dir:[^}]+\}/, `${connector} ${k}`);
        }
        if (Object.keys(cfg).some((k) => k.endsWith('security.protocol'))) secured++;
        await connect.delete(connector);
      }
    }
    assert.ok(secured >= 4, `${secured} connectors with TLS client settings (source, checkpoint, heartbeat, emitter expected)`);

    // Nothing the stack or the drill wrote holds a secret, outside the secrets dir itself:
    // configs, logs, Kafka's data (Connect's config topic), Temporal's SQLite (histories).
    const skip = (f: string) => f.startsWith(s.secretsDir + path.sep);
    assert.deepEqual(filesHolding(config.stackDir, secrets, skip), []);
    assert.deepEqual(
      filesHolding(reportsDir, secrets, () => false),
      [],
    );
    assert.ok(!drill.stdout.includes(secrets['connect-password']!) && !drill.stderr.includes(secrets['connect-password']!));
    passed = true;
  });

  describe('a wrong credential or trust fails in one line naming the cluster and the fix', () => {
    const broken = (edit: (doc: ReturnType<typeof stackRegistryDocument>) => void): Registry => {
      const doc = structuredClone(stackRegistryDocument(config));
      edit(doc);
      return resolveRegistry(doc, 'broken', {}, scratch);
    };
    const otherCa = () => {
      const ca = path.join(scratch, 'other-ca.pem');
      if (!fs.existsSync(ca)) {
        selfSignedCa({ keyFile: path.join(scratch, 'other-ca.key'), certFile: ca, days: '2', subject: '/CN=not the stack CA' }, scratch);
      }
      return Promise.resolve(ca);
    };
    const kafkaError = async (reg: Registry, alias: 'A' | 'B') => {
      try {
        await new KafkaClients(reg, 'kafka-dr-secure-test').withAdmin(alias, (a) => a.listTopics());
      } catch (err) {
        return kafkaFailure(err, alias, (t) => reg.redact(t));
      }
      assert.fail(`cluster ${alias} accepted the broken settings`);
    };

    it('a wrong SCRAM password', async () => {
      const wrong = path.join(scratch, 'wrong-password');
      fs.writeFileSync(wrong, 'wrong-pw-7c1d9e', { mode: 0o600 });
      const reg = broken((d) => (d.clusters.A!.sasl!.password = { file: wrong }));
      const f = await kafkaError(reg, 'A');
      assert.match(f.message, /^cluster A: SASL SCRAM SHA512 authentication failed: .*check clusters\.A\.sasl/);
      assert.equal(f.nonRetryable, true);
      assert.ok(!f.message.includes('wrong-pw-7c1d9e') && !f.message.includes('\n'));
    });

    it('a CA that did not sign the broker certificate', async () => {
      const ca = await otherCa();
      const f = await kafkaError(
        broken((d) => (d.clusters.A!.tls!.caFile = ca)),
        'A',
      );
      assert.match(f.message, /^cluster A: the broker's TLS certificate is not trusted \(.+\): set clusters\.A\.tls\.caFile/);
      assert.equal(f.nonRetryable, true);
    });

    it('no client certificate on the mTLS listener', async () => {
      const f = await kafkaError(
        broken((d) => {
          delete d.clusters.B!.tls!.certFile;
          delete d.clusters.B!.tls!.keyFile;
        }),
        'B',
      );
      assert.match(f.message, /^cluster B: the broker refused the TLS client certificate/);
      assert.ok(!f.message.includes('\n'));
    });

    it('Connect: an untrusted CA and a wrong basic-auth password', async () => {
      const ca = await otherCa();
      const untrusted = broken((d) => (d.connect['connect-b']!.tls!.caFile = ca));
      const e1 = await connectClientFor(untrusted.connect('connect-b'))
        .list()
        .then(
          () => assert.fail('connect-b trusted another CA'),
          (err: unknown) => toFailure(err),
        );
      assert.match(e1.message, /Connect cluster connect-b: its TLS certificate is not trusted .*set connect\.connect-b\.tls\.caFile/);
      const wrong = path.join(scratch, 'wrong-connect-password');
      fs.writeFileSync(wrong, 'wrong-basic-4b2a', { mode: 0o600 });
      const badAuth = broken((d) => (d.connect['connect-b']!.basicAuth!.password = { file: wrong }));
      const e2 = await connectClientFor(badAuth.connect('connect-b'))
        .list()
        .then(
          () => assert.fail('connect-b accepted a wrong password'),
          (err: unknown) => toFailure(err),
        );
      assert.match(e2.message, /HTTP 401.*connect-b.*check connect\.connect-b\.basicAuth/);
      assert.ok(!e2.message.includes('wrong-basic-4b2a'));
      assert.equal(e2.nonRetryable, true);
    });
  });
});
