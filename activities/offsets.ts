import type { ActivityDeps } from './deps';

/** offsets activities (filled in by the building-blocks work). */
export function createOffsetsActivities(_deps: ActivityDeps) {
  return {};
}
