import { groupCommitter } from '../kafka/group-commit';
import { describePositions, type GroupPosition } from '../model/unplaced';
import { groupBehind, SyntheticConsumer, type DrillKafka } from './clients';
import { countDelivery } from './delivery';
import type { DrillNames } from './inputs';
import type { DrillTopic } from './records';
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

/**
 * Stops the lagging group (it commits where it is), lets the producer write for a while, and
 * returns how many records it is behind then (its backlog at the playbook's start).
 */
export async function letLag(kafka: DrillKafka, lagging: SyntheticConsumer, log: (line: string) => void): Promise<number> {
  const r = await lagging.stop();
  await new Promise((r2) => setTimeout(r2, LAGGING_SECONDS * 1_000));
  const behind = r.stoppedOn ? await recordsBehind(kafka, r.stoppedOn, lagging.groupId, lagging.topics) : 0;
  log(`lagging group ${lagging.groupId} stopped on ${r.stoppedOn ?? '(not running)'} for ${LAGGING_SECONDS} s: ${behind} records behind`);
  return behind;
}

/** Records between the group's commits and the partitions' ends on `cluster`. */
async function recordsBehind(kafka: DrillKafka, cluster: string, group: string, topics: readonly DrillTopic[]): Promise<number> {
  return kafka.withAdmin(cluster, async (admin) => {
    let behind = 0n;
    const committed = await admin.fetchOffsets({ groupId: group, topics: topics.map((t) => t.name) });
    for (const t of topics) {
      for (const e of await admin.fetchTopicOffsets(t.name)) {
        const c = BigInt(committed.find((x) => x.topic === t.name)?.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1');
        const from = c < 0n ? BigInt(e.low) : c;
        if (BigInt(e.high) > from) behind += BigInt(e.high) - from;
      }
    }
    return Number(behind);
  });
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
  lagging: {
    group: string;
    /** Records it was behind when each playbook started (per playbook). */
    behind: Record<string, number>;
    consumed: number;
    lost: number;
    duplicates: number;
    lostSample: number[];
  };
  partial: { group: string; committedOnA: Record<string, string>; positions: Record<string, string> };
}

/** The extra groups' account: the lagging group's delivery, the partial group's outcome per playbook. */
export function extraGroupsReport(args: {
  names: DrillNames;
  acked: Iterable<number>;
  lagging: SyntheticConsumer;
  behind: Record<string, number>;
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
    lagging: {
      group: e.lagging,
      behind: args.behind,
      consumed: d.consumed,
      lost: d.lost,
      duplicates: d.duplicates,
      lostSample: d.lostSample,
    },
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
    `- lagging group \`${l.group}\` (stopped ${LAGGING_SECONDS} s before each playbook; records behind then: ${
      Object.entries(l.behind)
        .map(([p, n]) => `${p} ${n}`)
        .join(', ') || 'n/a'
    }): consumed ${l.consumed}, lost ${l.lost}, duplicates ${l.duplicates}`,
    `- partial group \`${x.partial.group}\` (committed on A on ${Object.keys(x.partial.committedOnA).join(', ')} only): ${positions || 'no playbook placed it'}`,
  ];
}
