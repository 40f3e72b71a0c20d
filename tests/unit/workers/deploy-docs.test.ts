// The deployment pages name what the code uses: every search attribute the workflows upsert, with its type,
// in each `search-attribute create` command, and only manifests that exist.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SEARCH_ATTRIBUTE_TYPES } from '../../../workflows/search-attributes';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const doc = (name: string) => readFileSync(path.join(ROOT, 'docs', name), 'utf8');

test('docs register exactly the search attributes the workflows use', () => {
  for (const page of ['temporal-server.md', 'deploy.md']) {
    const commands = doc(page)
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .filter((l) => l.includes('search-attribute create'));
    assert.ok(commands.length > 0, `${page} has the command`);
    for (const cmd of commands) {
      const pairs = [...cmd.matchAll(/--name (\w+) --type (\w+)/g)].map((m) => [m[1], m[2]]);
      assert.deepEqual(Object.fromEntries(pairs), SEARCH_ATTRIBUTE_TYPES, `${page}: ${cmd}`);
    }
  }
});

test('the k8s paths docs/deploy.md names exist', () => {
  const paths = [...doc('deploy.md').matchAll(/`(k8s\/[\w./-]+)`/g)].map((m) => m[1]!);
  assert.ok(paths.length >= 5);
  for (const p of paths) assert.ok(existsSync(path.join(ROOT, p)), p);
});
