import assert from 'node:assert/strict';
import { RegistryError, resolveRegistry } from '../../src/registry/load';

/**
 * Asserts that resolving `input` (as file r.yaml) fails on `field` for a reason matching
 * `reason`, with a message that starts with the file and the field.
 */
export function refused(input: unknown, env: NodeJS.ProcessEnv, field: string, reason: RegExp): void {
  assert.throws(
    () => resolveRegistry(input, 'r.yaml', env, '/'),
    (e: unknown) => {
      assert.ok(e instanceof RegistryError, String(e));
      assert.equal(e.field, field);
      assert.match(e.reason, reason);
      assert.ok(e.message.startsWith(`registry r.yaml: ${field || '(top level)'}: `), e.message);
      return true;
    },
  );
}
