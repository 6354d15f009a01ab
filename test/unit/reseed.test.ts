import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decideReseed,
  describeUnsearchable,
  lastCopiedIdentity,
  locateCopy,
  newestWindow,
  type CopySearch,
} from '../../src/offsets/reseed';
import type { Fingerprinted } from '../../src/offsets/divergent';
import { validatePlaybookInput } from '../../src/client/playbooks';
import { flagForField, PLAYBOOK_VERBS } from '../../src/cli/playbook-flags';
import { rawFailbackInput } from '../helpers/inputs';

const rec = (offset: number, fingerprint: string): Fingerprinted => ({ offset: BigInt(offset), fingerprint });
/** B's DR-period records b0..b9 at offsets 100..109. */
const onDr = Array.from({ length: 10 }, (_, i) => rec(100 + i, `b${i}`));
/** Only the B records whose fingerprint is on A (what the activity keeps). */
const filtered = (onA: Fingerprinted[]) => onDr.filter((b) => onA.some((a) => a.fingerprint === b.fingerprint));

describe('reseed: what a previous failback attempt copied, found on the primary', () => {
  it('Identity: A own records and copies interleaved; the last copied B record is found', () => {
    // A after the forward flow: tail a0, a1, copies b0..b5, a straggler, copies b6.
    const onA = [rec(20, 'a0'), rec(21, 'a1'), ...[0, 1, 2, 3, 4, 5].map((i) => rec(22 + i, `b${i}`)), rec(28, 'a2'), rec(29, 'b6')];
    assert.deepEqual(lastCopiedIdentity(onA, filtered(onA)), { status: 'found', drOffset: 106n, primaryOffset: 29n, matched: 7 });
  });

  it('Identity: past maxRecords only the newest offsets of the range are read', () => {
    assert.deepEqual(newestWindow(10n, 20n, 4), { from: 16n, skipped: 6n });
    assert.deepEqual(newestWindow(10n, 14n, 4), { from: 10n, skipped: 0n }, 'exactly maxRecords: all read');
    assert.deepEqual(newestWindow(10n, 12n, 4), { from: 10n, skipped: 0n });
  });

  it('Identity: copies made twice by an at-least-once restart still give the last one', () => {
    const onA = [...[0, 1, 2, 3, 4, 5].map((i) => rec(20 + i, `b${i}`)), ...[3, 4, 5, 6, 7].map((i) => rec(30 + i, `b${i}`))];
    const r = lastCopiedIdentity(onA, filtered(onA));
    assert.equal(r.status, 'found');
    assert.equal(r.status === 'found' && r.drOffset, 107n);
  });

  it('Identity: only A records (a tail, no copy): none, the seed stands', () => {
    assert.deepEqual(lastCopiedIdentity([rec(20, 'a0'), rec(21, 'a1')], []), { status: 'none' });
    assert.deepEqual(lastCopiedIdentity([], []), { status: 'none' });
  });

  it('Identity: copies out of B order (newest copy is not the last in-order match): ambiguous', () => {
    const onA = [rec(20, 'b5'), rec(21, 'b0'), rec(22, 'b1')];
    const r = lastCopiedIdentity(onA, filtered(onA));
    assert.equal(r.status, 'ambiguous');
    assert.match(
      r.status === 'ambiguous' ? r.reason : '',
      /at offset 20\) a copy of a dr record after the last in-order copy \(dr offset 101\)/,
    );
    const swapped = [rec(20, 'b0'), rec(21, 'b1'), rec(22, 'b0')];
    const r2 = lastCopiedIdentity(swapped, filtered(swapped));
    assert.match(r2.status === 'ambiguous' ? r2.reason : '', /newest copy on the primary \(offset 22\)/);
  });

  it('Identity: the last copy has an identical twin later on B: ambiguous, not a guess', () => {
    const dr = [rec(100, 'x'), rec(101, 'y'), rec(102, 'x')];
    const r = lastCopiedIdentity(
      [rec(20, 'x')],
      dr.filter((b) => b.fingerprint === 'x'),
    );
    assert.equal(r.status, 'ambiguous');
    assert.match(r.status === 'ambiguous' ? r.reason : '', /again at 102/);
  });

  it('Default: the last copy located once; none when B holds the whole DR period; two hits or a trimmed DR period are ambiguous', () => {
    assert.deepEqual(locateCopy(rec(7, 'b3'), [rec(103, 'b3')], true), { status: 'found', drOffset: 103n, primaryOffset: 7n, matched: 1 });
    assert.deepEqual(locateCopy(rec(7, 'old'), [], true), { status: 'none' }, 'an earlier DR period copy');
    const trimmed = locateCopy(rec(7, 'old'), [], false);
    assert.match(trimmed.status === 'ambiguous' ? trimmed.reason : '', /retention removed part of the DR period/);
    const twice = locateCopy(rec(7, 'b3'), [rec(103, 'b3'), rec(110, 'b3')], true);
    assert.match(twice.status === 'ambiguous' ? twice.reason : '', /matches 2 dr records \(103, 110\)/);
  });

  const search = (s: Partial<CopySearch>): CopySearch => ({
    topic: 't',
    partition: 0,
    status: 'none',
    readOnPrimary: 3,
    readOnDr: 4,
    ...s,
  });

  it('decideReseed: committed past the seed wins, then the copy found, then the seed', () => {
    assert.deepEqual(decideReseed('99', '117', '130', search({ status: 'found', lastCopied: '125' })), {
      offset: '117',
      origin: 'committed',
    });
    assert.deepEqual(decideReseed('99', null, '130', search({ status: 'found', lastCopied: '121' })), {
      offset: '121',
      origin: 'found-on-primary',
    });
    assert.deepEqual(decideReseed(null, undefined, '130', search({ status: 'found', lastCopied: '0' })), {
      offset: '0',
      origin: 'found-on-primary',
    });
    assert.deepEqual(decideReseed('99', null, '130', search({ status: 'none' })), { offset: '99', origin: 'from-start' });
    assert.deepEqual(decideReseed('99', null, '130'), { offset: '99', origin: 'from-start' }, 'not searched');
    // An older cycle's committed offset (below the seed) does not stop the search.
    assert.equal(decideReseed('99', '50', '130', search({ status: 'found', lastCopied: '110' })).origin, 'found-on-primary');
  });

  it('decideReseed: a copy from before the seed (an earlier DR cycle) leaves the seed; ambiguity is a problem', () => {
    const older = decideReseed('99', null, '130', search({ status: 'found', lastCopied: '60' }));
    assert.equal(older.origin, 'from-start');
    assert.equal(older.offset, '99');
    assert.match(older.note!, /dr offset 60, before the seed/);
    assert.deepEqual(decideReseed('99', null, '130', search({ status: 'ambiguous', reason: 'why' })), {
      offset: '99',
      origin: 'from-start',
      problem: 'why',
    });
    assert.match(decideReseed('99', null, '130', search({ status: 'found', lastCopied: '130' })).problem!, /beyond dr's end 130/);
  });

  it('describeUnsearchable names partitions with counts, and at most max of them', () => {
    const p = (partition: number) => ({ topic: 't', partition, problem: 'why', readOnPrimary: 1, readOnDr: 2 });
    assert.equal(describeUnsearchable([p(0)]), 't-0 (why; read 1 on primary, 2 on dr)');
    assert.match(describeUnsearchable([p(0), p(1), p(2)], 2), /t-1 \(why.*; and 1 more partition\(s\)$/);
  });

  it("seed.onPrimary: 'search' unless the input or --seed-on-primary says 'ignore'", () => {
    const parsed = (raw: Record<string, unknown>) =>
      validatePlaybookInput('failback', rawFailbackInput(raw)) as { seed: { onPrimary: string } };
    assert.equal(parsed({}).seed.onPrimary, 'search');
    assert.equal(parsed({ seed: { mode: 'auto' } }).seed.onPrimary, 'search');
    assert.equal(parsed({ seed: { onPrimary: 'ignore' } }).seed.onPrimary, 'ignore');
    assert.throws(() => parsed({ seed: { onPrimary: 'guess' } }), /seed\.onPrimary/);
    assert.equal(
      flagForField(
        PLAYBOOK_VERBS.find((v) => v.verb === 'failback')!,
        'seed.onPrimary',
      ),
      '--seed-on-primary',
    );
  });
});
