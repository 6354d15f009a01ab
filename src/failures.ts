import { ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import { z } from 'zod';
import { ConnectRestError } from './connect/client';
import { ReadToEndTimeout } from './kafka/read-to-end';
import { Mm2DecodeError } from './mm2/codecs';
import { FailureType } from './model/failure-types';
import { RegistryError, UnknownAliasError, type Registry } from './registry/load';

/**
 * Where activities end, every error becomes an ApplicationFailure with a stable
 * type and a message an operator can act on. Retry is decided here, once:
 * bad input and Connect 4xx fail at once; network faults, 409 and 5xx are retried
 * by Temporal with backoff (no retry layer inside the clients).
 */

export { FailureType, NON_RETRYABLE_TYPES } from './model/failure-types';

const identity = (s: string) => s;

export function invalidInput(message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.InvalidInput,
    message,
    nonRetryable: true,
    details: details === undefined ? [] : [details],
  });
}

/** A zod failure as one line per problem: `field: reason`. */
export function describeZodError(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(input)'}: ${i.message}`).join('; ');
}

export function connectFailure(err: ConnectRestError, redact: (s: string) => string = identity): ApplicationFailure {
  const message = redact(err.message);
  const status = err.status;
  if (status === 404) return ApplicationFailure.create({ type: FailureType.ConnectorNotFound, message, nonRetryable: true });
  // connectAccessProblem's wording: a CA the registry lacks is not fixed by retrying.
  if (/its TLS certificate is not trusted/.test(message)) {
    return ApplicationFailure.create({ type: FailureType.ConnectRejected, message, nonRetryable: true });
  }
  if (status === 409) {
    return ApplicationFailure.create({
      type: FailureType.ConnectRebalancing,
      message: `${message} (Connect is rebalancing or has no leader yet; retrying)`,
    });
  }
  // MM2 reports invalid offsets/partitions in an offsets PATCH as HTTP 500 (Kafka 4.1):
  // retrying the same body can never succeed.
  if (
    status === 500 &&
    /Source (offset|partition) .*(cannot be negative|must be an integer|must be a string|is missing the)/.test(message)
  ) {
    return ApplicationFailure.create({
      type: FailureType.ConnectRejected,
      message: `${message} (fix the request; it will not be retried)`,
      nonRetryable: true,
    });
  }
  // A gateway in front of Connect may answer 408/429: transient, like a 5xx.
  if (status === 408 || status === 429) return ApplicationFailure.create({ type: FailureType.ConnectUnavailable, message });
  if (status !== undefined && status >= 400 && status < 500) {
    return ApplicationFailure.create({
      type: FailureType.ConnectRejected,
      message: `${message} (fix the request; it will not be retried)`,
      nonRetryable: true,
    });
  }
  return ApplicationFailure.create({ type: FailureType.ConnectUnavailable, message });
}

interface KafkaJsLikeError {
  name?: string;
  message?: string;
  retriable?: boolean;
  type?: string;
  cause?: KafkaJsLikeError;
  errors?: KafkaJsLikeError[];
}

// Broker errors no retry fixes: the request or the credentials are wrong.
const KAFKA_NON_RETRIABLE = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'INVALID_PARTITIONS',
  'INVALID_REPLICATION_FACTOR',
  'INVALID_CONFIG',
  'INVALID_TOPIC_EXCEPTION',
  'POLICY_VIOLATION',
]);

/**
 * A TLS handshake failure kafkajs reports as a connection error: no retry fixes it, and
 * "is the cluster up?" would send the operator the wrong way. One line naming the cluster,
 * the cause and the registry field to fix.
 */
export function tlsProblem(clusterAlias: string, message: string): string | undefined {
  const m =
    /(self[- ]signed certificate[^,;)]*|unable to verify the first certificate|unable to get (local )?issuer certificate|certificate has expired|Hostname\/IP does not match certificate's altnames[^;)]*)/i.exec(
      message,
    );
  if (m)
    return `cluster ${clusterAlias}: the broker's TLS certificate is not trusted (${m[1]}): set clusters.${clusterAlias}.tls.caFile to the CA that signed it`;
  if (/alert (certificate required|bad certificate|unknown ca)|SSLV3_ALERT_(BAD_CERTIFICATE|CERTIFICATE_REQUIRED)/i.test(message)) {
    return `cluster ${clusterAlias}: the broker refused the TLS client certificate: set clusters.${clusterAlias}.tls.certFile/keyFile to a certificate its truststore accepts`;
  }
  return undefined;
}

