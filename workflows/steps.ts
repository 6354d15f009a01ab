import type { AppliedOffsetPlan } from '../activities/offsets';
import type { LagReport } from '../src/offsets/lag';
import type { FindUnplacedResult, GroupsInFlowResult } from '../activities/unplaced';
import type { PrepareLocalTopicsResult } from '../activities/local-topics';
import type { GateChoices } from '../src/model/gates';
import type { PlannedGroup } from '../src/offsets/unplaced';
import { checkFlowScope, formatRefusal, type FlowScope, type ScopeClaim } from '../src/mm2/flow-scope';
import {
  describeUnplaced,
  groupPositions,
  placementsFor,
  UNPLACED_CHOICES,
  UNPLACED_GATE,
  unplacedGroups,
  type PlacedUnplaced,
  type UnplacedFigures,
} from '../src/model/unplaced';
import { destructive, longWaits, quick, shortWaits } from './activity-options';
import { refuse, type GateOptions, type Playbook } from './framework';

/**
 * Runbook steps that failover and failback share, with the clusters and connectors
 * of each direction as parameters. Both waits are abortable: an operator can stop a
 * playbook whose producers never go quiet or whose lag never reaches zero.
 */

/** Producers on `cluster` wrote nothing for `quietSeconds` (end offsets unchanged). */
export async function verifyQuietStep(pb: Playbook, args: { cluster: string; topics: string[]; quietSeconds: number }): Promise<void> {
  await pb.step('verify-quiet', () => longWaits.waitForQuietProducers(args), {
    abortable: true,
    details: { cluster: args.cluster, quietSeconds: args.quietSeconds },
    summarize: (r) => ({ quietSince: r.quietSince, polls: r.polls }),
  });
}

/** Replication lag of the given MirrorSourceConnectors drained to exactly 0; returns the time it took. */
export async function drainStep(
  pb: Playbook,
  args: { connect: string; connectors: string[]; source: string; topics: string[] },
  /** Receives the last poll's report (the source end offsets at the drain's end). */
  onDrained?: (report: LagReport) => void,
  stepName = 'drain',
): Promise<number> {
  const started = Date.now();
  const result = await pb.step(stepName, () => longWaits.waitForDrain(args), {
    abortable: true,
    summarize: (r) => ({ polls: r.polls, total: r.total, maxLag: r.maxLag, partitions: r.report.partitions.length }),
  });
  onDrained?.(result.report);
  return Date.now() - started;
}

/**
 * check-scope: the input against the forward flow's connector configs (policy, separator,
 * topics, groups). Returns every disagreement at once (a dry run's blockers); any other
 * run is refused with all of them, before anything changed.
 */
export async function checkScopeStep(
  pb: Playbook,
  args: {
    /** Reads the flow's configs (failover schedules the read earlier and passes it in). */
    read: () => Promise<FlowScope>;
    claim: ScopeClaim;
    forward: { connect: string; connectors: string[] };
    dryRun: boolean;
    /** More of what the flow says, in the step's details. */
    details?: (scope: FlowScope) => Record<string, unknown>;
  },
): Promise<string[]> {
  return pb.step('check-scope', async (step) => {
    const scope = await args.read();
    const found = checkFlowScope(args.claim, scope).map(formatRefusal);
    step.details({
      policy: scope.policy ?? null,
      separator: scope.separator,
      mirroredTopics: scope.mirroredTopics,
      ...args.details?.(scope),
      refusals: found,
    });
    if (found.length > 0 && !args.dryRun) {
      const { connect, connectors } = args.forward;
      refuse(`the input does not match the forward flow ${connectors.join(', ')} on ${connect}: ${found.join('; ')}; nothing was changed`);
    }
    return found;
  });
}

/** Stale partitions listed in a step's details, at most this many (the count is always there). */
const MAX_STALE_LISTED = 20;

/**
 * translate-offsets' step details about checkpoint freshness: whether the checkpoints
 * covered every group's last commit on the source, and if not, which partitions will
 * re-deliver how many records (duplicates, never loss).
 */
export function checkpointFreshness(f: AppliedOffsetPlan['freshness']): Record<string, unknown> {
  if (!f) return {};
  return {
    checkpointFreshness: {
      decision: f.decision,
      checked: f.checked,
      ...(f.exact !== undefined ? { exact: f.exact } : {}),
      stale: f.stale.length,
      behindTotal: f.behindTotal,
      waitedMs: f.waitedMs,
      ...(f.stale.length > 0 ? { stalePartitions: f.stale.slice(0, MAX_STALE_LISTED) } : {}),
    },
  };
}

