// teacherBaseline: the teacher answers every test prompt N times, once per migration. Its answers are judged
// like the student's (the target row of Table 1) and are the other side of the pairwise comparison.
import {
  addUsage,
  ZERO_USAGE,
  type TeacherBaselineInput,
  type TeacherBaselineResult,
  type Usage,
} from '../../common/types';
import type { LlmClient } from '../llm/client';
import type { ArtifactStore } from '../store/artifact-store';
import { readJsonlStrict, TestRecord, type Generation } from './eval-inputs';
import { teacherBaselineKeys } from './eval-keys';
import { dropCheckpoint, resumableRun } from './resumable-run';
import { taskPrompt } from './task-prompt';

export async function teacherBaseline(
  deps: { store: ArtifactStore; llm: LlmClient; concurrency: number },
  input: TeacherBaselineInput,
): Promise<TeacherBaselineResult> {
  const { store, llm } = deps;
  const keys = teacherBaselineKeys(input.migrationId, input.test);
  if (await store.find(keys.result)) return store.readJson<TeacherBaselineResult>(keys.result);

  const tests = await readJsonlStrict(store, input.test, TestRecord);
  const items = tests.flatMap((t) =>
    Array.from({ length: input.responsesPerPrompt }, (_, sample) => ({ t, sample })),
  );
  const { results } = await resumableRun({
    store,
    checkpointKey: keys.checkpoint,
    items,
    keyOf: (it) => `${it.t.id}#${it.sample}`,
    concurrency: deps.concurrency,
    run: async ({ t, sample }, signal) => {
      const out = await llm.generate({ model: input.teacher, prompt: taskPrompt(t), signal });
      const generation: Generation = { promptId: t.id, sample, text: out.text };
      return { generation, usage: out.usage };
    },
  });
  const generations = await store.writeJsonl(
    keys.generations,
    results.map((r) => r.generation),
  );
  const usage = results.reduce<Usage>((u, r) => addUsage(u, r.usage), ZERO_USAGE);
  const result: TeacherBaselineResult = { generations, usage };
  await store.writeJson(keys.result, result); // last: marks the step finished
  await dropCheckpoint(store, keys.checkpoint);
  return result;
}
