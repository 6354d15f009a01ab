import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refuseDecision, resolveChoices, type GateView } from '../../src/model/gates';
import { describeUnplaced, groupPositions, placementsFor, totalReRead } from '../../src/model/unplaced';
import { UNPLACED, UNPLACED_PLACEMENTS } from '../helpers/unplaced';
import { findUnplaced, groupFilteredOut, isPlaced, placedCounts, type PlannedGroup } from '../../src/offsets/unplaced';

const down = (t: string) => `A.${t}`;
const up = (d: string) => d.replace(/^A\./, '');

const planned: PlannedGroup[] = [
  {
    group: 'billing',
    partitions: [
      { topic: 'A.orders', partition: 0, action: 'set', upstream: '10' },
      { topic: 'A.orders', partition: 1, action: 'no-checkpoint', upstream: null, note: 'no checkpoint for this partition' },
      { topic: 'A.orders', partition: 2, action: 'refused-past-end', upstream: '7', note: 'checkpoint 90 is past the end' },
      { topic: 'A.orders', partition: 3, action: 'unchanged', upstream: '4', method: 'exact' },
    ],
  },
  {
    group: 'busy',
    skipped: 'group busy has 1 active member on B',
    partitions: [{ topic: 'A.orders', partition: 0, action: 'set', upstream: '3' }],
  },
];

describe('unplaced group-partitions (pure)', () => {
  it('placed = applied or unchanged on a group that is not skipped; any other action, new ones too, is not', () => {
    assert.equal(isPlaced({}, { action: 'set' }), true);
    assert.equal(isPlaced({}, { action: 'clamped' }), true);
    assert.equal(isPlaced({}, { action: 'unchanged' }), true);
    assert.equal(isPlaced({}, { action: 'refused-past-end' }), false);
    assert.equal(isPlaced({ skipped: 'members' }, { action: 'set' }), false);
    // billing's translated partition has no checkpointUpstream (the commit was not read): its re-read is unknown.
    assert.deepEqual(placedCounts(planned), {
      billing: { exact: 1, translated: 1, translatedReRead: null },
      busy: { exact: 0, translated: 0 },
    });
  });

  it('partitions translated through an older checkpoint count their re-reads; the account says exact / re-read N / left out', () => {
    const groups: PlannedGroup[] = [
      {
        group: 'g',
        partitions: [
          { topic: 'A.orders', partition: 0, action: 'set', upstream: '40', method: 'exact' },
          { topic: 'A.orders', partition: 1, action: 'set', upstream: '30', method: 'checkpoint', checkpointUpstream: '25' },
          { topic: 'A.orders', partition: 2, action: 'unchanged', upstream: '12', method: 'checkpoint', checkpointUpstream: '12' },
          { topic: 'A.orders', partition: 3, action: 'no-checkpoint', upstream: '8', method: 'none' },
        ],
      },
      { group: 'all-exact', partitions: [{ topic: 'A.orders', partition: 0, action: 'set', upstream: '1', method: 'exact' }] },
    ];
    const placed = placedCounts(groups);
    assert.deepEqual(placed['g'], { exact: 1, translated: 2, translatedReRead: '5' });
    assert.deepEqual(placed['all-exact'], { exact: 1, translated: 0 });
    const unplaced = findUnplaced({ groups, commits: null, sourceEnds: null, downstreamTopic: down, upstreamTopic: up });
    const positions = groupPositions({ placed, unplaced, choices: { g: 'leave-out' }, set: [] });
    assert.deepEqual(
      positions.map((p) => [p.group, p.outcome, totalReRead(p)]),
      [
        ['all-exact', 'exact', '0'],
        [
          'g',
          'exact on 1 partition(s); translated through checkpoints on 2 partition(s), re-read up to 5; left out (1 partition(s) without a position: leave-out)',
          '5',
        ],
      ],
    );
  });

  it('lists every source commit without a position, with its lag; the translation upstream fills in where the source has none', () => {
    const commits = [
      { group: 'billing', topic: 'orders', partition: 0, offset: '10' },
      { group: 'billing', topic: 'orders', partition: 1, offset: '250' },
      { group: 'billing', topic: 'orders', partition: 3, offset: '4' },
      { group: 'billing', topic: 'orders', partition: 4, offset: null },
      { group: 'parked', topic: 'orders', partition: 0, offset: '100' },
    ];
    const ends = { orders: { '0': '500', '1': '500', '2': '9', '3': '4' } };
    const u = findUnplaced({ groups: planned, commits, sourceEnds: ends, downstreamTopic: down, upstreamTopic: up });
    assert.deepEqual(
      u.map((x) => [x.group, x.downstream, x.partition, x.committed, x.lag]),
      [
        ['billing', 'A.orders', 1, '250', '250'],
        ['billing', 'A.orders', 2, '7', '2'],
        ['busy', 'A.orders', 0, '3', '497'],
        ['parked', 'A.orders', 0, '100', '400'],
      ],
    );
    assert.match(u[0]!.why, /no-checkpoint/);
    assert.match(u[1]!.why, /refused-past-end: checkpoint 90/);
    assert.match(u[2]!.why, /active member/);
    assert.match(u[3]!.why, /no checkpoint or offset sync/);
    assert.equal(u[3]!.topic, 'orders');
  });

  it('source down: only what the translation knew, lag unknown', () => {
    const u = findUnplaced({ groups: planned, commits: null, sourceEnds: null, downstreamTopic: down, upstreamTopic: up });
    assert.deepEqual(
      u.map((x) => [x.group, x.partition, x.committed, x.lag]),
      [
        ['billing', 2, '7', null],
        ['busy', 0, '3', null],
      ],
    );
  });

  it("MM2's group filter: groups (default .*) minus groups.exclude (default console-consumer-, connect-, __)", () => {
    assert.equal(groupFilteredOut({}, 'billing'), undefined);
    assert.match(groupFilteredOut({}, 'connect-mm2')!, /excluded by groups.exclude/);
    assert.match(groupFilteredOut({ groups: 'billing, ship.*' }, 'audit')!, /not in its groups allowlist \(groups=billing, ship\.\*\)/);
    assert.equal(groupFilteredOut({ groups: 'billing, ship.*' }, 'shipping'), undefined);
    assert.match(groupFilteredOut({ groups: '.*', 'groups.exclude': 'ship.*' }, 'shipping')!, /groups.exclude=ship/);
  });

  it('the gate description lists each group/partition with its lag and the three choices', () => {
    const d = describeUnplaced(UNPLACED, 'B');
    assert.match(d, /4 group-partition\(s\) of 3 group\(s\)/);
    assert.match(d, /parked orders\[1\]: lag 400 \(committed 100 of 500\)/);
    assert.match(d, /earliest .*end .*leave-out/);
  });

  it('placements per choice; leave-out sets nothing; the account counts re-reads and skipped records', () => {
    const choices = { parked: 'end', late: 'earliest', gone: 'leave-out' };
    assert.deepEqual(placementsFor(UNPLACED, choices), UNPLACED_PLACEMENTS);
    const set = [
      { group: 'parked', topic: 'A.orders', partition: 0, choice: 'end' as const, offset: '500', low: '0', high: '500' },
      { group: 'parked', topic: 'A.orders', partition: 1, choice: 'end' as const, offset: '500', low: '0', high: '500' },
      { group: 'late', topic: 'A.orders', partition: 0, choice: 'earliest' as const, offset: '0', low: '0', high: '500' },
    ];
    const p = groupPositions({ placed: { billing: { exact: 3, translated: 0 } }, unplaced: UNPLACED, choices, set });
    assert.deepEqual(
      p.map((x) => [x.group, x.outcome, x.reRead, x.skipped]),
      [
        ['billing', 'exact', '0', '0'],
        ['gone', 'left out (1 partition(s) without a position: leave-out)', '0', '0'],
        ['late', 're-read 480 (earliest on 1 partition(s))', '480', '0'],
        ['parked', 'skipped 650 (end on 2 partition(s))', '0', '650'],
      ],
    );
  });
});

