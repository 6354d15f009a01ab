import type { CutoverAction } from '../hooks/actions';
import type { CutoverHookRequest, DrillSwitch } from '../hooks/types';
import type { DrillSwitchRecord } from './report-types';

/**
 * The drill's client switch: what each cutover hook asks of the synthetic producer and
 * consumer. The playbooks' hooks call it (`{kind: drill}` in the drill's registry, through
 * the activity deps). Idempotent per playbook, workflow, gate and action: an activity
 * retry changes nothing twice. (Failover and failback share the pair's workflow ID: the
 * playbook is part of the key.)
 */

const keyOf = (r: Pick<CutoverHookRequest, 'playbook' | 'workflowId' | 'gate' | 'action'>) =>
  `${r.playbook}/${r.workflowId}/${r.gate}/${r.action}`;

/** What the switch needs from the synthetic clients. */
export interface SwitchableClients {
  producer: { start(cluster: string): Promise<void>; stop(): Promise<{ stoppedOn: string | null; lastSeq: number }> };
  consumer: { start(cluster: string): Promise<void>; stop(): Promise<{ stoppedOn: string | null; consumed: number }> };
}

export type SwitchAction =
  | { action: 'stop-producer' }
  | { action: 'start-producer'; cluster: string }
  | { action: 'move-consumer'; cluster: string }
  | { action: 'stop-consumer' }
  | { action: 'start-consumer'; cluster: string };

/** What the drill does for a hook's action: the clients move to `to`. */
export function actionFor(request: { action: CutoverAction; to: string }): SwitchAction {
  switch (request.action) {
    case 'stop-producers':
      return { action: 'stop-producer' };
    case 'start-producers':
      return { action: 'start-producer', cluster: request.to };
    case 'move-consumers':
      return { action: 'move-consumer', cluster: request.to };
    case 'stop-consumers':
      return { action: 'stop-consumer' };
    case 'start-consumers':
      return { action: 'start-consumer', cluster: request.to };
  }
}

export class Switchboard {
  private readonly done = new Map<string, Promise<Record<string, unknown>>>();
  readonly records: DrillSwitchRecord[] = [];

  constructor(
    private readonly clients: SwitchableClients,
    private readonly log: (line: string) => void,
    /** Told (not awaited) after each switch: tests inject faults at a gate with it. */
    private readonly onSwitch: (record: DrillSwitchRecord) => void = () => undefined,
  ) {}

  /** The function the activity deps carry (`drillSwitch`); the hook activity calls it. */
  readonly hook: DrillSwitch = (request) => this.switch(request);

  switch(request: CutoverHookRequest): Promise<Record<string, unknown>> {
    const key = keyOf(request);
    const earlier = this.done.get(key);
    if (earlier) return earlier;
    const at = new Date().toISOString();
    const run = this.perform(request).then((detail) => {
      const full = { workflowId: request.workflowId, ...detail };
      const record = { playbook: request.playbook, gate: request.gate, action: request.action, at, detail: full };
      this.records.push(record);
      this.log(`switch ${request.playbook} ${request.gate} (${request.action}): ${String(detail.action)}`);
      this.onSwitch(record);
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
      case 'stop-consumer': {
        const r = await this.clients.consumer.stop();
        return { action: `consumer group stopped on ${r.stoppedOn ?? '(not running)'}`, consumed: r.consumed };
      }
      case 'start-consumer':
        await this.clients.consumer.start(a.cluster);
        return { action: `consumer group started on ${a.cluster}` };
    }
  }
}
