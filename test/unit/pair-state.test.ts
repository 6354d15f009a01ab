import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describePairState, pairCutoverState, type CutoverRun } from '../../src/model/pair-state';

const run = (type: string, status: string, minute: number, outcome?: string): CutoverRun => ({
  type,
  runId: `${type}-${minute}`,
  status,
  startTime: `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`,
  ...(outcome !== undefined ? { outcome } : {}),
});

describe('pairCutoverState', () => {
  const cases: Array<[string, CutoverRun[], string]> = [
    ['no runs', [], 'idle'],
    ['a failover running', [run('failover', 'RUNNING', 1)], 'cutover-running'],
    [
      'a failback running after a failover',
      [run('failover', 'COMPLETED', 1, 'completed'), run('failback', 'RUNNING', 2)],
      'cutover-running',
    ],
    ['a completed failover', [run('failover', 'COMPLETED', 1, 'completed')], 'failed-over'],
    ['failover then failback', [run('failover', 'COMPLETED', 1, 'completed'), run('failback', 'COMPLETED', 2, 'completed')], 'idle'],
    [
      'failover, failback rejected: still failed over',
      [run('failover', 'COMPLETED', 1, 'completed'), run('failback', 'COMPLETED', 2, 'rejected')],
      'failed-over',
    ],
    [
      'failover, failback failed: still failed over',
      [run('failover', 'COMPLETED', 1, 'completed'), run('failback', 'FAILED', 2)],
      'failed-over',
    ],
    ['a rejected failover changed nothing', [run('failover', 'COMPLETED', 1, 'rejected')], 'idle'],
    ['a failed failover compensated', [run('failover', 'FAILED', 1)], 'idle'],
    ['the pair lock is not a cutover', [run('pairLock', 'RUNNING', 3)], 'idle'],
    [
      'a second cycle',
      [
        run('failover', 'COMPLETED', 1, 'completed'),
        run('failback', 'COMPLETED', 2, 'completed'),
        run('failover', 'COMPLETED', 3, 'completed'),
      ],
      'failed-over',
    ],
  ];
  for (const [name, runs, want] of cases) {
    it(name, () => {
      // Order of the listing must not matter.
      assert.equal(pairCutoverState([...runs].reverse()).state, want);
      assert.equal(pairCutoverState(runs).state, want);
    });
  }

  it('says what to do', () => {
    const pair = { source: 'A', target: 'B', workflowId: 'kafka-dr-cutover-A~B' };
    assert.match(describePairState(pairCutoverState([run('failover', 'COMPLETED', 1, 'completed')]), pair)!, /fail back first/);
    assert.match(describePairState(pairCutoverState([run('failback', 'RUNNING', 1)]), pair)!, /a failback of A~B is running/);
    assert.equal(describePairState({ state: 'idle' }, pair), undefined);
  });
});
