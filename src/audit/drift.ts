/**
 * Config drift between a source topic and its mirror on the target: the settings that
 * decide whether the DR copy can take over (enough partitions, same compaction, same
 * retention, writable with acks=all).
 *
 * What MM2 (4.1.1) itself keeps in sync, from MirrorSourceConnector and
 * DefaultConfigPropertyFilter, so a finding can say whether it will heal by itself:
 * - topic configs are copied at creation and then every
 *   `sync.topic.configs.interval.seconds` (600 s by default, `sync.topic.configs.enabled`
 *   true by default), except those matching `config.properties.exclude`, whose default is
 *   follower/leader.replication.throttled.replicas, message.timestamp.difference.max.ms,
 *   message.timestamp.type, unclean.leader.election.enable and min.insync.replicas;
 *   a source value that is the broker default is not copied (`use.defaults.from=target`);
 * - partitions: added on the target when the source grows (topic refresh), never removed;
 * - replication factor: set once at creation from the connector's `replication.factor`,
 *   never changed afterwards.
 */

export type Severity = 'error' | 'warn' | 'info';

export const DRIFT_SETTINGS = [
  'retention.ms',
  'retention.bytes',
  'cleanup.policy',
  'min.insync.replicas',
  'max.message.bytes',
  'partitions',
  'replication.factor',
] as const;
export type DriftSetting = (typeof DRIFT_SETTINGS)[number] | 'topic';

/** The topic configs read from each cluster. */
export const DRIFT_CONFIGS = ['retention.ms', 'retention.bytes', 'cleanup.policy', 'min.insync.replicas', 'max.message.bytes'] as const;
export type DriftConfig = (typeof DRIFT_CONFIGS)[number];

/** Whether MM2 keeps a setting in sync (with its default settings). */
export const MM2_SYNC: Record<Exclude<DriftSetting, 'topic'>, string> = {
  'retention.ms': 'MM2 copies it from the source when set there (every sync.topic.configs.interval.seconds, 600 s by default)',
  'retention.bytes': 'MM2 copies it from the source when set there (every sync.topic.configs.interval.seconds, 600 s by default)',
  'cleanup.policy': 'MM2 copies it from the source when set there (every sync.topic.configs.interval.seconds, 600 s by default)',
  'max.message.bytes': 'MM2 copies it from the source when set there (every sync.topic.configs.interval.seconds, 600 s by default)',
  'min.insync.replicas': 'MM2 never copies it (excluded by config.properties.exclude by default): set it on the target yourself',
  partitions: 'MM2 adds partitions on the target when the source grows, never removes any',
  'replication.factor': "MM2 sets it once, at creation, from the connector's replication.factor, and never changes it",
};

export interface TopicFacts {
  partitions: number;
  /** The smallest replica count over the topic's partitions. */
  replicationFactor: number;
  /** Effective values as the broker reports them; undefined when not reported. */
  configs: Partial<Record<DriftConfig, string>>;
}

export interface TopicPair {
  /** The source topic name. */
  topic: string;
  /** Its mirror's name on the target (from the replication policy). */
  remoteTopic: string;
  /** Undefined: the topic does not exist on that cluster. */
  source?: TopicFacts;
  target?: TopicFacts;
}

export interface DriftFinding {
  topic: string;
  remoteTopic: string;
  setting: DriftSetting;
  source: string | null;
  target: string | null;
  severity: Severity;
  note: string;
}

export interface DriftReport {
  topicsCompared: number;
  findings: DriftFinding[];
  /** Source topics whose mirror does not exist on the target. */
  missingOnTarget: string[];
  /** Requested topics that do not exist on the source (nothing to compare). */
  missingOnSource: string[];
  counts: Record<Severity, number>;
}

// -1 is "unlimited" for retention.ms and retention.bytes.
function limit(v: string): number {
  const n = Number(v);
  return n < 0 ? Number.POSITIVE_INFINITY : n;
}

function policySet(v: string): string {
  return v
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean)
    .sort()
    .join(',');
}

function sameValue(setting: DriftConfig, a: string, b: string): boolean {
  if (setting === 'cleanup.policy') return policySet(a) === policySet(b);
  const na = Number(a);
  const nb = Number(b);
  return Number.isFinite(na) && Number.isFinite(nb) ? na === nb : a === b;
}

