import type { ActivityDeps } from './deps';

/** audit activities (filled in by the building-blocks work). */
export function createAuditActivities(_deps: ActivityDeps) {
  return {};
}
