// Reads and validates what an evaluation judges: the test split, the subject's generations and (for pairwise)
// the teacher's generations. A bad record is reported with its artifact, line and field.
import { z } from 'zod';
import type { ArtifactRef } from '../../common/types';
import type { ArtifactStore } from '../store/artifact-store';

export const TestRecord = z.object({
  id: z.string().min(1),
  category: z.string(),
  instruction: z.string(),
  context: z.string().default(''),
  response: z.string(),
});
export type TestRecord = z.infer<typeof TestRecord>;

export const Generation = z.object({
  promptId: z.string().min(1),
  sample: z.number().int().nonnegative(),
  text: z.string(),
});
export type Generation = z.infer<typeof Generation>;

export class EvalInputError extends Error {
  override name = 'EvalInputError';
}

/** Parses every line of a JSONL artifact with `schema`; throws one error listing up to 10 bad lines. */
export async function readJsonlStrict<S extends z.ZodType>(
  store: ArtifactStore,
  ref: ArtifactRef,
  schema: S,
): Promise<z.infer<S>[]> {
  const text = await store.readText(ref.uri);
  const out: z.infer<S>[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${ref.uri}:${i + 1}`;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      problems.push(`${where}: not JSON (${(err as Error).message})`);
      return;
    }
    const parsed = schema.safeParse(raw);
    if (parsed.success) out.push(parsed.data);
    else
      for (const issue of parsed.error.issues)
        problems.push(`${where} field '${issue.path.join('.') || '(record)'}': ${issue.message}`);
  });
  if (problems.length) {
    const more = problems.length > 10 ? `\n  ... and ${problems.length - 10} more` : '';
    throw new EvalInputError(`invalid records:\n  ${problems.slice(0, 10).join('\n  ')}${more}`);
  }
  return out;
}

export interface EvalInputs {
  tests: Map<string, TestRecord>;
  generations: Generation[];
  /** generations by "promptId#sample" */
  generationByKey: Map<string, Generation>;
  /** teacher generations per prompt id, sorted by sample (pairwise only) */
  reference?: Map<string, Generation[]>;
}

export async function loadEvalInputs(
  store: ArtifactStore,
  input: { test: ArtifactRef; generations: ArtifactRef; reference?: ArtifactRef },
): Promise<EvalInputs> {
  const tests = new Map<string, TestRecord>();
  for (const t of await readJsonlStrict(store, input.test, TestRecord)) tests.set(t.id, t);
  const generations = await readJsonlStrict(store, input.generations, Generation);
  const generationByKey = new Map<string, Generation>();
  for (const g of generations) {
    if (!tests.has(g.promptId))
      throw new EvalInputError(
        `${input.generations.uri}: promptId ${JSON.stringify(g.promptId)} is not in the test split ${input.test.uri}`,
      );
    const k = `${g.promptId}#${g.sample}`;
    if (generationByKey.has(k))
      throw new EvalInputError(
        `${input.generations.uri}: duplicate generation promptId ${JSON.stringify(g.promptId)} sample ${g.sample}`,
      );
    generationByKey.set(k, g);
  }
  let reference: Map<string, Generation[]> | undefined;
  if (input.reference) {
    reference = new Map();
    for (const g of await readJsonlStrict(store, input.reference, Generation)) {
      const list = reference.get(g.promptId) ?? [];
      list.push(g);
      reference.set(g.promptId, list);
    }
    for (const list of reference.values()) list.sort((a, b) => a.sample - b.sample);
  }
  return { tests, generations, generationByKey, reference };
}
