import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createHookActivities } from '../../activities/hooks';
import type { ActivityDeps } from '../../activities/deps';
import { describeUrl, hookFor } from '../../src/hooks/resolved';
import { sign, verify } from '../../src/hooks/signature';
import type { CutoverHookRequest, CutoverHookResult } from '../../src/hooks/types';
import { classifyStatus, clipBody } from '../../src/hooks/webhook';
import { resolveRegistry, type Registry } from '../../src/registry/load';
import { refused } from '../helpers/registry';

const SECRET = 'whsec-0123456789abcdef';

const doc = (over: Record<string, unknown> = {}) => ({
  clusters: { A: { bootstrapServers: ['a:9092'] }, B: { bootstrapServers: ['b:9092'] } },
  ...over,
});

const request: CutoverHookRequest = {
  workflowId: 'kafka-dr-cutover-A~B',
  playbook: 'failover',
  gate: 'stop-producers',
  action: 'stop-producers',
  from: 'A',
  to: 'B',
  approvedBy: 'bob',
};

describe('webhook signature', () => {
  it('is HMAC-SHA256 over `<timestamp>.<exact body>`, hex, prefixed sha256=', () => {
    const body = JSON.stringify(request);
    const expected = createHmac('sha256', SECRET).update(`1700000000.${body}`).digest('hex');
    assert.equal(sign(SECRET, 1700000000, body), `sha256=${expected}`);
    assert.notEqual(sign(SECRET, 1700000001, body), sign(SECRET, 1700000000, body), 'the timestamp is signed');
  });

  it('verifies the exact body and a recent timestamp; refuses a changed body, another secret, a replay', () => {
    const body = JSON.stringify(request);
    const signature = sign(SECRET, 1700000000, body);
    const at = { nowSeconds: 1700000010 };
    assert.deepEqual(verify(SECRET, { body, signature, timestamp: '1700000000' }, at), { ok: true });
    // Re-serializing with other spacing is a different body: receivers must verify the raw bytes.
    const reformatted = JSON.stringify(request, null, 2);
    assert.equal(verify(SECRET, { body: reformatted, signature, timestamp: '1700000000' }, at).ok, false);
    assert.equal(verify(`${SECRET}x`, { body, signature, timestamp: '1700000000' }, at).ok, false);
    // The same request sent again 10 minutes later (a replay) is refused.
    const late = verify(SECRET, { body, signature, timestamp: '1700000000' }, { nowSeconds: 1700000600 });
    assert.equal(late.ok, false);
    assert.match(late.ok ? '' : late.reason, /replay/);
    // A replay with a fresh timestamp header does not match the signature.
    assert.equal(verify(SECRET, { body, signature, timestamp: '1700000600' }, { nowSeconds: 1700000600 }).ok, false);
    assert.equal(verify(SECRET, { body, signature: undefined, timestamp: '1700000000' }, at).ok, false);
  });
});

describe('webhook responses', () => {
  it('2xx is done, 3xx/4xx refused (not retried), 5xx/408/429 retried', () => {
    assert.equal(classifyStatus(200), 'ok');
    assert.equal(classifyStatus(204), 'ok');
    assert.equal(classifyStatus(302), 'reject');
    assert.equal(classifyStatus(400), 'reject');
    assert.equal(classifyStatus(401), 'reject');
    assert.equal(classifyStatus(404), 'reject');
    assert.equal(classifyStatus(408), 'retry');
    assert.equal(classifyStatus(429), 'retry');
    assert.equal(classifyStatus(500), 'retry');
    assert.equal(classifyStatus(503), 'retry');
  });

  it('clips a long body and never records a URL query or user info', () => {
    assert.equal(clipBody('x'.repeat(10)), 'x'.repeat(10));
    assert.match(clipBody('x'.repeat(600)), /^x{500}… \(600 characters\)$/);
    assert.equal(describeUrl('https://user:pw@hooks.example.com/kafka/cutover?token=abc'), 'https://hooks.example.com/kafka/cutover');
  });
});

