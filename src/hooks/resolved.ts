import type { Secret } from '../registry/secret';

/**
 * Hooks as the worker holds them after the registry is loaded: secrets resolved into
 * Secret (which prints as [redacted]), defaults applied.
 */

export interface ResolvedWebhook {
  kind: 'webhook';
  url: string;
  secret: Secret;
  timeoutMs: number;
  headers: Record<string, string | Secret>;
}

export type ResolvedHook = { kind: 'manual' } | ResolvedWebhook | { kind: 'drill' };

export type ResolvedEscalation = ResolvedWebhook | { kind: 'log' };

export interface ResolvedHooks {
  /** Keyed `<gate>` or `<playbook>/<gate>`. */
  hooks: Map<string, ResolvedHook>;
  escalation: ResolvedEscalation;
}

export const NO_HOOKS: ResolvedHooks = { hooks: new Map(), escalation: { kind: 'log' } };

/** The hook for a gate: `<playbook>/<gate>` first, then `<gate>`, else manual (the approval is the confirmation). */
export function hookFor(hooks: ResolvedHooks, playbook: string, gate: string): { key: string | null; hook: ResolvedHook } {
  for (const key of [`${playbook}/${gate}`, gate]) {
    const hook = hooks.hooks.get(key);
    if (hook) return { key, hook };
  }
  return { key: null, hook: { kind: 'manual' } };
}

/** Where a webhook posts, for records and errors: no query string or user info (either may hold a token). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}
