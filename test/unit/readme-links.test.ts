import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/stack';

/**
 * The README is a front door (at most 12 KiB) and every relative link in it, in
 * CONTRIBUTING.md and in docs/*.md leads somewhere: the file exists and a #anchor names
 * one of its headings, slugged as GitHub does.
 */

const README_MAX_BYTES = 12 * 1024;

/** GitHub's heading anchor: lower case, punctuation dropped (not - or _), spaces to -, repeats get -1, -2. */
export function headingSlugs(markdown: string): Set<string> {
  const slugs = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const text = m[1]!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
      .replace(/<[^>]+>/g, ''); // inline HTML tags
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    slugs.add(n === 0 ? base : `${base}-${n}`);
  }
  return slugs;
}

/** Relative link targets of a Markdown file: [text](target) and ![alt](target), outside code. */
export function relativeLinks(markdown: string): string[] {
  const prose = markdown.replace(/^(```|~~~)[\s\S]*?^\1/gm, '').replace(/`[^`\n]*`/g, '');
  const links: string[] = [];
  for (const m of prose.matchAll(/!?\[(?:[^\]]|\][^(])*?\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
    links.push(target);
  }
  return links;
}

function markdownFiles(): string[] {
  const docs = fs
    .readdirSync(path.join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  return ['README.md', 'CONTRIBUTING.md', ...docs.sort()];
}

describe('README and docs links', () => {
  it(`keeps README.md within ${README_MAX_BYTES} bytes`, () => {
    const size = fs.statSync(path.join(REPO_ROOT, 'README.md')).size;
    assert.ok(size <= README_MAX_BYTES, `README.md is ${size} bytes: move detail into docs/`);
  });

  it('resolves every relative link to a file, and its #anchor to a heading there', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const file of markdownFiles()) {
      const text = fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');
      for (const link of relativeLinks(text)) {
        checked++;
        const [target, anchor] = link.split('#', 2) as [string, string | undefined];
        const resolved = target === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), decodeURIComponent(target)));
        const abs = path.join(REPO_ROOT, resolved);
        if (!fs.existsSync(abs)) {
          broken.push(`${file}: ${link} (no ${resolved})`);
          continue;
        }
        if (anchor && resolved.endsWith('.md') && !headingSlugs(fs.readFileSync(abs, 'utf8')).has(anchor)) {
          broken.push(`${file}: ${link} (no heading '#${anchor}' in ${resolved})`);
        }
      }
    }
    assert.ok(checked > 20, `found ${checked} links: the link parser finds links`);
    assert.deepEqual(broken, []);
  });

  it('slugs headings and finds links as GitHub does', () => {
    const slugs = headingSlugs('# A b\n## Building blocks (activities)\n## The `kafka-dr` CLI\n```\n# not a heading\n```\n## A b\n');
    assert.deepEqual([...slugs], ['a-b', 'building-blocks-activities', 'the-kafka-dr-cli', 'a-b-1']);
    assert.deepEqual(relativeLinks('[x](a.md#b) ![y](c.svg) [z](https://e.com) `[q](no.md)`\n```\n[r](no.md)\n```\n'), ['a.md#b', 'c.svg']);
  });
});
