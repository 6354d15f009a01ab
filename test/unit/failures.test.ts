import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/activity';
import {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs';
import { z } from 'zod';
import { connectAccessProblem, ConnectRestError } from '../../src/connect/client';
import {
  classified,
  connectFailure,
  describeZodError,
  FailureType,
  invalidInput,
  kafkaFailure,
  NON_RETRYABLE_TYPES,
  toFailure,
} from '../../src/failures';
import { Mm2DecodeError } from '../../src/mm2/codecs';
import { resolveRegistry, UnknownAliasError } from '../../src/registry/load';

/** What kafkajs throws for a broker error code (see kafkajs src/protocol/error.js, code 29). */
function protocolError(type: string, retriable: boolean): KafkaJSProtocolError {
  return new KafkaJSProtocolError(Object.assign(new Error(`broker says ${type}`), { type, code: 29, retriable }));
}

const rest = (status: number | undefined, message: string) => new ConnectRestError(status, message, 'PUT /connectors/x/pause');

describe('Connect errors by HTTP status', () => {
  const cases: Array<{ status: number | undefined; type: FailureType; nonRetryable: boolean }> = [
    { status: 400, type: FailureType.ConnectRejected, nonRetryable: true },
    { status: 401, type: FailureType.ConnectRejected, nonRetryable: true },
    { status: 403, type: FailureType.ConnectRejected, nonRetryable: true },
    { status: 404, type: FailureType.ConnectorNotFound, nonRetryable: true },
    { status: 409, type: FailureType.ConnectRebalancing, nonRetryable: false },
    { status: 422, type: FailureType.ConnectRejected, nonRetryable: true },
    { status: 500, type: FailureType.ConnectUnavailable, nonRetryable: false },
    { status: 502, type: FailureType.ConnectUnavailable, nonRetryable: false },
    { status: 503, type: FailureType.ConnectUnavailable, nonRetryable: false },
    { status: 504, type: FailureType.ConnectUnavailable, nonRetryable: false },
    // No response at all: connection refused, reset, or the client's timeout.
    { status: undefined, type: FailureType.ConnectUnavailable, nonRetryable: false },
  ];
  for (const { status, type, nonRetryable } of cases) {
    it(`${status ?? 'no response'} → ${type}, ${nonRetryable ? 'not retried' : 'retried'}`, () => {
      const failure = connectFailure(rest(status, `Connect says ${status}`));
      assert.equal(failure.type, type);
      assert.equal(failure.nonRetryable, nonRetryable);
      assert.match(failure.message, new RegExp(`Connect says ${status}`), "keeps Connect's own message");
      // toFailure dispatches to the same classification.
      const viaEdge = toFailure(rest(status, 'x'));
      assert.equal(viaEdge.type, type);
      assert.equal(viaEdge.nonRetryable, nonRetryable);
    });
  }

  it('says a 4xx will not be retried and a 409 will, so the operator knows what happens next', () => {
    assert.match(connectFailure(rest(400, 'bad')).message, /will not be retried/);
    assert.match(connectFailure(rest(409, 'stale')).message, /retrying/);
  });

  it('lists the non-retryable types consistently with what connectFailure produces', () => {
    for (const status of [400, 404, 422]) {
      const t = connectFailure(rest(status, 'x')).type as FailureType;
      assert.ok(NON_RETRYABLE_TYPES.includes(t), `${t} is in NON_RETRYABLE_TYPES`);
    }
    for (const status of [409, 500, undefined]) {
      const t = connectFailure(rest(status, 'x')).type as FailureType;
      assert.ok(!NON_RETRYABLE_TYPES.includes(t), `${t} is not in NON_RETRYABLE_TYPES`);
    }
  });
});

describe('kafkajs errors', () => {
  it('KafkaJSConnectionError → ClusterUnreachable, retried, naming the cluster', () => {
    const f = toFailure(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:19092'), { cluster: 'A' });
    assert.equal(f.type, FailureType.ClusterUnreachable);
    assert.equal(f.nonRetryable, false);
    assert.match(f.message, /^cluster A: .*ECONNREFUSED/);
  });

  it('a request timeout and retries exhausted over a connection error → ClusterUnreachable', () => {
    const timeout = new KafkaJSRequestTimeoutError('Request Metadata(key: 3, version: 6) timed out');
    assert.equal(kafkaFailure(timeout, 'B').type, FailureType.ClusterUnreachable);
    const exhausted = new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('Connection timeout'), {
      retryCount: 1,
      retryTime: 300,
    });
    const f = kafkaFailure(exhausted, 'B');
    assert.equal(f.type, FailureType.ClusterUnreachable);
    assert.equal(f.nonRetryable, false);
  });

  it('TOPIC_AUTHORIZATION_FAILED → KafkaRejected, not retried', () => {
    const f = toFailure(protocolError('TOPIC_AUTHORIZATION_FAILED', false), { cluster: 'A' });
    assert.equal(f.type, FailureType.KafkaRejected);
    assert.equal(f.nonRetryable, true);
  });

  it('TOPIC_AUTHORIZATION_FAILED wrapped as the cause of KafkaJSNumberOfRetriesExceeded → KafkaRejected', () => {
    const wrapped = new KafkaJSNumberOfRetriesExceeded(protocolError('TOPIC_AUTHORIZATION_FAILED', false), {
      retryCount: 1,
      retryTime: 300,
    });
    assert.equal(wrapped.cause?.name, 'KafkaJSProtocolError', 'kafkajs keeps the broker error as the cause');
    const f = toFailure(wrapped, { cluster: 'A' });
    assert.equal(f.type, FailureType.KafkaRejected);
    assert.equal(f.nonRetryable, true);
  });

  it('a non-retriable broker error wrapped by the kafkajs retrier (KafkaJSNonRetriableError) → KafkaRejected', () => {
    // kafkajs src/retry: `reject(new KafkaJSNonRetriableError(e, { cause: e.cause || e }))`.
    const inner = protocolError('GROUP_AUTHORIZATION_FAILED', false);
    const wrapped = new KafkaJSNonRetriableError(inner);
    Object.assign(wrapped, { cause: inner });
    assert.equal(toFailure(wrapped, { cluster: 'A' }).type, FailureType.KafkaRejected);
  });

  it('SASL authentication failure → KafkaRejected, not retried', () => {
    // The typings declare no arguments; kafkajs itself passes the message.
    const error = new (KafkaJSSASLAuthenticationError as unknown as new (m: string) => Error)('SASL PLAIN authentication failed');
    const f = toFailure(error, { cluster: 'A' });
    assert.equal(f.type, FailureType.KafkaRejected);
    assert.equal(f.nonRetryable, true);
  });

  it('an untrusted broker certificate or a refused client certificate → one non-retryable line naming the fix', () => {
    const untrusted = new KafkaJSConnectionError('Connection error: unable to verify the first certificate');
    const f = toFailure(untrusted, { cluster: 'A' });
    assert.equal(f.type, FailureType.KafkaRejected);
    assert.equal(f.nonRetryable, true);
    assert.equal(
      f.message,
      "cluster A: the broker's TLS certificate is not trusted (unable to verify the first certificate): set clusters.A.tls.caFile to the CA that signed it",
    );
    const refused = new KafkaJSConnectionError(
      'Connection error: 80:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:x.c:1601:SSL alert number 42\n',
    );
    assert.match(
      toFailure(refused, { cluster: 'B' }).message,
      /^cluster B: the broker refused the TLS client certificate: set clusters\.B\.tls\.certFile\/keyFile/,
    );
    assert.equal(
      toFailure(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'), { cluster: 'B' }).type,
      FailureType.ClusterUnreachable,
    );
  });

  it('Connect: an untrusted certificate and refused basic auth are not retried', () => {
    const tls = toFailure(
      new ConnectRestError(undefined, connectAccessProblem('connect-b', 'SELF_SIGNED_CERT_IN_CHAIN', undefined)!, 'GET /connectors'),
    );
    assert.equal(tls.nonRetryable, true);
    assert.match(
      tls.message,
      /Connect cluster connect-b: its TLS certificate is not trusted \(SELF_SIGNED_CERT_IN_CHAIN\): set connect\.connect-b\.tls\.caFile/,
    );
    const auth = toFailure(new ConnectRestError(401, connectAccessProblem('connect-b', 'ERR_BAD_REQUEST', 401)!, 'GET /connectors'));
    assert.equal(auth.nonRetryable, true);
    assert.match(auth.message, /connect-b: HTTP 401, the basic-auth credentials were refused: check connect\.connect-b\.basicAuth/);
    assert.equal(connectAccessProblem('connect-b', 'ECONNREFUSED', undefined), undefined);
  });

  it('a retriable broker error (LEADER_NOT_AVAILABLE) → KafkaError, retried', () => {
    const f = toFailure(protocolError('LEADER_NOT_AVAILABLE', true), { cluster: 'B' });
    assert.equal(f.type, FailureType.KafkaError);
    assert.equal(f.nonRetryable, false);
  });
});

describe('other errors at the activity edge', () => {
  it('a ZodError (a Connect response of an unexpected shape) → ConnectUnavailable, retried, naming the field', () => {
    const result = z.object({ offsets: z.array(z.unknown()) }).safeParse({ offsets: 'nope' });
    assert.ok(!result.success);
    const f = toFailure(result.error);
    assert.equal(f.type, FailureType.ConnectUnavailable);
    assert.equal(f.nonRetryable, false);
    assert.match(f.message, /unexpected response shape: offsets: /);
  });

  it('describeZodError and invalidInput: one `field: reason` per problem, non-retryable', () => {
    const result = z
      .object({ connect: z.string(), offsets: z.array(z.object({ offset: z.string() })) })
      .safeParse({ offsets: [{ offset: 5 }] });
    assert.ok(!result.success);
    const text = describeZodError(result.error);
    assert.match(text, /connect: /);
    assert.match(text, /offsets\.0\.offset: /);
    const f = invalidInput(text);
    assert.equal(f.type, FailureType.InvalidInput);
    assert.equal(f.nonRetryable, true);
  });

  it('UnknownAliasError → UnknownCluster, not retried, listing the known names', () => {
    const registry = resolveRegistry(
      { clusters: { A: { bootstrapServers: ['127.0.0.1:1'] } }, connect: { 'connect-a': { url: 'http://127.0.0.1:2', writesTo: 'A' } } },
      'test',
      {},
      '.',
    );
    let thrown: unknown;
    try {
      registry.connect('connect-z');
    } catch (err) {
      thrown = err;
    }
    assert.ok(thrown instanceof UnknownAliasError);
    const f = toFailure(thrown);
    assert.equal(f.type, FailureType.UnknownCluster);
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /connect-z.*connect-a/);
  });

  it('an MM2 record that does not decode → Mm2RecordUnreadable, not retried', () => {
    const f = toFailure(new Mm2DecodeError('checkpoint value version 9 is unknown'));
    assert.equal(f.type, FailureType.Mm2RecordUnreadable);
    assert.equal(f.nonRetryable, true);
  });

  it('an ApplicationFailure passes through unchanged; anything else stays retryable', () => {
    const own = ApplicationFailure.create({ type: FailureType.PreconditionFailed, message: 'stop it first', nonRetryable: true });
    assert.equal(toFailure(own), own);
    const f = toFailure(new TypeError('boom'));
    assert.equal(f.type, 'UnexpectedError');
    assert.equal(f.nonRetryable, false);
  });
});

describe('secrets in failure messages', () => {
  const secret = 's3cr3t-Connect-pw';
  const registry = resolveRegistry(
    {
      clusters: { A: { bootstrapServers: ['127.0.0.1:1'] } },
      connect: {
        'connect-a': { url: 'http://127.0.0.1:2', writesTo: 'A', basicAuth: { username: 'ops', password: { env: 'KDR_TEST_PW' } } },
      },
    },
    'test',
    { KDR_TEST_PW: secret },
    '.',
  );

  it('classified() redacts a secret that Connect echoed back in its message', async () => {
    await assert.rejects(
      classified(() => Promise.reject(rest(401, `credentials ops:${secret} refused`)), { registry }),
      (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure);
        assert.equal(err.type, FailureType.ConnectRejected);
        assert.ok(!err.message.includes(secret), err.message);
        assert.match(err.message, /credentials ops:\*\*\* refused/);
        return true;
      },
    );
  });

  it('classified() redacts secrets in kafkajs and unexpected errors too', async () => {
    for (const error of [new KafkaJSConnectionError(`sasl ${secret} rejected`), new Error(`password=${secret}`)]) {
      await assert.rejects(
        classified(() => Promise.reject(error), { registry, cluster: 'A' }),
        (err: unknown) => {
          assert.ok(err instanceof ApplicationFailure);
          assert.ok(!err.message.includes(secret), err.message);
          assert.match(err.message, /\*\*\*/);
          return true;
        },
      );
    }
  });

  it('passes values through unchanged when nothing fails', async () => {
    assert.equal(await classified(() => Promise.resolve(42), { registry }), 42);
  });
});

describe('MM2 offset validation errors (HTTP 500 from Connect 4.1)', () => {
  it('are rejected, not retried: the same body can never succeed', () => {
    const f = connectFailure(
      new ConnectRestError(
        500,
        "Source partition {partition=0, topic=t} is missing the 'cluster' key, which is required",
        'PATCH /connectors/x/offsets',
      ),
    );
    assert.equal(f.type, 'ConnectRejected');
    assert.equal(f.nonRetryable, true);
    const plain500 = connectFailure(new ConnectRestError(500, 'Request timed out', 'GET /connectors/x/status'));
    assert.equal(plain500.type, 'ConnectUnavailable');
    assert.equal(plain500.nonRetryable, false);
  });
});
