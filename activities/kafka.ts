import type { ActivityDeps } from './deps';

/** kafka activities (filled in by the building-blocks work). */
export function createKafkaActivities(_deps: ActivityDeps) {
  return {};
}
