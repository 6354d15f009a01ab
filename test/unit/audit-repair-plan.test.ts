import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { overridesAfterRepair } from '../../src/audit/repair-plan';

describe('audit repair: the override set sent with the legacy AlterConfigs request', () => {
  it('keeps the topic\u2019s other overrides and sets the repaired ones (AlterConfigs replaces the whole set)', () => {
    const out = overridesAfterRepair(
      [
        { name: 'cleanup.policy', value: 'compact', sensitive: false },
        { name: 'retention.ms', value: '3600000', sensitive: false },
      ],
      [
        { setting: 'retention.ms', to: '604800000' },
        { setting: 'min.insync.replicas', to: '2' },
      ],
    );
    assert.deepEqual(out, {
      set: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'min.insync.replicas', value: '2' },
        { name: 'retention.ms', value: '604800000' },
      ],
    });
  });

  it('refuses when an override\u2019s value is hidden: sending the set would erase it', () => {
    const out = overridesAfterRepair([{ name: 'some.secret', value: null, sensitive: true }], [{ setting: 'retention.ms', to: '1' }]);
    assert.ok('refused' in out);
    assert.match(out.refused, /some\.secret.*would erase them; apply the repair by hand/);
  });
});
