import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { configReferenceMarkdown } from '../../../common/config-reference';
import { configJsonSchema } from '../../../common/config-schema-json';

describe('docs/config.schema.json', () => {
  it('is generated from the current zod schema (run: tsx scripts/gen-config-schema.ts)', () => {
    const committed = JSON.parse(
      readFileSync(path.resolve(import.meta.dirname, '../../../docs/config.schema.json'), 'utf8'),
    );
    assert.deepEqual(committed, JSON.parse(JSON.stringify(configJsonSchema())));
  });
  it('docs/configuration.md is generated from it', () => {
    const md = readFileSync(path.resolve(import.meta.dirname, '../../../docs/configuration.md'), 'utf8');
    assert.equal(md, configReferenceMarkdown(configJsonSchema()));
    assert.match(md, /\| `synthesis\.dedup\.threshold` \| number \| {2}\| `0\.8` \|/);
  });
});
