import { z } from 'zod';
import { createConnectActivities } from './connect';
import type { ActivityDeps } from './deps';
import { parseArgs } from './support';

/**
 * Cutover steps that touch several connectors at once. One activity instead of a stop
 * and a wait per connector keeps a failover's history short (3 events instead of 6
 * activities and their workflow tasks), and the stops still happen one REST call each.
 */

const StopAllSchema = z.strictObject({
  connect: z.string().min(1),
  connectors: z.array(z.string().min(1)).min(1),
  pollMs: z.number().int().min(100).max(60_000).optional(),
});
export type StopConnectorsInput = z.input<typeof StopAllSchema>;

export function createCutoverActivities(deps: ActivityDeps) {
  const connect = createConnectActivities(deps);
  return {
    /**
     * Stops every connector (all asked first, so they stop together), then waits until
     * each is STOPPED (heartbeating). Stopping a stopped connector is a no-op: safe to
     * repeat, and a retry after a partial failure finishes the job.
     */
    async stopConnectors(input: StopConnectorsInput): Promise<{ stopped: string[] }> {
      const { connect: name, connectors, pollMs } = parseArgs(StopAllSchema, input, 'stopConnectors input');
      for (const connector of connectors) await connect.stopConnector({ connect: name, connector });
      for (const connector of connectors) {
        await connect.waitForConnectorState({ connect: name, connector, state: 'STOPPED', ...(pollMs !== undefined ? { pollMs } : {}) });
      }
      return { stopped: [...connectors] };
    },
  };
}
