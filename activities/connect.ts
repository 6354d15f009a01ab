import type { ActivityDeps } from './deps';

/** connect activities (filled in by the building-blocks work). */
export function createConnectActivities(_deps: ActivityDeps) {
  return {};
}
