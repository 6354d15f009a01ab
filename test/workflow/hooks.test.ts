import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/client';
import type { CutoverHookRequest, CutoverHookResult, EscalationNotice, EscalationResult } from '../../src/hooks/types';
import type { PlaybookReport } from '../../src/model/gates';
import { abortSignal, approveSignal, hookStepName, rejectSignal, statusQuery } from '../../workflows/framework';
import { approveGates, gateOpen, replayAll, usePlaybookHarness, workflowFailure } from '../helpers/playbook';
import { toyStopProducersRequest } from '../helpers/hook-stubs';
import { eventually } from '../helpers/stack';
import type { FrameworkToyActivities, FrameworkToyInput, frameworkToyPlaybook } from '../fixtures/workflows/framework-playbook';

/**
 * Cutover hooks and escalation notifications in the playbook framework, on the dev
 * server with stub activities: the toy playbook (test/fixtures/workflows/framework-playbook.ts)
 * declared as a cutover A→B, so its approved gates run `runCutoverHook`.
 */

interface Call {
  workflowId: string;
  name: string;
  arg: unknown;
}
const calls: Call[] = [];
const wfId = () => Context.current().info.workflowExecution?.workflowId ?? '';
const failingHook = new Map<string, 'rejected' | 'unavailable'>();

const stubs: FrameworkToyActivities & {
  runCutoverHook(r: CutoverHookRequest): Promise<CutoverHookResult>;
  notifyEscalation(n: EscalationNotice): Promise<EscalationResult>;
} = {
  async toyEffect(what) {
    calls.push({ workflowId: wfId(), name: 'toyEffect', arg: what });
    return { what, lag: { 'orders-0': 0 } };
  },
  async toyUndo(what) {
    calls.push({ workflowId: wfId(), name: 'toyUndo', arg: what });
  },
  async toyNotify(gate) {
    calls.push({ workflowId: wfId(), name: 'toyNotify', arg: gate });
  },
  async runCutoverHook(request) {
    calls.push({ workflowId: wfId(), name: 'runCutoverHook', arg: request });
    const failing = failingHook.get(request.workflowId);
    if (failing === 'rejected') {
      throw ApplicationFailure.create({
        type: 'HookRejected',
        message: 'webhook http://127.0.0.1/hook answered 400: no such gate',
        nonRetryable: true,
      });
    }
    return { kind: 'webhook', detail: { status: 200, body: 'switched', url: 'http://127.0.0.1/hook' } };
  },
  async notifyEscalation(notice) {
    calls.push({ workflowId: wfId(), name: 'notifyEscalation', arg: notice });
    return { kind: 'log', detail: { logged: true } };
  },
};

const callsOf = (workflowId: string) => calls.filter((c) => c.workflowId === workflowId);
const namesOf = (workflowId: string) =>
  callsOf(workflowId).map((c) => (c.name === 'toyEffect' || c.name === 'toyUndo' ? `${c.name}:${String(c.arg)}` : c.name));

