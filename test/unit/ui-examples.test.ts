import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import { AuditInput } from '../../src/model/audit-input';
import { DeployReplicationInput } from '../../src/model/deploy-input';
import { FailbackInput } from '../../src/model/failback-input';
import { FailoverInput } from '../../src/model/failover-input';
import { describeIssues } from '../../src/model/gates';
import { RecreateTopicInput } from '../../src/model/recreate-topic-input';
import { TASK_QUEUE } from '../../src/model/task-queue';
import * as workflows from '../../workflows';
import { INVALID_INPUT, parseInput } from '../../workflows/framework';
import { REPO_ROOT } from '../helpers/stack';

/**
 * What an operator pastes into the Temporal UI's Start Workflow form must be what the
 * workflow accepts: every docs/examples/*.json and every JSON block in docs/operations.md's
 * "Temporal UI" section validates with its playbook's schema, and every playbook has both.
 */

/** Workflow type (as the UI asks for it) → input schema and the example file prefix. */
const PLAYBOOKS: Record<string, { schema: z.ZodType; file: string }> = {
  deployReplication: { schema: DeployReplicationInput, file: 'deploy-replication' },
  failover: { schema: FailoverInput, file: 'failover' },
  failback: { schema: FailbackInput, file: 'failback' },
  recreateTopic: { schema: RecreateTopicInput, file: 'recreate-topic' },
  auditDrift: { schema: AuditInput, file: 'audit-drift' },
};
/** Registered workflows that are not playbooks an operator starts (pairLock: recreate-topic's child, workflows/pair-lock.ts). */
const NOT_PLAYBOOKS = new Set(['stackSmoke', 'pairLock']);

const EXAMPLES_DIR = path.join(REPO_ROOT, 'docs', 'examples');
const exampleFiles = fs.readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json'));

function check(schema: z.ZodType, input: unknown, where: string): void {
  const parsed = schema.safeParse(input);
  assert.ok(parsed.success, `${where}: ${parsed.success ? '' : describeIssues(parsed.error)}`);
}

/** docs/operations.md's "Temporal UI" section: each ```json block with the workflow type named in `<code>` just before it. */
function uiSectionExamples(): { section: string; blocks: { type: string; json: string }[] } {
  const page = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
  const start = page.indexOf('\n## Temporal UI');
  assert.ok(start >= 0, 'docs/operations.md has a "## Temporal UI" section');
  const end = page.indexOf('\n## ', start + 1);
  const section = page.slice(start, end < 0 ? undefined : end);
  const blocks = [...section.matchAll(/<code>(\w+)<\/code>[^\n]*\n+```json\n([\s\S]*?)\n```/g)].map((m) => ({ type: m[1]!, json: m[2]! }));
  return { section, blocks };
}

describe('Temporal UI inputs', () => {
  it('has an entry here for every registered playbook workflow', () => {
    const types = Object.entries(workflows)
      .filter(([name, value]) => typeof value === 'function' && !NOT_PLAYBOOKS.has(name))
      .map(([name]) => name)
      .sort();
    assert.deepEqual(
      types,
      Object.keys(PLAYBOOKS).sort(),
      'a new workflow needs a schema and an example here (or a place in NOT_PLAYBOOKS)',
    );
  });

  it('validates every docs/examples/*.json with its playbook schema, and every playbook has one', () => {
    const byPrefix = new Map(Object.values(PLAYBOOKS).map((p) => [p.file, p]));
    const covered = new Set<string>();
    for (const file of exampleFiles) {
      const prefix = file.split('.')[0]!;
      const playbook = byPrefix.get(prefix);
      assert.ok(
        playbook,
        `docs/examples/${file}: no playbook named '${prefix}' (file names start with the playbook: ${[...byPrefix.keys()].join(', ')})`,
      );
      check(playbook.schema, JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')), `docs/examples/${file}`);
      covered.add(prefix);
    }
    assert.deepEqual([...covered].sort(), [...byPrefix.keys()].sort(), 'every playbook has an example');
  });

  it('gives a copy-paste input per playbook and the task queue in docs/operations.md, each one valid', () => {
    const { section, blocks } = uiSectionExamples();
    assert.ok(section.includes(`\`${TASK_QUEUE}\``), `the section names the task queue \`${TASK_QUEUE}\``);
    assert.deepEqual(blocks.map((b) => b.type).sort(), Object.keys(PLAYBOOKS).sort(), 'one JSON block per playbook');
    for (const { type, json } of blocks) check(PLAYBOOKS[type]!.schema, JSON.parse(json), `docs/operations.md, Temporal UI, ${type}`);
  });

  it('turns a bad UI input into an InvalidInput failure naming each field (what the UI shows)', () => {
    const example = JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, 'failback.json'), 'utf8')) as Record<string, unknown>;
    const bad = { ...example, primary: 'A!', topics: [], lagThreshold: 1.5 };
    const err = (() => {
      try {
        parseInput(FailbackInput, bad);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof ApplicationFailure, `parseInput threw ${String(err)}`);
    assert.equal(err.type, INVALID_INPUT);
    assert.equal(err.nonRetryable, true);
    assert.equal(
      err.message,
      'primary: must be a cluster alias (1-64 letters, digits, - or _); topics: must list at least one topic; lagThreshold: must be a whole number of records',
    );
  });
});
