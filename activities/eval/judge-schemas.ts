// The judges' structured answers. The client asks for JSON matching these schemas and retries (with the
// validation error fed back) on anything else, so an out-of-range, missing or non-numeric score never turns
// into a number here: it ends as a counted failure.
import { z } from 'zod';

const Score = z
  .number({ error: 'score must be a number' })
  .min(0, 'score must be between 0 and 100')
  .max(100, 'score must be between 0 and 100')
  .describe('0 (worst) to 100 (best)');

const Assessment = z
  .object({
    score: Score,
    rationale: z.string().describe('one or two sentences that justify the score'),
  })
  .strict();

/** Single-answer grading with a reference (the keys of the paper's reference implementation). */
export const SingleAnswerGrade = z
  .object({
    similarity_assessment: Assessment.describe('how close the response is to the reference response'),
    precision_assessment: Assessment.describe('how precisely the response answers the instruction'),
  })
  .strict();
export type SingleAnswerGrade = z.infer<typeof SingleAnswerGrade>;

/** Pairwise comparison: which of response A (shown first) and response B answers the instruction better. */
export const PairwiseVerdict = z
  .object({
    rationale: z.string().describe('the reasons, before the verdict'),
    verdict: z.enum(['A', 'B', 'tie']).describe('A or B for the better response, tie when neither is better'),
  })
  .strict();
export type PairwiseVerdict = z.infer<typeof PairwiseVerdict>;

export const SINGLE_ANSWER_SCHEMA_NAME = 'single_answer_grade';
export const PAIRWISE_SCHEMA_NAME = 'pairwise_verdict';