describe('registry: hooks and notifications', () => {
  const env = { HOOK_SECRET: SECRET, HOOK_TOKEN: 'bearer-token-value' };
  const webhook = { kind: 'webhook', url: 'https://hooks.example.com/cutover', secret: { env: 'HOOK_SECRET' } };

  it('resolves manual, webhook and drill hooks; <playbook>/<gate> wins over <gate>; absent is manual', () => {
    const r = resolveRegistry(
      doc({
        hooks: {
          'stop-producers': { kind: 'manual' },
          'failback/stop-producers': { ...webhook, timeoutMs: 2000, headers: { Authorization: { env: 'HOOK_TOKEN' }, 'X-Team': 'dr' } },
          'producers-cutover': { kind: 'drill' },
        },
      }),
      'r.yaml',
      env,
      '/',
    );
    assert.deepEqual(r.hook('failover', 'stop-producers'), { key: 'stop-producers', hook: { kind: 'manual' } });
    const fb = r.hook('failback', 'stop-producers');
    assert.equal(fb.key, 'failback/stop-producers');
    assert.equal(fb.hook.kind, 'webhook');
    if (fb.hook.kind !== 'webhook') return;
    assert.equal(fb.hook.secret.reveal(), SECRET);
    assert.equal(fb.hook.timeoutMs, 2000);
    assert.equal(String(fb.hook.headers.Authorization), '[redacted]', 'a header from a secret ref prints redacted');
    assert.equal(fb.hook.headers['X-Team'], 'dr');
    assert.deepEqual(r.hook('failover', 'producers-cutover').hook, { kind: 'drill' });
    assert.deepEqual(r.hook('failover', 'consumers-cutover'), { key: null, hook: { kind: 'manual' } });
    assert.deepEqual(r.escalationNotification, { kind: 'log' });
    // The signing secret is a registry secret: redact() scrubs it from anything leaving an activity.
    assert.equal(r.redact(`echo ${SECRET}`), 'echo ***');
    assert.equal(JSON.stringify(fb.hook).includes(SECRET), false);
  });

  it('a registry without hooks runs every gate manually and logs escalations', () => {
    const r = resolveRegistry(doc(), 'r.yaml', {}, '/');
    assert.deepEqual(r.hook('failover', 'stop-producers').hook, { kind: 'manual' });
    assert.deepEqual(r.escalationNotification, { kind: 'log' });
  });

  it('resolves the escalation webhook', () => {
    const r = resolveRegistry(doc({ notifications: { escalation: webhook } }), 'r.yaml', env, '/');
    const n = r.escalationNotification;
    assert.equal(n.kind, 'webhook');
    assert.equal(n.kind === 'webhook' ? n.timeoutMs : 0, 10_000, 'default timeout');
  });

  it('names the field and the reason of a bad hook', () => {
    refused(
      doc({ hooks: { 'stop-producers': { kind: 'pager' } } }),
      env,
      'hooks.stop-producers.kind',
      /must have kind 'manual', 'webhook' or 'drill'/,
    );
    refused(doc({ hooks: { 'stop-producers': { ...webhook, url: 'ftp://x/y' } } }), env, 'hooks.stop-producers.url', /http\(s\) URL/);
    refused(
      doc({ hooks: { 'stop-producers': { ...webhook, secret: 'plain-text-secret' } } }),
      env,
      'hooks.stop-producers.secret',
      /never the secret itself/,
    );
    refused(
      doc({ hooks: { 'stop-producers': { kind: 'webhook', url: 'https://h/x' } } }),
      env,
      'hooks.stop-producers.secret',
      /never the secret itself/,
    );
    refused(doc({ hooks: { 'stop-producers': { ...webhook, timeoutMs: 10 } } }), env, 'hooks.stop-producers.timeoutMs', /at least 100/);
    refused(
      doc({ hooks: { 'stop-producers': { ...webhook, headers: { 'X-KafkaDr-Signature': 'x' } } } }),
      env,
      'hooks.stop-producers.headers.X-KafkaDr-Signature',
      /set by kafka-dr itself/,
    );
    refused(doc({ hooks: { 'stop-producers': { kind: 'manual', url: 'https://h/x' } } }), env, 'hooks.stop-producers', /url/);
    refused(doc({ hooks: { 'Stop Producers': { kind: 'manual' } } }), env, 'hooks.Stop Producers', /gate name/);
    refused(doc({ hooks: { 'stop-producers': webhook } }), {}, 'hooks.stop-producers.secret.env', /HOOK_SECRET is not set/);
    refused(
      doc({ hooks: { 'stop-producers': webhook } }),
      { HOOK_SECRET: 'short' },
      'hooks.stop-producers.secret.env',
      /5 characters: use at least 16/,
    );
    refused(doc({ notifications: { escalation: { kind: 'drill' } } }), env, 'notifications.escalation.kind', /'webhook' or 'log'/);
    refused(doc({ notifications: { pager: { kind: 'log' } } }), env, 'notifications', /pager/);
  });

  it('hookFor prefers the playbook-specific key', () => {
    const hooks = {
      hooks: new Map([
        ['gate', { kind: 'drill' as const }],
        ['failover/gate', { kind: 'manual' as const }],
      ]),
      escalation: { kind: 'log' as const },
    };
    assert.equal(hookFor(hooks, 'failover', 'gate').key, 'failover/gate');
    assert.equal(hookFor(hooks, 'failback', 'gate').key, 'gate');
  });
});

// Quiet: the failures below are the point of the tests.
const mockEnv = () => new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') });

