// A price estimate of an evaluation before any judge is called, so the workflow can refuse to start one the
// budget cannot pay for. Tokens are estimated (4 characters a token; judges' answers are short JSON);
// prices come from the caller (the LLM layer's pricing table), not from here.
import type { ServiceModel } from '../../common/config';
import type { EvalInputs } from './eval-inputs';
import type { JudgeCall } from './judge-plan';
import { pairwisePrompt, singleAnswerPrompt } from './judge-prompts';

export type EstimateUsd = (model: ServiceModel, tokens: { input: number; output: number }) => number;

/** Output tokens assumed per answer: two scores with a sentence or two of rationale each. */
export const ASSUMED_OUTPUT_TOKENS = 250;

const tokensOf = (s: string) => Math.ceil(s.length / 4);

export function estimateEvaluationUsd(
  inputs: EvalInputs,
  calls: readonly JudgeCall[],
  judges: readonly ServiceModel[],
  estimate: EstimateUsd,
): number {
  let usd = 0;
  for (const c of calls) {
    const model = judges[c.judgeIndex]!;
    const t = inputs.tests.get(c.promptId)!;
    const g = inputs.generationByKey.get(`${c.promptId}#${c.sample}`)!;
    const base = { instruction: t.instruction, context: t.context, reference_response: t.response };
    let p: { system: string; prompt: string };
    if (c.kind === 'single') p = singleAnswerPrompt({ ...base, response: g.text });
    else {
      const ref = inputs.reference!.get(c.promptId)!.find((r) => r.sample === c.referenceSample)!;
      p = pairwisePrompt({ ...base, response_a: g.text, response_b: ref.text });
    }
    const output = Math.min(ASSUMED_OUTPUT_TOKENS, model.maxOutputTokens ?? ASSUMED_OUTPUT_TOKENS);
    usd += estimate(model, { input: tokensOf(p.system) + tokensOf(p.prompt), output });
  }
  return Math.round(usd * 1e6) / 1e6;
}
