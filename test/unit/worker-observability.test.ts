import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLogLine, jsonLinesLogger } from '../../src/logging/json-lines';
import { lagSamples } from '../../src/metrics/lag';
import { DEFAULT_METRICS_PORT, workerSettings, WorkerSettingsError } from '../../src/metrics/worker-settings';
import type { LagReport } from '../../src/offsets/lag';
import { Secret } from '../../src/registry/secret';

const report: LagReport = {
  source: 'A',
  partitions: [
    { topic: 'orders', partition: 0, end: '100', committed: '89', lag: '10', state: 'behind' },
    { topic: 'orders', partition: 1, end: '50', committed: '44', lag: '5', state: 'behind' },
    { topic: 'payments', partition: 0, end: '7', committed: '6', lag: '0', state: 'caught-up' },
    { topic: 'ledger', partition: 0, end: '3', committed: '9', lag: null, state: 'anomaly' },
  ],
  total: '15',
  maxLag: '10',
  anomalies: 1,
  drained: false,
  missingTopics: [],
  measuredAt: '2026-11-22T08:00:00.000Z',
};

describe('replication lag gauge samples', () => {
  it('sums measured partition lags per source topic; an anomalous topic reads 0, not a bogus number', () => {
    assert.deepEqual(lagSamples(report), [
      { value: 15, tags: { source: 'A', topic: 'orders' } },
      { value: 0, tags: { source: 'A', topic: 'payments' } },
      { value: 0, tags: { source: 'A', topic: 'ledger' } },
    ]);
  });

  it('reads the report inside a drain result, and nothing from other results', () => {
    assert.equal(lagSamples({ polls: 3, report }).length, 3);
    assert.deepEqual(lagSamples({ stopped: ['x'] }), []);
    assert.deepEqual(lagSamples('ok'), []);
    assert.deepEqual(lagSamples(undefined), []);
  });
});

describe('worker settings from the environment', () => {
  it('defaults: metrics on loopback at the default port, 30 s grace, INFO', () => {
    const s = workerSettings({});
    assert.deepEqual(s.metrics, { host: '127.0.0.1', port: DEFAULT_METRICS_PORT, bindAddress: `127.0.0.1:${DEFAULT_METRICS_PORT}` });
    assert.equal(s.shutdownGraceMs, 30_000);
    assert.equal(s.logLevel, 'INFO');
    assert.equal(s.runningPollMs, 15_000);
    // Not one of the local stack's ports.
    assert.ok(![7233, 7243, 7244, 8233, 18083, 19092, 19093, 28083, 29092, 29093].includes(DEFAULT_METRICS_PORT));
  });

  it('port 0 turns the endpoint off; an IPv6 host is bracketed', () => {
    assert.equal(workerSettings({ KDR_WORKER_METRICS_PORT: '0' }).metrics, null);
    assert.equal(workerSettings({ KDR_WORKER_METRICS_HOST: '::1', KDR_WORKER_METRICS_PORT: '9500' }).metrics?.bindAddress, '[::1]:9500');
  });

  it('a bad value names the variable and the reason', () => {
    const refused = (env: NodeJS.ProcessEnv, variable: string, reason: RegExp) =>
      assert.throws(
        () => workerSettings(env),
        (e: unknown) =>
          e instanceof WorkerSettingsError && e.variable === variable && reason.test(e.reason) && e.message.startsWith(`${variable}: `),
      );
    refused({ KDR_WORKER_METRICS_PORT: 'http' }, 'KDR_WORKER_METRICS_PORT', /whole number/);
    refused({ KDR_WORKER_METRICS_PORT: '70000' }, 'KDR_WORKER_METRICS_PORT', /at most 65535/);
    refused({ KDR_WORKER_SHUTDOWN_GRACE_SECONDS: '-1' }, 'KDR_WORKER_SHUTDOWN_GRACE_SECONDS', /whole number/);
    refused({ KDR_WORKER_LOG_LEVEL: 'LOUD' }, 'KDR_WORKER_LOG_LEVEL', /TRACE, DEBUG, INFO, WARN or ERROR/);
    refused({ KDR_WORKER_METRICS_HOST: 'a host' }, 'KDR_WORKER_METRICS_HOST', /host name or IP/);
  });
});

describe('JSON-line logs', () => {
  const at = BigInt(Date.parse('2026-11-22T08:00:00.000Z')) * 1_000_000n;

  it('one JSON object per line: time, level, msg first; errors and bigints made plain; meta cannot overwrite msg', () => {
    const err = Object.assign(new Error('connect-b answered 500'), { type: 'ConnectUnavailable' });
    const line = formatLogLine({
      level: 'WARN',
      message: 'activity failed',
      timestampNanos: at,
      meta: { error: err, offset: 12n, msg: 'spoof', secret: new Secret('pw-123456') },
    });
    assert.ok(!line.includes('\n'));
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed).slice(0, 3), ['time', 'level', 'msg']);
    assert.equal(parsed.time, '2026-11-22T08:00:00.000Z');
    assert.equal(parsed.msg, 'activity failed');
    assert.deepEqual(parsed.error, { name: 'Error', message: 'connect-b answered 500', type: 'ConnectUnavailable' });
    assert.equal(parsed.offset, '12');
    assert.equal(parsed.secret, '[redacted]');
  });

  it('runs every line through the redaction (a secret echoed in a message never reaches the log)', () => {
    const lines: string[] = [];
    const log = jsonLinesLogger({ level: 'INFO', redact: (t) => t.split('hunter2-password').join('***'), write: (l) => lines.push(l) });
    log.info('connect said: bad password hunter2-password', { detail: 'again hunter2-password' });
    log.debug('below the level');
    assert.equal(lines.length, 1);
    assert.ok(!lines[0]!.includes('hunter2-password'));
    assert.match(lines[0]!, /bad password \*\*\*/);
  });
});
