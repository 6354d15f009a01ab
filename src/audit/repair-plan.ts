/**
 * How an approved audit repair becomes one topic's new configuration. kafkajs only speaks
 * the legacy AlterConfigs request, which REPLACES every dynamic config of the topic with
 * the set sent: sending only the repaired setting would silently drop the topic's other
 * overrides (retention, cleanup policy, ...). So the set sent is the topic's current
 * overrides with the repairs applied. Pure; the activity reads and writes.
 */

/** One topic-level override as the broker describes it. */
export interface TopicOverride {
  name: string;
  /** null when the broker hides it (a sensitive value). */
  value: string | null;
  sensitive: boolean;
}

export interface ConfigChange {
  setting: string;
  /** The value to set (the source's). */
  to: string;
}

/** The full override set to send, or why it cannot be sent without losing something. */
export function overridesAfterRepair(
  current: TopicOverride[],
  changes: ConfigChange[],
): { set: Array<{ name: string; value: string }> } | { refused: string } {
  // A hidden value cannot be sent back: the legacy request would erase it.
  const hidden = current.filter((o) => o.sensitive || o.value === null).map((o) => o.name);
  if (hidden.length > 0) {
    return {
      refused: `the topic has overrides whose values the broker hides (${hidden.join(', ')}): AlterConfigs would erase them; apply the repair by hand (kafka-configs --alter --add-config)`,
    };
  }
  const merged = new Map(current.map((o) => [o.name, o.value!]));
  for (const c of changes) merged.set(c.setting, c.to);
  return { set: [...merged].map(([name, value]) => ({ name, value })).sort((a, b) => a.name.localeCompare(b.name)) };
}
