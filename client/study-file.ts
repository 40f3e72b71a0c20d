// Reads a study (a grid of migrations) from YAML or JSON; every problem names file, line and field, in the
// same form as a migration config's (client/config-file.ts). The grid's cells are validated as migrations.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument, type Node } from 'yaml';
import type { z } from 'zod';
import { MigrationConfig } from '../common/config';
import { cellConfigInput, expandStudy, StudyConfig, type StudyInput } from '../common/study-config';
import { formatConfigIssues, type ConfigIssue } from './config-errors';
import { nodeAt } from './config-file';
import { InvalidConfigError } from './migrations';

export async function loadStudyFile(file: string): Promise<StudyInput> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InvalidConfigError(
      `${file}: cannot read study (${(err as NodeJS.ErrnoException).code ?? err})`,
      [],
    );
  }
  return parseStudyText(file, text);
}

/** Where a cell's field comes from in the study file. */
function studyPath(cellPath: (string | number)[], at: { task: number; student: number; generator: number }) {
  const [head, next] = cellPath;
  if (head === 'baseModel') return ['students', at.student];
  if (head === 'synthesis' && next === 'teacher') return ['generators', at.generator, ...cellPath.slice(2)];
  if (head === 'evaluation' && next === 'judges') return ['judges', ...cellPath.slice(2)];
  if (head === 'dataset') return ['tasks', at.task, ...cellPath];
  return ['base', ...cellPath];
}

export function parseStudyText(file: string, text: string): StudyInput {
  if (!text.trim()) throw new InvalidConfigError(`${file}: study file is empty`, []);
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
  const root = doc.contents as Node | null;
  const fail = (error: z.ZodError, toPath: (p: (string | number)[]) => (string | number)[]): never => {
    const issues: ConfigIssue[] = formatConfigIssues(error).map((i, n) => {
      const issue = error.issues[n]!;
      const where = toPath(issue.path as (string | number)[]);
      const node = nodeAt(root, issue.code === 'unrecognized_keys' ? [...where, issue.keys[0]!] : where);
      const line = node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
      return { ...i, path: where.map(String).join('.') || i.path, line };
    });
    throw new InvalidConfigError(
      `invalid study:\n${issues.map((i) => `  ${file}${i.line ? `:${i.line}` : ''} field '${i.path}': ${i.message}`).join('\n')}`,
      issues,
    );
  };
  const r = StudyConfig.safeParse(doc.toJS());
  if (!r.success) return fail(r.error, (p) => p);
  const study = r.data;
  // Datasets in a study file are relative to that file, as in a migration config.
  const resolve = (d: { path: string } | undefined) => {
    if (d && !d.path.startsWith('file://') && !d.path.startsWith('s3://'))
      d.path = path.resolve(path.dirname(path.resolve(file)), d.path);
  };
  for (const t of study.tasks ?? []) resolve(t.dataset);
  resolve((study.base as { dataset?: { path: string } }).dataset);
  // Each axis value checked once, as part of a cell, so an error names the entry that causes it.
  const tasks = study.tasks ?? [{ name: 'task' }];
  const check = (at: { task: number; student: number; generator: number }) => {
    const c = MigrationConfig.safeParse(
      cellConfigInput(
        study,
        tasks[at.task]!,
        study.students[at.student]!,
        study.generators[at.generator]!,
        study.volumes?.[0],
      ),
    );
    if (!c.success) fail(c.error, (p) => studyPath(p, at));
  };
  tasks.forEach((_, task) => check({ task, student: 0, generator: 0 }));
  study.students.forEach((_, student) => check({ task: 0, student, generator: 0 }));
  study.generators.forEach((_, generator) => check({ task: 0, student: 0, generator }));
  try {
    return expandStudy(study);
  } catch (err) {
    throw new InvalidConfigError(`${file}: ${(err as Error).message}`, []);
  }
}
