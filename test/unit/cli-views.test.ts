import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PlaybookSnapshot } from '../../src/client/operations';
import { statusFromReport } from '../../src/client/operations';
import { changedEvents, renderStatus, statusEvents } from '../../src/cli/status-view';
import type { PlaybookReport, PlaybookStatus } from '../../src/model/gates';
import { formatDuration, lagRows } from '../../src/report/lag-rows';
import { cell, renderPlaybookMarkdown } from '../../src/report/playbook-markdown';
import { playbookStatus } from '../helpers/status';

/** The status view (terminal and piped --watch lines), lag extraction and the Markdown report. */

function status(overrides: Partial<PlaybookStatus> = {}): PlaybookStatus {
  return playbookStatus({
    phases: [
      { phase: 'starting', at: '2026-01-01T10:00:00.000Z' },
      { phase: 'checking', at: '2026-01-01T10:00:01.000Z' },
    ],
    steps: [
      {
        name: 'check-target',
        state: 'completed',
        startedAt: '2026-01-01T10:00:01.000Z',
        endedAt: '2026-01-01T10:00:01.250Z',
        durationMs: 250,
      },
      {
        name: 'check-lag',
        state: 'completed',
        startedAt: '2026-01-01T10:00:02.000Z',
        durationMs: 1500,
        details: {
          total: '42',
          partitions: [
            { topic: 'orders', partition: 1, lag: '40' },
            { topic: 'orders', partition: 0, lag: '2' },
          ],
        },
      },
      { name: 'drain', state: 'skipped', startedAt: '2026-01-01T10:00:03.000Z', durationMs: 0, details: { why: 'dry run' } },
    ],
    gates: [
      { name: 'stop-producers', state: 'open' },
      { name: 'consumers-cutover', state: 'pending' },
    ],
    openGate: {
      name: 'stop-producers',
      description: 'confirm producers to orders on A are stopped',
      requestedBy: 'alice',
      openedAt: '2026-01-01T10:00:04.000Z',
      escalateAt: null,
      escalatedAt: null,
      escalationError: null,
      deadlineAt: '2026-01-01T14:00:04.000Z',
      approvers: ['bob', 'carol'],
      fourEyes: true,
    },
    figures: { lagAtStart: '42' },
    compensations: { registered: [{ name: 'resume forward connector s', step: 'stop-forward' }], leftAsIs: [], result: null },
    ...overrides,
  });
}

function snapshot(s: PlaybookStatus | null, overrides: Partial<PlaybookSnapshot> = {}): PlaybookSnapshot {
  return {
    workflowId: 'kafka-dr-cutover-A~B',
    runId: 'r1',
    workflowType: 'failover',
    taskQueue: 'kafka-dr',
    temporalStatus: 'RUNNING',
    startTime: '2026-01-01T10:00:00.000Z',
    closeTime: null,
    status: s,
    report: null,
    failure: null,
    ...overrides,
  };
}

