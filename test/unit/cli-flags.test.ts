import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PlaybookInputError, playbookStartId, validatePlaybookInput } from '../../src/client/playbooks';
import { listQuery } from '../../src/client/operations';
import {
  flagForField,
  flagsToInput,
  GATE_FLAGS,
  mergeInput,
  PLAYBOOK_VERBS,
  setPath,
  withFlags,
  type FieldFlag,
  type PlaybookVerb,
} from '../../src/cli/playbook-flags';
import { rawFailbackInput } from '../helpers/inputs';

/** How flags and `--input` combine into a playbook input, and the IDs and queries the client derives. */

const verb = (name: PlaybookVerb['verb']) => PLAYBOOK_VERBS.find((v) => v.verb === name)!;
const flag = (spec: PlaybookVerb, name: string): FieldFlag => [...spec.fields, ...GATE_FLAGS].find((f) => f.flag === name)!;
const values = (spec: PlaybookVerb, entries: Array<[string, unknown]>) =>
  new Map(entries.map(([name, v]) => [flag(spec, name), v] as const));

describe('CLI flags → playbook input', () => {
  it('merges flags over the file: objects key by key, lists of objects item by item, other values replaced', () => {
    assert.deepEqual(mergeInput({ a: 1, forward: { connect: 'x', connectors: ['a', 'b'] } }, { forward: { connectors: ['c'] } }), {
      a: 1,
      forward: { connect: 'x', connectors: ['c'] },
    });
    assert.deepEqual(mergeInput({ flows: [{ source: 'A', topics: ['t'] }, { source: 'C' }] }, { flows: [{ source: 'Z' }] }), {
      flows: [{ source: 'Z', topics: ['t'] }, { source: 'C' }],
    });
    const target: Record<string, unknown> = {};
    setPath(target, ['plan', 'topicGroups', 0, 'name'], 'main');
    assert.deepEqual(target, { plan: { topicGroups: [{ name: 'main' }] } });
  });

  it('failover: flags fill the nested forward flow; gate flags go to every gate, over the file', () => {
    const spec = verb('failover');
    const input = flagsToInput(
      spec,
      values(spec, [
        ['--connectors', ['c1', 'c2']],
        ['--approvers', ['bob']],
        ['--gate-deadline', '30m'],
      ]),
      { source: 'A', forward: { connect: 'connect-b' }, gates: { 'stop-producers': { deadline: '2h', fourEyes: true } } },
    );
    assert.deepEqual(input.forward, { connect: 'connect-b', connectors: ['c1', 'c2'] });
    assert.deepEqual(input.gates, {
      'stop-producers': { deadline: '30m', fourEyes: true, approvers: ['bob'] },
      'consumers-cutover': { deadline: '30m', approvers: ['bob'] },
      'producers-cutover': { deadline: '30m', approvers: ['bob'] },
    });
  });

  it('deploy: --topics builds one topic group named main unless the file or --topic-group names it', () => {
    const spec = verb('deploy');
    const bare = flagsToInput(spec, values(spec, [['--topics', ['orders']]]), {});
    assert.deepEqual(bare.plan, { topicGroups: [{ topics: ['orders'], name: 'main' }] });
    const named = flagsToInput(
      spec,
      values(spec, [
        ['--topics', ['orders']],
        ['--topic-group', 'o'],
      ]),
      {},
    );
    assert.deepEqual(named.plan, { topicGroups: [{ topics: ['orders'], name: 'o' }] });
    const fromFile = flagsToInput(spec, values(spec, [['--topics', ['x']]]), { plan: { topicGroups: [{ name: 'file', topics: ['a'] }] } });
    assert.deepEqual(fromFile.plan, { topicGroups: [{ name: 'file', topics: ['x'] }] });
  });

  it('audit: flow flags land in the first flow; recreate-topic: gate flags in its one gate', () => {
    const audit = verb('audit');
    assert.deepEqual(
      flagsToInput(
        audit,
        values(audit, [
          ['--source', 'A'],
          ['--lag-max', 5],
        ]),
        {},
      ),
      { flows: [{ source: 'A' }], lagMax: 5 },
    );
    const recreate = verb('recreate-topic');
    assert.deepEqual(flagsToInput(recreate, values(recreate, [['--four-eyes', true]]), {}), { gate: { fourEyes: true } });
  });

  it('names the flag for a field, a gate field, an item, or the flags that fill a missing object', () => {
    const failover = verb('failover');
    assert.equal(flagForField(failover, 'forward.sourceConnectors.0'), '--source-connectors');
    assert.equal(flagForField(failover, 'gates.consumers-cutover.approvers'), '--approvers');
    assert.equal(flagForField(failover, 'forward'), '--connect, --connectors, --source-connectors');
    assert.equal(flagForField(failover, 'colour'), undefined);
    assert.equal(flagForField(verb('deploy'), 'plan.policy.type'), '--policy');
    assert.equal(flagForField(verb('deploy'), 'plan.topicGroups.0.topics.1'), '--topics');
  });

  it('every verb has an example, a description of what it changes, and distinct flags', () => {
    for (const spec of PLAYBOOK_VERBS) {
      const flags = [...spec.fields, ...GATE_FLAGS].map((f) => f.flag);
      assert.equal(new Set(flags).size, flags.length, `${spec.verb}: duplicate flag`);
      assert.match(spec.example, new RegExp(`^kafka-dr ${spec.verb} `));
      assert.ok(spec.gatePaths.length > 0);
    }
  });
});

