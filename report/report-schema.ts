// Validation of ReportData read from a file (e.g. `llamaduo report --data run.json`), so bad input fails
// with the file, line and field instead of a broken page.
import { STAGES } from '../common/types';
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { z } from 'zod';
import { JudgeMetric } from '../common/config';
import type { ReportData } from './report-data';

const score = z.number().min(0).max(100);
const count = z.number().int().nonnegative();
const usd = z.number().nonnegative();

const MetricSummary = z.object({
  mean: score,
  median: score,
  coverage: z.record(z.string(), score),
  samples: count,
});
const JudgeSummary = z.object({
  judge: z.string().min(1),
  similarity: MetricSummary,
  precision: MetricSummary,
  pairwise: z
    .object({ win: z.number(), tie: z.number(), loss: z.number(), positionDisagreement: z.number() })
    .optional(),
  failed: count,
});
const EvaluationSummary = z.object({
  judges: z.array(JudgeSummary).min(1),
  agreement: z.record(z.string(), z.number()),
  reference: z
    .object({
      metric: z.enum(['exact-match', 'rouge-l', 'chrf']),
      mean: score,
      samples: count,
      perfect: score,
    })
    .optional(),
});
const Usage = z.object({ calls: count, inputTokens: count, outputTokens: count, cachedTokens: count, usd });
const Stage = z.enum(STAGES);
const Workload = z.object({
  name: z.string().min(1),
  inputTokensPerDay: z.number().nonnegative(),
  outputTokensPerDay: z.number().nonnegative(),
});
const LocalServing = z.object({
  name: z.string().min(1),
  fineTuningUsd: usd,
  servers: z.number().int().positive(),
  serverUsd: usd,
  powerUsdPerServerMonth: usd,
});

const ExampleRecord = z.object({
  prompt: z.string(),
  response: z.string(),
  template: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()])),
});
const CurationDetails = z.object({
  thresholds: z.object({ threshold: z.number().min(0).max(1), rougeLThreshold: z.number().min(0).max(1) }),
  calibration: z
    .object({ percentile: z.number(), realJaccard: z.number(), realRougeL: z.number() })
    .nullable(),
  templates: z.array(
    z.object({
      category: z.string(),
      records: z.number().int().nonnegative(),
      matching: z.number().int().nonnegative(),
      templateShare: z.number().min(0).max(1),
      spans: z.array(z.string()),
    }),
  ),
  examples: z.record(
    z.string(),
    z.array(
      z.object({
        sample: ExampleRecord,
        matched: ExampleRecord.extend({ kind: z.enum(['reference', 'sample', 'test']) }).optional(),
        similarity: z.number().optional(),
      }),
    ),
  ),
});

export const ReportDataSchema: z.ZodType<ReportData> = z.object({
  migrationId: z.string().min(1),
  name: z.string().min(1),
  baseModel: z.string().min(1),
  teacherModel: z.string().min(1),
  status: z.enum([
    'running',
    'succeeded',
    'target-not-met',
    'budget-exhausted',
    'stopped',
    'cancelled',
    'failed',
  ]),
  generatedAt: z.string().min(1),
  target: z.object({
    metric: JudgeMetric,
    statistic: z.enum(['mean', 'coverage50', 'coverage70']),
    value: score,
  }),
  cycles: z.array(
    z.object({
      cycle: count,
      syntheticVolume: count,
      trainingSamples: count,
      evaluation: EvaluationSummary,
      synthesis: z
        .object({
          generated: count,
          accepted: count,
          drops: z.record(z.string(), count),
          curation: CurationDetails.optional(),
        })
        .optional(),
    }),
  ),
  teacher: EvaluationSummary.nullable(),
  baselines: z.array(z.object({ model: z.string().min(1), evaluation: EvaluationSummary })).optional(),
  base: EvaluationSummary.nullable().optional(),
  exports: z
    .object({
      cycle: count,
      merged: z.string().min(1).optional(),
      gguf: z.string().min(1).optional(),
      modelfile: z.string().min(1).optional(),
      ggufSkipped: z.string().optional(),
      error: z.string().optional(),
    })
    .optional(),
  distributions: z.array(
    z.object({
      subject: z.union([count, z.literal('teacher')]),
      judge: z.string().min(1),
      metric: JudgeMetric,
      scores: z.array(score),
    }),
  ),
  spend: z.partialRecord(Stage, Usage),
  budgetUsd: usd,
  costs: z.object({
    pricing: z.object({ model: z.string().min(1), inputUsdPerMTok: usd, outputUsdPerMTok: usd }),
    scenarios: z.array(z.object({ workload: Workload, local: LocalServing })),
    gpuUsd: usd.optional(),
    gpuPrice: z.object({ usdPerHour: usd, hours: z.number().nonnegative(), assumed: z.boolean() }).optional(),
  }),
});

function fieldName(path: PropertyKey[]): string {
  return (
    path.reduce<string>(
      (s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${String(p)}` : String(p)),
      '',
    ) || '(top level)'
  );
}

/** Line of the deepest node on `path` that exists in the document (the field, or its parent object). */
function lineOf(text: string, path: PropertyKey[]): number {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as (string | number)[], true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return 1;
}

/** Parses and validates report data; errors read `file:line: field: problem`. */
export function parseReportData(text: string, file: string): ReportData {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const pos = /position (\d+)/.exec((err as Error).message);
    const line = pos ? text.slice(0, Number(pos[1])).split('\n').length : 1;
    throw new Error(`${file}:${line}: not valid JSON: ${(err as Error).message}`);
  }
  const result = ReportDataSchema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues
    .slice(0, 5)
    .map((i) => `${file}:${lineOf(text, i.path)}: ${fieldName(i.path)}: ${i.message}`);
  const more = result.error.issues.length > 5 ? `\n(and ${result.error.issues.length - 5} more)` : '';
  throw new Error(issues.join('\n') + more);
}

export async function loadReportData(file: string): Promise<ReportData> {
  return parseReportData(await readFile(file, 'utf8'), file);
}