describe('gate choices (the rule the workflow and the CLI share)', () => {
  const asked = { options: ['earliest', 'end', 'leave-out'], keys: ['a', 'b'] };
  it('resolves * for the keys not named; refuses missing, unknown and not-offered choices', () => {
    assert.deepEqual(resolveChoices(asked, { '*': 'end', b: 'earliest' }), { a: 'end', b: 'earliest' });
    assert.match(String(resolveChoices(asked, { a: 'end' })), /must choose earliest \| end \| leave-out for b/);
    assert.match(String(resolveChoices(asked, { '*': 'end', z: 'end' })), /no such key to choose for: z/);
    assert.match(String(resolveChoices(asked, { '*': 'latest' })), /\*=latest: not a choice here/);
    assert.equal(resolveChoices(undefined, undefined), undefined);
    assert.match(String(resolveChoices(undefined, { '*': 'end' })), /takes no choices/);
  });

  it('refuseDecision: an approval without the choices is refused, a rejection needs none', () => {
    const view: GateView = {
      known: ['unplaced-groups'],
      open: { name: 'unplaced-groups', approvers: null, fourEyes: false, requestedBy: null, choices: asked },
      closed: {},
    };
    assert.match(
      refuseDecision(view, { gate: 'unplaced-groups', decision: 'approve', by: 'bob' })!,
      /gate 'unplaced-groups': approving must choose/,
    );
    assert.equal(
      refuseDecision(view, { gate: 'unplaced-groups', decision: 'approve', by: 'bob', choices: { '*': 'leave-out' } }),
      undefined,
    );
    assert.equal(refuseDecision(view, { gate: 'unplaced-groups', decision: 'reject', by: 'bob' }), undefined);
  });
});
