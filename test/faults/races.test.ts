import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PlaybookConflictError, startPlaybook, type StartedPlaybook } from '../../src/client/playbooks';
import { cutoverWorkflowId } from '../../src/model/workflow-ids';
import { abortSignal, approveSignal, decideUpdate, rejectSignal, statusQuery } from '../../workflows/framework';
import type { FrameworkToyActivities, FrameworkToyInput, frameworkToyPlaybook } from '../fixtures/workflows/framework-playbook';
import { gateOpen, replayAll, startStubWorker, startToy, toyInput, type StubWorker } from '../helpers/playbook';
import { eventually, REPO_ROOT, uniqueId } from '../helpers/stack';

/**
 * Issue 6, item 6: operator messages that race the playbook, on the real Temporal dev
 * server with the toy playbook of test/fixtures/workflows/framework-playbook.ts (stub side
 * effects, two gates, undos). test/workflow/framework.test.ts already covers the same
 * approval signalled twice, a decide update for a gate not yet open, abort at each gate
 * and during the drain, and one second start of the pair; this file adds the races
 * those leave out: concurrent updates, a signal for a gate not yet open, decisions
 * after the deadline (while compensating and after the close), abort during
 * compensation, and many simultaneous starts for one cluster pair.
 */

type Handle = WorkflowHandle<typeof frameworkToyPlaybook>;

const calls: Array<{ workflowId: string; call: string }> = [];
const wfId = () => Context.current().info.workflowExecution?.workflowId ?? '';
const callsOf = (workflowId: string) => calls.filter((c) => c.workflowId === workflowId).map((c) => c.call);

/** Undos of these workflows block until the test releases them (a compensation in progress). */
const heldUndos = new Map<string, { release: () => void; released: Promise<void> }>();
function holdUndos(workflowId: string): () => void {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  heldUndos.set(workflowId, { release, released });
  return release;
}

const stubs: FrameworkToyActivities = {
  async toyEffect(what) {
    calls.push({ workflowId: wfId(), call: `toyEffect:${what}` });
    return { what, lag: { 'orders-0': 0 } };
  },
  async toyUndo(what) {
    const id = wfId();
    calls.push({ workflowId: id, call: `toyUndo:${what}` });
    // The toy's activity timeout is 10 s with one attempt: never hold longer than 8 s.
    const held = heldUndos.get(id);
    if (held) await Promise.race([held.released, new Promise((r) => setTimeout(r, 8_000))]);
  },
  async toyNotify(gate) {
    calls.push({ workflowId: wfId(), call: `toyNotify:${gate}` });
  },
};

