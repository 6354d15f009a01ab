import { z } from 'zod';
import { classified } from '../src/failures';
import { deriveFlowScope, FLOW_CONFIG_KEYS, type FlowConnectorConfig, type FlowScope } from '../src/mm2/flow-scope';
import { pairCutoverState, type CutoverRun, type PairState } from '../src/model/pair-state';
import { cutoverWorkflowId } from '../src/model/workflow-ids';
import { AliasSchema } from '../src/registry/schema';
import type { ActivityDeps } from './deps';
import { parseArgs } from './support';

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
  /** The input field that named the connectors, for the refusals (default `forward.connectors`). */
  connectorsField: z.string().min(1).max(60).optional(),
});
export type DescribeFlowInput = z.input<typeof DescribeFlowInput>;

const PairInput = z.strictObject({ source: AliasSchema, target: AliasSchema });

export function createFlowActivities(deps: ActivityDeps) {
  return {
    /**
     * Whether the pair is mid-cutover, from the runs of its cutover workflow ID on Temporal
     * (src/model/pair-state.ts). Reads Temporal only; safe to repeat. Without a Temporal
     * client on this worker it answers `{ state: 'unknown' }` (the caller decides).
     */
    async pairCutoverState(
      input: z.input<typeof PairInput>,
    ): Promise<(PairState & { workflowId: string }) | { state: 'unknown'; workflowId: string }> {
      const args = parseArgs(PairInput, input, 'pairCutoverState input');
      const workflowId = cutoverWorkflowId(args.source, args.target);
      if (!deps.temporalClient) return { state: 'unknown', workflowId };
      const client = await deps.temporalClient();
      const runs: CutoverRun[] = [];
      for await (const w of client.workflow.list({
        query: `WorkflowId = '${workflowId}' AND (WorkflowType = 'failover' OR WorkflowType = 'failback')`,
      })) {
        runs.push({ type: w.type, runId: w.runId, status: w.status.name, startTime: w.startTime.toISOString() });
      }
      // Only completed runs' outcomes matter (a rejected failover changed nothing): read the newest few.
      const completed = runs.filter((r) => r.status === 'COMPLETED').sort((a, b) => Date.parse(b.startTime) - Date.parse(a.startTime));
      for (const r of completed.slice(0, 5)) {
        const report = (await client.workflow.getHandle(workflowId, r.runId).result()) as { outcome?: string } | undefined;
        r.outcome = report?.outcome ?? null;
        if (r.outcome === 'completed') break;
      }
      return { ...pairCutoverState(runs), workflowId };
    },

    /**
     * The flow's policy, separator, topic and group allowlists, and (with listTopicsOn) the
     * source topics it mirrors with their mirror names. Reads Connect (only the keys it
     * needs: a config holds client credentials) and lists topics; changes nothing, safe to repeat.
     */
    async describeFlow(input: DescribeFlowInput): Promise<FlowScope> {
      const args = parseArgs(DescribeFlowInput, input, 'describeFlow input');
      const names = [...new Set([...args.connectors, ...args.sourceConnectors])];
      const connectors = await classified(
        async () => {
          const client = deps.connect(args.connect);
          const out: FlowConnectorConfig[] = [];
          for (const name of names) {
            const config = await client.getConfig(name);
            out.push({
              name,
              config: config
                ? Object.fromEntries(FLOW_CONFIG_KEYS.filter((k) => config[k] !== undefined).map((k) => [k, config[k]!]))
                : null,
            });
          }
          return out;
        },
        { registry: deps.registry },
      );
      const cluster = args.listTopicsOn;
      const sourceTopics = cluster
        ? await classified(() => deps.kafka.withAdmin(cluster, (admin) => admin.listTopics()), { cluster, registry: deps.registry })
        : undefined;
      return deriveFlowScope({
        connectors,
        sourceConnectors: args.sourceConnectors,
        ...(sourceTopics ? { sourceTopics } : {}),
        ...(args.connectorsField ? { connectorsField: args.connectorsField } : {}),
      });
    },
  };
}
