// Synthesis prompts per task family (paper appendix A): the teacher sees one seed example and its
// category and writes several new, different examples in the same format and of similar length.
// Summarization differs: each new example needs its own new passage to summarize.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { CoverageRecord } from '../data/curation/records';
import { plainWords } from '../data/curation/text';

export type TaskFamily =
  'summarization' | 'classification' | 'coding' | 'closed-qa' | 'extraction' | 'creative' | 'general';

export function familyOf(category: string): TaskFamily {
  const c = category.toLowerCase();
  if (c.includes('summar')) return 'summarization';
  if (c.includes('classif')) return 'classification';
  if (c.includes('cod') || c.includes('program')) return 'coding';
  if (c.includes('closed')) return 'closed-qa';
  if (c.includes('extract')) return 'extraction';
  if (c.includes('creative') || c.includes('writing') || c.includes('brainstorm')) return 'creative';
  return 'general';
}

/** What the teacher must return (native structured output where the provider has it). */
export const SyntheticBatch = z.object({
  examples: z
    .array(
      z.object({
        instruction: z.string().describe('the new task, written as a user would ask it'),
        context: z.string().describe('input text the task refers to, or an empty string'),
        response: z.string().describe('the ideal answer'),
      }),
    )
    .min(1),
});
export type SyntheticBatch = z.infer<typeof SyntheticBatch>;

const FAMILY_GUIDANCE: Record<TaskFamily, string> = {
  summarization:
    'Each new example must come with its own new passage in "context" (a different topic from the seed, of similar ' +
    'length and register), an instruction asking for a summary, and a faithful summary of that passage in "response" ' +
    'that adds nothing the passage does not say.',
  classification:
    'Each new example asks to classify or categorize something new. Keep the same kind of label set as the seed and give ' +
    'the correct label(s) in "response", with a short justification only if the seed has one.',
  coding:
    'Each new example is a different programming task of similar difficulty. Put any input code or data in "context". ' +
    'The response contains working code in the same language as the seed (in a fenced block if the seed uses one).',
  'closed-qa':
    'Each new example puts a new reference passage in "context" and asks a question answerable only from it; the ' +
    'response answers from the passage alone.',
  extraction:
    'Each new example puts a new passage in "context" and asks to extract specific information from it; the response ' +
    'lists exactly what was asked for, taken from the passage.',
  creative:
    'Each new example is a new creative or open-ended request on a different subject; the response fulfils it in the ' +
    'style and length of the seed.',
  general:
    'Each new example is a new question or task on a different subject that a user of this application could ask; the ' +
    'response is correct, helpful and in the style of the seed.',
};

export interface SynthesisPrompt {
  system: string;
  user: string;
  /** sha256 (16 hex) of system + user: lineage, and the cache key of a request */
  promptHash: string;
}

function lengthHint(text: string): string {
  const n = plainWords(text).length;
  if (n === 0) return 'empty';
  const lo = Math.max(1, Math.round(n * 0.6));
  const hi = Math.round(n * 1.5) + 2;
  return `about ${lo}-${hi} words`;
}

export function buildSynthesisPrompt(seed: CoverageRecord, count: number): SynthesisPrompt {
  const family = familyOf(seed.category);
  const system =
    'You write training data for a small language model that must learn one task from a larger model. ' +
    'You will see one example of the task. Write new examples that a real user of the same application could send: ' +
    'same task type, format and language as the example, but different subjects, wording and answers. ' +
    'Never copy or lightly reword the example, never repeat yourself across examples, never mention that you are an AI, ' +
    'and never refuse. Every response must be complete (no cut-off text) and correct.';
  const seedJson = JSON.stringify(
    { instruction: seed.instruction, context: seed.context, response: seed.response },
    null,
    2,
  );
  const user = [
    `Task category: ${seed.category}`,
    '',
    'Example:',
    seedJson,
    '',
    `Write ${count} new, different examples of this task. ${FAMILY_GUIDANCE[family]}`,
    `Match the example's lengths: instruction ${lengthHint(seed.instruction)}, context ${lengthHint(seed.context)}, response ${lengthHint(seed.response)}.`,
    'Return JSON: {"examples": [{"instruction": "...", "context": "...", "response": "..."}]} with exactly ' +
      `${count} items; use "" for context when the task needs none.`,
  ].join('\n');
  const promptHash = createHash('sha256')
    .update(system)
    .update('\u0000')
    .update(user)
    .digest('hex')
    .slice(0, 16);
  return { system, user, promptHash };
}
