import { z } from 'zod';
import { classified, describeZodError, invalidInput } from '../src/failures';
import { deriveFlowScope, FLOW_CONFIG_KEYS, type FlowConnectorConfig, type FlowScope } from '../src/mm2/flow-scope';
import { AliasSchema } from '../src/registry/schema';
import type { ActivityDeps } from './deps';

/**
 * Reads what a running MM2 flow mirrors (src/mm2/flow-scope.ts), so a playbook checks its
 * input against the flow instead of trusting it.
 */

const Name = z.string().min(1, 'must not be empty');
const DescribeFlowInput = z.strictObject({
  /** Connect cluster (registry name) running the flow. */
  connect: Name,
  /** The flow's connectors (source, checkpoint, heartbeat) as the playbook input names them. */
  connectors: z.array(Name).min(1),
  /** The MirrorSourceConnectors among them. */
  sourceConnectors: z.array(Name).min(1),
  /** Lists this cluster's topics (the flow's source) to find mirrored topics an input leaves out; omitted when it is down. */
  listTopicsOn: AliasSchema.optional(),
});
export type DescribeFlowInput = z.input<typeof DescribeFlowInput>;

export function createFlowActivities(deps: ActivityDeps) {
  return {
    /**
     * The flow's policy, separator, topic and group allowlists, and (with listTopicsOn) the
     * source topics it mirrors with their mirror names. Reads Connect (only the keys it
     * needs: a config holds client credentials) and lists topics; changes nothing, safe to repeat.
     */
    async describeFlow(input: DescribeFlowInput): Promise<FlowScope> {
      const parsed = DescribeFlowInput.safeParse(input);
      if (!parsed.success) throw invalidInput(`describeFlow input: ${describeZodError(parsed.error)}`);
      const args = parsed.data;
      const names = [...new Set([...args.connectors, ...args.sourceConnectors])];
      const connectors = await classified(
        async () => {
          const client = deps.connect(args.connect);
          const out: FlowConnectorConfig[] = [];
          for (const name of names) {
            const config = await client.getConfig(name);
            out.push({ name, config: config ? Object.fromEntries(FLOW_CONFIG_KEYS.filter((k) => config[k] !== undefined).map((k) => [k, config[k]!])) : null });
          }
          return out;
        },
        { registry: deps.registry },
      );
      const cluster = args.listTopicsOn;
      const sourceTopics = cluster
        ? await classified(() => deps.kafka.withAdmin(cluster, (admin) => admin.listTopics()), { cluster, registry: deps.registry })
        : undefined;
      return deriveFlowScope({ connectors, sourceConnectors: args.sourceConnectors, ...(sourceTopics ? { sourceTopics } : {}) });
    },
  };
}
