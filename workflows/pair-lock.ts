import { condition, defineSignal, setHandler } from '@temporalio/workflow';

/**
 * The cutover lock of a cluster pair, held by a playbook other than failover/failback.
 * Failover and failback run under the pair's cutover workflow ID (`cutoverWorkflowId`),
 * and Temporal refuses a second open run of an ID: a playbook that must not overlap a
 * cutover (recreate-topic) starts this as a child under that ID. While it is open no
 * failover or failback of the pair can start, and the child cannot start while one runs.
 * Released by the signal, or terminated with its parent (ParentClosePolicy TERMINATE).
 */

export const releasePairLockSignal = defineSignal('releasePairLock');

export interface PairLockArgs {
  /** Workflow ID of the playbook holding it (shown by `describe`). */
  holder: string;
  reason: string;
}

/** Holds the pair's cutover ID until released; changes nothing. */
export async function pairLock(_args: PairLockArgs): Promise<{ released: true }> {
  let released = false;
  setHandler(releasePairLockSignal, () => {
    released = true;
  });
  await condition(() => released);
  return { released: true };
}
