import { resolveRegistry, stackRegistryDocument, type Registry } from '../registry/load';
import type { StackConfig } from '../stack/config';

/**
 * The drill's registry: the local stack's clusters and Connect workers, and the drill's
 * built-in switch as the hook of every cutover gate, so the playbooks move the synthetic
 * clients exactly where a webhook would move real ones.
 */

export const DRILL_HOOK_GATES = ['stop-producers', 'consumers-cutover', 'producers-cutover'] as const;

export function drillRegistry(stack: StackConfig): Registry {
  const doc = { ...stackRegistryDocument(stack), hooks: Object.fromEntries(DRILL_HOOK_GATES.map((g) => [g, { kind: 'drill' }])) };
  return resolveRegistry(doc, 'local stack (drill hooks)', {}, stack.repoRoot);
}
