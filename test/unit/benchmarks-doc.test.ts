import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { headlineRows, loadResults, renderBenchmarksDoc } from '../../bench/render-docs';
import { REPO_ROOT } from '../helpers/stack';

/**
 * docs/benchmarks.md is generated from bench/results/*.json (bench/render-docs.ts): a
 * figure copied or edited by hand, or results committed without the page, fails here.
 */

const RESULTS = path.join(REPO_ROOT, 'bench', 'results');

describe('docs/benchmarks.md', () => {
  it('is what bench/render-docs.ts renders from the committed bench/results', () => {
    const expected = renderBenchmarksDoc(loadResults(RESULTS));
    const actual = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'benchmarks.md'), 'utf8');
    assert.equal(actual, expected, 'docs/benchmarks.md is out of date: run `npx tsc -b && node dist/bench/render-docs.js`');
  });

  it('follows the results: a changed figure changes the page', () => {
    const results = loadResults(RESULTS);
    const audit = structuredClone(results.audit);
    assert.ok(audit, 'bench/results/audit.json exists');
    audit.summary.medianAuditMs = 31_000;
    const rows = headlineRows({ ...results, audit });
    const row = rows.find((r) => r[0]!.startsWith('drift audit'));
    assert.deepEqual([row?.[1]?.slice(0, 6), row?.[3]], ['31.0 s', 'no']);
    assert.notEqual(renderBenchmarksDoc({ ...results, audit }), renderBenchmarksDoc(results));
  });

  it('has a headline row for every result file', () => {
    const results = loadResults(RESULTS);
    const rows = headlineRows(results).map((r) => r[0]!);
    const expectedPrefix: Record<string, string> = {
      audit: 'drift audit',
      drain: 'drain detection',
      history: 'history,',
      offsets: 'offset translation',
      orchestration: 'orchestration overhead',
      'worker-footprint': 'worker RSS',
    };
    assert.deepEqual(
      Object.keys(results).sort(),
      Object.keys(expectedPrefix).sort(),
      'a new result file needs a headline row in bench/render-docs.ts',
    );
    for (const [name, prefix] of Object.entries(expectedPrefix))
      assert.ok(
        rows.some((r) => r.startsWith(prefix)),
        `${name}: a row starting '${prefix}'`,
      );
  });
});
