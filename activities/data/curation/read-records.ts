// Reads JSONL datasets from the artifact store with a schema per line; a bad line is reported with the
// artifact, line number and field, not as a bare JSON or type error later on.
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { ArtifactStore } from '../../store/artifact-store';

export const CoverageRecordSchema = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  category: z.string().default('general'),
  instruction: z.string(),
  context: z.string().default(''),
  response: z.string(),
  provenance: z.unknown().optional(),
});

const LineageSchema = {
  id: z.string(),
  category: z.string(),
  seedId: z.string(),
  teacher: z.string(),
  cycle: z.number().int(),
  round: z.number().int(),
  shard: z.number().int(),
  promptHash: z.string(),
};

export const RawSampleSchema = z.object({
  ...LineageSchema,
  instruction: z.string(),
  context: z.string(),
  response: z.string(),
});

export const SyntheticSampleSchema = z.object({
  ...LineageSchema,
  messages: z.array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() })).min(2),
});

export async function readRecords<S extends z.ZodType>(
  store: ArtifactStore,
  uri: string,
  schema: S,
): Promise<z.infer<S>[]> {
  const out: z.infer<S>[] = [];
  const rl = createInterface({ input: await store.readStream(uri), crlfDelay: Infinity });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (!text.trim()) continue;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(`${uri} line ${line}: not JSON (${(err as Error).message})`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`${uri} line ${line}: field "${issue.path.join('.') || '(record)'}": ${issue.message}`);
    }
    out.push(parsed.data);
  }
  return out;
}
