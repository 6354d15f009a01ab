import { createAuditActivities } from './audit';
import { createConnectActivities } from './connect';
import { createCutoverActivities } from './cutover';
import { createDivergentActivities } from './divergent';
import { createLocalTopicsActivities } from './local-topics';
import { createFailbackActivities } from './failback';
import { createFlowActivities } from './flow';
import type { ActivityDeps } from './deps';
import { createHookActivities } from './hooks';
import { createKafkaActivities } from './kafka';
import { createLagActivities } from './lag';
import { createMm2Activities } from './mm2';
import { createOffsetsActivities } from './offsets';
import { createRepairActivities } from './repairs';
import { createReseedActivities } from './reseed';
import { createRpoActivities } from './rpo';
import { createTopicsActivities } from './topics';
import { createUnplacedActivities } from './unplaced';

export type { ActivityDeps } from './deps';
export { createDeps } from './deps';

/**
 * Every activity a kafka-dr worker registers. A factory rather than module-level
 * functions so each worker (and each test) injects its own registry and clients.
 * Each area lives in its own module; names must not collide across areas.
 */
export function createActivities(deps: ActivityDeps) {
  return {
    /** Names the worker that ran it; reads nothing external, safe to repeat. */
    async describeWorker(): Promise<string> {
      return deps.workerName;
    },
    ...createConnectActivities(deps),
    ...createCutoverActivities(deps),
    ...createKafkaActivities(deps),
    ...createAuditActivities(deps),
    ...createMm2Activities(deps),
    ...createOffsetsActivities(deps),
    ...createLagActivities(deps),
    ...createFailbackActivities(deps),
    ...createTopicsActivities(deps),
    ...createRepairActivities(deps),
    ...createRpoActivities(deps),
    ...createHookActivities(deps),
    ...createUnplacedActivities(deps),
    ...createFlowActivities(deps),
    ...createDivergentActivities(deps),
    ...createLocalTopicsActivities(deps),
    ...createReseedActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
