// A toy playbook that exercises the shared playbook machinery (gates, journal,
// compensation, messages) with stub activities, for test/workflow/framework.test.ts.
import { proxyActivities, sleep } from '@temporalio/workflow';
import { z } from 'zod';
import { GateOptionsSchema, PersonSchema, type OpenGateStatus, type PlaybookReport } from '../../src/model/gates';
import { clusterPairKey } from '../../src/model/workflow-ids';
import { parseInput, setupPlaybook, type GateOptions } from '../../workflows/framework';

/** The stub activities the test worker registers (types only here, as in real playbooks). */
export interface FrameworkToyActivities {
  /** A side effect; returns figures the step journals (e.g. lag per partition). */
  toyEffect(what: string): Promise<{ what: string; lag: Record<string, number> }>;
  /** The undo of a side effect. */
  toyUndo(what: string): Promise<void>;
  /** The notification hook. */
  toyNotify(gate: string, deadlineAt: string): Promise<void>;
}

const toy = proxyActivities<FrameworkToyActivities>({ startToCloseTimeout: '10s', retry: { maximumAttempts: 1 } });

const Alias = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be a cluster alias');

export const FrameworkToyInput = z.strictObject({
  source: Alias,
  target: Alias,
  requestedBy: PersonSchema,
  gates: z.strictObject({ 'stop-producers': GateOptionsSchema, 'producers-cutover': GateOptionsSchema }),
  /** An abortable wait between the gates (a stand-in for the drain). */
  drainMs: z.number().int().min(0).default(0),
  /** Make this effect's activity fail (tests the failed outcome). */
  failEffect: z.string().optional(),
  /** Declare the run a cutover source→target: approved gates run their registry hooks. */
  cutover: z.boolean().default(false),
  /** `toy`: the gates escalate through toyNotify; `registry`: through the framework's default notifyEscalation. */
  notify: z.enum(['toy', 'registry']).default('toy'),
});
export type FrameworkToyInput = z.input<typeof FrameworkToyInput>;

export const FRAMEWORK_TOY_GATES = ['stop-producers', 'producers-cutover'] as const;

/** Test-only playbook: two gates around stub side effects, with undos and figures. */
export async function frameworkToyPlaybook(raw: unknown): Promise<PlaybookReport> {
  const pb = setupPlaybook({ playbook: 'framework-toy', gates: FRAMEWORK_TOY_GATES });
  const input = parseInput(FrameworkToyInput, raw);
  pb.begin({
    clusterPair: clusterPairKey(input.source, input.target),
    requestedBy: input.requestedBy,
    ...(input.cutover ? { cutover: { from: input.source, to: input.target } } : {}),
  });

  const gateOptions = (name: (typeof FRAMEWORK_TOY_GATES)[number], description: string): GateOptions => {
    const o = input.gates[name];
    return {
      description,
      requestedBy: input.requestedBy,
      deadline: o.deadline,
      ...(o.approvers ? { approvers: o.approvers } : {}),
      ...(o.fourEyes !== undefined ? { fourEyes: o.fourEyes } : {}),
      ...(o.escalateAfter !== undefined ? { escalateAfter: o.escalateAfter } : {}),
      ...(input.notify === 'toy' ? { onEscalate: (gate: OpenGateStatus) => toy.toyNotify(gate.name, gate.deadlineAt) } : {}),
    };
  };
  const effect = (what: string) => toy.toyEffect(input.failEffect === what ? `${what}!fail` : what);

  return pb.run(async () => {
    pb.setPhase('preparing');
    const stopped = await pb.step('stop forward connectors', () => effect('stop-forward'), {
      details: { connectors: [`${input.source}-${input.target}-source`] },
      summarize: (r) => ({ lag: r.lag }),
    });
    pb.onUndo('resume forward connectors', () => toy.toyUndo('resume-forward'));
    pb.setFigures({ lagAtStop: stopped.lag });

    await pb.approval(
      'stop-producers',
      gateOptions('stop-producers', `confirm producers on ${input.source} are stopped; the drain starts`),
    );

    pb.setPhase('draining');
    if (input.drainMs > 0) {
      await pb.step('drain', () => sleep(input.drainMs), { abortable: true, details: { waitMs: input.drainMs } });
    } else {
      pb.skip('drain', 'drainMs is 0');
    }
    await pb.step('create reverse connectors', () => effect('create-reverse'));
    pb.onUndo('delete reverse connectors', () => toy.toyUndo('delete-reverse'));
    await pb.step('apply consumer offsets', () => effect('apply-offsets'));
    pb.leaveAsIs('consumer offsets', 'offsets were only moved forward; consumers have not moved yet');

    await pb.approval('producers-cutover', gateOptions('producers-cutover', `move producers to ${input.target}`));

    pb.setPhase('cutover');
    await pb.step('switch producers', () => effect('switch-producers'));
    pb.setFigures({ cutoverDone: true });
  });
}
