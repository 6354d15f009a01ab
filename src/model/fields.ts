import { z } from 'zod';
import { GateOptionsSchema } from './gates';

/**
 * Zod fields the playbook inputs share (failover, failback, audit, recreate-topic), so a
 * cluster alias or a topic name is refused with the same words whichever playbook takes it.
 * Pure (zod only).
 */

export const Alias = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be a cluster alias (1-64 letters, digits, - or _)');
/** A Connect cluster or connector name. */
export const ConnectorName = z.string().trim().min(1, 'must not be empty').max(249, 'must be at most 249 characters');
export const TopicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name (1-249 letters, digits, . _ -)');
export const GroupName = z.string().min(1, 'must not be empty').max(249, 'must be at most 249 characters');
/** `replication.policy.separator`: part of topic names, so only topic-name characters. */
export const Separator = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,8}$/, "must be 1-8 of letters, digits, . _ - (as the flow's replication.policy.separator)");

/** A non-empty list of `item` without repeats; `what` names one item in the message. */
export const unique = <T extends z.ZodType<string>>(item: T, what: string) =>
  z
    .array(item)
    .min(1, `must list at least one ${what}`)
    .refine((xs) => new Set(xs).size === xs.length, { message: `must not list a ${what} twice` });

/** A gate left out of the input waits this long before the playbook aborts safely. */
export const DEFAULT_GATE_DEADLINE = '4h';

/** Per-gate options of a cutover (failover, failback); `deadline` defaults to DEFAULT_GATE_DEADLINE. */
export const CutoverGateOptions = GateOptionsSchema.extend({ deadline: GateOptionsSchema.shape.deadline.optional() }).transform((g) => ({
  ...g,
  deadline: g.deadline ?? DEFAULT_GATE_DEADLINE,
}));
export const defaultGate = () => ({ deadline: DEFAULT_GATE_DEADLINE });

/**
 * The forward MM2 flow of a cutover: its Connect cluster, every connector, and the
 * MirrorSourceConnectors among them. `listThem` ends the message for a source connector
 * missing from `connectors` (what the playbook does with that list).
 */
export const forwardFlow = (listThem: string) =>
  z
    .strictObject({
      connect: ConnectorName,
      connectors: unique(ConnectorName, 'connector'),
      sourceConnectors: unique(ConnectorName, 'source connector'),
    })
    .superRefine((f, ctx) => {
      f.sourceConnectors.forEach((name, i) => {
        if (!f.connectors.includes(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['sourceConnectors', i],
            message: `'${name}' is not in forward.connectors (${listThem})`,
          });
        }
      });
    });

/**
 * What a cutover moves, spread into its input: `topics` (as on the forward flow's source),
 * consumer `groups` (names or whole-name regexes, as MM2's groups allowlist), the forward
 * flow's replication `policy` and `separator` (Default policy; default ".": mirrors are
 * `<source><separator><topic>`), and `excludeTopics`: topics the forward flow mirrors that
 * this run deliberately leaves out. Without it, the check refuses an input that does not
 * list every mirrored topic.
 */
export const cutoverSelection = {
  topics: unique(TopicName, 'topic'),
  groups: unique(GroupName, 'group'),
  policy: z.enum(['default', 'identity']).default('default'),
  separator: Separator.optional(),
  excludeTopics: z.array(TopicName).optional(),
};

/** Refuses a topic that is both in `topics` and in `excludeTopics`. */
export function refineExcludeTopics(v: { topics: string[]; excludeTopics?: string[] }, ctx: z.RefinementCtx): void {
  (v.excludeTopics ?? []).forEach((t, i) => {
    if (v.topics.includes(t))
      ctx.addIssue({ code: 'custom', path: ['excludeTopics', i], message: `'${t}' is also in topics: list it in one of them` });
  });
}
