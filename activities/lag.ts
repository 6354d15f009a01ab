import type { ActivityDeps } from './deps';

/** lag activities (filled in by the building-blocks work). */
export function createLagActivities(_deps: ActivityDeps) {
  return {};
}
