import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures (docs/operations.md, "Cutover hooks"). The HMAC-SHA256 covers
 * `<timestamp>.<body>`, so a captured request cannot be replayed later with a fresh
 * timestamp, and a receiver checks the exact bytes it received (not a re-serialized
 * object). Receivers in other languages do the same in a few lines.
 */

export const SIGNATURE_HEADER = 'X-KafkaDr-Signature';
export const TIMESTAMP_HEADER = 'X-KafkaDr-Timestamp';
/** Stable across retries of one delivery: receivers deduplicate on it. */
export const DELIVERY_HEADER = 'X-KafkaDr-Delivery';
export const ATTEMPT_HEADER = 'X-KafkaDr-Attempt';
export const EVENT_HEADER = 'X-KafkaDr-Event';

/** How old a signed request a receiver accepts by default (clock skew plus transit). */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** `sha256=<hex>` of HMAC-SHA256(secret, `${timestamp}.${body}`). */
export function sign(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

/**
 * What a receiver runs on each request: the signature matches the exact body and the
 * timestamp is recent. Constant-time comparison.
 */
export function verify(
  secret: string,
  request: { body: string; signature: string | undefined; timestamp: string | undefined },
  options: { nowSeconds?: number; toleranceSeconds?: number } = {},
): VerifyResult {
  if (!request.signature) return { ok: false, reason: `missing ${SIGNATURE_HEADER}` };
  if (!request.timestamp || !/^\d{1,12}$/.test(request.timestamp)) return { ok: false, reason: `missing or malformed ${TIMESTAMP_HEADER}` };
  const ts = Number(request.timestamp);
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - ts) > tolerance)
    return { ok: false, reason: `timestamp ${ts} is more than ${tolerance}s from now (${now}): a replay or a skewed clock` };
  const expected = Buffer.from(sign(secret, ts, request.body));
  const given = Buffer.from(request.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    return { ok: false, reason: 'signature does not match the body' };
  return { ok: true };
}
