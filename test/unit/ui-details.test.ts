import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { startSummary } from '../../src/client/start-summary';
import { activitySummary, ACTIVITY_SUMMARIES } from '../../src/model/activity-summaries';
import type { PlaybookStatus } from '../../src/model/gates';
import { renderCurrentDetails } from '../../workflows/framework/details';
import { REPO_ROOT } from '../helpers/stack';
import { playbookStatus } from '../helpers/status';

const example = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'docs/examples', name), 'utf8')) as Record<string, unknown>;

const status = playbookStatus;

describe('what the Temporal UI shows of a playbook', () => {
  it('current details name the open gate, what approving does, who may decide and the command', () => {
    const text = renderCurrentDetails(
      status({
        phase: 'awaiting-approval:stop-producers',
        openGate: {
          name: 'stop-producers',
          description: 'confirm producers to orders on A are stopped',
          requestedBy: 'alice',
          openedAt: '2026-01-01T00:00:00.000Z',
          escalateAt: null,
          escalatedAt: null,
          escalationError: null,
          deadlineAt: '2026-01-01T02:00:00.000Z',
          approvers: ['bob', 'carol'],
          fourEyes: true,
        },
      }),
    );
    assert.match(text, /Waiting for approval: `stop-producers`/);
    assert.match(text, /Approving: confirm producers to orders on A are stopped/);
    assert.match(text, /may approve: bob, carol \(not alice: four eyes\)/);
    assert.match(text, /kafka-dr approve kafka-dr-cutover-A~B stop-producers --as <you>/);
  });

  it('without an open gate: phase and the running step, no approval text', () => {
    const text = renderCurrentDetails(
      status({
        phase: 'draining',
        steps: [{ name: 'drain', state: 'running', startedAt: '2026-01-01T00:00:00.000Z' }] as PlaybookStatus['steps'],
      }),
    );
    assert.match(text, /phase \*\*draining\*\*/);
    assert.match(text, /running: drain/);
    assert.doesNotMatch(text, /approve/);
  });

  it('start summaries from the shipped examples say what runs where and who asked', () => {
    assert.equal(
      startSummary('failover', example('failover.planned.json')).summary,
      'failover A → B, planned, requested by alice@example.com',
    );
    assert.equal(startSummary('failback', example('failback.json')).summary, 'failback B → A, requested by alice@example.com');
    assert.match(
      startSummary('recreate-topic', example('recreate-topic.json')).summary,
      /^recreate topic orders on B \(mirror of A\) \(dry run\), requested by alice$/,
    );
    assert.match(startSummary('deploy-replication', example('deploy-replication.json')).details, /orders \(orders, orders-\.\*\)/);
    assert.match(startSummary('audit-drift', example('audit-drift.json')).summary, /^audit drift of A → B/);
    assert.match(startSummary('failover', example('failover.planned.json')).details, /- groups: billing-svc, shipping-svc/);
  });

  it('activity summaries: the table, else the name in words', () => {
    assert.equal(activitySummary('stopConnectors'), ACTIVITY_SUMMARIES.stopConnectors);
    assert.equal(activitySummary('waitForSomethingNew'), 'wait for something new');
  });
});
