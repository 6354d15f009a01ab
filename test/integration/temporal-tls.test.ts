import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { stackRegistry } from '../../src/registry/load';
import { loadTemporalSettings } from '../../src/temporal/connection';
import { createWorker } from '../../workers/main';
import { CLI_ENTRY, runCli } from '../helpers/cli';
import { quietSdkLogs } from '../helpers/faults';
import { stack, uniqueId } from '../helpers/stack';
import { startTemporalTlsProxy, testPki, type TemporalTlsProxy, type TestPki } from '../helpers/temporal-tls-proxy';

/**
 * Temporal over mTLS and with an API key, on the real dev server behind a local TLS proxy
 * (test/helpers/temporal-tls-proxy.ts): a kafka-dr worker (createWorker, with the settings
 * the loader reads from TEMPORAL_* variables) and the CLI (a TOML profile with --profile
 * for mTLS, TEMPORAL_* variables for the API key) run a failover dry run on the real clusters through the proxy, which is the only way
 * to the server they are given. Then the operator's mistakes: no client certificate, the
 * wrong CA, the wrong API key, a missing key file, each a one-line error naming the
 * setting, from the CLI and from `kafka-dr worker`, never with the key.
 */

describe('Temporal over mTLS and API keys (TLS proxy in front of the dev server)', { timeout: 600_000 }, () => {
  let pki: TestPki;
  let mtls: TemporalTlsProxy;
  let keyProxy: TemporalTlsProxy;
  const apiKey = `kdr-test-${randomBytes(12).toString('hex')}`;
  let direct: Connection;

  // The caller's environment without any TEMPORAL_* (a developer's own settings must not leak in).
  const baseEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_')));
  const mtlsEnv = () => ({
    TEMPORAL_ADDRESS: mtls.address,
    TEMPORAL_NAMESPACE: stack.temporal.namespace,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
    TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey,
    // The certificate names localhost and 127.0.0.1; the name also keeps grpc-js from sending an IP as SNI.
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
  });
  const mtlsProfileFile = () => {
    const file = path.join(pki.dir, 'temporal.toml');
    fs.writeFileSync(
      file,
      `[profile.via-proxy]\naddress = "${mtls.address}"\nnamespace = "${stack.temporal.namespace}"\n\n[profile.via-proxy.tls]\n` +
        `server_name = "localhost"\nserver_ca_cert_path = "${pki.caCert}"\nclient_cert_path = "${pki.clientCert}"\nclient_key_path = "${pki.clientKey}"\n`,
    );
    return file;
  };
  const keyEnv = () => ({
    TEMPORAL_ADDRESS: keyProxy.address,
    TEMPORAL_NAMESPACE: stack.temporal.namespace,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
    TEMPORAL_API_KEY: apiKey,
  });

  before(async () => {
    quietSdkLogs();
    pki = testPki();
    mtls = await startTemporalTlsProxy({ mode: 'mtls', pki, upstream: stack.temporal.address });
    keyProxy = await startTemporalTlsProxy({ mode: 'api-key', pki, upstream: stack.temporal.address, apiKey });
    direct = await Connection.connect({ address: stack.temporal.address });
  });

  after(async () => {
    await direct?.close();
    await mtls?.close();
    await keyProxy?.close();
    pki?.remove();
  });

  for (const mode of ['mtls', 'api-key'] as const) {
    it(`${mode}: a worker and the CLI complete a failover dry run through the proxy`, async () => {
      const proxy = mode === 'mtls' ? mtls : keyProxy;
      const env = { ...baseEnv(), ...(mode === 'mtls' ? mtlsEnv() : keyEnv()) };
      const settings = loadTemporalSettings(env, {}, () => ({ address: stack.temporal.address, namespace: stack.temporal.namespace }));
      assert.equal(settings.address, proxy.address);
      assert.equal(settings.summary.tls, mode === 'mtls' ? 'mtls' : 'tls');

      const taskQueue = `kafka-dr-tls-${mode}-${uniqueId()}`;
      const identity = `tls-test-worker-${taskQueue}`;
      const workflowId = `kafka-dr-tls-${mode}-${uniqueId()}`;
      const forwardedBefore = proxy.stats.forwarded;
      const refusedBefore = proxy.stats.refused;
      const { worker, connection } = await createWorker({ ...settings, registry: stackRegistry(stack), taskQueue, identity });
      // mtls: the CLI reads a TOML profile (the worker the variables), so both ways reach a real TLS server.
      const cliEnv = mode === 'mtls' ? { ...baseEnv(), TEMPORAL_CONFIG_FILE: mtlsProfileFile() } : env;
      const profileFlag = mode === 'mtls' ? ['--profile', 'via-proxy'] : [];
      let run;
      try {
        run = await worker.runUntil(
          runCli(
            [
              ...profileFlag,
              '--task-queue',
              taskQueue,
              'failover',
              '--source',
              'A',
              '--target',
              'B',
              '--mode',
              'unplanned',
              '--connect',
              'connect-b',
              '--connectors',
              `mm2-tls-${mode}-source`,
              '--source-connectors',
              `mm2-tls-${mode}-source`,
              '--topics',
              `tls-${mode}`,
              '--groups',
              `tls-${mode}-group`,
              '--requested-by',
              'tls-test',
              '--dry-run',
              '--wait',
              '--json',
              '--id',
              workflowId,
            ],
            { env: cliEnv },
          ),
        );
      } finally {
        await connection.close();
      }
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout) as {
        workflowId: string;
        outcome: string;
        figures: { dryRun: boolean; sourceReachable?: boolean };
      };
      assert.equal(report.workflowId, workflowId);
      assert.equal(report.outcome, 'completed');
      assert.equal(report.figures.dryRun, true);
      assert.equal(report.figures.sourceReachable, true, 'the worker reached cluster A: its activities ran');
      assert.ok(proxy.stats.forwarded > forwardedBefore, 'the calls went through the proxy');
      assert.equal(proxy.stats.refused, refusedBefore, 'nothing refused');

      // Seen from the dev server directly: our worker (behind the proxy) ran every activity; no secret in the history.
      const history = await new Client({ connection: direct, namespace: stack.temporal.namespace }).workflow
        .getHandle(workflowId)
        .fetchHistory();
      const starts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
      assert.ok(starts.length >= 2, `activities ran (${starts.length})`);
      assert.ok(
        starts.every((e) => e.activityTaskStartedEventAttributes!.identity === identity),
        'run by the worker behind the proxy',
      );
      const text = JSON.stringify(history);
      assert.ok(!text.includes(apiKey), 'no API key in the history');
      assert.ok(!text.includes('PRIVATE KEY'), 'no key in the history');
    });
  }

  /** The operator's mistakes, each as [name, env, expected line]. */
  const mistakes = (): Array<[string, NodeJS.ProcessEnv, RegExp, number]> => {
    const { TEMPORAL_TLS_CLIENT_CERT_PATH: _c, TEMPORAL_TLS_CLIENT_KEY_PATH: _k, ...noClientCert } = mtlsEnv();
    const at = (p: TemporalTlsProxy) => `Temporal at ${p.address.replace(/\./g, '\\.')} \\(namespace ${stack.temporal.namespace}\\)`;
    return [
      [
        'no client certificate (mTLS)',
        noClientCert,
        new RegExp(
          `^kafka-dr: ${at(mtls)}: the server requires a client certificate \\(mTLS\\): set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH`,
        ),
        5,
      ],
      [
        'the wrong CA',
        { ...mtlsEnv(), TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.otherCaCert },
        new RegExp(
          `^kafka-dr: ${at(mtls)}: the server's TLS certificate is not signed by the CA in TEMPORAL_TLS_SERVER_CA_CERT_PATH=${pki.otherCaCert}: point TEMPORAL_TLS_SERVER_CA_CERT_PATH at the CA that signed it$`,
        ),
        5,
      ],
      [
        'a client certificate from another CA',
        { ...mtlsEnv(), TEMPORAL_TLS_CLIENT_CERT_PATH: pki.strangerCert, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.strangerKey },
        new RegExp(
          `^kafka-dr: ${at(mtls)}: the server refused the client certificate in TEMPORAL_TLS_CLIENT_CERT_PATH=${pki.strangerCert}: it is not signed by a CA the server trusts`,
        ),
        5,
      ],
      [
        'the wrong API key',
        { ...keyEnv(), TEMPORAL_API_KEY: `${apiKey}-wrong` },
        new RegExp(`^kafka-dr: ${at(keyProxy)} rejected the API key from TEMPORAL_API_KEY \\(unauthenticated\\)`),
        5,
      ],
      [
        'no API key',
        { ...keyEnv(), TEMPORAL_API_KEY: '', TEMPORAL_TLS: 'true' },
        new RegExp(`^kafka-dr: ${at(keyProxy)} requires credentials \\(unauthenticated\\): set TEMPORAL_API_KEY`),
        5,
      ],
      [
        'a missing key file',
        { ...mtlsEnv(), TEMPORAL_TLS_CLIENT_KEY_PATH: path.join(pki.dir, 'missing.key') },
        new RegExp(
          `^kafka-dr: TEMPORAL_TLS_CLIENT_KEY_PATH=${path.join(pki.dir, 'missing.key')}: cannot read the client key: no such file$`,
        ),
        2,
      ],
    ];
  };

  const assertOneLine = (stderr: string, pattern: RegExp, what: string) => {
    // grpc-js may warn on stderr (a Node deprecation line); ours is the kafka-dr: line, and only one.
    const lines = stderr.split('\n').filter((l) => l.startsWith('kafka-dr: '));
    assert.equal(lines.length, 1, `${what}: one kafka-dr line in ${JSON.stringify(stderr)}`);
    assert.match(lines[0]!, pattern, what);
    assert.ok(!stderr.includes(apiKey), `${what}: no API key on stderr`);
    assert.ok(!stderr.includes('PRIVATE KEY'), `${what}: no key on stderr`);
  };

  it('the CLI: each mistake is one line naming what to fix (exit 5 when the server refuses, 2 for a bad file)', async () => {
    for (const [what, env, pattern, code] of mistakes()) {
      const run = await runCli(['list'], { env: { ...baseEnv(), ...env } });
      assert.equal(run.code, code, `${what}: ${run.stderr}`);
      assertOneLine(run.stderr, pattern, what);
    }
  });

  it('kafka-dr worker: the same mistakes stop it at start with the same line', async () => {
    const runs = mistakes().map(async ([what, env, pattern, code]) => {
      // KDR_WORKER_METRICS_PORT=0: no metrics endpoint, so these workers never contend for a port.
      const child = spawn(process.execPath, [CLI_ENTRY, 'worker'], {
        env: { ...baseEnv(), KDR_WORKER_METRICS_PORT: '0', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
      const exit = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
      clearTimeout(timer);
      assert.equal(exit, code, `${what}: ${stderr}`);
      assertOneLine(stderr, pattern, `worker, ${what}`);
    });
    await Promise.all(runs);
  });
});
