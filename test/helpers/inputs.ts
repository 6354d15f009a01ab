import type { ReplicationPlanInput } from '../../src/model/replication-plan';

/**
 * The smallest failback input a user would write (A primary, B its DR, one topic, one
 * group), as raw JSON before parsing; `overrides` replace top-level fields.
 */
export function rawFailbackInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    primary: 'A',
    dr: 'B',
    forward: { connect: 'connect-b', connectors: ['s'], sourceConnectors: ['s'] },
    reverse: { connect: 'connect-a' },
    topics: ['orders'],
    groups: ['g'],
    requestedBy: 'alice',
    ...overrides,
  };
}

/**
 * The smallest replication plan A→B (on connect-b, the local stack's forward flow): Default
 * policy, one topic group `main` of `orders`, replication factor 1, as raw JSON before
 * parsing; `overrides` replace top-level fields.
 */
export function rawPlan(overrides: Partial<ReplicationPlanInput> = {}): ReplicationPlanInput {
  return {
    source: 'A',
    target: 'B',
    connect: 'connect-b',
    policy: { type: 'default' },
    topicGroups: [{ name: 'main', topics: ['orders'] }],
    replicationFactor: 1,
    ...overrides,
  };
}
