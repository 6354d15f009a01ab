/**
 * The DR cluster's local topics under MM2's DefaultReplicationPolicy (pure; the activity is
 * activities/local-topics.ts). A flow A→B copies A's `<topic>` into B's `A.<topic>`; the
 * producers that move to B write to B's own `<topic>`, which MM2 never creates. So a
 * failover makes sure it exists (shaped like the source's topic) and gives every group a
 * position on it, as it gives them one on the mirror. Why the end: docs/playbooks.md
 * ("Default policy: the local topics").
 */

/**
 * Topic configs copied from the source's topic when B's local topic is created (only the
 * topic's own overrides: a broker default on A is not a property of the topic, and B's own
 * defaults apply to the rest).
 */
export const LOCAL_TOPIC_CONFIGS = [
  'cleanup.policy',
  'retention.ms',
  'retention.bytes',
  'min.insync.replicas',
  'compression.type',
  'max.message.bytes',
  'message.timestamp.type',
  'message.timestamp.difference.max.ms',
  'segment.bytes',
  'segment.ms',
  'delete.retention.ms',
  'min.compaction.lag.ms',
  'max.compaction.lag.ms',
  'min.cleanable.dirty.ratio',
] as const;

/** Kafka's DescribeConfigs source for a topic's own override (DYNAMIC_TOPIC_CONFIG). */
export const TOPIC_OVERRIDE_SOURCE = 1;

export interface ConfigEntryRead {
  configName: string;
  configValue: string | null;
  isDefault?: boolean;
  configSource?: number;
}

/** The overrides among LOCAL_TOPIC_CONFIGS (sorted by name), from a DescribeConfigs answer. */
export function topicOverrides(entries: readonly ConfigEntryRead[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    if (!(LOCAL_TOPIC_CONFIGS as readonly string[]).includes(e.configName) || e.configValue === null) continue;
    // configSource is what brokers since 1.1 answer; isDefault is the older form.
    const override = e.configSource !== undefined ? e.configSource === TOPIC_OVERRIDE_SOURCE : e.isDefault === false;
    if (override) out[e.configName] = e.configValue;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

export interface TopicShape {
  partitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

export interface LocalTopic {
  /** The local topic on the target (the source's topic name). */
  topic: string;
  /** Its mirror on the target (`<source><sep><topic>`). */
  mirror: string;
  /**
   * exists: there already; created: created now; will-create: a dry run; missing: not there
   * and its shape unknown (neither the source's topic nor the mirror could be read): not created.
   */
  action: 'exists' | 'created' | 'will-create' | 'missing';
  partitions: number;
  /** Created with it (null: B's default.replication.factor, or as it is for an existing one). */
  replicationFactor: number | null;
  /** Overrides set at creation (or, for an existing topic, empty: it is left as it is). */
  configs: Record<string, string>;
  /** Where the shape came from: the source's topic, or (source not read) the mirror MM2 shaped like it. */
  from: 'source' | 'mirror' | 'target';
  note?: string;
}

/**
 * What to do for one topic: nothing when the local topic exists (a note if its partition
 * count differs from the source's), else create it with the source's shape (the mirror's
 * when the source was not read). Null: the shape is unknown (neither could be read).
 */
export function localTopicPlan(args: {
  topic: string;
  mirror: string;
  local: TopicShape | undefined;
  source: TopicShape | undefined;
  mirrorShape: TopicShape | undefined;
  sourceAlias: string;
  target: string;
}): (Omit<LocalTopic, 'action'> & { create: boolean }) | null {
  const { topic, mirror, local, source, mirrorShape } = args;
  const model = source ?? mirrorShape;
  if (local) {
    const want = model?.partitions;
    return {
      topic,
      mirror,
      create: false,
      partitions: local.partitions,
      replicationFactor: local.replicationFactor,
      configs: {},
      from: 'target',
      ...(want !== undefined && want !== local.partitions
        ? {
            note: `${args.target}'s ${topic} has ${local.partitions} partitions, ${source ? `${args.sourceAlias}'s` : `the mirror ${mirror}`} ${want}: producers keyed by partition spread records differently there (left as it is)`,
          }
        : {}),
    };
  }
  if (!model) return null;
  return {
    topic,
    mirror,
    create: true,
    partitions: model.partitions,
    // The mirror's factor is what the flow chose for this cluster; the source's may exceed B's brokers.
    replicationFactor: mirrorShape?.replicationFactor ?? null,
    configs: model.configs,
    from: source ? 'source' : 'mirror',
  };
}
