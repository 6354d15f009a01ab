import type { Kafka } from 'kafkajs';
import { openCluster, type GroupOffsetWrite } from './internal-cluster';

export type { GroupOffsetWrite } from './internal-cluster';

/**
 * Commits a consumer group's offsets without joining the group, the way Kafka's own
 * `kafka-consumer-groups --reset-offsets` does: one OffsetCommit to the group coordinator
 * with generation -1 and no member ID. The broker accepts that only while the group has
 * no members, so the "never under a running consumer" guard is the broker's, checked at
 * the moment of the write.
 *
 * Why not kafkajs' `admin.setOffsets`: it starts a consumer that joins the group, seeks,
 * waits for a fetch and leaves, about 5 s per group and topic. For 1,000 groups that is
 * over an hour; one request per group takes milliseconds.
 */

/** Broker answers meaning "this group has members or a generation: not ours to commit for". */
const GROUP_ACTIVE_ERRORS = new Set([
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'REBALANCE_IN_PROGRESS',
  'FENCED_MEMBER_EPOCH',
  'STALE_MEMBER_EPOCH',
]);

/** The group got members between the check and the write; the broker refused the commit. */
export class GroupHasMembersError extends Error {
  constructor(
    readonly groupId: string,
    readonly brokerError: string,
  ) {
    super(`group ${groupId} has active members (the broker answered ${brokerError}); nothing was committed for it`);
    this.name = 'GroupHasMembersError';
  }
}

export interface GroupCommitter {
  /** Commits the offsets of one group, all its topics in one request. */
  commit(groupId: string, writes: GroupOffsetWrite[]): Promise<void>;
  close(): Promise<void>;
}

export async function groupCommitter(kafka: Kafka): Promise<GroupCommitter> {
  const cluster = await openCluster(kafka);
  return {
    async commit(groupId, writes) {
      if (writes.length === 0) return;
      const coordinator = await cluster.findGroupCoordinator({ groupId });
      try {
        await coordinator.offsetCommit({ groupId, groupGenerationId: -1, memberId: '', topics: writes });
      } catch (err) {
        const type = (err as { type?: unknown }).type;
        if (typeof type === 'string' && GROUP_ACTIVE_ERRORS.has(type)) throw new GroupHasMembersError(groupId, type);
        throw err;
      }
    },
    close: () => cluster.disconnect().catch(() => undefined),
  };
}