describe('cutover hooks and escalation notifications in the playbook framework', { timeout: 300_000 }, () => {
  const pb = usePlaybookHarness<typeof frameworkToyPlaybook, object>('frameworkToyPlaybook', { name: 'hooks', activities: stubs });
  const { start, started } = pb;

  function input(overrides: Partial<FrameworkToyInput> = {}): FrameworkToyInput {
    return {
      source: 'A',
      target: 'B',
      requestedBy: 'alice',
      cutover: true,
      gates: {
        'stop-producers': { approvers: ['bob', 'carol'], deadline: '5 minutes' },
        'producers-cutover': { approvers: ['bob', 'carol'], deadline: '5 minutes' },
      },
      ...overrides,
    };
  }

  it('runs the gate hook after the approval and before the next step, with the direction and the approver', async () => {
    const h = await start(input());
    await gateOpen(h, 'stop-producers');
    assert.ok(!namesOf(h.workflowId).includes('runCutoverHook'), 'no hook while the gate is open');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    await gateOpen(h, 'producers-cutover');
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'carol' });
    const report: PlaybookReport = await h.result();
    assert.equal(report.outcome, 'completed');
    assert.deepEqual(namesOf(h.workflowId), [
      'toyEffect:stop-forward',
      'runCutoverHook',
      'toyEffect:create-reverse',
      'toyEffect:apply-offsets',
      'runCutoverHook',
      'toyEffect:switch-producers',
    ]);
    const requests = callsOf(h.workflowId)
      .filter((c) => c.name === 'runCutoverHook')
      .map((c) => c.arg as CutoverHookRequest);
    assert.deepEqual(requests[0], toyStopProducersRequest(h.workflowId));
    assert.equal(requests[1]!.gate, 'producers-cutover');
    assert.equal(requests[1]!.approvedBy, 'carol');
    // The journal: the hook step sits right after its gate, with what the hook did.
    const names = report.steps.map((s) => s.name);
    assert.deepEqual(names.slice(0, 3), ['stop forward connectors', hookStepName('stop-producers'), 'drain']);
    const hook = report.steps.find((s) => s.name === 'hook:producers-cutover')!;
    assert.equal(hook.state, 'completed');
    assert.equal(hook.details?.kind, 'webhook');
    assert.equal(hook.details?.status, 200);
    assert.equal(hook.details?.approvedBy, 'carol');
  });

  it('runs no hook after a rejection or an abort, and none in a playbook that is not a cutover', async () => {
    const rejected = await start(input());
    await gateOpen(rejected, 'stop-producers');
    await rejected.signal(rejectSignal, { gate: 'stop-producers', by: 'bob', reason: 'producers still writing' });
    assert.equal((await rejected.result()).outcome, 'rejected');

    const aborted = await start(input());
    await gateOpen(aborted, 'stop-producers');
    await aborted.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    await gateOpen(aborted, 'producers-cutover');
    await aborted.signal(abortSignal, { by: 'carol', reason: 'incident over' });
    const abortedReport = await aborted.result();
    assert.equal(abortedReport.outcome, 'aborted');

    const plain = await start(input({ cutover: false }));
    await approveGates(plain, ['stop-producers', 'producers-cutover']);
    assert.equal((await plain.result()).outcome, 'completed');

    assert.ok(!namesOf(rejected.workflowId).includes('runCutoverHook'), namesOf(rejected.workflowId).join(', '));
    assert.deepEqual(namesOf(rejected.workflowId), ['toyEffect:stop-forward', 'toyUndo:resume-forward']);
    // Only the approved gate's hook ran; the aborted gate's did not.
    const abortedHooks = callsOf(aborted.workflowId)
      .filter((c) => c.name === 'runCutoverHook')
      .map((c) => (c.arg as CutoverHookRequest).gate);
    assert.deepEqual(abortedHooks, ['stop-producers']);
    assert.ok(!abortedReport.steps.some((s) => s.name === 'hook:producers-cutover'));
    assert.ok(!namesOf(plain.workflowId).includes('runCutoverHook'));
  });

  it('a failing hook stops the playbook like a failed step: the next step does not run, undos run', async () => {
    const h = await start(input());
    failingHook.set(h.workflowId, 'rejected');
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    const failure = await workflowFailure(h);
    assert.equal(failure.type, 'PlaybookFailed');
    assert.match(failure.message, /HookRejected: webhook .* answered 400/);
    assert.match(failure.message, /undone: resume forward connectors/);
    assert.deepEqual(namesOf(h.workflowId), ['toyEffect:stop-forward', 'runCutoverHook', 'toyUndo:resume-forward']);
    const report = failure.details?.[0] as PlaybookReport;
    const hook = report.steps.find((s) => s.name === 'hook:stop-producers')!;
    assert.equal(hook.state, 'failed');
    assert.match(hook.error ?? '', /HookRejected/);
    assert.ok(!report.steps.some((s) => s.name === 'drain'), 'no step after the failed hook');
  });

  it('an escalated gate notifies once through notifyEscalation and keeps waiting', async () => {
    const h = await start(
      input({
        notify: 'registry',
        gates: {
          'stop-producers': { approvers: ['bob'], deadline: '5 minutes', escalateAfter: '2 seconds' },
          'producers-cutover': { approvers: ['bob'], deadline: '5 minutes' },
        },
      }),
    );
    await gateOpen(h, 'stop-producers');
    await eventually(
      'escalation notified',
      async () => (callsOf(h.workflowId).some((c) => c.name === 'notifyEscalation') ? true : undefined),
      30_000,
      200,
    );
    // Still waiting after the notice, and no second notice.
    await new Promise((r) => setTimeout(r, 3_000));
    const s = await h.query(statusQuery);
    assert.equal(s.openGate?.name, 'stop-producers');
    assert.ok(s.openGate?.escalatedAt, 'escalation recorded in the status');
    assert.equal(s.openGate?.escalationError, null);
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    await gateOpen(h, 'producers-cutover');
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'bob' });
    assert.equal((await h.result()).outcome, 'completed');
    const notices = callsOf(h.workflowId)
      .filter((c) => c.name === 'notifyEscalation')
      .map((c) => c.arg as EscalationNotice);
    assert.equal(notices.length, 1, 'one notification per escalated gate');
    const n = notices[0]!;
    assert.equal(n.event, 'gate-escalated');
    assert.equal(n.workflowId, h.workflowId);
    assert.equal(n.playbook, 'framework-toy');
    assert.equal(n.gate, 'stop-producers');
    assert.match(n.description, /confirm producers on A are stopped/);
    assert.ok(n.waitedMs >= 2_000, `waited ${n.waitedMs} ms`);
    assert.deepEqual(n.approvers, ['bob']);
    assert.ok(!callsOf(h.workflowId).some((c) => c.name === 'toyNotify'), 'the registry notification, not the toy one');
  });

  it('every run replays against the same workflow code', async () => {
    assert.equal(await replayAll(pb.worker.bundle, started), started.length);
  });
});
