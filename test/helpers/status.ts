import type { PlaybookStatus } from '../../src/model/gates';

/** A running failover's `status` with nothing yet (no steps, gates, decisions); `over` sets fields. */
export function playbookStatus(over: Partial<PlaybookStatus> = {}): PlaybookStatus {
  return {
    playbook: 'failover',
    workflowId: 'kafka-dr-cutover-A~B',
    clusterPair: 'A~B',
    requestedBy: 'alice',
    state: 'running',
    outcome: null,
    phase: 'checking',
    phases: [],
    steps: [],
    gates: [],
    openGate: null,
    decisions: [],
    ignoredMessages: [],
    ignoredMessagesDropped: 0,
    aborted: null,
    figures: {},
    compensations: { registered: [], leftAsIs: [], result: null },
    ...over,
  };
}
