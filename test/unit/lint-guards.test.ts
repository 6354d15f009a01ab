import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

/**
 * The lint rules that keep workflow code replayable and side effects awaited are
 * part of the product's safety: prove they fire, on virtual files linted with the
 * project's real config.
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
const eslint = new ESLint({ cwd: ROOT });

async function lint(relativePath: string, code: string): Promise<Array<{ line: number; rule: string | null }>> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, relativePath) });
  return result!.messages.map((m) => ({ line: m.line, rule: m.ruleId }));
}

describe('lint guards', { timeout: 60_000 }, () => {
  it('bans Node built-ins, kafkajs, axios and activity values in workflow code, allows activity types', async () => {
    const messages = await lint(
      'workflows/lint-probe.ts',
      [
        "import * as fs from 'node:fs';",
        "import axios from 'axios';",
        "import { Kafka } from 'kafkajs';",
        "import type { Activities } from '../activities';",
        "import { createActivities } from '../activities';",
        'export const x = [fs, axios, Kafka, createActivities];',
        'export type A = Activities;',
        '',
      ].join('\n'),
    );
    const banned = messages.filter((m) => m.rule === '@typescript-eslint/no-restricted-imports').map((m) => m.line);
    assert.deepEqual(banned, [1, 2, 3, 5]);
  });

  it('allows kafkajs and axios in activities, but not a floating promise', async () => {
    const messages = await lint(
      'activities/lint-probe.ts',
      [
        "import axios from 'axios';",
        "import { Kafka } from 'kafkajs';",
        'export function deleteConnector(): void {',
        "  axios.delete('http://127.0.0.1:28083/connectors/x');",
        '}',
        'export const k = Kafka;',
        '',
      ].join('\n'),
    );
    assert.deepEqual(messages, [{ line: 4, rule: '@typescript-eslint/no-floating-promises' }]);
  });
});