function configFinding(pair: TopicPair, setting: DriftConfig, s: string, t: string): DriftFinding {
  // Every note ends with how MM2 syncs (or does not sync) the setting.
  const finding = (severity: Severity, why: string): DriftFinding => ({
    topic: pair.topic,
    remoteTopic: pair.remoteTopic,
    setting,
    source: s,
    target: t,
    severity,
    note: `${why}; ${MM2_SYNC[setting]}`,
  });
  switch (setting) {
    case 'cleanup.policy':
      return finding(
        'error',
        `cleanup policy differs: the target ${policySet(t).includes('compact') ? 'compacts' : 'does not compact'} while the source ${policySet(s).includes('compact') ? 'compacts' : 'does not'}, so the DR copy holds different records after failover`,
      );
    case 'retention.ms':
    case 'retention.bytes':
      return finding(
        'warn',
        limit(t) < limit(s)
          ? 'the target keeps less than the source: after failover consumers may find less history than on the source'
          : 'the target keeps more than the source',
      );
    case 'max.message.bytes':
      return finding(
        'warn',
        Number(t) < Number(s)
          ? 'a record the source accepts can be too large for the target: MM2 fails with RecordTooLargeException'
          : 'the target accepts larger records than the source',
      );
    case 'min.insync.replicas':
      return finding('warn', 'acks=all producers get different durability after failover');
  }
}

/** Compares one topic and its mirror. */
export function compareTopic(pair: TopicPair): DriftFinding[] {
  const { source, target } = pair;
  const where = { topic: pair.topic, remoteTopic: pair.remoteTopic };
  if (!source) {
    return [
      {
        ...where,
        setting: 'topic',
        source: null,
        target: target ? 'exists' : null,
        severity: 'warn',
        note: `${pair.topic} does not exist on the source: nothing to compare (deleted, or a typo in the topic list?)`,
      },
    ];
  }
  if (!target) {
    return [
      {
        ...where,
        setting: 'topic',
        source: 'exists',
        target: null,
        severity: 'error',
        note: `the mirror ${pair.remoteTopic} does not exist on the target: nothing of ${pair.topic} is replicated (is the topic in a MirrorSourceConnector allowlist, and does the remote-topic policy match?)`,
      },
    ];
  }
  const findings: DriftFinding[] = [];

  if (source.partitions !== target.partitions) {
    const fewer = target.partitions < source.partitions;
    findings.push({
      ...where,
      setting: 'partitions',
      source: String(source.partitions),
      target: String(target.partitions),
      severity: fewer ? 'error' : 'warn',
      note: fewer
        ? `the target has fewer partitions: source partitions ${target.partitions}..${source.partitions - 1} have nowhere to go (MM2 maps partitions 1:1 and adds missing ones on its next topic refresh; if it does not, check the connector's log)`
        : `the target has more partitions than the source: the extra ones stay empty, and keyed producers hash the same key to another partition after failover (per-key order across failover breaks); ${MM2_SYNC.partitions}`,
    });
  }

  for (const setting of DRIFT_CONFIGS) {
    const s = source.configs[setting];
    const t = target.configs[setting];
    if (s === undefined && t === undefined) continue;
    if (s === undefined || t === undefined) {
      findings.push({
        ...where,
        setting,
        source: s ?? null,
        target: t ?? null,
        severity: 'warn',
        note: `the ${s === undefined ? 'source' : 'target'} cluster did not report ${setting}: it could not be compared (missing describe-configs permission?)`,
      });
      continue;
    }
    if (!sameValue(setting, s, t)) findings.push(configFinding(pair, setting, s, t));
  }

  // Replication factors differ legitimately between clusters of different sizes: only a
  // target that cannot satisfy its own min ISR is a problem (acks=all writes fail there).
  const targetMinIsr = Number(target.configs['min.insync.replicas'] ?? '1');
  const rfUnsafe = target.replicationFactor < targetMinIsr;
  if (rfUnsafe || source.replicationFactor !== target.replicationFactor) {
    findings.push({
      ...where,
      setting: 'replication.factor',
      source: String(source.replicationFactor),
      target: String(target.replicationFactor),
      severity: rfUnsafe ? 'error' : 'info',
      note: rfUnsafe
        ? `the target's replication factor ${target.replicationFactor} is below its min.insync.replicas ${targetMinIsr}: producers with acks=all fail with NOT_ENOUGH_REPLICAS after failover (raise the replication factor or lower min.insync.replicas on the target)`
        : `replication factors differ (expected between clusters of different sizes); ${MM2_SYNC['replication.factor']}`,
    });
  }
  return findings;
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warn: 1, info: 2 };

/** The drift report over every requested topic: findings sorted by severity, then topic. */
export function compareTopics(pairs: TopicPair[]): DriftReport {
  const findings = pairs.flatMap(compareTopic);
  findings.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.topic.localeCompare(b.topic));
  const counts: Record<Severity, number> = { error: 0, warn: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return {
    topicsCompared: pairs.filter((p) => p.source && p.target).length,
    findings,
    missingOnTarget: pairs.filter((p) => p.source && !p.target).map((p) => p.topic),
    missingOnSource: pairs.filter((p) => !p.source).map((p) => p.topic),
    counts,
  };
}
