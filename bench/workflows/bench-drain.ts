import type { PlaybookReport } from '../../src/model/gates';
import { setupPlaybook } from '../../workflows/framework';
import { drainStep } from '../../workflows/steps';

export interface BenchDrainInput {
  connect: string;
  connectors: string[];
  source: string;
  topics: string[];
}

/**
 * The playbooks' drain step alone (workflows/steps.ts, same activity options and
 * defaults as failover and failback), so the drain benchmark times exactly what a
 * failover waits on without the gates and the quiet window around it. Changes nothing.
 */
export async function benchDrain(input: BenchDrainInput): Promise<PlaybookReport<{ drainMs: number }>> {
  const pb = setupPlaybook<{ drainMs: number }>({ playbook: 'bench-drain', gates: [] });
  pb.begin({ requestedBy: 'bench' });
  return pb.run(async () => {
    pb.setPhase('draining');
    pb.setFigures({ drainMs: await drainStep(pb, input) });
  });
}