export function kafkaFailure(err: unknown, clusterAlias: string, redact: (s: string) => string = identity): ApplicationFailure {
  const outer = err as KafkaJsLikeError;
  // kafkajs wraps the broker's error (e.g. in KafkaJSNumberOfRetriesExceeded): classify the innermost.
  const e = outer.cause?.name || outer.cause?.type ? outer.cause : outer;
  const message = redact(`cluster ${clusterAlias}: ${outer.message ?? String(err)}`);
  const connectionLevel = [
    'KafkaJSConnectionError',
    'KafkaJSConnectionClosedError',
    'KafkaJSNoBrokerAvailableError',
    'KafkaJSNumberOfRetriesExceeded',
    'KafkaJSRequestTimeoutError',
    'KafkaJSBrokerNotFound',
  ];
  // createTopics & co. report per-topic errors in an aggregate with no cause: the
  // inner types decide (INVALID_REPLICATION_FACTOR is not going away by retrying).
  if (e.name === 'KafkaJSAggregateError' && e.errors?.length) {
    const reasons = redact(e.errors.map((x) => `${x.type ?? x.name ?? '?'}: ${x.message ?? ''}`).join('; '));
    const rejected = e.errors.every((x) => x.type !== undefined && KAFKA_NON_RETRIABLE.has(x.type));
    return ApplicationFailure.create({
      type: rejected ? FailureType.KafkaRejected : FailureType.KafkaError,
      message: `${message}: ${reasons}`,
      nonRetryable: rejected,
    });
  }
  const tls = tlsProblem(clusterAlias, `${outer.message ?? ''} ${e.message ?? ''}`);
  if (tls) return ApplicationFailure.create({ type: FailureType.KafkaRejected, message: redact(tls), nonRetryable: true });
  if (e.name && connectionLevel.includes(e.name)) {
    return ApplicationFailure.create({ type: FailureType.ClusterUnreachable, message: `${message} (is the cluster up and reachable?)` });
  }
  if (e.name === 'KafkaJSSASLAuthenticationError' || e.type === 'SASL_AUTHENTICATION_FAILED') {
    return ApplicationFailure.create({
      type: FailureType.KafkaRejected,
      message: `${message} (check clusters.${clusterAlias}.sasl: username, mechanism and the password file or variable)`,
      nonRetryable: true,
    });
  }
  if (e.type && KAFKA_NON_RETRIABLE.has(e.type)) {
    return ApplicationFailure.create({ type: FailureType.KafkaRejected, message, nonRetryable: true });
  }
  return ApplicationFailure.create({ type: FailureType.KafkaError, message });
}

/**
 * The catch-all at an activity's edge: known errors get their type, anything else
 * stays retryable (an unknown error is more often a transient fault than a bug).
 */
export function toFailure(err: unknown, context: { cluster?: string; redact?: (s: string) => string } = {}): ApplicationFailure {
  const redact = context.redact ?? identity;
  if (err instanceof ApplicationFailure) {
    // Our own failures can quote a broker or Connect message too: redact them as well.
    const redacted = redact(err.message);
    if (redacted === err.message) return err;
    return ApplicationFailure.create({
      type: err.type ?? undefined,
      message: redacted,
      nonRetryable: err.nonRetryable ?? undefined,
      details: err.details as unknown[],
    });
  }
  if (err instanceof ConnectRestError) return connectFailure(err, redact);
  if (err instanceof UnknownAliasError) {
    return ApplicationFailure.create({ type: FailureType.UnknownCluster, message: err.message, nonRetryable: true });
  }
  if (err instanceof RegistryError) {
    return ApplicationFailure.create({ type: FailureType.RegistryInvalid, message: redact(err.message), nonRetryable: true });
  }
  if (err instanceof z.ZodError) {
    // A response that does not match its schema: a version or proxy problem, retried.
    return ApplicationFailure.create({
      type: FailureType.ConnectUnavailable,
      message: `unexpected response shape: ${describeZodError(err)}`,
    });
  }
  if (err instanceof Mm2DecodeError) {
    return ApplicationFailure.create({ type: FailureType.Mm2RecordUnreadable, message: err.message, nonRetryable: true });
  }
  if (err instanceof ReadToEndTimeout) {
    return ApplicationFailure.create({
      type: FailureType.KafkaError,
      message: redact(`cluster ${context.cluster ?? '?'}: ${err.message}`),
    });
  }
  const name = (err as KafkaJsLikeError | undefined)?.name ?? '';
  if (name.startsWith('KafkaJS')) return kafkaFailure(err, context.cluster ?? '?', redact);
  const message = redact(err instanceof Error ? err.message : String(err));
  return ApplicationFailure.create({ type: 'UnexpectedError', message });
}

/** Runs `fn` and converts whatever it throws (see toFailure). */
export async function classified<T>(fn: () => Promise<T>, context: { cluster?: string; registry?: Registry } = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    // Cancellation is not a failure: the SDK reports an activity as cancelled only if
    // a CancelledFailure reaches it unchanged.
    if (err instanceof CancelledFailure) throw err;
    throw toFailure(err, { cluster: context.cluster, redact: context.registry ? (s) => context.registry!.redact(s) : undefined });
  }
}
