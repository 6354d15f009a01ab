import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bundleWorkflowsOutOfProcess } from '../../workers/workflow-bundle';

describe('workflow bundle built out of process', { timeout: 60_000 }, () => {
  it('returns the bundled code of the playbooks, which the worker loads instead of bundling itself', async () => {
    const bundle = await bundleWorkflowsOutOfProcess(require.resolve('../../workflows'));
    assert.ok('code' in bundle, 'the bundle is passed as code, no file is left behind');
    assert.ok(bundle.code.length > 100_000, `a bundle of ${bundle.code.length} characters is too small to hold the playbooks`);
    for (const playbook of ['deployReplication', 'failover', 'failback', 'recreateTopic', 'auditDrift']) {
      assert.ok(bundle.code.includes(`async function ${playbook}(raw)`), `${playbook} is in the bundle`);
    }
  });

  it("a workflows path that does not resolve fails naming the path and webpack's reason", async () => {
    await assert.rejects(bundleWorkflowsOutOfProcess('/nonexistent/kafka-dr/workflows'), (err: Error) => {
      assert.match(err.message, /bundling the workflows in \/nonexistent\/kafka-dr\/workflows failed \(exit 1\)/);
      assert.match(err.message, /nonexistent/);
      return true;
    });
  });
});