function report(overrides: Partial<PlaybookReport> = {}): PlaybookReport {
  return {
    playbook: 'failover',
    workflowId: 'kafka-dr-cutover-A~B',
    clusterPair: 'A~B',
    requestedBy: 'alice',
    outcome: 'aborted',
    reason: 'aborted by carol: wrong | pair',
    stoppedAtGate: null,
    startedAt: '2026-01-01T10:00:00.000Z',
    endedAt: '2026-01-01T10:05:30.000Z',
    durationMs: 330_000,
    phases: [
      { phase: 'checking', at: '2026-01-01T10:00:00.000Z' },
      { phase: 'compensating', at: '2026-01-01T10:05:00.000Z' },
    ],
    steps: [
      {
        name: 'drain',
        state: 'completed',
        startedAt: '2026-01-01T10:01:00.000Z',
        durationMs: 61_000,
        details: { lag: { 'orders-0': 0, 'orders-1': 0 } },
      },
      {
        name: 'stop-forward',
        state: 'compensated',
        startedAt: '2026-01-01T10:02:00.000Z',
        durationMs: 800,
        compensatedBy: 'undo: resume forward connector s',
      },
      { name: 'undo: resume forward connector s', state: 'completed', startedAt: '2026-01-01T10:05:00.000Z', durationMs: 300 },
    ],
    decisions: [
      {
        gate: 'stop-producers',
        decision: 'approved',
        by: 'bob',
        at: '2026-01-01T10:00:50.000Z',
        via: 'update',
        comment: 'producers\nstopped',
      },
    ],
    ignoredMessages: [
      { message: 'approve', at: '2026-01-01T10:00:40.000Z', gate: 'stop-producers', by: 'mallory', reason: 'mallory may not decide' },
    ],
    aborted: { by: 'carol', reason: 'wrong | pair', at: '2026-01-01T10:04:59.000Z', via: 'signal' },
    figures: {
      drainMs: 61_000,
      lagAtStart: '42',
      offsetsSet: [{ group: 'billing', topic: 'A.orders', partition: 0, offset: '10' }],
      rpoEstimate: { ageMs: 900, lastHeartbeatAt: null },
    },
    compensation: {
      reason: 'aborted by carol: wrong | pair',
      undone: ['resume forward connector s'],
      failed: [{ name: 'delete reverse', error: 'ConnectRebalancing: 409' }],
      leftAsIs: [{ name: 'consumer group offsets on target', why: 'nothing reads them yet' }],
    },
    ...overrides,
  };
}

describe('lag per partition', () => {
  it('finds {topic, partition, lag} lists and lag maps, keeps the latest per partition, sorted', () => {
    const rows = lagRows({
      steps: [
        {
          name: 'check-lag',
          details: {
            partitions: [
              { topic: 'orders', partition: 1, lag: '40' },
              { topic: 'orders', partition: 0, lag: 2 },
            ],
          },
        },
        { name: 'drain', details: { lag: { 'orders-1': 0, clicks: 7 } } },
      ],
      figures: { catchUp: { partitions: [{ topic: 'a', partition: 3, lag: '1' }] }, total: '9' },
    });
    assert.deepEqual(
      rows.map((r) => [r.topic, r.partition, r.lag, r.from]),
      [
        ['a', 3, '1', 'figures.catchUp'],
        ['clicks', null, '7', 'drain'],
        ['orders', 0, '2', 'check-lag'],
        ['orders', 1, '0', 'drain'],
      ],
    );
    assert.deepEqual(lagRows({ steps: [{ name: 'x', details: { lag: { a: 'many' } } }], figures: {} }), [], 'not numbers: not lag');
  });

  it('formats durations as an operator reads them', () => {
    assert.deepEqual(
      [formatDuration(250), formatDuration(1500), formatDuration(61_000), formatDuration(7_500_000), formatDuration(undefined)],
      ['250 ms', '1.5 s', '1 min 01 s', '2 h 05 min', ''],
    );
  });
});

