import { asyncLocalStorage } from '@temporalio/activity';
import type { ActivityDeps } from '../../activities';

/**
 * Activity deps whose Connect clients and Kafka admin clients call `hook` before and
 * after every method an activity calls, with the activity's name and attempt. The fault
 * tests use it to act at an exact point of an activity (kill the worker, stop a broker)
 * without any hook in product code. Calls made outside an activity are not reported.
 */

export interface CallPoint {
  activity: string;
  attempt: number;
  workflowId: string;
  /** `connect.<ConnectClient method>`, `kafka.<kafkajs Admin method>` or `kafka.commit` (a group offset commit). */
  call: string;
  phase: 'before' | 'after';
  args: unknown[];
}

export type CallHook = (point: CallPoint) => Promise<void>;

// kafkajs Admin's synchronous methods: wrapping them would turn their results into promises.
const SYNC_METHODS = new Set(['on', 'logger']);

function instrument<T extends object>(obj: T, target: string, hook: CallHook): T {
  return new Proxy(obj, {
    get(o, key, receiver) {
      const value: unknown = Reflect.get(o, key, receiver);
      if (typeof value !== 'function' || typeof key !== 'string' || SYNC_METHODS.has(key)) return value;
      return async (...args: unknown[]) => {
        const info = asyncLocalStorage.getStore()?.info;
        const point = (phase: 'before' | 'after'): CallPoint | undefined =>
          info && {
            activity: info.activityType,
            attempt: info.attempt,
            workflowId: info.workflowExecution?.workflowId ?? '',
            call: `${target}.${key}`,
            phase,
            args,
          };
        const before = point('before');
        if (before) await hook(before);
        const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(o, args);
        const after = point('after');
        if (after) await hook(after);
        return result;
      };
    },
  });
}

export function instrumentDeps(base: ActivityDeps, hook: CallHook): ActivityDeps {
  const kafka = base.kafka;
  const wrappedKafka = new Proxy(kafka, {
    get(o, key, receiver) {
      if (key === 'withAdmin') {
        const withAdmin: typeof kafka.withAdmin = (alias, fn) => kafka.withAdmin(alias, (admin) => fn(instrument(admin, 'kafka', hook)));
        return withAdmin;
      }
      if (key === 'withGroupCommitter') {
        const withGroupCommitter: typeof kafka.withGroupCommitter = (alias, fn) =>
          kafka.withGroupCommitter(alias, (committer) => fn(instrument(committer, 'kafka', hook)));
        return withGroupCommitter;
      }
      return Reflect.get(o, key, receiver) as unknown;
    },
  });
  return { ...base, kafka: wrappedKafka, connect: (name) => instrument(base.connect(name), 'connect', hook) };
}
