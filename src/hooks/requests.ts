import { z } from 'zod';
import { AliasSchema } from '../registry/schema';
import { CUTOVER_ACTIONS } from './actions';
import type { CutoverHookRequest, EscalationNotice } from './types';

/**
 * The activity inputs, validated where they arrive (a workflow from another version, or
 * a hand-started activity, may send anything). Types are kept in types.ts, the
 * interface h3's drill builds against; `satisfies` keeps them in step.
 */

const Name = z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

export const CutoverHookRequestSchema = z.strictObject({
  workflowId: Name,
  playbook: Name,
  gate: Name,
  /** Absent in requests scheduled by workflow code from before actions: the gate's own (see gateAction). */
  action: z.enum(CUTOVER_ACTIONS).optional(),
  from: AliasSchema,
  to: AliasSchema,
  approvedBy: Name,
}) satisfies z.ZodType<Omit<CutoverHookRequest, 'action'> & Partial<Pick<CutoverHookRequest, 'action'>>>;

export const EscalationNoticeSchema = z.strictObject({
  event: z.literal('gate-escalated'),
  workflowId: Name,
  playbook: Name,
  gate: Name,
  description: z.string().max(4_000),
  openedAt: z.string(),
  escalatedAt: z.string(),
  waitedMs: z.number().int().min(0),
  deadlineAt: z.string(),
  approvers: z.array(z.string()).nullable(),
  requestedBy: z.string().nullable(),
}) satisfies z.ZodType<EscalationNotice>;