describe('status view', () => {
  it('terminal: steps with marks and times, the open gate with what approving does and who may, lag, undos', () => {
    const text = renderStatus(snapshot(status()));
    assert.match(text, /^failover kafka-dr-cutover-A~B {2}RUNNING {2}phase checking$/m);
    assert.match(text, /\[x\] check-target +completed +250 ms/);
    assert.match(text, /\[-\] drain +skipped +0 ms +dry run/);
    assert.match(text, /^Open gate: stop-producers \(opened 2026-01-01 10:00:04Z, deadline 2026-01-01 14:00:04Z\)$/m);
    assert.match(text, /Approving it: confirm producers to orders on A are stopped/);
    assert.match(text, /approvers: bob, carol; four-eyes: alice \(the requester\) may not approve/);
    assert.match(text, /kafka-dr approve kafka-dr-cutover-A~B stop-producers --as NAME/);
    assert.match(text, /orders +0 +2 +check-lag\n {2}orders +1 +40 +check-lag/);
    assert.match(text, /On abort or reject, undo: resume forward connector s/);
    assert.doesNotMatch(text, /\x1b/, 'no escape codes in the view itself');
  });

  it('a gate that asks choices: the keys, the options and the --choice form; per-group positions; choices in the decision line', () => {
    const base = status();
    const s = status({
      gates: [...base.gates, { name: 'unplaced-groups', state: 'open' }],
      openGate: {
        ...base.openGate!,
        name: 'unplaced-groups',
        description: '1 group-partition(s) of 1 group(s) ...',
        choices: { options: ['earliest', 'end', 'leave-out'], keys: ['parked'] },
      },
      decisions: [
        {
          gate: 'consumers-cutover',
          decision: 'approved',
          by: 'bob',
          at: '2026-01-01T10:00:05.000Z',
          via: 'update',
          choices: { x: 'end' },
        },
      ],
      figures: {
        groupPositions: [
          { group: 'billing', exact: 2, translated: 0, earliest: 0, end: 0, leftOut: 0, reRead: '0', skipped: '0', outcome: 'exact' },
        ],
      },
    });
    const text = renderStatus(snapshot(s));
    assert.match(text, /Choose one of earliest \| end \| leave-out for each of: parked/);
    assert.match(text, /kafka-dr approve kafka-dr-cutover-A~B unplaced-groups --as NAME --choice parked=CHOICE/);
    assert.match(text, /consumers-cutover +approved by bob at 2026-01-01 10:00:05Z choosing x=end/);
    assert.match(text, /Consumer groups\n {2}billing: exact/);
    const lines = statusEvents(snapshot(s)).map((e) => e.line);
    assert.ok(
      lines.some((l) => /gate unplaced-groups waits: .*choose earliest \| end \| leave-out for parked/.test(l)),
      lines.join('\n'),
    );
    assert.ok(lines.includes('consumer groups: billing: exact'), lines.join('\n'));
  });

  it('divergent records on failback: the counts and the choice in the view and in --watch', () => {
    const s = status({
      figures: {
        divergent: {
          checkedAt: '2026-01-01T10:00:00.000Z',
          records: 8,
          partitions: [{ topic: 'orders', partition: 0, from: '10', to: '28', records: 8, ranges: [['10', '17']], fromDr: 10 }],
          choice: 'replay',
          by: 'bob',
          replayed: { copied: 8, topics: ['orders'] },
        },
      },
    });
    const text = renderStatus(snapshot(s));
    assert.match(
      text,
      /Divergent records: 8 record\(s\) on the primary the DR cluster never received, in 1 partition\(s\): replayed on the primary after the cutover \(8\), copied to the DR cluster by the forward flow by bob/,
    );
    const lines = statusEvents(snapshot(s)).map((e) => e.line);
    assert.ok(
      lines.some((l) => l.startsWith('divergent records: 8 record(s)')),
      lines.join('\n'),
    );
  });

  it('a closed run rebuilt from its report: decisions, compensation, outcome; no open gate', () => {
    const r = report();
    const text = renderStatus(snapshot(statusFromReport(r), { temporalStatus: 'COMPLETED', closeTime: r.endedAt, report: r }));
    assert.match(text, /stop-producers +approved by bob at 2026-01-01 10:00:50Z: producers\nstopped|stop-producers +approved by bob/);
    assert.match(text, /\[~\] stop-forward +compensated .*reverted by undo: resume forward connector s/);
    assert.match(text, /Compensation \(aborted by carol: wrong \| pair\): undone resume forward connector s/);
    assert.match(text, /undo failed: delete reverse: ConnectRebalancing: 409/);
    assert.match(text, /Outcome: aborted: aborted by carol/);
    assert.doesNotMatch(text, /Open gate/);
  });

  it('the outcome line carries the measured rpoRecords and what the old primary got after the snapshot', () => {
    const r = { ...report(), outcome: 'completed' as const, reason: null };
    const done = statusFromReport(r);
    const measured = { ...done, figures: { ...done.figures, rpoRecords: 308, writesAfterSnapshot: { records: '184' } } };
    const text = renderStatus(snapshot(measured, { temporalStatus: 'COMPLETED', closeTime: r.endedAt, report: r }));
    assert.match(text, /Outcome: completed; rpoRecords 308 \(184 written to the old primary after the snapshot\)$/);
    assert.match(
      renderStatus(snapshot({ ...done, figures: { rpoRecords: 0 } }, { temporalStatus: 'COMPLETED', report: r })),
      /Outcome: completed; rpoRecords 0$/,
    );
  });

  it('no status at all (terminated before reporting) says why', () => {
    const text = renderStatus(snapshot(null, { temporalStatus: 'TERMINATED', failure: 'terminated by ops' }));
    assert.match(text, /No playbook status: terminated by ops/);
  });

  it('piped --watch: one line per fact, printed again only when it changes', () => {
    const printed = new Map<string, string>();
    const first = changedEvents(statusEvents(snapshot(status())), printed).map((e) => e.line);
    assert.deepEqual(first.slice(0, 3), [
      'workflow kafka-dr-cutover-A~B failover RUNNING',
      'phase checking',
      'step check-target: completed (250 ms)',
    ]);
    assert.ok(first.includes('gate stop-producers: open'));
    assert.ok(
      first.some((l) =>
        l.startsWith('gate stop-producers waits: approving it will confirm producers to orders on A are stopped (approvers: bob, carol;'),
      ),
    );
    assert.ok(first.includes('lag orders[1] 40 (check-lag)'));
    assert.deepEqual(changedEvents(statusEvents(snapshot(status())), printed), [], 'same status: nothing printed');

    const later = status({
      phase: 'draining',
      gates: [
        { name: 'stop-producers', state: 'approved' },
        { name: 'consumers-cutover', state: 'pending' },
      ],
      openGate: null,
      decisions: [{ gate: 'stop-producers', decision: 'approved', by: 'bob', at: '2026-01-01T10:01:00.000Z', via: 'update' }],
    });
    assert.deepEqual(
      changedEvents(statusEvents(snapshot(later)), printed).map((e) => e.line),
      ['phase draining', 'gate stop-producers: approved by bob at 2026-01-01 10:01:00Z'],
    );
    const closed = snapshot(statusFromReport(report()), { temporalStatus: 'COMPLETED', report: report() });
    const end = changedEvents(statusEvents(closed), printed).map((e) => e.line);
    assert.ok(end.includes('workflow kafka-dr-cutover-A~B failover COMPLETED'));
    assert.equal(end[end.length - 1], 'outcome aborted: aborted by carol: wrong | pair');
  });
});