describe('runCutoverHook activity', () => {
  const registryWith = (hooks: Record<string, unknown>): Registry => resolveRegistry(doc({ hooks }), 'r.yaml', {}, '/');
  const deps = (registry: Registry, extras: Partial<ActivityDeps> = {}) =>
    ({ registry, workerName: 'test', ...extras }) as unknown as ActivityDeps;

  it('manual: nothing to call, the approval is the confirmation', async () => {
    const a = createHookActivities(deps(registryWith({})));
    const result: CutoverHookResult = await mockEnv().run(a.runCutoverHook, request);
    assert.equal(result.kind, 'manual');
    assert.equal(result.detail.confirmedBy, 'bob');
  });

  it('drill: calls the worker drill switch with the request and records what it returns', async () => {
    const seen: CutoverHookRequest[] = [];
    const a = createHookActivities(
      deps(registryWith({ 'stop-producers': { kind: 'drill' } }), {
        drillSwitch: async (r) => {
          seen.push(r);
          return { producersStopped: 3 };
        },
      }),
    );
    const result = await mockEnv().run(a.runCutoverHook, request);
    assert.deepEqual(result, { kind: 'drill', detail: { producersStopped: 3 } });
    assert.deepEqual(seen, [request]);
  });

  it('drill on a worker without a drill switch fails non-retryably and says what to do', async () => {
    const a = createHookActivities(deps(registryWith({ 'stop-producers': { kind: 'drill' } })));
    await assert.rejects(mockEnv().run(a.runCutoverHook, request), (e: unknown) => {
      assert.ok(e instanceof ApplicationFailure);
      assert.equal(e.type, 'HookNotConfigured');
      assert.equal(e.nonRetryable, true);
      assert.match(e.message, /no drill switch.*set the hook to manual or a webhook/);
      return true;
    });
  });

  it("a request without `action` (scheduled by a workflow from before actions) means the gate's own action", async () => {
    const seen: CutoverHookRequest[] = [];
    const a = createHookActivities(
      deps(registryWith({ 'consumers-cutover': { kind: 'drill' } }), {
        drillSwitch: async (r) => {
          seen.push(r);
          return {};
        },
      }),
    );
    const { action: _, ...old } = { ...request, playbook: 'failback', gate: 'consumers-cutover', from: 'B', to: 'A' };
    await mockEnv().run(a.runCutoverHook, old as CutoverHookRequest);
    assert.deepEqual(
      seen.map((r) => r.action),
      ['move-consumers'],
      'the old failback moved its consumers in one hook after translate-offsets',
    );
    const manual = createHookActivities(deps(registryWith({})));
    const result: CutoverHookResult = await mockEnv().run(manual.runCutoverHook, {
      ...request,
      gate: 'consumers-cutover',
      action: 'start-consumers' as const,
      from: 'B',
      to: 'A',
    });
    assert.equal(result.detail.action, 'start-consumers');
    assert.match(String(result.detail.why), /start the consumer groups on A now/);
    // A gate that moves no clients needs an action named.
    const { action: __, ...noAction } = { ...request, gate: 'deploy' };
    await assert.rejects(mockEnv().run(manual.runCutoverHook, noAction as CutoverHookRequest), (e: unknown) => {
      assert.ok(e instanceof ApplicationFailure);
      assert.equal(e.type, 'InvalidInput');
      assert.match(e.message, /action: required for gate 'deploy'/);
      return true;
    });
    await assert.rejects(mockEnv().run(manual.runCutoverHook, { ...request, action: 'reboot' as never }), /action: /);
  });

  it('a malformed request is InvalidInput, naming the field', async () => {
    const a = createHookActivities(deps(registryWith({})));
    await assert.rejects(mockEnv().run(a.runCutoverHook, { ...request, from: 'not an alias' }), (e: unknown) => {
      assert.ok(e instanceof ApplicationFailure);
      assert.equal(e.type, 'InvalidInput');
      assert.match(e.message, /from: /);
      return true;
    });
  });
});

describe('docs/operations.md: the cutover hooks example', () => {
  it('is a registry the worker accepts, with the documented precedence', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const { parse } = await import('yaml');
    const page = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'docs', 'operations.md'), 'utf8');
    const section = page.slice(page.indexOf('## Cutover hooks'));
    const yamlBlock = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(yamlBlock, 'the section has a yaml example');
    const example = parse(yamlBlock) as Record<string, unknown>;
    const r = resolveRegistry(
      doc(example),
      'docs/operations.md',
      { KAFKA_DR_HOOK_SECRET: SECRET, KAFKA_DR_HOOK_TOKEN: 'token-value' },
      '/',
    );
    assert.equal(r.hook('failover', 'stop-producers').hook.kind, 'webhook');
    assert.equal(r.hook('failback', 'producers-cutover').hook.kind, 'manual');
    assert.equal(r.hook('failback', 'consumers-cutover').hook.kind, 'drill');
    assert.equal(r.escalationNotification.kind, 'webhook');
  });
});
