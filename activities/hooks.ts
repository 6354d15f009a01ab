import { ApplicationFailure, Context } from '@temporalio/activity';
import { classified, FailureType, invalidInput } from '../src/failures';
import { gateAction } from '../src/hooks/actions';
import { CutoverHookRequestSchema, EscalationNoticeSchema } from '../src/hooks/requests';
import { describeUrl } from '../src/hooks/resolved';
import type { CutoverHookRequest, CutoverHookResult, EscalationNotice, EscalationResult } from '../src/hooks/types';
import { postWebhook } from '../src/hooks/webhook';
import type { ActivityDeps } from './deps';
import { parseArgs } from './support';

/**
 * Cutover hooks and escalation notifications (README, "Cutover hooks"). What a gate's
 * hook is comes from the worker's registry, never from workflow input, so a URL or a
 * secret never enters the history; results carry the status and a clipped, redacted body.
 */
export function createHookActivities(deps: ActivityDeps) {
  /** Same on every retry of one scheduled activity, so a receiver can deduplicate. */
  const deliveryId = () => {
    const info = Context.current().info;
    const run = info.workflowExecution;
    return run ? `${run.workflowId}:${run.runId}:${info.activityId}` : `standalone:${info.activityId}`;
  };
  const redact = (text: string) => deps.registry.redact(text);

  return {
    /**
     * Runs the registry's hook for a gate just approved: manual (nothing to do: the
     * approval is the confirmation), webhook (a signed POST; 2xx required), or the
     * drill's switch. Repeats on retry: a webhook receiver sees the same delivery ID.
     */
    async runCutoverHook(raw: CutoverHookRequest): Promise<CutoverHookResult> {
      const parsed = parseArgs(CutoverHookRequestSchema, raw, 'runCutoverHook');
      const action = parsed.action ?? gateAction(parsed.gate);
      if (!action) throw invalidInput(`runCutoverHook: action: required for gate '${parsed.gate}', which moves no clients of its own`);
      const request: CutoverHookRequest = { ...parsed, action };
      const { key, hook } = deps.registry.hook(request.playbook, request.gate);
      const log = Context.current().log;
      switch (hook.kind) {
        case 'manual':
          log.info('cutover hook: manual', { gate: request.gate, action, playbook: request.playbook, approvedBy: request.approvedBy });
          return { kind: 'manual', detail: { action, confirmedBy: request.approvedBy, why: manualWhy(request) } };
        case 'drill': {
          const drillSwitch = deps.drillSwitch;
          if (!drillSwitch) {
            throw ApplicationFailure.create({
              type: FailureType.HookNotConfigured,
              message:
                `gate '${request.gate}': the registry (${deps.registry.source}) sets hook '${key}' to { kind: drill }, but this worker has no drill switch ` +
                `(only \`kafka-dr drill\` runs one): switch the clients yourself and set the hook to manual or a webhook, then run the playbook again`,
              nonRetryable: true,
            });
          }
          const detail = await classified(() => drillSwitch(request), { registry: deps.registry });
          log.info('cutover hook: drill switch', {
            gate: request.gate,
            action,
            playbook: request.playbook,
            from: request.from,
            to: request.to,
          });
          return { kind: 'drill', detail };
        }
        case 'webhook': {
          const response = await postWebhook(hook, request, {
            deliveryId: deliveryId(),
            attempt: Context.current().info.attempt,
            event: 'gate-approved',
            redact,
          });
          log.info('cutover hook: webhook answered', {
            gate: request.gate,
            action,
            url: response.url,
            status: response.status,
            durationMs: response.durationMs,
          });
          return { kind: 'webhook', detail: { ...response, hook: key } };
        }
      }
    },

    /**
     * Tells someone a gate has waited past its escalation time (the registry's
     * notifications.escalation webhook; absent: a warning in the worker log). Safe to
     * repeat: the receiver sees the same delivery ID.
     */
    async notifyEscalation(raw: EscalationNotice): Promise<EscalationResult> {
      const notice = parseArgs(EscalationNoticeSchema, raw, 'notifyEscalation');
      const target = deps.registry.escalationNotification;
      const log = Context.current().log;
      if (target.kind === 'log') {
        log.warn(
          `gate '${notice.gate}' of ${notice.playbook} ${notice.workflowId} has waited ${Math.round(notice.waitedMs / 60_000)} min for a decision`,
          { ...notice },
        );
        return { kind: 'log', detail: { logged: true } };
      }
      const response = await postWebhook(target, notice, {
        deliveryId: deliveryId(),
        attempt: Context.current().info.attempt,
        event: 'gate-escalated',
        redact,
      });
      log.info('escalation notified', { gate: notice.gate, url: describeUrl(target.url), status: response.status });
      return { kind: 'webhook', detail: { ...response } };
    },
  };
}

/** A manual hook does nothing itself: what the operator is trusted to have done, or to do now. */
function manualWhy(request: CutoverHookRequest): string {
  const none = `no hook for '${request.gate}' in the registry`;
  return request.action === 'start-consumers'
    ? `${none}: start the consumer groups on ${request.to} now, their offsets are set there`
    : `${none}: the approval is the confirmation`;
}
