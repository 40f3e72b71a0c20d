// One judge call -> one JudgmentRecord. Content failures (invalid output, refusal, truncation) after the
// client's retries are recorded and counted; transient ones (rate limits, outages, timeouts) fail the
// activity so Temporal retries it later, resuming from the checkpoint instead of recording a gap.
// The request and the record are built apart from the call, so batch judging (judge-batch.ts) shares them.
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
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

export type JudgeAnswer = SingleAnswerGrade | PairwiseVerdict;

/** The schema and its name a call's answer must match. */
export function answerSchemaOf(call: JudgeCall): { schema: z.ZodType<JudgeAnswer>; name: string } {
  return call.kind === 'single'
    ? { schema: SingleAnswerGrade, name: SINGLE_ANSWER_SCHEMA_NAME }
    : { schema: PairwiseVerdict, name: PAIRWISE_SCHEMA_NAME };
}

/** The judge model and prompt of one call. */
export function judgeRequestOf(
  judges: readonly ServiceModel[],
  inputs: EvalInputs,
  call: JudgeCall,
): { model: ServiceModel; system: string; prompt: string } {
  const model = judges[call.judgeIndex]!;
  const test = inputs.tests.get(call.promptId)!;
  const generation = inputs.generationByKey.get(`${call.promptId}#${call.sample}`)!;
  if (call.kind === 'single')
    return {
      model,
      ...singleAnswerPrompt({
        instruction: test.instruction,
        context: test.context,
        reference_response: test.response,
        response: generation.text,
      }),
    };
  const teacher = inputs.reference!.get(call.promptId)!.find((g) => g.sample === call.referenceSample)!;
  const [a, b] =
    call.order === 'student-first' ? [generation.text, teacher.text] : [teacher.text, generation.text];
  return {
    model,
    ...pairwisePrompt({
      instruction: test.instruction,
      context: test.context,
      reference_response: test.response,
      response_a: a,
      response_b: b,
    }),
  };
}

export async function runJudgeCall(
  llmFor: (model: ServiceModel) => LlmClient,
  judges: readonly ServiceModel[],
  inputs: EvalInputs,
  call: JudgeCall,
  signal?: AbortSignal,
): Promise<JudgmentRecord> {
  const { model, system, prompt } = judgeRequestOf(judges, inputs, call);
  const { schema, name } = answerSchemaOf(call);
  const res = await llmFor(model).generateStructured(
    { model, system, prompt, cachePrefix: true, signal },
    schema,
    { name },
  );
  return judgmentOf(call, res);
}

/**
 * The record of a call's result. Throws for what must not become a record: a transient failure
 * (retryable), the budget or an exhausted account (non-retryable).
 */
export function judgmentOf(call: JudgeCall, res: StructuredResult<JudgeAnswer>): JudgmentRecord {
  const base = { judge: call.judge, repeat: call.repeat, promptId: call.promptId, sample: call.sample };
  const spent = spend(res.usage, res.attempts);
  if (call.kind === 'single') {
    if (!res.ok)
      return { kind: 'single', ...base, scores: null, rationale: null, ...spent, error: failure(res, call) };
    const v = res.value as SingleAnswerGrade;
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
  const v = res.value as PairwiseVerdict;
  return {
    kind: 'pairwise',
    ...base,
    ...pair,
    verdict: v.verdict,
    rationale: v.rationale,
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
