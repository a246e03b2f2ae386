/** docs/security.md holds the authorization matrix the tests check: the section render.ts prints. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { authorizationSection } from './render.js';

/** Markdown as read: the formatter's column padding aside. */
const normalise = (text: string) =>
  text
    .split('\n')
    .map((line) =>
      line
        .trim()
        .replace(/\s+/g, ' ')
        .replace(/-{3,}/g, '---')
        .replace(/\| ?:?---:? ?(?=\|)/g, '|---'),
    )
    .filter((line) => line !== '')
    .join('\n');

test('docs/security.md shows the authorization matrix as it is (npx tsx test/authz/render.ts)', () => {
  const page = readFileSync(path.join(import.meta.dirname, '..', '..', 'docs', 'security.md'), 'utf8');
  const start = page.indexOf('## Authorization matrix');
  const end = page.indexOf('\n## ', start + 1);
  assert.ok(start >= 0 && end > start, 'the section is on the page');
  assert.equal(normalise(page.slice(start, end)), normalise(authorizationSection()));
});
