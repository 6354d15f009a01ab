import { ApplicationFailure } from '@temporalio/activity';
import { ConfigResourceTypes, ConfigSource, type Admin } from 'kafkajs';
import { z } from 'zod';
import { overridesAfterRepair, type TopicOverride } from '../src/audit/repair-plan';
import { classified, FailureType } from '../src/failures';
import type { ActivityDeps } from './deps';
import { parseArgs } from './support';

/**
 * Applies approved audit repairs on ONE cluster (the audited flow's target; the workflow
 * never passes a source): topic config settings set back to the source's values, and
 * partitions added up to the source's count. Every change is a computed end value, so a
 * retry or a re-run sets the same thing again.
 */

const RepairSchema = z.strictObject({
  topic: z.string().min(1),
  setting: z.string().min(1),
  /** The value to set (the source's); for `partitions`, the partition count to reach. */
  to: z.string().min(1),
});

const RepairInputSchema = z.strictObject({
  cluster: z.string().min(1),
  repairs: z.array(RepairSchema).min(1),
});
export type RepairTopicsInput = z.input<typeof RepairInputSchema>;

export interface RepairTopicsResult {
  cluster: string;
  /** What each topic holds afterwards (read back from the broker). */
  applied: Array<{ topic: string; setting: string; value: string }>;
}

const PARTITIONS = 'partitions';

async function topicOverrides(admin: Admin, topic: string): Promise<TopicOverride[]> {
  const { resources } = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
    includeSynonyms: false,
  });
  return (resources[0]?.configEntries ?? [])
    .filter((e) => e.configSource === ConfigSource.TOPIC_CONFIG)
    .map((e) => ({ name: e.configName, value: e.configValue ?? null, sensitive: e.isSensitive }));
}

export function createRepairActivities(deps: ActivityDeps) {
  return {
    /**
     * Sets the repaired topic configs (keeping every other override of the topic) and adds
     * partitions where the repair says so, on `cluster` only; reads every value back.
     * Safe to repeat. A topic whose overrides cannot be rewritten safely fails non-retryably.
     */
    async repairTopicConfigs(input: RepairTopicsInput): Promise<RepairTopicsResult> {
      const { cluster, repairs } = parseArgs(RepairInputSchema, input, 'repairTopicConfigs input');
      return classified(
        () =>
          deps.kafka.withAdmin(cluster, async (admin) => {
            const topics = [...new Set(repairs.map((r) => r.topic))].sort();
            const applied: RepairTopicsResult['applied'] = [];
            for (const topic of topics) {
              const mine = repairs.filter((r) => r.topic === topic);
              const grow = mine.find((r) => r.setting === PARTITIONS);
              if (grow) {
                const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
                // Partitions only grow: a repeat after success finds the count reached and does nothing.
                if ((meta?.partitions.length ?? 0) < Number(grow.to))
                  await admin.createPartitions({ topicPartitions: [{ topic, count: Number(grow.to) }] });
              }
              const changes = mine.filter((r) => r.setting !== PARTITIONS).map((r) => ({ setting: r.setting, to: r.to }));
              if (changes.length > 0) {
                const next = overridesAfterRepair(await topicOverrides(admin, topic), changes);
                if ('refused' in next) {
                  throw ApplicationFailure.create({
                    type: FailureType.PreconditionFailed,
                    nonRetryable: true,
                    message: `${cluster} topic ${topic}: ${next.refused}`,
                  });
                }
                await admin.alterConfigs({
                  validateOnly: false,
                  resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: next.set }],
                });
              }
              const after = new Map((await topicOverrides(admin, topic)).map((o) => [o.name, o.value]));
              const partitions = grow ? (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions.length : undefined;
              for (const r of mine)
                applied.push({
                  topic,
                  setting: r.setting,
                  value: r.setting === PARTITIONS ? String(partitions) : (after.get(r.setting) ?? '(default)'),
                });
            }
            return { cluster, applied };
          }),
        { cluster, registry: deps.registry },
      );
    },
  };
}
