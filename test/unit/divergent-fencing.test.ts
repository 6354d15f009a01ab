import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { transactionFailure } from '../../activities/divergent';

/**
 * How the replay/quarantine write path names a fenced attempt and a missing transactional-id
 * ACL (the fenced case on a real broker: test/integration/replay-fencing.test.ts).
 */
describe('divergent copies: transaction failures', () => {
  // What kafkajs builds from a broker error code (its constructor reads type and code).
  const protocol = (type: string, code: number) =>
    new KafkaJSProtocolError(Object.assign(new Error(type), { type, code, retriable: false }));
  const id = 'kafka-dr-divergent-replay-0123';

  it('a fenced attempt fails retryably, naming the transactional id, however kafkajs wraps the error', () => {
    const direct = transactionFailure(protocol('INVALID_PRODUCER_EPOCH', 47), 'A', id);
    const wrapped = transactionFailure(
      new KafkaJSNumberOfRetriesExceeded(protocol('INVALID_PRODUCER_EPOCH', 47), { retryCount: 1, retryTime: 300 }),
      'A',
      id,
    );
    // kafkajs 2.2.4 does not know PRODUCER_FENCED (90): an unknown code.
    const unknown = transactionFailure(protocol('KAFKAJS_UNKNOWN_ERROR_CODE', 90), 'A', id);
    for (const f of [direct, wrapped, unknown]) {
      assert.ok(f);
      assert.equal(f.type, 'KafkaError');
      assert.equal(f.nonRetryable, false);
      assert.match(f.message, /^cluster A: this attempt was fenced off transactional id kafka-dr-divergent-replay-0123/);
    }
  });

  it('a missing ACL is not retried and says what to grant', () => {
    const f = transactionFailure(protocol('TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 53), 'A', id);
    assert.ok(f);
    assert.equal(f.type, 'KafkaRejected');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /WRITE and DESCRIBE on transactional ids prefixed kafka-dr-divergent-/);
  });

  it('other errors are left to the usual classification', () => {
    assert.equal(transactionFailure(protocol('NOT_LEADER_FOR_PARTITION', 6), 'A', id), undefined);
    assert.equal(transactionFailure(new Error('boom'), 'A', id), undefined);
    assert.equal(transactionFailure(undefined, 'A', id), undefined);
  });
});
