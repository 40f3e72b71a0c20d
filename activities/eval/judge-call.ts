// One judge call -> one JudgmentRecord. Content failures (invalid output, refusal, truncation) after the
// client's retries are recorded and counted; transient ones (rate limits, outages, timeouts) fail the
// activity so Temporal retries it later, resuming from the checkpoint instead of recording a gap.
import { ApplicationFailure } from '@temporalio/common';
import type { ServiceModel } from '../../common/config';
import type { Usage } from '../../common/types';
import { LlmError, toActivityFailure } from '../llm/errors';
import type { LlmClient, LlmFailureReason, StructuredResult } from '../llm/client';
import type { EvalInputs } from './eval-inputs';
import type { JudgeCall } from './judge-plan';
import { pairwisePrompt, singleAnswerPrompt } from './judge-prompts';
import {
  PAIRWISE_SCHEMA_NAME,
  PairwiseVerdict,
  SINGLE_ANSWER_SCHEMA_NAME,
  SingleAnswerGrade,
} from './judge-schemas';
import type { JudgmentRecord } from './judgment-record';

const TRANSIENT: ReadonlySet<LlmFailureReason> = new Set(['rate-limited', 'server-error', 'timeout']);

export async function runJudgeCall(
  llmFor: (model: ServiceModel) => LlmClient,
  judges: readonly ServiceModel[],
  inputs: EvalInputs,
  call: JudgeCall,
  signal?: AbortSignal,
): Promise<JudgmentRecord> {
  const model = judges[call.judgeIndex]!;
  const llm = llmFor(model);
  const test = inputs.tests.get(call.promptId)!;
  const generation = inputs.generationByKey.get(`${call.promptId}#${call.sample}`)!;
  const base = { judge: call.judge, repeat: call.repeat, promptId: call.promptId, sample: call.sample };

  if (call.kind === 'single') {
    const { system, prompt } = singleAnswerPrompt({
      instruction: test.instruction,
      context: test.context,
      reference_response: test.response,
      response: generation.text,
    });
    const res = await llm.generateStructured(
      { model, system, prompt, cachePrefix: true, signal },
      SingleAnswerGrade,
      { name: SINGLE_ANSWER_SCHEMA_NAME },
    );
    const spent = spend(res.usage, res.attempts);
    if (!res.ok)
      return { kind: 'single', ...base, scores: null, rationale: null, ...spent, error: failure(res, call) };
    const v = res.value;
    return {
      kind: 'single',
      ...base,
      scores: { similarity: v.similarity_assessment.score, precision: v.precision_assessment.score },
      rationale: {
        similarity: v.similarity_assessment.rationale,
        precision: v.precision_assessment.rationale,
      },
      ...spent,
    };
  }

  const teacher = inputs.reference!.get(call.promptId)!.find((g) => g.sample === call.referenceSample)!;
  const [a, b] =
    call.order === 'student-first' ? [generation.text, teacher.text] : [teacher.text, generation.text];
  const { system, prompt } = pairwisePrompt({
    instruction: test.instruction,
    context: test.context,
    reference_response: test.response,
    response_a: a,
    response_b: b,
  });
  const res = await llm.generateStructured(
    { model, system, prompt, cachePrefix: true, signal },
    PairwiseVerdict,
    {
      name: PAIRWISE_SCHEMA_NAME,
    },
  );
  const spent = spend(res.usage, res.attempts);
  const pair = { order: call.order, referenceSample: call.referenceSample };
  if (!res.ok)
    return {
      kind: 'pairwise',
      ...base,
      ...pair,
      verdict: null,
      rationale: null,
      ...spent,
      error: failure(res, call),
    };
  return {
    kind: 'pairwise',
    ...base,
    ...pair,
    verdict: res.value.verdict,
    rationale: res.value.rationale,
    ...spent,
  };
}

function spend(usage: Usage, attempts: number) {
  return {
    tokens: { input: usage.inputTokens, output: usage.outputTokens, cached: usage.cachedTokens },
    cost: usage.usd,
    attempts,
  };
}

function failure(res: Extract<StructuredResult<unknown>, { ok: false }>, call: JudgeCall) {
  const what = `${call.judge} on ${call.promptId}#${call.sample} (${call.kind}, repeat ${call.repeat})`;
  if (res.reason === 'budget') {
    throw ApplicationFailure.nonRetryable(
      `judge budget exhausted: ${what}: ${res.message}`,
      'BudgetExhausted',
    );
  }
  // an exhausted account fails every call alike: stop the evaluation instead of recording it per item
  if (res.reason === 'quota') throw toActivityFailure(new LlmError(res.reason, res.message, false));
  if (TRANSIENT.has(res.reason)) {
    throw ApplicationFailure.retryable(
      `judge call failed (${res.reason}) after ${res.attempts} attempts: ${what}: ${res.message}`,
      'JudgeUnavailable',
    );
  }
  return { reason: res.reason, message: res.message.slice(0, 500) };
}
