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
