import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { REPO_ROOT } from '../helpers/stack';

/**
 * Replays the committed histories (test/replay/histories/*.json, written by record.ts as
 * `History.toObject` JSON: see record.ts for why not historyToJSON)
 * against the current workflows bundle: a change to a released workflow that is not
 * behind `patched()` fails here. Negative control: the same histories against a
 * deliberately changed audit-drift (./changed) must fail with DeterminismViolationError,
 * proving the replay really compares commands. No server needed.
 */

const DIR = path.join(REPO_ROOT, 'test', 'replay', 'histories');
const histories = () =>
  fs
    .readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({
      workflowId: path.basename(f, '.json'),
      history: temporal.api.history.v1.History.fromObject(
        JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')) as Record<string, unknown>,
      ),
    }));

describe('replay of recorded playbook histories', { timeout: 120_000 }, () => {
  let current: WorkflowBundle;
  let changed: WorkflowBundle;

  before(async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    current = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('ERROR') });
    changed = await bundleWorkflowCode({ workflowsPath: require.resolve('./changed'), logger: new DefaultLogger('ERROR') });
  });

  it('the committed fixtures cover failover and audit-drift', () => {
    const names = histories().map((h) => h.workflowId);
    assert.ok(
      names.some((n) => n.startsWith('failover-')),
      names.join(', '),
    );
    assert.ok(
      names.some((n) => n.startsWith('audit-drift-')),
      names.join(', '),
    );
  });

  it('every recorded history replays against the current workflows', async () => {
    const all = histories();
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle: current }, all)) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
      replayed++;
    }
    assert.equal(replayed, all.length);
  });

  it('negative control: a changed audit-drift fails replay with DeterminismViolationError', async () => {
    const audits = histories().filter((h) => h.workflowId.startsWith('audit-drift-'));
    const errors: unknown[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: changed }, audits)) errors.push(result.error);
    assert.equal(errors.length, audits.length);
    for (const err of errors) assert.ok(err instanceof DeterminismViolationError, `expected DeterminismViolationError, got ${String(err)}`);
    // The unchanged failover in the same bundle still replays: the failure is the change, not the bundle.
    const failovers = histories().filter((h) => h.workflowId.startsWith('failover-'));
    for await (const result of Worker.runReplayHistories({ workflowBundle: changed }, failovers)) assert.equal(result.error, undefined);
  });
});
