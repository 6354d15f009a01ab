import { resolveRegistry, stackRegistryDocument, type Registry } from '../registry/load';
import { RegistrySchema } from '../registry/schema';
import type { StackConfig } from '../stack/config';

/**
 * The drill's registry: the local stack's clusters and Connect workers, and the drill's
 * built-in switch as the hook of every cutover gate, when this registry schema knows
 * hooks. Without them the drill switches the clients itself before approving.
 */

export const DRILL_HOOK_GATES = ['stop-producers', 'consumers-cutover', 'producers-cutover'] as const;

export function drillRegistry(stack: StackConfig, log: (line: string) => void = () => undefined): { registry: Registry; hooksConfigured: boolean } {
  const doc = stackRegistryDocument(stack);
  const shape = (RegistrySchema as unknown as { shape?: Record<string, unknown> }).shape ?? {};
  if ('hooks' in shape) {
    const withHooks = { ...doc, hooks: Object.fromEntries(DRILL_HOOK_GATES.map((g) => [g, { kind: 'drill' }])) };
    try {
      return { registry: resolveRegistry(withHooks, 'local stack (drill hooks)', {}, stack.repoRoot), hooksConfigured: true };
    } catch (err) {
      log(`the registry refused the drill hooks (${err instanceof Error ? err.message : String(err)}): the drill switches the clients itself`);
    }
  }
  return { registry: resolveRegistry(doc, 'local stack', {}, stack.repoRoot), hooksConfigured: false };
}
