// Writes docs/config.schema.json from the zod MigrationConfig (for editors: YAML language server, VS Code).
// A unit test fails when the committed file is out of date.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { configReferenceMarkdown } from '../common/config-reference';
import { configJsonSchema } from '../common/config-schema-json';

const out = path.resolve(import.meta.dirname, '..', 'docs', 'config.schema.json');
writeFileSync(out, JSON.stringify(configJsonSchema(), null, 2) + '\n');
console.log(`wrote ${out}`);
const md = path.resolve(import.meta.dirname, '..', 'docs', 'configuration.md');
writeFileSync(md, configReferenceMarkdown(configJsonSchema()));
console.log(`wrote ${md}`);
