import { ApplicationFailure } from '@temporalio/workflow';
import type { z } from 'zod';
import { describeIssues } from '../../src/model/gates';

/** Failure type of a bad playbook input (the message names each field and reason). */
export const INVALID_INPUT = 'InvalidInput';

/** Largest playbook input accepted, in characters of JSON. */
export const MAX_INPUT_CHARS = 256 * 1024;

/**
 * Validates a playbook input with its zod schema. Call it right after
 * `setupPlaybook`, before any side effect. On failure the workflow fails at once,
 * non-retryably, type `InvalidInput`, message `field: reason; field: reason`.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  // The input sits in history and is carried by every status and report: a huge one (a
  // pasted list of 30,000 topics) slows every replay and nears Temporal's 2 MB payload limit.
  const size = JSON.stringify(input ?? null).length;
  if (size > MAX_INPUT_CHARS) {
    throw ApplicationFailure.create({
      type: INVALID_INPUT,
      message: `(input): is ${Math.round(size / 1024)} KiB, over the ${MAX_INPUT_CHARS / 1024} KiB limit of a playbook input: name topics by regex or split the run`,
      nonRetryable: true,
      details: [[{ field: '(input)', reason: `${size} characters of JSON, limit ${MAX_INPUT_CHARS}` }]],
    });
  }
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw ApplicationFailure.create({
    type: INVALID_INPUT,
    message: describeIssues(parsed.error),
    nonRetryable: true,
    details: [parsed.error.issues.map((i) => ({ field: i.path.map(String).join('.') || '(input)', reason: i.message }))],
  });
}
