import type { ActivityDeps } from './deps';

/** mm2 activities (filled in by the building-blocks work). */
export function createMm2Activities(_deps: ActivityDeps) {
  return {};
}
