import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { createDeps } from '../../activities';
import { createHookActivities } from '../../activities/hooks';
import { ATTEMPT_HEADER, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from '../../src/hooks/signature';
import type { CutoverHookRequest, EscalationNotice } from '../../src/hooks/types';
import type { PlaybookReport } from '../../src/model/gates';
import { resolveRegistry } from '../../src/registry/load';
import { toyStopProducersRequest } from '../helpers/hook-stubs';
import { approveSignal, statusQuery } from '../../workflows/framework';
import { gateOpen, replayAll, startStubWorker, startToy, toyInput, workflowFailure, type StubWorker } from '../helpers/playbook';
import { eventually, uniqueId } from '../helpers/stack';
import type { FrameworkToyActivities, FrameworkToyInput, frameworkToyPlaybook } from '../fixtures/workflows/framework-playbook';

/**
 * Cutover hooks end to end over real HTTP: the worker runs the real hook activities
 * (registry with webhook hooks) against a loopback receiver, on the dev server. The
 * receiver verifies every signature the way docs/operations.md tells receivers to; scripted
 * answers per workflow show the retry (500 then 200) and the refusal (400).
 */

const SECRET = `whsec-${randomBytes(24).toString('hex')}`;
const TOKEN = `tok-${randomBytes(16).toString('hex')}`;

interface Delivery {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  verified: ReturnType<typeof verify>;
}

/** Scripted answers per workflow ID: statuses in order, the last one repeats. */
const script = new Map<string, number[]>();
const deliveries: Delivery[] = [];

function receiver(): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => req.headers[name.toLowerCase()] as string | undefined;
      const verified = verify(SECRET, { body, signature: header(SIGNATURE_HEADER), timestamp: header(TIMESTAMP_HEADER) });
      deliveries.push({ path: req.url ?? '', headers: req.headers, body, verified });
      if (!verified.ok) {
        res.writeHead(401).end(verified.reason);
        return;
      }
      const workflowId = (JSON.parse(body) as { workflowId: string }).workflowId;
      const statuses = script.get(workflowId) ?? [200];
      const status = statuses.length > 1 ? statuses.shift()! : statuses[0]!;
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status < 300 ? `switched ${workflowId}` : `receiver says ${status}`);
    });
  });
}

const toyStubs: FrameworkToyActivities = {
  async toyEffect(what) {
    return { what, lag: {} };
  },
  async toyUndo() {},
  async toyNotify() {},
};

