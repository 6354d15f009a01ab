import type { UnplacedPartition } from '../../src/model/unplaced';

/**
 * The unplaced groups of a failover A→B (Default policy, B's `A.orders`), shared by the
 * pure tests of the rule and the workflow test of the gate: four group-partitions of three
 * groups, each with a commit on A's `orders` (end 500) and no verified position on B.
 */

const unplacedAt = (group: string, partition: number, committed: string, why: string): UnplacedPartition => ({
  group,
  topic: 'orders',
  downstream: 'A.orders',
  partition,
  committed,
  sourceEnd: '500',
  lag: String(500 - Number(committed)),
  why,
});

/** `parked` on two partitions (far behind), `late` (20 behind), `gone` (nearly from the start). */
export const UNPLACED: UnplacedPartition[] = [
  unplacedAt('parked', 0, '250', 'no checkpoint or offset sync translates this partition'),
  unplacedAt('parked', 1, '100', 'no checkpoint or offset sync translates this partition'),
  unplacedAt('late', 0, '480', 'no-checkpoint'),
  unplacedAt('gone', 0, '7', 'no-checkpoint'),
];

/** What UNPLACED's groups are placed with when an approver chooses parked: end, late: earliest, the rest leave-out. */
export const UNPLACED_PLACEMENTS = [
  {
    group: 'parked',
    choice: 'end',
    partitions: [
      { topic: 'A.orders', partition: 0 },
      { topic: 'A.orders', partition: 1 },
    ],
  },
  { group: 'late', choice: 'earliest', partitions: [{ topic: 'A.orders', partition: 0 }] },
];
