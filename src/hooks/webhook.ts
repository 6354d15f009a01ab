import { ApplicationFailure } from '@temporalio/activity';
import axios from 'axios';
import { FailureType } from '../model/failure-types';
import { Secret } from '../registry/secret';
import { describeUrl, type ResolvedWebhook } from './resolved';
import { ATTEMPT_HEADER, DELIVERY_HEADER, EVENT_HEADER, sign, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './signature';

/**
 * One signed POST to a webhook, classified where it ends: 2xx is done, 3xx/4xx is the
 * receiver refusing (non-retryable: retrying the same body cannot help), 5xx, 408,
 * 429, timeouts and connection errors are retried by Temporal with backoff. No retry
 * layer here (STYLE #5).
 */

/** Clip of the response body kept in the journal: enough to see what the receiver said. */
export const MAX_RECORDED_BODY = 500;

export type ResponseClass = 'ok' | 'retry' | 'reject';

export function classifyStatus(status: number): ResponseClass {
  if (status >= 200 && status < 300) return 'ok';
  // Timeouts and rate limits pass; a redirect would re-post to another URL, so fix the registry instead.
  if (status === 408 || status === 425 || status === 429) return 'retry';
  if (status >= 300 && status < 500) return 'reject';
  return 'retry';
}

export function clipBody(body: string, max = MAX_RECORDED_BODY): string {
  return body.length > max ? `${body.slice(0, max)}… (${body.length} characters)` : body;
}

export interface WebhookDelivery {
  /** Stable across retries (receivers deduplicate on it). */
  deliveryId: string;
  attempt: number;
  /** gate-approved | gate-escalated */
  event: string;
  /** Scrubs every registry secret from text leaving the activity. */
  redact: (text: string) => string;
}

export interface WebhookResponse {
  url: string;
  status: number;
  body: string;
  durationMs: number;
  deliveryId: string;
  attempt: number;
}

/** POSTs `payload` as JSON, signed; returns the 2xx response or throws a classified ApplicationFailure. */
export async function postWebhook(
  hook: ResolvedWebhook,
  payload: unknown,
  delivery: WebhookDelivery,
  nowMs = Date.now(),
): Promise<WebhookResponse> {
  const url = describeUrl(hook.url);
  const body = JSON.stringify(payload);
  const timestamp = Math.floor(nowMs / 1000);
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    [SIGNATURE_HEADER]: sign(hook.secret.reveal(), timestamp, body),
    [TIMESTAMP_HEADER]: String(timestamp),
    [DELIVERY_HEADER]: delivery.deliveryId,
    [ATTEMPT_HEADER]: String(delivery.attempt),
    [EVENT_HEADER]: delivery.event,
  };
  for (const [name, value] of Object.entries(hook.headers)) headers[name] = value instanceof Secret ? value.reveal() : value;
  const clean = (text: string) => delivery.redact(text).split(hook.secret.reveal()).join('***');
  const started = Date.now();
  let status: number;
  let text: string;
  try {
    const res = await axios.post<string>(hook.url, body, {
      headers,
      timeout: hook.timeoutMs,
      maxRedirects: 0,
      // We classify every status ourselves, and keep the body as the receiver sent it.
      validateStatus: () => true,
      responseType: 'text',
      transformResponse: (data: unknown) => data,
      maxContentLength: 1_000_000,
    });
    status = res.status;
    text = typeof res.data === 'string' ? res.data : JSON.stringify(res.data ?? '');
  } catch (err) {
    // Never pass the axios error on: its config holds the headers (a bearer token).
    const reason = axios.isAxiosError(err) ? (err.code ?? 'error') + (err.message ? ` (${err.message})` : '') : String(err);
    throw ApplicationFailure.create({
      type: FailureType.HookUnavailable,
      message: clean(`webhook ${url}: ${reason}; retrying with backoff (is the receiver up and reachable from the worker?)`),
    });
  }
  const recorded = clean(clipBody(text));
  const response: WebhookResponse = {
    url,
    status,
    body: recorded,
    durationMs: Date.now() - started,
    deliveryId: delivery.deliveryId,
    attempt: delivery.attempt,
  };
  const verdict = classifyStatus(status);
  if (verdict === 'ok') return response;
  if (verdict === 'reject') {
    throw ApplicationFailure.create({
      type: FailureType.HookRejected,
      message: `webhook ${url} answered ${status}: ${recorded || '(empty body)'} (the receiver refused the request; fix the receiver or the registry's hook, it will not be retried)`,
      nonRetryable: true,
      details: [response],
    });
  }
  throw ApplicationFailure.create({
    type: FailureType.HookUnavailable,
    message: `webhook ${url} answered ${status}: ${recorded || '(empty body)'}; retrying with backoff`,
    details: [response],
  });
}
