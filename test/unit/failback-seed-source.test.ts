import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailbackInput, snapshotFromFailoverReport, type FailoverReportForSeed } from '../../src/model/failback-input';
import { rawFailbackInput } from '../helpers/inputs';

const want = { primary: 'A', dr: 'B', workflowId: 'kafka-dr-cutover-A~B' };
const report = (patch: Partial<FailoverReportForSeed> = {}): FailoverReportForSeed => ({
  playbook: 'failover',
  outcome: 'completed',
  reason: null,
  clusterPair: 'A~B',
  figures: {
    dryRun: false,
    snapshots: {
      source: { cluster: 'A' },
      target: { cluster: 'B', takenAt: '2025-01-01T00:00:00.000Z', offsets: { orders: { '0': '10' } } },
    },
  },
  ...patch,
});

describe('failback seed from a failover report', () => {
  it('a completed failover of A→B gives its target snapshot', () => {
    assert.deepEqual(snapshotFromFailoverReport(report(), want), {
      offsets: { orders: { '0': '10' } },
      takenAt: '2025-01-01T00:00:00.000Z',
    });
  });

  it('an unplanned failover (no source snapshot) still seeds', () => {
    const r = report();
    r.figures!.snapshots!.source = null;
    assert.ok('offsets' in snapshotFromFailoverReport(r, want));
  });

  const refusals: Array<[string, FailoverReportForSeed, RegExp]> = [
    ['another playbook', report({ playbook: 'failback' }), /returned a failback report, not a failover's/],
    [
      'a rejected failover',
      report({ outcome: 'rejected', reason: "gate 'stop-producers' rejected" }),
      /ended rejected \(gate 'stop-producers' rejected\): it did not fail over/,
    ],
    ['a dry run', report({ figures: { dryRun: true } }), /was a dry run/],
    ['no snapshot', report({ figures: { dryRun: false, snapshots: {} } }), /has no target snapshot/],
    [
      'the other direction',
      report({ figures: { snapshots: { source: { cluster: 'B' }, target: { cluster: 'A', offsets: {} } } } }),
      /failed over B→A, not A→B/,
    ],
  ];
  for (const [what, r, message] of refusals) {
    it(`refuses ${what}, saying what to do instead`, () => {
      const out = snapshotFromFailoverReport(r, want);
      assert.ok('refused' in out, JSON.stringify(out));
      assert.match(out.refused, message);
      assert.match(out.refused, /seed\.snapshot|name the failover/);
    });
  }

  it('the input takes failoverWorkflowId (and a run ID only with it), never together with a snapshot', () => {
    const base = rawFailbackInput();
    const ok = FailbackInput.safeParse({
      ...base,
      seed: { failoverWorkflowId: 'kafka-dr-cutover-A~B', failoverRunId: 'b6d8a7c2-0a1e-4c57-9d53-0d8f4f5d4b1e' },
    });
    assert.ok(ok.success, JSON.stringify(ok.error?.issues));
    assert.equal(ok.data.seed.mode, 'auto');
    const both = FailbackInput.safeParse({ ...base, seed: { failoverWorkflowId: 'x', snapshot: { orders: { '0': '1' } } } });
    assert.ok(!both.success);
    assert.deepEqual(
      both.error.issues.map((i) => i.path.join('.')),
      ['seed.failoverWorkflowId'],
    );
    const runOnly = FailbackInput.safeParse({ ...base, seed: { failoverRunId: 'abc' } });
    assert.ok(!runOnly.success);
    assert.deepEqual(
      runOnly.error.issues.map((i) => i.path.join('.')),
      ['seed.failoverRunId'],
    );
    const quoted = FailbackInput.safeParse({ ...base, seed: { failoverWorkflowId: "x' OR 1=1" } });
    assert.ok(!quoted.success, 'no quotes: the ID goes into a visibility query');
  });
});
