import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { z } from 'zod';
import {
  ConnectRestError,
  inState,
  type ConnectClient,
  type ConnectorOffset,
  type ConnectorState,
  type ConnectorStatus,
} from '../src/connect/client';
import { classified, FailureType, invalidInput } from '../src/failures';
import type { ActivityDeps } from './deps';
import { heartbeat, parseArgs, sleep } from './support';

/**
 * Kafka Connect activities. Inputs name a Connect cluster from the registry
 * (`connect-b`), never a URL, so workflow history holds no address or credential.
 * Every Connect error leaves as an ApplicationFailure typed by `classified`:
 * 409/5xx/network retried by Temporal, 4xx not.
 */

const NameSchema = z.string().min(1, 'must not be empty');

const ConnectorRefSchema = z.object({ connect: NameSchema, connector: NameSchema }).strict();
export type ConnectorRef = z.infer<typeof ConnectorRefSchema>;

const WaitSchema = ConnectorRefSchema.extend({
  state: z.enum(['RUNNING', 'PAUSED', 'STOPPED']),
  allowNoTasks: z.boolean().optional(),
  // Connect changes a connector's state in well under a second; a status read is cheap, and
  // a one-second poll added up to a second per wait, four to six waits per cutover.
  pollMs: z.number().int().min(100).max(60_000).default(250),
}).strict();
export type WaitForConnectorStateInput = z.input<typeof WaitSchema>;

const RestartSchema = ConnectorRefSchema.extend({
  includeTasks: z.boolean().optional(),
  onlyFailed: z.boolean().optional(),
}).strict();
export type RestartConnectorInput = z.infer<typeof RestartSchema>;

/** A MirrorSourceConnector source partition, as MM2 keys its offsets. */
const Mm2SourcePartitionSchema = z
  .object({
    cluster: z.string().min(1, 'must name the source cluster alias'),
    topic: z.string().min(1, 'must name the source topic'),
    partition: z.number().int().min(0, 'must be a partition number >= 0'),
  })
  .strict();
export type Mm2SourcePartition = z.infer<typeof Mm2SourcePartitionSchema>;

const DecimalOffsetSchema = z.string().regex(/^(0|[1-9][0-9]*)$/, 'must be a non-negative decimal integer string, e.g. "42"');

const AlterOffsetsSchema = ConnectorRefSchema.extend({
  offsets: z.array(
    z
      .object({
        partition: Mm2SourcePartitionSchema,
        /** Upstream offset of the last record already replicated (MM2 resumes at offset+1); null resets the partition. */
        offset: DecimalOffsetSchema.nullable(),
      })
      .strict(),
  ),
}).strict();
export type AlterConnectorOffsetsInput = z.infer<typeof AlterOffsetsSchema>;

export interface TaskReport {
  id: number;
  state: ConnectorState;
  workerId: string;
  /** First line of the task's stack trace (the exception and its message), when it FAILED. */
  trace?: string;
}

export interface ConnectorReport {
  connector: string;
  state: ConnectorState;
  workerId: string;
  trace?: string;
  tasks: TaskReport[];
}

export interface ConnectorOffsetEntry {
  partition: Record<string, unknown>;
  /** The `offset` field of Connect's offset as a decimal string; null when reset or not MM2-shaped. */
  offset: string | null;
}

/** The exception line of a Java stack trace: enough to act on, small enough for history. */
function firstLine(trace: string | undefined): string | undefined {
  if (trace === undefined) return undefined;
  return trace.split('\n', 1)[0]!.trim();
}

/** Connect's offset value `{offset: N}` as a decimal string (no bigint crosses the activity boundary). */
export function offsetToDecimal(offset: Record<string, unknown> | null, partition: Record<string, unknown>): string | null {
  const value = offset?.offset;
  if (typeof value !== 'number') return null;
  if (!Number.isSafeInteger(value)) {
    // JSON.parse already rounded it: reporting a rounded offset would silently skip or replay records.
    throw ApplicationFailure.create({
      type: FailureType.PreconditionFailed,
      nonRetryable: true,
      message: `Connect reports offset ${value} for ${JSON.stringify(partition)}, beyond 2^53: its JSON cannot carry it exactly; read it from the Connect offsets topic instead`,
    });
  }
  return String(value);
}

/** A decimal offset string as the JSON number Connect expects; refuses what a double cannot hold exactly. */
export function decimalToOffset(decimal: string, field: string): number {
  if (BigInt(decimal) > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw invalidInput(`${field}: ${decimal} is above 2^53 - 1: Connect carries offsets as JSON numbers (doubles) and would round it`);
  }
  return Number(decimal);
}

const sortKey = (e: ConnectorOffsetEntry) =>
  [String(e.partition.cluster ?? ''), String(e.partition.topic ?? ''), Number(e.partition.partition ?? 0)] as const;

/** Connect lists offsets in no particular order; reports and diffs want a stable one. */
const byPartition = (a: ConnectorOffsetEntry, b: ConnectorOffsetEntry): number => {
  const [ac, at, ap] = sortKey(a);
  const [bc, bt, bp] = sortKey(b);
  return ac.localeCompare(bc) || at.localeCompare(bt) || ap - bp;
};

