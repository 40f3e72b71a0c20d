// Reads a migration config from a YAML or JSON file and validates it; every problem names file, line and field.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { MigrationConfig } from '../common/config';
import { formatConfigIssues, type ConfigIssue } from './config-errors';
import { InvalidConfigError } from './migrations';

export async function loadConfigFile(file: string): Promise<MigrationConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidConfigError(
      `${file}: cannot read config (${(err as NodeJS.ErrnoException).code ?? err})`,
      [],
    );
  }
  return parseConfigText(file, text);
}

export function parseConfigText(file: string, text: string): MigrationConfig {
  if (!text.trim()) throw new InvalidConfigError(`${file}: config file is empty`, []);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length) {
    const issues = doc.errors.map((e) => ({
      path: '(syntax)',
      message: e.message.split('\n')[0]!,
      line: lineCounter.linePos(e.pos[0]).line,
    }));
    throw new InvalidConfigError(
      `${file}: not valid YAML/JSON:\n${issues.map((i) => `  ${file}:${i.line}: ${i.message}`).join('\n')}`,
      issues,
    );
  }
  const raw = doc.toJS();
  const r = MigrationConfig.safeParse(raw);
  if (r.success) {
    // A dataset path in a config file is relative to that file, wherever the command runs.
    if (!r.data.dataset.path.startsWith('file://'))
      r.data.dataset.path = path.resolve(path.dirname(path.resolve(file)), r.data.dataset.path);
    return r.data;
  }
  const issues: ConfigIssue[] = formatConfigIssues(r.error).map((i, n) => {
    const issue = r.error.issues[n]!;
    const where = issue.path as (string | number)[];
    // an unknown field is reported at its own line
    const node = nodeAt(
      doc.contents as Node | null,
      issue.code === 'unrecognized_keys' ? [...where, issue.keys[0]!] : where,
    );
    const line = node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
    return { ...i, line };
  });
  throw new InvalidConfigError(
    `invalid migration config:\n${issues.map((i) => `  ${file}${i.line ? `:${i.line}` : ''} field '${i.path}': ${i.message}`).join('\n')}`,
    issues,
  );
}

/** The deepest node along `path` (a missing field is reported at its parent). */
export function nodeAt(root: Node | null, path: (string | number)[]): Node | null {
  let node = root;
  for (const key of path) {
    if (isMap(node)) {
      const next = node.get(key, true) as Node | undefined;
      if (!next) return node;
      node = next;
    } else if (isSeq(node) && typeof key === 'number') {
      const next = node.get(key, true) as Node | undefined;
      if (!next) return node;
      node = next;
    } else return node;
  }
  return node;
}
