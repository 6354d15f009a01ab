import type { FindDivergentResult } from '../activities/divergent';
import {
  DIVERGENT_GATE,
  DIVERGENT_GATE_CHOICES,
  divergentGateDescription,
  type DivergentChoice,
  type DivergentFigures,
  type PositionBefore,
} from '../src/offsets/divergent';
import { shortWaits } from './activity-options';
import type { GateOptions, Playbook } from './framework';

/**
 * find-divergent → (only when there are some) gate divergent-records → replay-divergent |
 * quarantine-divergent | (discard: recorded). Runs after the cutover snapshot and before
 * the producers-cutover gate: the records it acts on all lie below the snapshot, a replay
 * appends its copies above it (where the forward flow resumes, Identity), and a rejection
 * still undoes the failback (compensation). Kept in its own file so failback changes
 * elsewhere merge cleanly.
 */
export async function divergentRecordsSteps(
  pb: Playbook,
  args: {
    primary: string;
    dr: string;
    policy: 'default' | 'identity';
    separator?: string;
    forward: { connect: string; sourceConnectors: string[] };
    cutover: Record<string, Record<string, string>>;
    /** Identity: the first dr offset the reverse flow copied, per partition (from the seed). */
    reverseFrom: Array<{ topic: string; partition: number; from: string | null }>;
    /** Positions this failback set on the primary (translate-offsets, place-unplaced): where the consumers started. */
    placed: Array<{ group: string; topic: string; partition: number; offset: string }>;
    /** Groups' positions on the primary before the failback moved any (read-primary-positions; absent in older histories). */
    before?: PositionBefore[];
    /** Approvers, four-eyes and deadline (the producers-cutover gate's). */
    gate: Omit<GateOptions, 'description' | 'choices'>;
    workflowId: string;
    runId: string;
  },
): Promise<DivergentFigures> {
  const found: FindDivergentResult = await pb.step(
    'find-divergent',
    () =>
      shortWaits.findDivergentRecords({
        primary: args.primary,
        dr: args.dr,
        policy: args.policy,
        ...(args.separator ? { separator: args.separator } : {}),
        forward: args.forward,
        cutover: args.cutover,
        reverseFrom: args.reverseFrom,
        ...(args.policy === 'identity' ? { placed: args.placed } : {}),
        ...(args.policy === 'identity' && args.before?.length ? { before: args.before } : {}),
      }),
    {
      summarize: (r) => ({
        records: r.records,
        partitions: r.partitions.length,
        readOnPrimary: r.readOnPrimary,
        readOnDr: r.readOnDr,
        ...(r.groups ? { groups: r.groups.length } : {}),
        ...(r.replayCopies ? { replayCopies: r.replayCopies } : {}),
      }),
    },
  );
  const partitions = found.partitions.map(({ drTopic: _t, drEnd: _e, ...p }) => p);
  // Histories recorded before the groups were read have none.
  const groups = found.groups ?? [];
  let figures: DivergentFigures = {
    checkedAt: found.checkedAt,
    records: found.records,
    partitions,
    ...(groups.length > 0 ? { groups } : {}),
  };
  pb.setFigures({ divergent: figures });
  if (found.records === 0) return figures;
  if (args.policy === 'default') {
    // Replaying or quarantining here would give B these records twice: the Default
    // policy's forward resume starts at the flow's committed offsets (planForwardResume).
    figures = { ...figures, forwardFlow: found.records };
    pb.setFigures({ divergent: figures });
    return figures;
  }

  const decision = await pb.gate(DIVERGENT_GATE, {
    ...args.gate,
    description: divergentGateDescription({ primary: args.primary, dr: args.dr, records: found.records, partitions, groups }),
    choices: DIVERGENT_GATE_CHOICES,
  });
  pb.stopUnlessApproved(decision);
  const choice = (decision.choices?.['records'] ?? 'replay') as DivergentChoice;
  figures = { ...figures, choice, by: decision.by ?? null, at: decision.at };
  const toCopy = found.partitions.map((p) => ({
    topic: p.topic,
    partition: p.partition,
    ranges: p.ranges,
    drTopic: p.drTopic,
    drEnd: p.drEnd,
    // Replay appends above A's end at the snapshot: the forward flow resumes there (planForwardResume, Identity).
    after: p.to,
  }));
  if (choice === 'discard') {
    pb.skip('copy-divergent', 'discard chosen', { records: found.records });
    figures = { ...figures, discarded: found.records };
  } else {
    const copied = await pb.step(
      choice === 'replay' ? 'replay-divergent' : 'quarantine-divergent',
      () =>
        shortWaits.copyDivergentRecords({
          primary: args.primary,
          dr: args.dr,
          choice,
          partitions: toCopy,
          workflowId: args.workflowId,
          runId: args.runId,
        }),
      {
        summarize: (r) => ({
          copied: r.copied,
          written: r.written,
          topics: r.topics,
          ...(r.exportPath ? { exportPath: r.exportPath } : {}),
        }),
      },
    );
    figures =
      choice === 'replay'
        ? { ...figures, replayed: { copied: copied.copied, written: copied.written, topics: copied.topics } }
        : { ...figures, quarantine: { topics: copied.topics, copied: copied.copied, exportPath: copied.exportPath ?? '' } };
  }
  pb.setFigures({ divergent: figures });
  return figures;
}