export function createConnectActivities(deps: ActivityDeps) {
  const redact = (s: string | undefined) => (s === undefined ? undefined : deps.registry.redact(s));

  /**
   * Resolves the Connect cluster inside `classified`, so an unknown name becomes a
   * non-retryable UnknownCluster, and prefixes Connect errors with the cluster name
   * (the operator sees which Connect cluster answered, never its URL).
   */
  const onConnect = async <T>(connect: string, fn: (client: ConnectClient) => Promise<T>): Promise<T> => {
    let cancelled: CancelledFailure | undefined;
    try {
      return await classified(
        async () => {
          const client = deps.connect(connect);
          try {
            return await fn(client);
          } catch (err) {
            if (err instanceof CancelledFailure) cancelled = err;
            if (err instanceof ConnectRestError) throw new ConnectRestError(err.status, err.connectMessage, `${connect}: ${err.operation}`);
            throw err;
          }
        },
        { registry: deps.registry },
      );
    } catch (err) {
      // `classified` would turn a cancellation into a retryable UnexpectedError; Temporal
      // must see the CancelledFailure itself to record the activity as cancelled.
      throw cancelled ?? err;
    }
  };

  const report = (status: ConnectorStatus): ConnectorReport => ({
    connector: status.name,
    state: status.connector.state,
    workerId: status.connector.worker_id,
    trace: redact(firstLine(status.connector.trace)),
    tasks: status.tasks
      .map((t) => ({ id: t.id, state: t.state, workerId: t.worker_id, trace: redact(firstLine(t.trace)) }))
      .sort((a, b) => a.id - b.id),
  });

  const failedFailure = (connect: string, r: ConnectorReport): ApplicationFailure | undefined => {
    const what =
      r.state === 'FAILED'
        ? `connector ${r.connector} on ${connect} is FAILED: ${r.trace ?? '(no trace)'}`
        : r.tasks
            .filter((t) => t.state === 'FAILED')
            .map((t) => `task ${t.id} of connector ${r.connector} on ${connect} is FAILED: ${t.trace ?? '(no trace)'}`)
            .join('; ');
    if (!what) return undefined;
    return ApplicationFailure.create({
      type: FailureType.ConnectorFailed,
      nonRetryable: true,
      message: `${what} (fix the cause, then restartConnector with includeTasks and onlyFailed)`,
      details: [r],
    });
  };

  /** Offsets can be changed only on a STOPPED connector; checked before the write so nothing is half-done. */
  const requireStopped = async (client: ConnectClient, connect: string, connector: string, action: string) => {
    const status = await client.status(connector);
    if (status.connector.state !== 'STOPPED') {
      throw ApplicationFailure.create({
        type: FailureType.PreconditionFailed,
        nonRetryable: true,
        message:
          `connector ${connector} on ${connect} is ${status.connector.state}: Connect ${action} only on a STOPPED connector; ` +
          'stop it first (stopConnector, then waitForConnectorState STOPPED) and run this again',
      });
    }
  };

  return {
    /**
     * Reads a connector's state and its tasks' states (first trace line of failures); changes nothing, safe to repeat.
     * A connector created a moment ago may still answer 404 (ConnectorNotFound): wait with waitForConnectorState instead.
     */
    async connectorStatus(input: ConnectorRef): Promise<ConnectorReport> {
      const { connect, connector } = parseArgs(ConnectorRefSchema, input);
      return onConnect(connect, async (client) => report(await client.status(connector)));
    },

    /**
     * Polls (heartbeating {state, tasks}) until the connector and all its tasks are in `state`;
     * changes nothing, safe to repeat. A FAILED connector or task ends it with ConnectorFailed
     * (except when waiting for STOPPED, which a FAILED connector reaches when stopped).
     */
    async waitForConnectorState(input: WaitForConnectorStateInput): Promise<ConnectorReport> {
      const { connect, connector, state, allowNoTasks, pollMs } = parseArgs(WaitSchema, input);
      // A STOPPED connector has no tasks at all: Connect drops their configs when it stops.
      const noTasksOk = state === 'STOPPED' ? true : (allowNoTasks ?? false);
      return onConnect(connect, async (client) => {
        for (;;) {
          let status: ConnectorStatus | undefined;
          try {
            status = await client.status(connector);
          } catch (err) {
            // Connect writes a new connector's status a moment after its config: a 404
            // while the config exists means "not yet", not "gone".
            if (!(err instanceof ConnectRestError && err.status === 404)) throw err;
            if ((await client.getConfig(connector)) === undefined) throw err;
          }
          if (status) {
            const r = report(status);
            // Stopping is how an operator takes a FAILED connector out of service: its tasks
            // are dropped and it becomes STOPPED, so FAILED is on the way there, not an end.
            const failed = state === 'STOPPED' ? undefined : failedFailure(connect, r);
            if (failed) throw failed;
            if (inState(status, state, noTasksOk)) return r;
            heartbeat({ state: r.state, tasks: r.tasks.map((t) => ({ id: t.id, state: t.state })) });
          } else {
            heartbeat({ state: 'NO_STATUS_YET', tasks: [] });
          }
          // In a worker this is Context.sleep, which ends early (throws) when the activity is cancelled.
          await sleep(pollMs);
        }
      });
    },

    /** Asks Connect to pause the connector and its tasks (202, asynchronous); already paused is fine, safe to repeat. */
    async pauseConnector(input: ConnectorRef): Promise<void> {
      const { connect, connector } = parseArgs(ConnectorRefSchema, input);
      await onConnect(connect, (client) => client.pause(connector));
    },

    /** Asks Connect to resume a PAUSED or STOPPED connector; already running is fine, safe to repeat. */
    async resumeConnector(input: ConnectorRef): Promise<void> {
      const { connect, connector } = parseArgs(ConnectorRefSchema, input);
      await onConnect(connect, (client) => client.resume(connector));
    },

    /** Stops the connector (tasks shut down, offsets committed, offsets API unlocked); already stopped is fine, safe to repeat. */
    async stopConnector(input: ConnectorRef): Promise<void> {
      const { connect, connector } = parseArgs(ConnectorRefSchema, input);
      await onConnect(connect, (client) => client.stop(connector));
    },

    /** Restarts the connector (and its tasks, or only the failed ones); repeating restarts again, which is harmless. */
    async restartConnector(input: RestartConnectorInput): Promise<void> {
      const { connect, connector, includeTasks, onlyFailed } = parseArgs(RestartSchema, input);
      await onConnect(connect, (client) => client.restart(connector, { includeTasks, onlyFailed }));
    },

    /** Deletes the connector (its committed offsets stay in Connect's offsets topic); already gone returns 'absent', safe to repeat. */
    async deleteConnector(input: ConnectorRef): Promise<'deleted' | 'absent'> {
      const { connect, connector } = parseArgs(ConnectorRefSchema, input);
      return onConnect(connect, (client) => client.delete(connector));
    },

    /** Reads the connector's committed source offsets (MM2: last replicated upstream offset per partition); safe to repeat. */
    async getConnectorOffsets(input: ConnectorRef): Promise<ConnectorOffsetEntry[]> {
      const { connect, connector } = parseArgs(ConnectorRefSchema, input);
      return onConnect(connect, async (client) => {
        const offsets = await client.getOffsets(connector);
        return offsets.map((o) => ({ partition: o.partition, offset: offsetToDecimal(o.offset, o.partition) })).sort(byPartition);
      });
    },

    /**
     * Sets MirrorSourceConnector offsets with PATCH (null resets a partition; MM2 resumes at offset+1).
     * Requires a STOPPED connector (PreconditionFailed otherwise, nothing written). Sets values, so safe to repeat.
     * An empty list is refused by Connect itself (400, ConnectRejected).
     */
    async alterConnectorOffsets(input: AlterConnectorOffsetsInput): Promise<{ altered: number; message: string }> {
      const { connect, connector, offsets } = parseArgs(AlterOffsetsSchema, input);
      const seen = new Set<string>();
      const body: ConnectorOffset[] = offsets.map((o, i) => {
        const key = JSON.stringify([o.partition.cluster, o.partition.topic, o.partition.partition]);
        if (seen.has(key)) throw invalidInput(`offsets.${i}.partition: ${key} is listed twice; which offset is meant?`);
        seen.add(key);
        return {
          partition: { cluster: o.partition.cluster, topic: o.partition.topic, partition: o.partition.partition },
          offset: o.offset === null ? null : { offset: decimalToOffset(o.offset, `offsets.${i}.offset`) },
        };
      });
      return onConnect(connect, async (client) => {
        await requireStopped(client, connect, connector, 'alters offsets');
        const config = await client.getConfig(connector);
        const connectorClass = config?.['connector.class'] ?? '';
        if (!connectorClass.endsWith('MirrorSourceConnector')) {
          throw invalidInput(
            `connector ${connector} on ${connect} is a ${connectorClass || 'connector without a class'}; alterConnectorOffsets sets MirrorSourceConnector offsets only`,
          );
        }
        // MM2 accepts (and stores) an offset for any `cluster`, but its tasks only read the
        // partitions of their own source alias: a mismatch would be a silent no-op.
        const sourceAlias = config?.['source.cluster.alias'];
        const foreign = offsets.findIndex((o) => o.partition.cluster !== sourceAlias);
        if (foreign >= 0) {
          throw invalidInput(
            `offsets.${foreign}.partition.cluster: '${offsets[foreign]!.partition.cluster}' is not the source alias '${sourceAlias ?? '?'}' of connector ${connector}; MM2 would store the offset and never use it`,
          );
        }
        const message = await client.alterOffsets(connector, body);
        return { altered: body.length, message };
      });
    },

    /** Forgets every committed offset of the connector (DELETE); requires a STOPPED connector; safe to repeat. */
    async resetConnectorOffsets(input: ConnectorRef): Promise<{ message: string }> {
      const { connect, connector } = parseArgs(ConnectorRefSchema, input);
      return onConnect(connect, async (client) => {
        await requireStopped(client, connect, connector, 'resets offsets');
        return { message: await client.resetOffsets(connector) };
      });
    },
  };
}
