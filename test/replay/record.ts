import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { approveSignal, statusQuery } from '../../workflows/framework';
import { eventually, REPO_ROOT, stack, uniqueId } from '../helpers/stack';
import { auditInput, createStubs, failoverInput, SOME_DRIFT, type AuditScenario } from './stubs';

/**
 * Records the histories test/replay/replay.test.ts replays: completed playbook runs on the
 * stack's Temporal dev server with the stub activities of ./stubs. Run it by hand after a
 * deliberate workflow change (with `patched()`), keep the old files too, commit the JSON:
 *
 *   node dist/test/replay/record.js            # writes test/replay/histories/<name>.json
 */

const OUT = path.join(REPO_ROOT, 'test', 'replay', 'histories');

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const taskQueue = `kafka-dr-record-${uniqueId()}`;
  const scenarios = new Map<string, AuditScenario>();
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('ERROR') });
  const workerConnection = await NativeConnection.connect({ address: stack.temporal.address });
  const worker = await Worker.create({
    connection: workerConnection,
    namespace: stack.temporal.namespace,
    taskQueue,
    workflowBundle: bundle,
    activities: createStubs((id) => scenarios.get(id) ?? {}),
  });
  const connection = await Connection.connect({ address: stack.temporal.address });
  const client = new Client({ connection, namespace: stack.temporal.namespace });

  const approveWhenOpen = async (h: WorkflowHandle, gate: string, by: string) => {
    await eventually(`gate ${gate}`, async () => ((await h.query(statusQuery)).openGate?.name === gate ? true : undefined), 30_000, 100);
    await h.signal(approveSignal, { gate, by });
  };

  const runs: Array<{ name: string; workflowType: string; input: unknown; scenario?: AuditScenario; approve: Array<[string, string]> }> = [
    {
      name: 'failover-planned-approved',
      workflowType: 'failover',
      input: failoverInput(),
      scenario: { lagTotal: '42' },
      approve: [['stop-producers', 'bob'], ['consumers-cutover', 'carol'], ['producers-cutover', 'carol']],
    },
    { name: 'audit-drift-report-only', workflowType: 'auditDrift', input: auditInput(), scenario: { drift: SOME_DRIFT, heartbeatAgeMs: 120_000 }, approve: [] },
    {
      name: 'audit-drift-repair-approved',
      workflowType: 'auditDrift',
      input: auditInput({ repair: true, requestedBy: 'alice', gates: { repair: { approvers: ['bob'], deadline: '10 minutes' } } }),
      scenario: { drift: SOME_DRIFT },
      approve: [['repair', 'bob']],
    },
  ];

  fs.mkdirSync(OUT, { recursive: true });
  await worker.runUntil(async () => {
    for (const run of runs) {
      const workflowId = `replay-${run.name}-${uniqueId()}`;
      scenarios.set(workflowId, run.scenario ?? {});
      const h = await client.workflow.start(run.workflowType, { taskQueue, workflowId, args: [run.input], workflowExecutionTimeout: '2 minutes' });
      for (const [gate, by] of run.approve) await approveWhenOpen(h, gate, by);
      await h.result();
      const history = await h.fetchHistory();
      fs.writeFileSync(path.join(OUT, `${run.name}.json`), `${JSON.stringify(historyToPlainJSON(history), null, 1)}\n`);
      console.log(`${run.name}: ${history.events?.length ?? 0} events → ${path.relative(REPO_ROOT, path.join(OUT, `${run.name}.json`))}`);
    }
  });
  await connection.close();
  await workerConnection.close();
}

/**
 * The history as plain JSON (int64 as strings, enums as names, bytes base64), read back with
 * `History.fromObject`. Not `historyToJSON` from @temporalio/common: in this install it uses a
 * nested protobufjs 8 while @temporalio/proto resolves the hoisted protobufjs 7, and it throws
 * "TypeError: type must be a Type".
 */
function historyToPlainJSON(history: temporal.api.history.v1.IHistory): unknown {
  return temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), { longs: String, enums: String, bytes: String });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