describe('client: validation, workflow IDs, list query', () => {
  const failover = {
    source: 'A',
    target: 'B',
    mode: 'planned',
    forward: { connect: 'connect-b', connectors: ['s'], sourceConnectors: ['s'] },
    topics: ['orders'],
    groups: ['billing'],
    requestedBy: 'alice',
  };

  it('validates with the workflow schema, listing every field', () => {
    assert.throws(
      () => validatePlaybookInput('failover', { ...failover, topics: [], mode: 'sideways' }),
      (err: unknown) =>
        err instanceof PlaybookInputError &&
        err.issues.some((i) => i.field === 'topics' && /at least one topic/.test(i.reason)) &&
        err.issues.some((i) => i.field === 'mode') &&
        /^failover input is invalid: /.test(err.message),
    );
    assert.equal(validatePlaybookInput('failover', failover).lagThreshold, 10_000, 'defaults applied');
  });

  it('cutovers share the pair ID in either direction; a dry run gets its own; others derive from what they touch', () => {
    const fo = validatePlaybookInput('failover', failover);
    assert.equal(playbookStartId('failover', fo), 'kafka-dr-cutover-A~B');
    assert.equal(playbookStartId('failover', { ...fo, dryRun: true }), 'kafka-dr-cutover-A~B-dry-run');
    const fb = validatePlaybookInput('failback', rawFailbackInput({ groups: ['billing'] }));
    assert.equal(playbookStartId('failback', fb), 'kafka-dr-cutover-A~B', 'failback B→A locks the same pair');
    const rt = validatePlaybookInput('recreate-topic', {
      source: 'A',
      target: 'B',
      connect: 'connect-b',
      sourceConnector: 'x',
      topic: 'orders',
      requestedBy: 'a',
    });
    assert.equal(playbookStartId('recreate-topic', rt), 'kafka-dr-recreate-topic-A~B~orders');
    const audit = validatePlaybookInput('audit-drift', {
      flows: [
        { source: 'B', target: 'A', connect: 'connect-a', connectors: ['r'], topics: ['t'] },
        { source: 'A', target: 'C', connect: 'connect-c', connectors: ['f'], topics: ['t'] },
      ],
      requestedBy: 'cron',
    });
    assert.equal(playbookStartId('audit-drift', audit), 'kafka-dr-audit-drift-A~B~C');
  });

  it('list query: playbooks by search attribute, running unless --all, filters quoted', () => {
    assert.equal(listQuery({}), "KafkaDrPlaybook IS NOT NULL AND ExecutionStatus = 'Running'");
    assert.equal(
      listQuery({ all: true, playbook: "fail'over", clusterPair: 'A~B' }),
      "KafkaDrPlaybook IS NOT NULL AND KafkaDrPlaybook = 'fail\\'over' AND KafkaDrClusterPair = 'A~B'",
    );
  });
});

describe('refusals and blockers name the flag', () => {
  it('adds the flag after each input field a refusal names, one per line or joined with "; "', () => {
    const failover = verb('failover');
    assert.equal(
      withFlags(
        failover,
        "policy: is 'default' but the flow uses the IdentityReplicationPolicy (replication.policy.class): set policy to 'identity'",
      ),
      "policy (--policy): is 'default' but the flow uses the IdentityReplicationPolicy (replication.policy.class): set policy to 'identity'",
    );
    assert.equal(
      withFlags(
        failover,
        "check-scope failed: the input does not match the forward flow x on connect-b: topics: 'o' is not mirrored; excludeTopics: 'p' is not mirrored; forward.connectors: 'typo' not found",
      ),
      "check-scope failed: the input does not match the forward flow x on connect-b: topics (--topics): 'o' is not mirrored; excludeTopics (--exclude-topics): 'p' is not mirrored; forward.connectors (--connectors): 'typo' not found",
    );
    assert.equal(withFlags(verb('failback'), "separator: is '.'"), "separator (--separator): is '.'");
    assert.equal(withFlags(verb('recreate-topic'), 'sourceConnector: x is STOPPED'), 'sourceConnector (--source-connector): x is STOPPED');
    // Words that are not fields stay as they are.
    assert.equal(withFlags(failover, 'the pair is failed over: fail back first'), 'the pair is failed over: fail back first');
  });
});
