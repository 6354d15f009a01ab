/**
 * Stable failure types of kafka-dr activities, and which of them no retry can fix.
 * Pure (no clients): workflow code imports it for its retry policies, activities for
 * their failures (through src/failures).
 */

export const FailureType = {
  /** The request itself is wrong (field, alias, plan): fix the input; retrying cannot help. */
  InvalidInput: 'InvalidInput',
  UnknownCluster: 'UnknownCluster',
  RegistryInvalid: 'RegistryInvalid',
  /** MM2 flows that would loop records between clusters. */
  ReplicationLoop: 'ReplicationLoop',
  ConnectorNotFound: 'ConnectorNotFound',
  /** A connector or task is FAILED: its trace says why; restarting is the operator's/playbook's call. */
  ConnectorFailed: 'ConnectorFailed',
  /** 400/422 from Connect: the config is invalid; Connect's own message says why. */
  ConnectRejected: 'ConnectRejected',
  /** 409 from Connect: rebalance in progress, no leader yet, or stale config. Retried. */
  ConnectRebalancing: 'ConnectRebalancing',
  /** 5xx, timeouts, connection refused. Retried. */
  ConnectUnavailable: 'ConnectUnavailable',
  ClusterUnreachable: 'ClusterUnreachable',
  /** A Kafka error the broker says will not go away by retrying (e.g. authorization). */
  KafkaRejected: 'KafkaRejected',
  KafkaError: 'KafkaError',
  Mm2RecordUnreadable: 'Mm2RecordUnreadable',
  /** A precondition about the clusters is false right now (e.g. a group has active members). */
  PreconditionFailed: 'PreconditionFailed',
  /** A cutover hook or notification webhook answered 3xx/4xx: fix the receiver or the registry; not retried. */
  HookRejected: 'HookRejected',
  /** A webhook answered 5xx/408/429, timed out or was unreachable. Retried. */
  HookUnavailable: 'HookUnavailable',
  /** The registry names a hook this worker cannot run (a drill hook outside the drill). */
  HookNotConfigured: 'HookNotConfigured',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Failure types that no retry can fix; activity retry policies list them as non-retryable. */
export const NON_RETRYABLE_TYPES: FailureType[] = [
  FailureType.InvalidInput,
  FailureType.UnknownCluster,
  FailureType.RegistryInvalid,
  FailureType.ReplicationLoop,
  FailureType.ConnectorNotFound,
  FailureType.ConnectorFailed,
  FailureType.ConnectRejected,
  FailureType.KafkaRejected,
  FailureType.Mm2RecordUnreadable,
  FailureType.HookRejected,
  FailureType.HookNotConfigured,
];
