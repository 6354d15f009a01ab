import type { CutoverHookRequest, DrillSwitch } from '../hooks/types';
import type { DrillSwitchRecord } from './report-types';

/**
 * The drill's client switch: what each approved cutover gate does to the synthetic
 * producer and consumer. The same switch serves two callers: the playbook's cutover
 * hook (`{kind: drill}`, through the activity deps) and, when no hook runs, the
 * drill's approver before it approves. Idempotent per playbook, workflow and gate: an
 * activity retry, or a hook arriving after the approver already switched, changes
 * nothing twice. (Failover and failback share the pair's workflow ID: the playbook is
 * part of the key.)
 */

const keyOf = (r: Pick<CutoverHookRequest, 'playbook' | 'workflowId' | 'gate'>) => `${r.playbook}/${r.workflowId}/${r.gate}`;

/** What the switch needs from the synthetic clients. */
export interface SwitchableClients {
  producer: { start(cluster: string): Promise<void>; stop(): Promise<{ stoppedOn: string | null; lastSeq: number }> };
  consumer: { start(cluster: string): Promise<void>; stop(): Promise<{ stoppedOn: string | null; consumed: number }> };
}

/** A consumer start the drill owes once the playbook has set the group's offsets there. */
export interface DeferredConsumerStart {
  workflowId: string;
  cluster: string;
  /** The step whose completion makes the start safe. */
  afterStep: string;
}

export type SwitchAction =
  | { action: 'stop-producer' }
  | { action: 'start-producer'; cluster: string }
  | { action: 'move-consumer'; cluster: string }
  | { action: 'stop-consumer-then-start-after'; cluster: string; afterStep: string }
  | { action: 'none'; why: string };

/**
 * The switch for one gate. The failback's consumers gate comes before its
 * translate-offsets step (the group must be stopped on B first), so the consumer can
 * only start on A after that step; the failover translates before its gate.
 */
export function actionFor(request: Pick<CutoverHookRequest, 'playbook' | 'gate' | 'to'>): SwitchAction {
  switch (request.gate) {
    case 'stop-producers':
      return { action: 'stop-producer' };
    case 'producers-cutover':
      return { action: 'start-producer', cluster: request.to };
    case 'consumers-cutover':
      return request.playbook === 'failback'
        ? { action: 'stop-consumer-then-start-after', cluster: request.to, afterStep: 'translate-offsets' }
        : { action: 'move-consumer', cluster: request.to };
    default:
      return { action: 'none', why: `the drill has no clients to move at gate '${request.gate}'` };
  }
}

export class Switchboard {
  private readonly done = new Map<string, Promise<Record<string, unknown>>>();
  readonly records: DrillSwitchRecord[] = [];
  deferred: DeferredConsumerStart | null = null;

  constructor(
    private readonly clients: SwitchableClients,
    private readonly log: (line: string) => void,
  ) {}

  /** The function the activity deps carry (`drillSwitch`); the hook activity calls it. */
  readonly hook: DrillSwitch = (request) => this.switch(request, 'hook');

  /** Whether the gate's switch has been called (by the hook or the approver). */
  called(request: Pick<CutoverHookRequest, 'playbook' | 'workflowId' | 'gate'>): boolean {
    return this.done.has(keyOf(request));
  }

  switch(request: CutoverHookRequest, via: 'hook' | 'approver'): Promise<Record<string, unknown>> {
    const key = keyOf(request);
    const earlier = this.done.get(key);
    if (earlier) return earlier;
    const at = new Date().toISOString();
    const run = this.perform(request).then((detail) => {
      const full = { workflowId: request.workflowId, ...detail };
      this.records.push({ playbook: request.playbook, gate: request.gate, via, at, detail: full });
      this.log(`switch (${via}) ${request.playbook} ${request.gate}: ${String(detail.action)}`);
      return full;
    });
    // A failed switch may be retried (the hook activity retries): forget it.
    this.done.set(key, run);
    run.catch(() => this.done.delete(key));
    return run;
  }

  private async perform(request: CutoverHookRequest): Promise<Record<string, unknown>> {
    const a = actionFor(request);
    switch (a.action) {
      case 'stop-producer': {
        const r = await this.clients.producer.stop();
        return { action: `producer stopped on ${r.stoppedOn ?? '(not running)'}`, lastSeq: r.lastSeq };
      }
      case 'start-producer':
        await this.clients.producer.start(a.cluster);
        return { action: `producer writes to ${a.cluster}` };
      case 'move-consumer': {
        const r = await this.clients.consumer.stop();
        await this.clients.consumer.start(a.cluster);
        return { action: `consumer group moved ${r.stoppedOn ?? '(not running)'} → ${a.cluster}` };
      }
      case 'stop-consumer-then-start-after': {
        const r = await this.clients.consumer.stop();
        this.deferred = { workflowId: request.workflowId, cluster: a.cluster, afterStep: a.afterStep };
        return { action: `consumer group stopped on ${r.stoppedOn ?? '(not running)'}; starts on ${a.cluster} after ${a.afterStep}` };
      }
      case 'none':
        return { action: 'none', why: a.why };
    }
  }

  /** Starts the deferred consumer (once); returns the cluster it started on. */
  async startDeferred(): Promise<string | null> {
    const d = this.deferred;
    if (!d) return null;
    this.deferred = null;
    await this.clients.consumer.start(d.cluster);
    this.log(`consumer group started on ${d.cluster} (after ${d.afterStep})`);
    return d.cluster;
  }
}