describe('operator message races (issue 6.6)', { timeout: 300_000 }, () => {
  let w: StubWorker;
  const started: Handle[] = [];

  before(async () => {
    w = await startStubWorker({ name: 'races', activities: stubs });
  });
  after(async () => {
    await w?.close();
  });

  const input = (overrides: Partial<FrameworkToyInput> = {}) =>
    toyInput(
      {
        'stop-producers': { approvers: ['bob', 'carol', 'dave'], deadline: '2 minutes' },
        'producers-cutover': { approvers: ['bob', 'carol'], deadline: '2 minutes' },
      },
      overrides,
    );

  const start = (args: FrameworkToyInput, workflowId = `races-${uniqueId()}`) => startToy(w, args, workflowId, started);

  /** The refusal message of a decide update (asserts it was refused). */
  async function refusal(p: Promise<unknown>): Promise<string> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowUpdateFailedError, `update refused, got ${String(err)}`);
    return (err.cause as Error).message;
  }

  const stepRunning = (h: Handle, name: string) =>
    eventually(
      `step '${name}' running`,
      async () => {
        const s = await h.query(statusQuery);
        return s.steps.some((x) => x.name === name && x.state === 'running') ? s : undefined;
      },
      30_000,
      100,
    );

  it('the same approval sent as two concurrent decide updates: one decision, the other refused naming the first', async () => {
    const h = await start(input());
    await gateOpen(h, 'stop-producers');
    const settled = await Promise.allSettled([
      h.executeUpdate(decideUpdate, { args: [{ gate: 'stop-producers', decision: 'approve', by: 'bob', comment: 'go' }] }),
      h.executeUpdate(decideUpdate, { args: [{ gate: 'stop-producers', decision: 'approve', by: 'carol', comment: 'go' }] }),
      h.executeUpdate(decideUpdate, { args: [{ gate: 'stop-producers', decision: 'reject', by: 'dave', comment: 'wait' }] }),
    ]);
    const accepted = settled.filter((s) => s.status === 'fulfilled');
    const refused = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    assert.equal(accepted.length, 1, 'exactly one decision taken');
    assert.equal(refused.length, 2);
    const winner = (accepted[0] as PromiseFulfilledResult<{ by?: string; decision: string }>).value;
    for (const r of refused) {
      assert.ok(r.reason instanceof WorkflowUpdateFailedError, String(r.reason));
      assert.match(
        (r.reason.cause as Error).message,
        new RegExp(`^gate 'stop-producers' is not open: already ${winner.decision} by ${winner.by} at `),
      );
    }
    const s = await h.query(statusQuery);
    assert.deepEqual(
      s.decisions.map((d) => [d.gate, d.by]),
      [['stop-producers', winner.by]],
    );
    if (winner.decision === 'approved') {
      await gateOpen(h, 'producers-cutover');
      assert.deepEqual(
        callsOf(h.workflowId).filter((c) => c === 'toyEffect:create-reverse'),
        ['toyEffect:create-reverse'],
      );
      await h.signal(abortSignal, { by: 'bob', reason: 'test over' });
    }
    const report = await h.result();
    // A rejection compensates once; an approval then abort compensates once: one undo of the stop either way.
    assert.deepEqual(
      callsOf(h.workflowId).filter((c) => c === 'toyUndo:resume-forward'),
      ['toyUndo:resume-forward'],
    );
    assert.equal(report.decisions.filter((d) => d.gate === 'stop-producers').length, 1);
  });

  it('an approval signal for a gate not yet open is recorded as ignored; that gate still waits for its own decision later', async () => {
    const h = await start(input());
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'bob', comment: 'pre-approving' });
    await h.signal(approveSignal, { gate: 'no-such-gate', by: 'bob' });
    const s = await eventually(
      '2 ignored',
      async () => {
        const st = await h.query(statusQuery);
        return st.ignoredMessages.length === 2 ? st : undefined;
      },
      30_000,
      100,
    );
    assert.deepEqual(
      s.ignoredMessages.map((m) => [m.message, m.gate, m.by, m.reason]),
      [
        ['approve', 'producers-cutover', 'bob', "gate 'producers-cutover' is not open yet (the open gate is 'stop-producers')"],
        ['approve', 'no-such-gate', 'bob', "unknown gate 'no-such-gate' (this playbook's gates: stop-producers, producers-cutover)"],
      ],
    );
    assert.deepEqual(s.decisions, []);

    await h.signal(approveSignal, { gate: 'stop-producers', by: 'carol' });
    const later = await gateOpen(h, 'producers-cutover');
    // The early approval did not carry over: the gate is open, undecided.
    assert.deepEqual(
      later.decisions.map((d) => [d.gate, d.by]),
      [['stop-producers', 'carol']],
    );
    assert.equal(later.gates.find((g) => g.name === 'producers-cutover')!.state, 'open');
    assert.ok(!callsOf(h.workflowId).includes('toyEffect:switch-producers'));
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'bob' });
    const report = await h.result();
    assert.equal(report.outcome, 'completed');
    assert.deepEqual(
      report.decisions.map((d) => [d.gate, d.decision, d.by]),
      [
        ['stop-producers', 'approved', 'carol'],
        ['producers-cutover', 'approved', 'bob'],
      ],
    );
  });

  it('approvals after the deadline: refused while compensating (update) or recorded as ignored (signal); refused by the server once closed', async () => {
    const i = input();
    i.gates['stop-producers'] = { approvers: ['bob'], deadline: '1500ms' };
    const workflowId = `races-late-${uniqueId()}`;
    const release = holdUndos(workflowId);
    const h = await start(i, workflowId);
    // The deadline passes; the undo of the stop is held: the playbook is compensating.
    const compensating = await stepRunning(h, 'undo: resume forward connectors');
    assert.equal(compensating.state, 'compensating');
    assert.match(
      await refusal(h.executeUpdate(decideUpdate, { args: [{ gate: 'stop-producers', decision: 'approve', by: 'bob' }] })),
      /^gate 'stop-producers' is not open: already timed-out at \S+ \(no gate is open\)$/,
    );
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob', comment: 'sorry, late' });
    const s = await eventually(
      'late approval ignored',
      async () => {
        const st = await h.query(statusQuery);
        return st.ignoredMessages.length === 1 ? st : undefined;
      },
      30_000,
      100,
    );
    assert.match(s.ignoredMessages[0]!.reason, /^gate 'stop-producers' is not open: already timed-out at /);
    release();
    const report = await h.result();
    assert.equal(report.outcome, 'timed-out');
    assert.deepEqual(
      report.decisions.map((d) => [d.gate, d.decision, d.via]),
      [['stop-producers', 'timed-out', 'deadline']],
    );
    assert.deepEqual(callsOf(h.workflowId), ['toyEffect:stop-forward', 'toyUndo:resume-forward']);

    // Closed: the server itself refuses both, naming the reason; nothing reaches the workflow.
    const closedSignal = await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(closedSignal instanceof WorkflowNotFoundError, `signal after close: ${String(closedSignal)}`);
    assert.match(closedSignal.message, /already completed/);
    const closedUpdate = await h.executeUpdate(decideUpdate, { args: [{ gate: 'stop-producers', decision: 'approve', by: 'bob' }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(closedUpdate instanceof Error, 'update after close refused');
    assert.match(closedUpdate.message, /already completed|not found/i);
    assert.equal((await h.describe()).status.name, 'COMPLETED');
  });

  it('abort during compensation: recorded as ignored with the reason; compensation runs once, to the end; the outcome stays rejected', async () => {
    const workflowId = `races-abort-${uniqueId()}`;
    const release = holdUndos(workflowId);
    const h = await start(input(), workflowId);
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    await gateOpen(h, 'producers-cutover');
    await h.signal(rejectSignal, { gate: 'producers-cutover', by: 'carol', reason: 'B is not ready' });
    // The first undo (newest effect first) is held.
    await stepRunning(h, 'undo: delete reverse connectors');
    await h.signal(abortSignal, { by: 'dave', reason: 'stop everything' });
    const s = await eventually(
      'abort ignored',
      async () => {
        const st = await h.query(statusQuery);
        return st.ignoredMessages.length === 1 ? st : undefined;
      },
      30_000,
      100,
    );
    assert.deepEqual(
      [s.ignoredMessages[0]!.message, s.ignoredMessages[0]!.by, s.ignoredMessages[0]!.reason],
      ['abort', 'dave', 'the playbook is already finishing (rejected)'],
    );
    assert.equal(s.aborted, null);
    // A cancellation from the UI at this point does not cut the compensation short either.
    await h.cancel();
    release();
    const outcome = await h.result().then(
      (r) => r.outcome,
      (e: unknown) => `threw ${String(e)}`,
    );
    const final = await h.query(statusQuery);
    assert.deepEqual(final.compensations.result?.undone, ['delete reverse connectors', 'resume forward connectors']);
    assert.deepEqual(
      callsOf(h.workflowId).filter((c) => c.startsWith('toyUndo')),
      ['toyUndo:delete-reverse', 'toyUndo:resume-forward'],
    );
    assert.equal(final.outcome, 'rejected', `outcome ${outcome}`);
    assert.equal(outcome, 'rejected');
  });

  it('five simultaneous starts for one cluster pair (failover A→B and failback B→A): one runs, four are refused; the next starts once it ended', async () => {
    const a = `A${uniqueId().replace(/-/g, '')}`.slice(0, 20);
    const b = `B${uniqueId().replace(/-/g, '')}`.slice(0, 20);
    const id = cutoverWorkflowId(a, b);
    const attempts = [0, 1, 2, 3, 4].map((n) =>
      start(input(n % 2 === 0 ? { source: a, target: b, requestedBy: `op${n}` } : { source: b, target: a, requestedBy: `op${n}` }), id),
    );
    const settled = await Promise.allSettled(attempts);
    const winners = settled.filter((s): s is PromiseFulfilledResult<Handle> => s.status === 'fulfilled');
    const losers = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    assert.equal(winners.length, 1);
    assert.equal(losers.length, 4);
    for (const l of losers) {
      assert.ok(l.reason instanceof WorkflowExecutionAlreadyStartedError, String(l.reason));
      assert.equal(l.reason.workflowId, id);
    }
    const winner = winners[0]!.value;
    const s = await gateOpen(winner, 'stop-producers');
    // One run, one first effect.
    assert.equal(callsOf(id).filter((c) => c === 'toyEffect:stop-forward').length, 1);
    // Visibility is eventually consistent: wait until the run is listed, then count.
    const runs = await eventually(
      'the run listed',
      async () => {
        const found: string[] = [];
        for await (const r of w.client.workflow.list({ query: `WorkflowId = '${id}'` })) found.push(r.runId);
        return found.length > 0 ? found : undefined;
      },
      30_000,
      250,
    );
    assert.equal(runs.length, 1, 'one execution for the pair');
    await winner.signal(abortSignal, { by: s.requestedBy!, reason: 'race test over' });
    assert.equal((await winner.result()).outcome, 'aborted');

    // A finished cutover does not block the next one (e.g. the failback after the failover).
    const next = await start(input({ source: b, target: a }), id);
    await gateOpen(next, 'stop-producers');
    await next.signal(abortSignal, { by: 'bob', reason: 'done' });
    assert.equal((await next.result()).outcome, 'aborted');
  });

  it('through the client module (startPlaybook, as the CLI and the UI do): a failover and a failback of one pair at once, one starts, the other is refused naming it', async () => {
    // No worker polls this queue: the winner stays open without side effects, so only the lock is under test.
    const taskQueue = `kafka-dr-test-races-idle-${uniqueId()}`;
    const example = (f: string) =>
      JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'docs', 'examples', f), 'utf8')) as Record<string, unknown>;
    const a = `A${uniqueId().replace(/-/g, '')}`.slice(0, 20);
    const b = `B${uniqueId().replace(/-/g, '')}`.slice(0, 20);
    const failover = { ...example('failover.planned.json'), source: a, target: b };
    const fb = example('failback.json') as { seed: { snapshot: Record<string, unknown> } };
    const failback = { ...fb, primary: a, dr: b, seed: { ...fb.seed, snapshot: { ...fb.seed.snapshot, cluster: b } } };
    const settled = await Promise.allSettled([
      startPlaybook(w.client, 'failover', failover, { taskQueue }),
      startPlaybook(w.client, 'failback', failback, { taskQueue }),
    ]);
    const ok = settled.filter((x): x is PromiseFulfilledResult<StartedPlaybook> => x.status === 'fulfilled');
    const refused = settled.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
    assert.equal(ok.length, 1, settled.map((x) => (x.status === 'rejected' ? String(x.reason) : 'started')).join(' | '));
    assert.equal(refused.length, 1);
    const winner = ok[0]!.value;
    assert.equal(winner.workflowId, cutoverWorkflowId(a, b));
    assert.equal(winner.started, true);
    const err: unknown = refused[0]!.reason;
    assert.ok(err instanceof PlaybookConflictError, String(err));
    assert.match(
      err.message,
      new RegExp(`is already running as ${winner.workflowId.replace(/[~-]/g, '.')} .*one cutover at a time per cluster pair`),
    );
    // The same request again is not a second start either: it returns the running one.
    const again = await startPlaybook(
      w.client,
      settled[0]!.status === 'fulfilled' ? 'failover' : 'failback',
      settled[0]!.status === 'fulfilled' ? failover : failback,
      { taskQueue },
    );
    assert.equal(again.started, false);
    assert.equal((await again.handle.describe()).runId, (await winner.handle.describe()).runId);
    await winner.handle.terminate('race test over');
  });

  it('every history above replays against the same bundle', async () => {
    assert.ok(started.length >= 6);
    assert.equal(await replayAll(w.bundle, started), started.length);
  });
});
