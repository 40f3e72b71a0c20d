// A few real closed-QA records from databricks-dolly-15k (read from the shared raw data, never copied here).
import { readFileSync } from 'node:fs';
import type { TestRecord } from '../../../activities/eval/eval-inputs';

const DOLLY = `${process.env.LLAMADUO_RAW_DATA ?? '/work/shared/data/raw'}/dolly15k/databricks-dolly-15k.jsonl`;

export function dollyClosedQa(n: number): (TestRecord & { provenance: object })[] {
  const out: (TestRecord & { provenance: object })[] = [];
  const lines = readFileSync(DOLLY, 'utf8').split('\n');
  for (let i = 0; i < lines.length && out.length < n; i++) {
    if (!lines[i]!.trim()) continue;
    const r = JSON.parse(lines[i]!) as {
      instruction: string;
      context: string;
      response: string;
      category: string;
    };
    // Answers of at least 8 words, so a half answer is clearly worse than the whole one.
    if (r.category !== 'closed_qa' || r.response.split(/\s+/).length < 8) continue;
    out.push({
      id: `dolly-${i + 1}`,
      category: r.category,
      instruction: r.instruction,
      context: r.context,
      response: r.response,
      provenance: { file: DOLLY, line: i + 1, shape: 'dolly' },
    });
  }
  return out;
}
