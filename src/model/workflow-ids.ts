/**
 * Deterministic workflow IDs. Temporal refuses to start a workflow whose ID is
 * already running, so an ID derived from what a playbook touches is the lock that
 * keeps two operators (or an operator and incident tooling) from running
 * conflicting playbooks at once.
 *
 * Pure: used by the CLI, the client and workflow code.
 */

/** The playbooks kafka-dr runs (others may use the same ID scheme with their own slug). */
export const PLAYBOOKS = ['deploy-replication', 'failover', 'failback', 'recreate-topic', 'audit-drift', 'drill'] as const;
export type PlaybookName = (typeof PLAYBOOKS)[number];

/** Playbooks that move traffic between the clusters of a pair: one at a time per pair. */
const CUTOVER_PLAYBOOKS: readonly string[] = ['failover', 'failback'];

const ID_PREFIX = 'kafka-dr';

// The registry's alias rule: no `~`, so the pair separator is unambiguous.
const ALIAS_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const SLUG_RE = /^[a-z][a-z0-9-]{0,39}$/;
// Kafka topic and connector names never contain `~`, `/` or whitespace either.
const PART_RE = /^[A-Za-z0-9._-]{1,249}$/;

function checkAlias(alias: string, what: string): void {
  if (!ALIAS_RE.test(alias)) {
    throw new Error(`${what} '${alias}' is not a cluster alias (1-64 letters, digits, - or _)`);
  }
}

/**
 * The unordered pair, sorted by code point: `A~B` for A→B and for B→A. Also the
 * value of the `KafkaDrClusterPair` search attribute, so one filter lists every
 * playbook that touched the pair, whatever the direction.
 */
export function clusterPairKey(clusterA: string, clusterB: string): string {
  checkAlias(clusterA, 'cluster');
  checkAlias(clusterB, 'cluster');
  if (clusterA === clusterB) throw new Error(`a cluster pair needs two different clusters (got '${clusterA}' twice)`);
  return clusterA < clusterB ? `${clusterA}~${clusterB}` : `${clusterB}~${clusterA}`;
}

/**
 * One ID for every cutover (failover A→B, failback B→A) of a pair, e.g.
 * `kafka-dr-cutover-A~B`: while one runs, starting another for the same pair fails
 * with WorkflowExecutionAlreadyStartedError. A finished one does not block the next.
 */
export function cutoverWorkflowId(clusterA: string, clusterB: string): string {
  return `${ID_PREFIX}-cutover-${clusterPairKey(clusterA, clusterB)}`;
}

/**
 * `kafka-dr-<playbook>-<part>~<part>…` for other playbooks, parts in the order
 * given (direction matters for e.g. recreate-topic: `recreate-topic-A~B~orders`).
 * `failover` and `failback` always get the pair's cutover ID.
 */
export function playbookWorkflowId(playbook: PlaybookName | (string & Record<never, never>), ...parts: string[]): string {
  if (!SLUG_RE.test(playbook)) {
    throw new Error(`playbook '${playbook}' must be 1-40 lower-case letters, digits or -, starting with a letter`);
  }
  if (CUTOVER_PLAYBOOKS.includes(playbook)) {
    if (parts.length !== 2) throw new Error(`${playbook} workflow IDs take exactly two cluster aliases (got ${parts.length})`);
    return cutoverWorkflowId(parts[0]!, parts[1]!);
  }
  if (parts.length === 0) throw new Error(`${playbook} workflow IDs need at least one part (a cluster alias or pair)`);
  for (const part of parts) {
    if (!PART_RE.test(part)) {
      throw new Error(`workflow ID part '${part}' must be 1-249 letters, digits, . _ or - (a cluster alias, topic or connector name)`);
    }
  }
  return `${ID_PREFIX}-${playbook}-${parts.join('~')}`;
}