describe('cutover hooks over HTTP: signed, retried, refused, secret-free history', { timeout: 300_000 }, () => {
  let server: http.Server;
  let w: StubWorker;
  const started: Handle[] = [];
  type Handle = WorkflowHandle<typeof frameworkToyPlaybook>;
  const deliveriesOf = (workflowId: string, path = '/cutover') =>
    deliveries.filter((d) => d.path === path && (JSON.parse(d.body) as { workflowId: string }).workflowId === workflowId);

  before(async () => {
    server = receiver();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const webhook = (path: string) => ({
      kind: 'webhook',
      url: `${base}${path}`,
      secret: { env: 'HOOK_SECRET' },
      timeoutMs: 5_000,
      headers: { Authorization: { env: 'HOOK_TOKEN' } },
    });
    const registry = resolveRegistry(
      {
        clusters: { A: { bootstrapServers: ['127.0.0.1:1'] }, B: { bootstrapServers: ['127.0.0.1:2'] } },
        hooks: { 'stop-producers': webhook('/cutover'), 'producers-cutover': webhook('/cutover') },
        notifications: { escalation: webhook('/escalation') },
      },
      'hooks-it registry',
      { HOOK_SECRET: SECRET, HOOK_TOKEN: TOKEN },
      '/',
    );
    w = await startStubWorker({
      name: 'hooks-http',
      activities: { ...toyStubs, ...createHookActivities(createDeps(registry, 'hooks-it')) },
    });
  });

  after(async () => {
    await w?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  const input = (overrides: Partial<FrameworkToyInput> = {}) =>
    toyInput(
      { 'stop-producers': { deadline: '5 minutes' }, 'producers-cutover': { deadline: '5 minutes' } },
      { cutover: true, ...overrides },
    );

  async function start(args: FrameworkToyInput, statuses?: number[]): Promise<Handle> {
    const workflowId = `hooks-http-${uniqueId()}`;
    if (statuses) script.set(workflowId, [...statuses]);
    return startToy(w, args, workflowId, started);
  }

  it('POSTs the request signed over the exact body; the receiver verifies it; the step records status and body', async () => {
    const h = await start(input());
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    await gateOpen(h, 'producers-cutover');
    const [d] = deliveriesOf(h.workflowId);
    assert.ok(d, 'the stop-producers hook was delivered before the next gate opened');
    assert.deepEqual(d.verified, { ok: true });
    assert.equal(d.headers['content-type'], 'application/json');
    assert.equal(d.headers.authorization, TOKEN, 'a header from a secret ref is sent');
    assert.equal(d.headers[EVENT_HEADER.toLowerCase()], 'gate-approved');
    assert.equal(d.headers[ATTEMPT_HEADER.toLowerCase()], '1');
    assert.deepEqual(JSON.parse(d.body) as CutoverHookRequest, toyStopProducersRequest(h.workflowId));
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'carol' });
    const report: PlaybookReport = await h.result();
    assert.equal(report.outcome, 'completed');
    const step = report.steps.find((s) => s.name === 'hook:stop-producers')!;
    assert.equal(step.state, 'completed');
    assert.equal(step.details?.kind, 'webhook');
    assert.equal(step.details?.status, 200);
    assert.equal(step.details?.body, `switched ${h.workflowId}`);
    assert.match(String(step.details?.url), /^http:\/\/127\.0\.0\.1:\d+\/cutover$/);
    assert.equal(deliveriesOf(h.workflowId).length, 2, 'one delivery per approved gate');
  });

  it('a 500 is retried with backoff and the same delivery ID; the 200 that follows completes the step', async () => {
    const h = await start(input(), [500, 200]);
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    await gateOpen(h, 'producers-cutover');
    const ds = deliveriesOf(h.workflowId);
    assert.equal(ds.length, 2);
    assert.deepEqual(
      ds.map((d) => d.headers[ATTEMPT_HEADER.toLowerCase()]),
      ['1', '2'],
    );
    assert.equal(
      ds[0]!.headers[DELIVERY_HEADER.toLowerCase()],
      ds[1]!.headers[DELIVERY_HEADER.toLowerCase()],
      'receivers deduplicate on the delivery ID',
    );
    assert.ok(ds.every((d) => d.verified.ok));
    const s = await h.query(statusQuery);
    const step = s.steps.find((x) => x.name === 'hook:stop-producers')!;
    assert.equal(step.state, 'completed');
    assert.equal(step.details?.attempt, 2);
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'carol' });
    assert.equal((await h.result()).outcome, 'completed');
  });

  it('a 400 fails at once (no retry): the playbook stops, compensates, and says why', async () => {
    const h = await start(input(), [400]);
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    const failure = await workflowFailure(h);
    assert.equal(failure.type, 'PlaybookFailed');
    assert.match(failure.message, /HookRejected: webhook http:\/\/127\.0\.0\.1:\d+\/cutover answered 400: receiver says 400/);
    assert.match(failure.message, /undone: resume forward connectors/);
    assert.equal(deliveriesOf(h.workflowId).length, 1, 'a 4xx is not retried');
    const report = failure.details?.[0] as PlaybookReport;
    assert.equal(report.steps.find((s) => s.name === 'hook:stop-producers')?.state, 'failed');
  });

  it('an escalated gate posts one signed notice to the escalation webhook', async () => {
    const h = await start(
      input({
        notify: 'registry',
        gates: { 'stop-producers': { deadline: '5 minutes', escalateAfter: '1 second' }, 'producers-cutover': { deadline: '5 minutes' } },
      }),
    );
    await gateOpen(h, 'stop-producers');
    await eventually(
      'escalation delivered',
      async () => (deliveriesOf(h.workflowId, '/escalation').length > 0 ? true : undefined),
      30_000,
      200,
    );
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    await gateOpen(h, 'producers-cutover');
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'bob' });
    assert.equal((await h.result()).outcome, 'completed');
    const notices = deliveriesOf(h.workflowId, '/escalation');
    assert.equal(notices.length, 1);
    assert.ok(notices[0]!.verified.ok);
    assert.equal(notices[0]!.headers[EVENT_HEADER.toLowerCase()], 'gate-escalated');
    const notice = JSON.parse(notices[0]!.body) as EscalationNotice;
    assert.equal(notice.gate, 'stop-producers');
    assert.ok(notice.waitedMs >= 1_000);
  });

  it('neither the signing secret nor the header token appears in any workflow history', async () => {
    assert.ok(started.length >= 4);
    const all: string[] = [];
    for (const h of started) {
      const json = JSON.stringify(await h.fetchHistory());
      all.push(json);
      assert.ok(json.includes('runCutoverHook'), `${h.workflowId}: the history is one with hooks`);
      assert.ok(!json.includes(SECRET), `${h.workflowId}: signing secret in history`);
      assert.ok(!json.includes(TOKEN), `${h.workflowId}: header token in history`);
    }
    // The signatures are not in the history either (only status, body, delivery ID).
    const signatures = deliveries.map((d) => String(d.headers[SIGNATURE_HEADER.toLowerCase()]));
    assert.ok(signatures.length >= 6);
    for (const sig of signatures) assert.ok(!all.some((json) => json.includes(sig.slice('sha256='.length))), 'a signature in history');
    assert.equal(await replayAll(w.bundle, started), started.length);
  });
});
