import { groupCommitter } from '../kafka/group-commit';
import { describePositions, type GroupPosition } from '../model/unplaced';
import { groupBehind, SyntheticConsumer, type DrillKafka } from './clients';
import { countDelivery } from './delivery';
import type { DrillNames } from './inputs';
import type { DrillPlaybookRun } from './report-types';
import type { SwitchableClients } from './switchboard';

/**
 * The drill's two extra consumer groups (issue 13), besides its caught-up one:
 * - lagging: a second consumer of every topic, stopped a few seconds before each playbook
 *   starts while the producer writes, so it is behind at the consumers cutover; the hooks
 *   start it on the other cluster with the main group. It must lose and repeat nothing.
 * - partial: no consumer; committed on A on the first partitions of the first topic only.
 *   The playbooks must place it exactly there and set nothing on its other partitions.
 * Kept here, in small functions, so the drill's main flow (run.ts) changes by a few lines.
 */

/** Seconds the lagging group is stopped before each playbook starts (the producer writes meanwhile). */
export const LAGGING_SECONDS = 4;
/** The partial group commits on partitions below this of the first topic. */
export const PARTIAL_PARTITIONS = 2;

export function extraGroupNames(n: Pick<DrillNames, 'group'>): { lagging: string; partial: string } {
  return { lagging: `${n.group}-lagging`, partial: `${n.group}-partial` };
}

/** Every group the drill's flows and playbooks name. */
export function drillGroups(n: Pick<DrillNames, 'group'>): string[] {
  const e = extraGroupNames(n);
  return [n.group, e.lagging, e.partial];
}

/** The consumers the cutover hooks move together (the switchboard sees one consumer). */
export function consumerSet(members: SyntheticConsumer[]): SwitchableClients['consumer'] {
  return {
    async start(cluster: string) {
      for (const m of members) await m.start(cluster);
    },
    async stop() {
      let stoppedOn: string | null = null;
      for (const m of members) stoppedOn ??= (await m.stop()).stoppedOn;
      return { stoppedOn, consumed: members[0]!.consumed.length };
    },
  };
}

/** Stops the lagging group (it commits where it is) and lets the producer write for a while. */
export async function letLag(lagging: SyntheticConsumer, log: (line: string) => void): Promise<void> {
  const r = await lagging.stop();
  log(`lagging group ${lagging.groupId} stopped on ${r.stoppedOn ?? '(not running)'} for ${LAGGING_SECONDS} s before the playbook`);
  await new Promise((r2) => setTimeout(r2, LAGGING_SECONDS * 1_000));
}

/** Commits the partial group on A at the middle of the first topic's first partitions (no consumer). */
export async function parkPartial(kafka: DrillKafka, names: DrillNames): Promise<Record<string, string>> {
  const topic = names.topics[0]!;
  const ends = await kafka.withAdmin('A', (admin) => admin.fetchTopicOffsets(topic.name));
  const partitions = ends
    .filter((e) => e.partition < PARTIAL_PARTITIONS)
    .map((e) => ({ partition: e.partition, offset: (BigInt(e.high) / 2n).toString() }));
  const committer = await groupCommitter(kafka.get('A'));
  try {
    await committer.commit(extraGroupNames(names).partial, [{ topic: topic.name, partitions }]);
  } finally {
    await committer.close();
  }
  return Object.fromEntries(partitions.map((p) => [`${topic.name}-${p.partition}`, p.offset]));
}

/** Waits until the lagging group has read everything on `cluster`, then stops it. */
export async function drainLagging(kafka: DrillKafka, lagging: SyntheticConsumer, cluster: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const behind = await groupBehind(kafka, cluster, lagging.groupId, lagging.topics).catch(() => ['?']);
    if (behind.length === 0) break;
    if (Date.now() > deadline) throw new Error(`the lagging group did not catch up on ${cluster}: ${behind.slice(0, 5).join(', ')}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
  await lagging.stop();
}

export interface ExtraGroupsReport {
  lagging: { group: string; consumed: number; lost: number; duplicates: number; lostSample: number[] };
  partial: { group: string; committedOnA: Record<string, string>; positions: Record<string, string> };
}

/** The extra groups' account: the lagging group's delivery, the partial group's outcome per playbook. */
export function extraGroupsReport(args: {
  names: DrillNames;
  acked: Iterable<number>;
  lagging: SyntheticConsumer;
  committedOnA: Record<string, string>;
  playbooks: Record<string, DrillPlaybookRun>;
}): ExtraGroupsReport {
  const e = extraGroupNames(args.names);
  const d = countDelivery(
    args.acked,
    args.lagging.consumed.map((c) => c.seq),
  );
  const positions: Record<string, string> = {};
  for (const name of ['failover', 'failback']) {
    const all = args.playbooks[name]?.figures['groupPositions'] as GroupPosition[] | undefined;
    const mine = all?.filter((p) => p.group === e.partial);
    if (mine) positions[name] = describePositions(mine);
  }
  return {
    lagging: { group: e.lagging, consumed: d.consumed, lost: d.lost, duplicates: d.duplicates, lostSample: d.lostSample },
    partial: { group: e.partial, committedOnA: args.committedOnA, positions },
  };
}

/** Lines for the drill's Markdown report. */
export function extraGroupsLines(x: ExtraGroupsReport | undefined): string[] {
  if (!x) return [];
  const l = x.lagging;
  const positions = Object.entries(x.partial.positions)
    .map(([p, o]) => `${p}: ${o}`)
    .join('; ');
  return [
    `- lagging group \`${l.group}\` (stopped ${LAGGING_SECONDS} s before each playbook): consumed ${l.consumed}, lost ${l.lost}, duplicates ${l.duplicates}`,
    `- partial group \`${x.partial.group}\` (committed on A on ${Object.keys(x.partial.committedOnA).join(', ')} only): ${positions || 'no playbook placed it'}`,
  ];
}
