// teacherBaseline: the teacher answers every test prompt N times, once per migration. Its answers are judged
// like the student's (the target row of Table 1) and are the other side of the pairwise comparison.
import { toActivityFailure } from '../llm/errors';
import { ApplicationFailure } from '@temporalio/common';
import {
  addUsage,
  ZERO_USAGE,
  type TeacherBaselineInput,
  type TeacherBaselineResult,
  type Usage,
} from '../../common/types';
import type { LlmClient, LlmFailureReason } from '../llm/client';
import { ServiceLlmClient } from '../llm/service-client';
import type { ArtifactStore } from '../store/artifact-store';
import { readJsonlStrict, TestRecord, type Generation } from './eval-inputs';
import { teacherBaselineKeys } from './eval-keys';
import { checkpointRecords, dropCheckpoint, resumableRun } from './resumable-run';
import { withSpend } from '../llm/failure-spend';
import { taskPrompt } from './task-prompt';

/** Failures that asking again will not fix: the sample is left out and counted. */
const PERMANENT: ReadonlySet<LlmFailureReason> = new Set(['refusal', 'invalid-output']);

function reasonOf(err: unknown): LlmFailureReason | undefined {
  const r = (err as { reason?: unknown } | null)?.reason;
  return typeof r === 'string' ? (r as LlmFailureReason) : undefined;
}

type Outcome = { generation: Generation | null; usage: Usage; error?: string };

export async function teacherBaseline(
  deps: { store: ArtifactStore; llm: LlmClient; concurrency: number },
  input: TeacherBaselineInput,
): Promise<TeacherBaselineResult> {
  const { store } = deps;
  const keys = teacherBaselineKeys(input.migrationId, input.test, input.label);
  if (await store.find(keys.result)) return store.readJson<TeacherBaselineResult>(keys.result);

  const tests = await readJsonlStrict(store, input.test, TestRecord);
  const items = tests.flatMap((t) =>
    Array.from({ length: input.responsesPerPrompt }, (_, sample) => ({ t, sample })),
  );
  let client = deps.llm;
  if (input.budgetUsd !== undefined) {
    // Worst case (every answer as long as allowed) before anything is asked; then each call reserves its
    // own worst case, so the baseline can never pass what is left of the budget.
    if (client instanceof ServiceLlmClient) {
      const c = client;
      const worst = items.reduce(
        (usd, { t }) => usd + c.estimate({ model: input.teacher, prompt: taskPrompt(t) }).usd,
        0,
      );
      const estimatedUsd = Math.round(worst * 1e6) / 1e6;
      if (estimatedUsd > input.budgetUsd)
        throw ApplicationFailure.nonRetryable(
          `the teacher baseline (${items.length} answers) may cost up to ${estimatedUsd.toFixed(4)} USD, more than the ${input.budgetUsd.toFixed(4)} USD left in the budget`,
          'BudgetExceeded',
        );
    }
    client = client.withSpendLimit?.(input.budgetUsd) ?? client;
  }
  const run = resumableRun<(typeof items)[number], Outcome>({
    store,
    checkpointKey: keys.checkpoint,
    items,
    keyOf: (it) => `${it.t.id}#${it.sample}`,
    concurrency: deps.concurrency,
    run: async ({ t, sample }, signal) => {
      try {
        const out = await client.generate({ model: input.teacher, prompt: taskPrompt(t), signal });
        return { generation: { promptId: t.id, sample, text: out.text }, usage: out.usage };
      } catch (err) {
        const reason = reasonOf(err);
        if (reason === 'budget') {
          throw ApplicationFailure.nonRetryable(
            `teacher budget exhausted: ${(err as Error).message}`,
            'BudgetExhausted',
          );
        }
        if (reason && PERMANENT.has(reason)) {
          return {
            generation: null,
            // a refused reply is billed: its usage comes with the error
            usage: (err as { usage?: Usage }).usage ?? ZERO_USAGE,
            error: `${reason}: ${(err as Error).message.slice(0, 300)}`,
          };
        }
        // transient: the activity retries and resumes from the checkpoint; a bad key or request does not
        throw toActivityFailure(err);
      }
    },
  });
  let results: Outcome[];
  try {
    results = (await run).results;
  } catch (err) {
    // what the answered prompts cost goes with the failure (a budget stop included): the migration counts it
    const paid = await checkpointRecords<Outcome>(store, keys.checkpoint);
    throw withSpend(
      err,
      paid.reduce<Usage>((u, r) => addUsage(u, r.usage), ZERO_USAGE),
    );
  }
  const generations = await store.writeJsonlOnce(
    keys.generations,
    results.flatMap((r) => (r.generation ? [r.generation] : [])),
  );
  const usage = results.reduce<Usage>((u, r) => addUsage(u, r.usage), ZERO_USAGE);
  const failed = results.filter((r) => !r.generation).length;
  const result: TeacherBaselineResult = { generations, usage, failed };
  await store.writeJson(keys.result, result); // last: marks the step finished
  await dropCheckpoint(store, keys.checkpoint);
  return result;
}
