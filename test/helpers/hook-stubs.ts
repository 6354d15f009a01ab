import type { CutoverHookRequest, CutoverHookResult, EscalationNotice, EscalationResult } from '../../src/hooks/types';

/**
 * What a worker without hooks configured answers (registry with no `hooks`, no
 * `notifications`): manual hooks and logged escalations. Stub workers register these
 * under their own stubs, so playbooks that run hooks work with every stub set.
 */
export const defaultHookStubs = {
  async runCutoverHook(request: CutoverHookRequest): Promise<CutoverHookResult> {
    return { kind: 'manual', detail: { confirmedBy: request.approvedBy, why: 'stub worker: no hooks configured' } };
  },
  async notifyEscalation(notice: EscalationNotice): Promise<EscalationResult> {
    return { kind: 'log', detail: { logged: true, gate: notice.gate } };
  },
};

/** The hook request the toy playbook (test/fixtures/workflows/framework-playbook.ts) sends when bob approves stop-producers, A → B. */
export const toyStopProducersRequest = (workflowId: string): CutoverHookRequest => ({
  workflowId,
  playbook: 'framework-toy',
  gate: 'stop-producers',
  action: 'stop-producers',
  from: 'A',
  to: 'B',
  approvedBy: 'bob',
});
