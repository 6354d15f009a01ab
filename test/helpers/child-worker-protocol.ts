import { z } from 'zod';

/** What the fault tests and their child worker (child-worker-main.ts) exchange. */

/**
 * A call an activity makes where the child worker stops and waits to be killed:
 * `call` is `connect.<ConnectClient method>` or `kafka.<kafkajs Admin method>`.
 */
export const PausePointSchema = z.strictObject({
  activity: z.string().min(1),
  call: z.string().regex(/^(connect|kafka)\.[A-Za-z]+$/),
  /** before: the side effect has not happened; after: it has, but the activity has not completed. */
  phase: z.enum(['before', 'after']),
  /** Pause at the nth matching call in this process (1 = the first). */
  nth: z.number().int().min(1).default(1),
  /** Only calls whose JSON arguments contain this text (e.g. a connector name). */
  argsContain: z.string().min(1).optional(),
});
export type PausePoint = z.input<typeof PausePointSchema>;
export const PausePointsSchema = z.array(PausePointSchema);

export const ChildEventSchema = z.discriminatedUnion('event', [
  z.strictObject({ event: z.literal('ready'), pid: z.number() }),
  z.strictObject({
    event: z.literal('paused'),
    point: z.number(),
    activity: z.string(),
    attempt: z.number(),
    workflowId: z.string(),
    call: z.string(),
    phase: z.enum(['before', 'after']),
  }),
]);
export type ChildEvent = z.infer<typeof ChildEventSchema>;
