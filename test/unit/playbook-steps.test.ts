import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { DEPLOY_DRY_RUN_SKIPPED } from '../../workflows/deploy-replication';
import { FAILBACK_DRY_RUN_SKIPPED } from '../../workflows/failback';
import { FAILOVER_DRY_RUN_SKIPPED } from '../../workflows/failover';
import { RECREATE_DRY_RUN_SKIPPED } from '../../workflows/recreate-topic';
import { stepsFrom } from '../../workflows/framework';

// The dry-run skip lists are cut from each playbook's step tuple; a dry run's report
// must still list the steps the hand-written lists named, in the same order.
describe('playbook step tuples: dry-run skip lists', () => {
  it('stepsFrom: from the named step on, less the exceptions, in runbook order', () => {
    assert.deepEqual(stepsFrom(['a', 'b', 'c', 'd'] as const, 'b', ['c']), ['b', 'd']);
    assert.deepEqual(stepsFrom(['a', 'b'] as const, 'a'), ['a', 'b']);
  });

  it('failover: as recorded before the tuple (prepare-local-topics only in runs that have it)', () => {
    assert.deepEqual(FAILOVER_DRY_RUN_SKIPPED, ['stop-forward', 'snapshot', 'translate-offsets', 'prepare-local-topics']);
  });

  it('failback, recreate-topic, deploy-replication: as recorded before the tuple', () => {
    assert.deepEqual(FAILBACK_DRY_RUN_SKIPPED, [
      'deploy-reverse',
      'seed-reverse',
      'start-reverse',
      'catch-up',
      'translate-offsets',
      'verify-quiet',
      'drain',
      'stop-reverse',
      'snapshot-primary',
      'remove-reverse',
      'set-forward-offsets',
      'resume-forward',
    ]);
    assert.deepEqual(RECREATE_DRY_RUN_SKIPPED, [
      'stop-connector',
      'delete-mirror',
      'reset-offsets',
      'resume-connector',
      'verify-mirror',
      'catch-up',
      'reset-groups',
    ]);
    assert.deepEqual(DEPLOY_DRY_RUN_SKIPPED, ['deploy', 'wait-running', 'heartbeats']);
  });
});