describe('Markdown report', () => {
  it('renders steps with times, decisions, offsets set, lag/drain figures, compensation', () => {
    const md = renderPlaybookMarkdown(report());
    assert.match(md, /^# failover kafka-dr-cutover-A~B: aborted\n/);
    assert.match(md, /- \*\*Duration:\*\* 5 min 30 s/);
    assert.match(md, /- \*\*Reason:\*\* aborted by carol: wrong \\\| pair/);
    assert.match(
      md,
      /\| phase \| from \| time in phase \|\n\|---\|---\|---\|\n\| checking \| 2026-01-01 10:00:00Z \| 5 min 00 s \|\n\| compensating \| 2026-01-01 10:05:00Z \| 30\.0 s \|/,
    );
    assert.match(md, /\| 1 \| drain \| completed \| 2026-01-01 10:01:00Z \| 1 min 01 s \|  \|/);
    assert.match(md, /\| 2 \| stop-forward \| compensated \| .* \| reverted by undo: resume forward connector s \|/);
    assert.match(
      md,
      /\| stop-producers \| approved \| bob \| 2026-01-01 10:00:50Z \| update \| producers stopped \|/,
      'newlines flattened in a cell',
    );
    assert.match(
      md,
      /## Offsets set \(offsetsSet\)\n\n\| group \| topic \| partition \| offset \|\n\|---\|---\|---\|---\|\n\| billing \| A\.orders \| 0 \| 10 \|/,
    );
    assert.match(md, /\| drainMs \| 1 min 01 s \(61000 ms\) \|/);
    assert.match(md, /\| rpoEstimate\.ageMs \| 900 ms \(900 ms\) \|/);
    assert.match(md, /\| orders \| 1 \| 0 \| drain \|/);
    assert.match(
      md,
      /- \*\*Undone:\*\* resume forward connector s\n- \*\*Undo failed:\*\* delete reverse: ConnectRebalancing: 409\n- \*\*Left as is:\*\* consumer group offsets on target: nothing reads them yet/,
    );
    assert.match(md, /## Messages that changed nothing[\s\S]*\| approve \| stop-producers \| mallory \|/);
    assert.match(md, /Aborted by carol at 2026-01-01 10:04:59Z \(signal\): wrong \\\| pair/);
    assert.ok(md.endsWith('\n') && !md.endsWith('\n\n'));
  });

  it('per-group positions, the unplaced group-partitions and the choices made', () => {
    const md = renderPlaybookMarkdown(
      report({
        decisions: [
          {
            gate: 'unplaced-groups',
            decision: 'approved',
            by: 'bob',
            at: '2026-01-01T10:00:50.000Z',
            via: 'update',
            choices: { parked: 'end' },
          },
        ],
        figures: {
          unplaced: [
            {
              group: 'parked',
              topic: 'orders',
              downstream: 'A.orders',
              partition: 1,
              committed: '20',
              sourceEnd: '50',
              lag: '30',
              why: 'no-checkpoint',
            },
          ],
          unplacedSet: [{ group: 'parked', topic: 'A.orders', partition: 1, choice: 'end', offset: '50', low: '0', high: '50' }],
          groupPositions: [
            {
              group: 'billing',
              exact: 0,
              translated: 2,
              earliest: 0,
              end: 0,
              leftOut: 0,
              reRead: '0',
              skipped: '0',
              outcome: 'translated through checkpoints on 2 partition(s)',
            },
            {
              group: 'parked',
              exact: 0,
              translated: 0,
              earliest: 0,
              end: 1,
              leftOut: 0,
              reRead: '0',
              skipped: '30',
              outcome: 'skipped 30 (end on 1 partition(s))',
            },
          ],
        },
      }),
    );
    assert.match(md, /\| unplaced-groups \| approved \| bob \| .* \| update \| chose parked=end \|/);
    assert.match(
      md,
      /## Consumer group positions\n\n.*\n.*\n\| billing \| translated through checkpoints on 2 partition\(s\) \| 0 \| 2 \| 0 \| 0 \| 0 \| 0 \| 0 \|\n\| parked \| skipped 30 \(end on 1 partition\(s\)\) \| 0 \| 0 \| 0 \| 1 \| 0 \| 0 \| 30 \|/,
    );
    assert.match(
      md,
      /## Group-partitions the translation could not place\n\n.*\n.*\n\| parked \| orders \| 1 \| 20 \| 50 \| 30 \| no-checkpoint \|/,
    );
    assert.match(md, /## Offsets set \(unplacedSet\)\n\n.*\n.*\n\| parked \| A\.orders \| 1 \| 50 \|/);
    assert.doesNotMatch(md, /## Offsets set \(unplaced\)/);
  });

  it('a completed dry run: no compensation needed, the plan as JSON, nothing decided', () => {
    const md = renderPlaybookMarkdown(
      report({
        outcome: 'completed',
        reason: null,
        aborted: null,
        decisions: [],
        ignoredMessages: [],
        compensation: null,
        figures: { dryRun: true, plan: { blockers: ['lag 99'] } },
      }),
    );
    assert.match(md, /- \*\*Dry run:\*\* nothing was changed/);
    assert.match(md, /No gate was decided\./);
    assert.match(md, /None needed: the playbook completed\./);
    assert.match(md, /## Plan \(dry run\)\n\n```json\n\{\n {2}"blockers": \[\n {4}"lag 99"/);
    assert.doesNotMatch(md, /Messages that changed nothing/);
  });

  it('cells escape pipes and backslashes and flatten newlines', () => {
    assert.equal(cell('a|b\\c\nd'), 'a\\|b\\\\c d');
    assert.equal(cell(null), '');
    assert.equal(cell({ x: 1 }), '{"x":1}');
  });
});