/**
 * translate-offsets: the groups' commits translated through the checkpoints and set on the
 * target (only forward, only on groups empty there), in one destructive activity. The
 * positions are kept on abort (`kept`: the undo's name and why, as the report shows it).
 */
export async function translateOffsetsStep(
  pb: Playbook,
  call: Parameters<typeof destructive.applyOffsetTranslation>[0],
  options: {
    kept: { name: string; why: string };
    /** More figures from the result (set together with offsetsSet and groupsSkipped). */
    figures?: (result: AppliedOffsetPlan) => Record<string, unknown>;
  },
): Promise<AppliedOffsetPlan> {
  const result = await pb.step('translate-offsets', async (step) => {
    const result = await destructive.applyOffsetTranslation(call);
    const offsetsSet = result.applied.map((a) => ({ group: a.group, topic: a.topic, partition: a.partition, offset: a.offset }));
    const groupsSkipped = result.groups.filter((g) => g.skipped).map((g) => ({ group: g.group, why: g.skipped! }));
    step.details({
      set: offsetsSet.length,
      groupsSkipped,
      checkpointsRead: result.checkpointsRead,
      ...(result.readPasses ? { readPasses: result.readPasses } : {}),
      ...checkpointFreshness(result.freshness),
    });
    pb.setFigures({ offsetsSet, groupsSkipped, ...options.figures?.(result) });
    return result;
  });
  pb.leaveAsIs(options.kept.name, options.kept.why);
  return result;
}

/**
 * check-groups: the named groups (literal names) the flow's MirrorCheckpointConnector never
 * translates (its `groups` / `groups.exclude`). Each would end the failover without a
 * position: refused at start with its name (a blocker in a dry run).
 */
export async function checkGroupsStep(
  pb: Playbook,
  args: { read: Promise<GroupsInFlowResult>; connect: string; dryRun: boolean; blockers: string[]; refuse: (message: string) => never },
): Promise<void> {
  await pb.step('check-groups', async (step) => {
    const r = await args.read;
    step.details({ checkpointConnectors: r.checkpointConnectors, outside: r.outside });
    if (r.outside.length === 0) return r;
    const message =
      `group${r.outside.length === 1 ? '' : 's'} outside the flow's groups allowlist, never translated by ${args.connect}: ` +
      `${r.outside.map((o) => `${o.group} (${o.why})`).join('; ')}: add ${r.outside.length === 1 ? 'it' : 'them'} to the checkpoint connector's groups ` +
      `(and let it emit), or leave ${r.outside.length === 1 ? 'it' : 'them'} out of groups`;
    if (!args.dryRun) args.refuse(message);
    args.blockers.push(message);
    return r;
  });
}

/** The translation's outcome reduced to what find-unplaced needs (kept small: it goes into history). */
export function plannedOf(groups: AppliedOffsetPlan['groups']): PlannedGroup[] {
  return groups.map((g) => ({
    group: g.group,
    ...(g.skipped ? { skipped: g.skipped } : {}),
    partitions: g.partitions.map((p) => {
      const method = (p as { method?: unknown }).method;
      const checkpointUpstream = (p as { checkpointUpstream?: unknown }).checkpointUpstream;
      return {
        topic: p.topic,
        partition: p.partition,
        action: p.action,
        upstream: p.upstream,
        ...(typeof method === 'string' ? { method } : {}),
        // Only for translated partitions (the re-read count): exact ones need no checkpoint.
        ...(typeof checkpointUpstream === 'string' && method !== 'exact' ? { checkpointUpstream } : {}),
        ...(p.note !== undefined ? { note: p.note } : {}),
      };
    }),
  }));
}

/**
 * find-unplaced → (only when some group-partition has no position) gate unplaced-groups →
 * place-unplaced. The gate asks, per group, earliest | end | leave-out; nothing is set for
 * those groups before the decision, and a rejection stops the playbook (compensation).
 */
