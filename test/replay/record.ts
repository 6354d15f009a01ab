import * as fs from 'node:fs';
import * as path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { approveSignal } from '../../workflows/framework';
import { gateOpen, startStubWorker } from '../helpers/playbook';
import { REPO_ROOT, uniqueId } from '../helpers/stack';
import { HISTORIES_DIR, writeHistory } from './capture';
import { auditInput, createStubs, failoverInput, SOME_DRIFT, type AuditScenario } from './stubs';

/**
 * Records the stub-run histories test/replay/replay.test.ts replays (the end-to-end tests
 * add real-stack ones with KDR_CAPTURE_FIXTURES=1, see ./capture.ts): completed playbook runs on the
 * stack's Temporal dev server with the stub activities of ./stubs. Run it by hand after a
 * deliberate workflow change (with `patched()`), keep the old files too, commit the JSON:
 *
 *   node dist/test/replay/record.js [name...]  # writes test/replay/histories/<name>.json (all, or the named runs)
 */

const OUT = HISTORIES_DIR;

async function main(): Promise<void> {
  const scenarios = new Map<string, AuditScenario>();
  // The production workflows only: the histories are what a real worker replays.
  const { client, taskQueue, close } = await startStubWorker({
    name: 'record',
    activities: createStubs((id) => scenarios.get(id) ?? {}),
    workflowsPath: require.resolve('../../workflows'),
  });
  const approveWhenOpen = async (h: WorkflowHandle, gate: string, by: string, choices?: Record<string, string>) => {
    await gateOpen(h, gate);
    await h.signal(approveSignal, { gate, by, ...(choices ? { choices } : {}) });
  };

  const runs: Array<{
    name: string;
    workflowType: string;
    input: unknown;
    scenario?: AuditScenario;
    approve: Array<[string, string, Record<string, string>?]>;
  }> = [
    {
      name: 'failover-planned-approved',
      workflowType: 'failover',
      input: failoverInput(),
      scenario: { lagTotal: '42' },
      approve: [
        ['stop-producers', 'bob'],
        ['consumers-cutover', 'carol'],
        ['producers-cutover', 'carol'],
      ],
    },
    {
      // The runbook of patch failover-stop-consumers-before-translate: check-groups, consumers stopped before
      // translate-offsets, find-unplaced, then the unplaced-groups gate (approved with a choice per group).
      name: 'failover-planned-unplaced-groups',
      workflowType: 'failover',
      input: failoverInput({ groups: ['billing', 'parked', 'late'] }),
      scenario: {
        lagTotal: '42',
        unplaced: [
          {
            group: 'late',
            topic: 'orders',
            downstream: 'A.orders',
            partition: 0,
            committed: '8',
            sourceEnd: '10',
            lag: '2',
            why: 'no-checkpoint',
          },
          {
            group: 'parked',
            topic: 'orders',
            downstream: 'A.orders',
            partition: 0,
            committed: '4',
            sourceEnd: '10',
            lag: '6',
            why: 'no checkpoint or offset sync translates this partition',
          },
        ],
      },
      approve: [
        ['stop-producers', 'bob'],
        ['consumers-cutover', 'carol'],
        ['unplaced-groups', 'carol', { parked: 'end', '*': 'earliest' }],
        ['producers-cutover', 'carol'],
      ],
    },
    {
      name: 'audit-drift-report-only',
      workflowType: 'auditDrift',
      input: auditInput(),
      scenario: { drift: SOME_DRIFT, heartbeatAgeMs: 120_000 },
      approve: [],
    },
    {
      name: 'audit-drift-repair-approved',
      workflowType: 'auditDrift',
      input: auditInput({ repair: true, requestedBy: 'alice', gates: { repair: { approvers: ['bob'], deadline: '10 minutes' } } }),
      scenario: { drift: SOME_DRIFT },
      approve: [['repair', 'bob']],
    },
  ];

  // Names on the command line: record only those (keep the other committed files byte for byte).
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !runs.some((r) => r.name === n));
  if (unknown.length > 0) throw new Error(`unknown run(s) ${unknown.join(', ')}; known: ${runs.map((r) => r.name).join(', ')}`);
  fs.mkdirSync(OUT, { recursive: true });
  try {
    for (const run of runs.filter((r) => only.length === 0 || only.includes(r.name))) {
      const workflowId = `replay-${run.name}-${uniqueId()}`;
      scenarios.set(workflowId, run.scenario ?? {});
      const h = await client.workflow.start(run.workflowType, {
        taskQueue,
        workflowId,
        args: [run.input],
        workflowExecutionTimeout: '2 minutes',
      });
      for (const [gate, by, choices] of run.approve) await approveWhenOpen(h, gate, by, choices);
      await h.result();
      const history = await h.fetchHistory();
      const { file, events } = writeHistory(history, run.name, OUT);
      console.log(`${run.name}: ${events} events → ${path.relative(REPO_ROOT, file)}`);
    }
  } finally {
    await close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
