// The deterministic reference-based evaluation: every generation scored against its test record's reference
// response (the response the user was satisfied with). Pure: no LLM, no I/O.
import type { ReferenceMetric } from '../../common/config';
import type { ReferenceSummary } from '../../common/types';
import type { EvalInputs } from './eval-inputs';
import { referenceScore } from './reference-metrics';

export interface ReferenceSample {
  promptId: string;
  sample: number;
  metric: ReferenceMetric;
  score: number;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export function scoreAgainstReferences(
  inputs: Pick<EvalInputs, 'tests' | 'generations'>,
  metric: ReferenceMetric,
): { summary: ReferenceSummary; perSample: ReferenceSample[] } {
  const perSample: ReferenceSample[] = inputs.generations.map((g) => ({
    promptId: g.promptId,
    sample: g.sample,
    metric,
    score: round2(referenceScore(metric, g.text, inputs.tests.get(g.promptId)!.response)),
  }));
  const n = perSample.length;
  const sum = perSample.reduce((a, s) => a + s.score, 0);
  const perfect = perSample.filter((s) => s.score >= 100).length;
  return {
    summary: {
      metric,
      mean: n ? round2(sum / n) : 0,
      samples: n,
      perfect: n ? round2((100 * perfect) / n) : 0,
    },
    perSample,
  };
}
