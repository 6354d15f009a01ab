import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import {
  ApplicationFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import type { PlaybookReport } from '../../src/model/gates';
import { cutoverWorkflowId } from '../../src/model/workflow-ids';
import { abortSignal, approveSignal, decideUpdate, rejectSignal, SEARCH_ATTRIBUTE_KEYS, statusQuery } from '../../workflows/framework';
import type { FrameworkToyActivities, FrameworkToyInput, frameworkToyPlaybook } from '../fixtures/workflows/framework-playbook';
import { eventually, uniqueId } from '../helpers/stack';
import { gateOpen, startStubWorker, startToy, toyInput, type StubWorker } from '../helpers/playbook';

/**
 * The shared playbook machinery on the real Temporal dev server: a toy playbook
 * (test/fixtures/workflows/framework-playbook.ts) with two gates around stub side effects.
 * One worker (one bundle) for the whole file; a workflow ID per test.
 */

interface Call {
  workflowId: string;
  activity: keyof FrameworkToyActivities;
  arg: string;
}
const calls: Call[] = [];

function record(activity: keyof FrameworkToyActivities, arg: string): void {
  calls.push({ workflowId: Context.current().info.workflowExecution?.workflowId ?? '', activity, arg });
}

const stubs: FrameworkToyActivities = {
  async toyEffect(what) {
    record('toyEffect', what);
    if (what.endsWith('!fail')) throw ApplicationFailure.nonRetryable(`stub ${what} refused`, 'ConnectRejected');
    return { what, lag: { 'orders-0': 0, 'orders-1': 3 } };
  },
  async toyUndo(what) {
    record('toyUndo', what);
    if (what === 'delete-reverse' && failUndoFor.has(Context.current().info.workflowExecution?.workflowId ?? '')) {
      throw ApplicationFailure.nonRetryable('connect-a answered 500', 'ConnectUnavailable');
    }
  },
  async toyNotify(gate) {
    record('toyNotify', gate);
  },
};
const failUndoFor = new Set<string>();

const callsOf = (workflowId: string) => calls.filter((c) => c.workflowId === workflowId).map((c) => `${c.activity}:${c.arg}`);

describe('playbook framework: gates, journal, compensation, messages', { timeout: 300_000 }, () => {
  let w: StubWorker;
  /** Every workflow started here, replayed at the end (determinism of the framework code). */
  const started: Handle[] = [];

  before(async () => {
    // One bundle: the worker runs it, the replay at the end replays against it. The harness's
    // Runtime logs ERROR only: failed workflows and activities are the point of several tests.
    w = await startStubWorker({ name: 'framework', activities: stubs });
  });

  after(async () => {
    await w?.close();
  });

  type Handle = WorkflowHandle<typeof frameworkToyPlaybook>;

  const input = (overrides: Partial<FrameworkToyInput> = {}) =>
    toyInput(
      {
        'stop-producers': { approvers: ['alice', 'bob', 'carol'], fourEyes: true, deadline: '5 minutes' },
        'producers-cutover': { approvers: ['bob', 'carol'], deadline: '5 minutes' },
      },
      overrides,
    );

  const start = (args: unknown, workflowId = `framework-toy-${uniqueId()}`) => startToy(w, args, workflowId, started, '2 minutes');

  const status = (h: Handle) => h.query(statusQuery);

  async function updateRefusal(h: Handle, args: object): Promise<string> {
    try {
      await h.executeUpdate(decideUpdate, { args: [args as never] });
    } catch (err) {
      assert.ok(err instanceof WorkflowUpdateFailedError, `update refused, got ${String(err)}`);
      assert.ok(err.cause instanceof ApplicationFailure);
      return err.cause.message;
    }
    assert.fail(`update ${JSON.stringify(args)} was accepted`);
  }

  it('approved at both gates (signal, then update): completes, journals every step, keeps the decisions', async () => {
    const h = await start(input());
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob', comment: 'producers stopped at 10:02' });
    await gateOpen(h, 'producers-cutover');
    const decided = await h.executeUpdate(decideUpdate, {
      args: [{ gate: 'producers-cutover', decision: 'approve', by: 'Carol', comment: 'go' }],
    });
    assert.equal(decided.decision, 'approved');
    assert.equal(decided.via, 'update');

    const report = await h.result();
    assert.equal(report.outcome, 'completed');
    assert.equal(report.compensation, null);
    assert.equal(report.clusterPair, 'A~B');
    assert.deepEqual(
      report.decisions.map((d) => [d.gate, d.decision, d.by, d.via, d.comment]),
      [
        ['stop-producers', 'approved', 'bob', 'signal', 'producers stopped at 10:02'],
        ['producers-cutover', 'approved', 'Carol', 'update', 'go'],
      ],
    );
    assert.deepEqual(
      report.steps.map((s) => [s.name, s.state]),
      [
        ['stop forward connectors', 'completed'],
        ['drain', 'skipped'],
        ['create reverse connectors', 'completed'],
        ['apply consumer offsets', 'completed'],
        ['switch producers', 'completed'],
      ],
    );
    assert.deepEqual(report.steps[0]!.details, { connectors: ['A-B-source'], lag: { 'orders-0': 0, 'orders-1': 3 } });
    assert.ok(report.steps.every((s) => s.endedAt && s.durationMs !== undefined));
    assert.deepEqual(report.figures, { lagAtStop: { 'orders-0': 0, 'orders-1': 3 }, cutoverDone: true });
    assert.deepEqual(
      report.phases.map((p) => p.phase),
      [
        'starting',
        'preparing',
        'awaiting-approval:stop-producers',
        'preparing',
        'draining',
        'awaiting-approval:producers-cutover',
        'draining',
        'cutover',
        'completed',
      ],
    );
    assert.deepEqual(callsOf(h.workflowId), [
      'toyEffect:stop-forward',
      'toyEffect:create-reverse',
      'toyEffect:apply-offsets',
      'toyEffect:switch-producers',
    ]);
  });

  it('status query: phase, journal, open gate with what approving does, decisions; search attributes for the UI', async () => {
    const h = await start(input({ source: 'B', target: 'A' }));
    const s = await gateOpen(h, 'stop-producers');
    assert.equal(s.playbook, 'framework-toy');
    assert.equal(s.workflowId, h.workflowId);
    assert.equal(s.state, 'running');
    assert.equal(s.phase, 'awaiting-approval:stop-producers');
    assert.equal(s.requestedBy, 'alice');
    assert.deepEqual(
      s.steps.map((x) => [x.name, x.state]),
      [['stop forward connectors', 'completed']],
    );
    const gate = s.openGate!;
    assert.equal(gate.description, 'confirm producers on B are stopped; the drain starts');
    assert.deepEqual(gate.approvers, ['alice', 'bob', 'carol']);
    assert.equal(gate.fourEyes, true);
    assert.equal(gate.escalateAt, null);
    assert.equal(Date.parse(gate.deadlineAt) - Date.parse(gate.openedAt), 5 * 60_000);
    assert.deepEqual(
      s.gates.map((g) => [g.name, g.state]),
      [
        ['stop-producers', 'open'],
        ['producers-cutover', 'pending'],
      ],
    );
    assert.deepEqual(s.compensations.registered, [{ name: 'resume forward connectors', step: 'stop forward connectors' }]);
    assert.deepEqual(s.figures, { lagAtStop: { 'orders-0': 0, 'orders-1': 3 } });

    const described = await h.describe();
    assert.equal(described.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.KafkaDrPlaybook), 'framework-toy');
    assert.equal(described.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.KafkaDrPhase), 'awaiting-approval:stop-producers');
    // The pair is unordered: a B→A run lists under the same pair as A→B.
    assert.equal(described.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.KafkaDrClusterPair), 'A~B');

    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    const after1 = await gateOpen(h, 'producers-cutover');
    assert.deepEqual(
      after1.decisions.map((d) => [d.gate, d.decision, d.by]),
      [['stop-producers', 'approved', 'bob']],
    );
    assert.ok(after1.decisions[0]!.at);
    await h.signal(abortSignal, { by: 'bob', reason: 'test over' });
    await h.result();
  });

  it('rejected at the first gate (signal): undoes the stop, says what was undone, completes as rejected', async () => {
    const h = await start(input());
    await gateOpen(h, 'stop-producers');
    await h.signal(rejectSignal, { gate: 'stop-producers', by: 'carol', reason: 'lag too high' });
    const report = await h.result();
    assert.equal(report.outcome, 'rejected');
    assert.equal(report.stoppedAtGate, 'stop-producers');
    assert.match(report.reason!, /gate 'stop-producers' rejected by carol: lag too high/);
    assert.deepEqual(report.compensation, {
      reason: report.reason,
      undone: ['resume forward connectors'],
      failed: [],
      leftAsIs: [],
    });
    assert.deepEqual(
      report.decisions.map((d) => [d.decision, d.by, d.reason, d.via]),
      [['rejected', 'carol', 'lag too high', 'signal']],
    );
    const stop = report.steps.find((s) => s.name === 'stop forward connectors')!;
    assert.equal(stop.state, 'compensated');
    assert.equal(stop.compensatedBy, 'undo: resume forward connectors');
    assert.equal(report.steps.at(-1)!.name, 'undo: resume forward connectors');
    assert.deepEqual(callsOf(h.workflowId), ['toyEffect:stop-forward', 'toyUndo:resume-forward']);
  });

  it('rejected at the second gate (update): undoes in reverse, a failing undo is recorded and the rest still run', async () => {
    const h = await start(input());
    failUndoFor.add(h.workflowId);
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    await gateOpen(h, 'producers-cutover');
    const rec = await h.executeUpdate(decideUpdate, {
      args: [{ gate: 'producers-cutover', decision: 'reject', by: 'carol', comment: 'B is not ready' }],
    });
    assert.equal(rec.decision, 'rejected');
    const report = await h.result();
    assert.equal(report.outcome, 'rejected');
    assert.deepEqual(report.compensation!.undone, ['resume forward connectors']);
    assert.deepEqual(report.compensation!.failed, [
      { name: 'delete reverse connectors', error: 'ConnectUnavailable: connect-a answered 500' },
    ]);
    assert.deepEqual(report.compensation!.leftAsIs, [
      { name: 'consumer offsets', why: 'offsets were only moved forward; consumers have not moved yet' },
    ]);
    // Newest effect first.
    assert.deepEqual(callsOf(h.workflowId).slice(-2), ['toyUndo:delete-reverse', 'toyUndo:resume-forward']);
    assert.deepEqual(
      report.steps.filter((s) => s.name.startsWith('undo: ')).map((s) => [s.name, s.state]),
      [
        ['undo: delete reverse connectors', 'failed'],
        ['undo: resume forward connectors', 'completed'],
      ],
    );
    assert.equal(report.steps.find((s) => s.name === 'create reverse connectors')!.state, 'completed');
  });

  it('deadline passes: the gate times out, the playbook aborts safely with compensation, few history events', async () => {
    const i = input();
    i.gates['stop-producers'] = { deadline: '1500ms' };
    const h = await start(i);
    const report = await h.result();
    assert.equal(report.outcome, 'timed-out');
    assert.equal(report.stoppedAtGate, 'stop-producers');
    assert.equal(report.decisions[0]!.decision, 'timed-out');
    assert.equal(report.decisions[0]!.via, 'deadline');
    assert.equal(report.decisions[0]!.by, undefined);
    assert.deepEqual(report.compensation!.undone, ['resume forward connectors']);
    assert.deepEqual(callsOf(h.workflowId), ['toyEffect:stop-forward', 'toyUndo:resume-forward']);
    // One timer for the whole wait: no polling.
    const events = (await h.fetchHistory()).events ?? [];
    assert.equal(events.filter((e) => e.timerStartedEventAttributes).length, 1);
    assert.ok(events.length < 40, `history has ${events.length} events`);
  });

  it('escalates once past escalateAfter, keeps waiting, then proceeds on approval; the wait adds a few events only', async () => {
    const i = input();
    i.gates['stop-producers'] = { approvers: ['bob'], escalateAfter: '1s', deadline: '1 minute' };
    const h = await start(i);
    const s = await eventually(
      'escalation',
      async () => {
        const st = await status(h);
        return st.openGate?.escalatedAt ? st : undefined;
      },
      30_000,
      100,
    );
    assert.equal(s.openGate!.name, 'stop-producers', 'gate still open after escalating');
    assert.equal(Date.parse(s.openGate!.escalateAt!) - Date.parse(s.openGate!.openedAt), 1000);
    // Let the wait go on past the escalation: the hook must not be called again.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await status(h)).openGate?.name, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    await gateOpen(h, 'producers-cutover');
    await h.signal(approveSignal, { gate: 'producers-cutover', by: 'bob' });
    const report = await h.result();
    assert.equal(report.outcome, 'completed');
    assert.deepEqual(
      callsOf(h.workflowId).filter((c) => c.startsWith('toyNotify')),
      ['toyNotify:stop-producers'],
    );
    const events = (await h.fetchHistory()).events ?? [];
    // Escalation timer + deadline timer for the first gate, one for the second: no poll loop.
    assert.equal(events.filter((e) => e.timerStartedEventAttributes).length, 3);
    assert.ok(events.length < 80, `history has ${events.length} events`);
  });

  for (const gate of ['stop-producers', 'producers-cutover'] as const) {
    it(`abort while waiting at ${gate}: wins over the open gate, compensates what was done`, async () => {
      const h = await start(input());
      if (gate === 'producers-cutover') {
        await gateOpen(h, 'stop-producers');
        await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
      }
      await gateOpen(h, gate);
      await h.signal(abortSignal, { by: 'dave', reason: 'incident commander says stop' });
      const report = await h.result();
      assert.equal(report.outcome, 'aborted');
      assert.equal(report.stoppedAtGate, gate);
      assert.deepEqual(report.aborted && [report.aborted.by, report.aborted.reason, report.aborted.via], [
        'dave',
        'incident commander says stop',
        'signal',
      ]);
      assert.deepEqual(
        report.decisions.at(-1) && [report.decisions.at(-1)!.gate, report.decisions.at(-1)!.decision, report.decisions.at(-1)!.by],
        [gate, 'aborted', 'dave'],
      );
      const expected =
        gate === 'stop-producers' ? ['resume forward connectors'] : ['delete reverse connectors', 'resume forward connectors'];
      assert.deepEqual(report.compensation!.undone, expected);
      assert.equal(report.compensation!.leftAsIs.length, gate === 'stop-producers' ? 0 : 1);
    });
  }

  it('abort during an abortable wait (the drain) interrupts it, skips the rest and compensates', async () => {
    const h = await start(input({ drainMs: 60_000 }));
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    await eventually(
      'drain running',
      async () => ((await status(h)).steps.some((s) => s.name === 'drain' && s.state === 'running') ? true : undefined),
      30_000,
      100,
    );
    await h.signal(abortSignal, { by: 'dave', reason: 'wrong cluster' });
    const report = await h.result();
    assert.equal(report.outcome, 'aborted');
    const drain = report.steps.find((s) => s.name === 'drain')!;
    assert.equal(drain.state, 'failed');
    assert.equal(drain.error, 'interrupted by abort from dave: wrong cluster');
    assert.ok(!report.steps.some((s) => s.name === 'create reverse connectors'));
    assert.deepEqual(report.compensation!.undone, ['resume forward connectors']);
  });

  it('refuses invalid decide updates with the reason, and leaves state and history unchanged', async () => {
    const h = await start(input());
    const before = await gateOpen(h, 'stop-producers');
    const refusals = [
      [
        { gate: 'no-such-gate', decision: 'approve', by: 'bob' },
        /^unknown gate 'no-such-gate' \(this playbook's gates: stop-producers, producers-cutover\)$/,
      ],
      [
        { gate: 'producers-cutover', decision: 'approve', by: 'bob' },
        /^gate 'producers-cutover' is not open yet \(the open gate is 'stop-producers'\)$/,
      ],
      [
        { gate: 'stop-producers', decision: 'approve', by: 'mallory' },
        /^mallory may not decide gate 'stop-producers' \(approvers: alice, bob, carol\)$/,
      ],
      [{ gate: 'stop-producers', decision: 'approve', by: 'Alice' }, /four-eyes/],
      [{ gate: 'stop-producers', decision: 'approve', by: '  ' }, /^by: must name who decides \(empty\)$/],
      [{ gate: 'stop-producers', decision: 'reject', by: 'bob' }, /^comment: a rejection must say why/],
    ] as const;
    for (const [args, reason] of refusals) assert.match(await updateRefusal(h, args), reason);

    const after = await status(h);
    assert.deepEqual({ ...after, phases: undefined }, { ...before, phases: undefined });
    const events = (await h.fetchHistory()).events ?? [];
    assert.equal(events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length, 0, 'no refused update in history');

    // The requester may still withdraw (reject) their own request under four-eyes; approving a closed gate is refused.
    await h.executeUpdate(decideUpdate, { args: [{ gate: 'stop-producers', decision: 'approve', by: 'bob' }] });
    assert.match(
      await updateRefusal(h, { gate: 'stop-producers', decision: 'approve', by: 'carol' }),
      /^gate 'stop-producers' is not open: already approved by bob at .* \((the open gate is 'producers-cutover'|no gate is open)\)$/,
    );
    await gateOpen(h, 'producers-cutover');
    await h.executeUpdate(decideUpdate, { args: [{ gate: 'producers-cutover', decision: 'reject', by: 'bob', comment: 'done testing' }] });
    assert.equal((await h.result()).outcome, 'rejected');
  });

  it('records an invalid signal as ignored, with the reason, and changes nothing; the same approval twice has one effect', async () => {
    const h = await start(input());
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'mallory' });
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'alice' });
    await h.signal(rejectSignal, { gate: 'stop-producers', by: 'bob', reason: '' });
    await h.signal(approveSignal, { gate: 42 } as never);
    const s = await eventually(
      '4 ignored',
      async () => {
        const st = await status(h);
        return st.ignoredMessages.length === 4 ? st : undefined;
      },
      30_000,
      100,
    );
    assert.equal(s.openGate?.name, 'stop-producers');
    assert.deepEqual(s.decisions, []);
    assert.deepEqual(
      s.ignoredMessages.map((m) => [m.message, m.by, m.reason]),
      [
        ['approve', 'mallory', "mallory may not decide gate 'stop-producers' (approvers: alice, bob, carol)"],
        [
          'approve',
          'alice',
          "alice requested this playbook and may not approve gate 'stop-producers' themselves (four-eyes: another approver must)",
        ],
        ['reject', 'bob', 'reason: must say why (empty)'],
        [
          'approve',
          undefined,
          'gate: Invalid input: expected string, received number; by: Invalid input: expected string, received undefined',
        ],
      ],
    );

    // Twice the same approval (a retried CLI call): one decision, one effect.
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob', comment: 'once' });
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob', comment: 'once' });
    const s2 = await gateOpen(h, 'producers-cutover');
    assert.deepEqual(
      s2.decisions.map((d) => [d.gate, d.decision, d.by]),
      [['stop-producers', 'approved', 'bob']],
    );
    assert.equal(s2.ignoredMessages.length, 5);
    assert.match(s2.ignoredMessages[4]!.reason, /^gate 'stop-producers' is not open: already approved by bob at /);
    assert.deepEqual(
      callsOf(h.workflowId).filter((c) => c === 'toyEffect:create-reverse'),
      ['toyEffect:create-reverse'],
    );
    await h.signal(abortSignal, { by: 'bob', reason: 'test over' });
    await h.signal(abortSignal, { by: 'carol', reason: 'me too' });
    const report = await h.result();
    assert.equal(report.outcome, 'aborted');
    assert.match(report.ignoredMessages.at(-1)!.reason, /^already aborted by bob at /);
  });

  it('bad input: fails at once, non-retryable InvalidInput naming each field and reason, no activity called', async () => {
    const bad = input({ requestedBy: '', target: 'B C' });
    bad.gates['stop-producers'] = { deadline: 'soon', approvers: [] } as never;
    const h = await start(bad);
    const err = await h.result().then(
      () => assert.fail('bad input accepted'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'InvalidInput');
    assert.equal(err.cause.nonRetryable, true);
    assert.equal(
      err.cause.message,
      "target: must be a cluster alias; requestedBy: must name who decides (empty); gates.stop-producers.approvers: must list at least one approver, or leave approvers out; gates.stop-producers.deadline: must be a positive duration such as '90s', '30 minutes', '4h' or a number of milliseconds",
    );
    assert.deepEqual(callsOf(h.workflowId), []);
    const events = (await h.fetchHistory()).events ?? [];
    assert.equal(events.filter((e) => e.activityTaskScheduledEventAttributes).length, 0);
    assert.equal(events.filter((e) => e.workflowTaskFailedEventAttributes).length, 0, 'failed the workflow, not the task');
  });

  it('a failed step: compensates, then fails the workflow (PlaybookFailed) with the report in the details', async () => {
    const h = await start(input({ failEffect: 'create-reverse' }));
    await gateOpen(h, 'stop-producers');
    await h.signal(approveSignal, { gate: 'stop-producers', by: 'bob' });
    const err = await h.result().then(
      () => assert.fail('should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, 'PlaybookFailed');
    assert.equal(
      err.cause.message,
      'framework-toy failed: ConnectRejected: stub create-reverse!fail refused (undone: resume forward connectors)',
    );
    const report = err.cause.details![0] as PlaybookReport;
    assert.equal(report.outcome, 'failed');
    assert.equal(
      report.steps.find((s) => s.name === 'create reverse connectors')!.error,
      'ConnectRejected: stub create-reverse!fail refused',
    );
    assert.deepEqual(callsOf(h.workflowId).at(-1), 'toyUndo:resume-forward');
    assert.equal((await status(h)).phase, 'failed');
  });

  it('a workflow cancellation at a gate: compensates in a non-cancellable scope, ends cancelled', async () => {
    const h = await start(input());
    await gateOpen(h, 'stop-producers');
    await h.cancel();
    await assert.rejects(h.result(), WorkflowFailedError);
    assert.equal((await h.describe()).status.name, 'CANCELLED');
    assert.deepEqual(callsOf(h.workflowId), ['toyEffect:stop-forward', 'toyUndo:resume-forward']);
    const s = await status(h);
    assert.equal(s.outcome, 'cancelled');
    assert.equal(s.aborted?.via, 'cancellation');
    assert.deepEqual(s.compensations.result?.undone, ['resume forward connectors']);
  });

  it('one cutover per cluster pair: a second start with the same ID (failback while failover runs) is refused', async () => {
    const a = `A${uniqueId()}`;
    const b = `B${uniqueId()}`;
    const id = cutoverWorkflowId(a, b);
    assert.equal(id, cutoverWorkflowId(b, a));
    const first = await start(input({ source: a, target: b }), id);
    await assert.rejects(start(input({ source: b, target: a }), cutoverWorkflowId(b, a)), WorkflowExecutionAlreadyStartedError);
    await gateOpen(first, 'stop-producers');
    await first.signal(abortSignal, { by: 'test', reason: 'done' });
    assert.equal((await first.result()).outcome, 'aborted');
  });

  it('replays every history recorded above with the same bundle (the framework is deterministic)', async () => {
    assert.ok(started.length >= 10);
    const histories = await Promise.all(started.map(async (h) => ({ workflowId: h.workflowId, history: await h.fetchHistory() })));
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle: w.bundle }, histories)) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
      replayed++;
    }
    assert.equal(replayed, started.length);
  });
});