export async function placeUnplacedSteps(
  pb: Playbook,
  args: {
    source: string;
    target: string;
    policy: 'default' | 'identity';
    /** The flow's separator, when not `.`. */
    separator?: string;
    groups: string[];
    topics: string[];
    readSource: boolean;
    translated: AppliedOffsetPlan;
    /** Approvers, four-eyes and deadline of the gate (the consumers gate's). */
    gate: Omit<GateOptions, 'description' | 'choices'>;
  },
): Promise<UnplacedFigures> {
  const found: FindUnplacedResult = await pb.step(
    'find-unplaced',
    () =>
      shortWaits.findUnplacedPositions({
        source: args.source,
        target: args.target,
        policy: args.policy,
        ...(args.separator ? { separator: args.separator } : {}),
        groups: args.groups,
        topics: args.topics,
        planned: plannedOf(args.translated.groups),
        readSource: args.readSource,
      }),
    { summarize: (r) => ({ unplaced: r.unplaced.length, groups: unplacedGroups(r.unplaced).slice(0, 50), sourceRead: r.sourceRead }) },
  );
  let choices: Record<string, string> = {};
  let set: PlacedUnplaced[] = [];
  if (found.unplaced.length > 0) {
    pb.setFigures({ unplaced: found.unplaced });
    const choicesAsked: GateChoices = { options: [...UNPLACED_CHOICES], keys: unplacedGroups(found.unplaced) };
    const decision = await pb.gate(UNPLACED_GATE, {
      ...args.gate,
      description: describeUnplaced(found.unplaced, args.target),
      choices: choicesAsked,
    });
    pb.stopUnlessApproved(decision);
    choices = decision.choices ?? {};
    const placements = placementsFor(found.unplaced, choices);
    if (placements.length > 0) {
      set = (
        await pb.step('place-unplaced', () => destructive.placeUnplacedGroups({ target: args.target, placements }), {
          details: { choices },
          summarize: (r) => ({ set: r.set.length }),
        })
      ).set;
    } else {
      pb.skip('place-unplaced', 'every unplaced group was left out', { choices });
    }
  }
  const figures: UnplacedFigures = {
    unplaced: found.unplaced,
    unplacedChoices: choices,
    unplacedSet: set,
    groupPositions: groupPositions({ placed: found.placed, unplaced: found.unplaced, choices, set }),
  };
  pb.setFigures({ ...figures });
  return figures;
}

/** Group names without regex characters (the names a playbook input lists literally). */
const LITERAL_GROUP = /^[A-Za-z0-9._-]+$/;

/**
 * prepare-local-topics (Default policy, failover): the target's local `<topic>` for every
 * source topic (producers write there once they move) created like the source's when
 * missing, and each group without a position there placed at its end: the group has read
 * nothing written on the target (docs/playbooks.md, "Default policy: the local topics").
 * The groups: the input's literal names and every group the translation handled, less those
 * the approver left out at gate unplaced-groups. In a dry run (`plan-local-topics`) it only reads.
 */
export async function prepareLocalTopicsStep(
  pb: Playbook,
  args: {
    source: string;
    target: string;
    separator?: string;
    topics: string[];
    groups: string[];
    translated?: AppliedOffsetPlan['groups'];
    leftOut?: string[];
    readSource: boolean;
    dryRun: boolean;
  },
): Promise<PrepareLocalTopicsResult> {
  const leftOut = new Set(args.leftOut ?? []);
  const groups = [...new Set([...args.groups.filter((g) => LITERAL_GROUP.test(g)), ...(args.translated ?? []).map((g) => g.group)])]
    .filter((g) => !leftOut.has(g))
    .sort();
  const call = {
    source: args.source,
    target: args.target,
    ...(args.separator ? { separator: args.separator } : {}),
    topics: args.topics,
    groups,
    readSource: args.readSource,
    dryRun: args.dryRun,
  };
  const result = await pb.step(
    args.dryRun ? 'plan-local-topics' : 'prepare-local-topics',
    () => (args.dryRun ? quick.prepareLocalTopics(call) : destructive.prepareLocalTopics(call)),
    {
      summarize: (r) => ({
        topics: Object.fromEntries(r.topics.map((t) => [t.topic, t.action])),
        positions: countActions(r.positions),
        skippedGroups: r.skippedGroups,
      }),
    },
  );
  if (!args.dryRun) {
    pb.setFigures({
      localTopics: result.topics,
      localPositions: result.positions,
      localGroupsSkipped: result.skippedGroups,
    });
    if (result.topics.some((t) => t.action === 'created')) {
      pb.leaveAsIs(
        'local topics created on target',
        `${result.topics
          .filter((t) => t.action === 'created')
          .map((t) => t.topic)
          .join(', ')} on ${args.target}: empty until producers move there, kept on abort`,
      );
    }
  }
  return result;
}

function countActions(positions: PrepareLocalTopicsResult['positions']): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of positions) out[p.action] = (out[p.action] ?? 0) + 1;
  return out;
}
