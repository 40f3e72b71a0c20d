import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryingActivities, oneLine } from '../../../client/retrying';
import { progressLine, renderProgress } from '../../../cli/progress-view';
import type { Progress } from '../../../common/progress';
import { ZERO_USAGE } from '../../../common/types';

const progress = (over: Partial<Progress> = {}): Progress => ({
  migrationId: 'm',
  status: 'running',
  cycle: 0,
  maxCycles: 2,
  stage: 'ingest',
  stageDetail: '',
  shardsDone: 0,
  shardsTotal: 0,
  cycles: [],
  syntheses: [],
  decisions: [],
  teacher: null,
  teacherJudgments: null,
  base: null,
  spend: { total: ZERO_USAGE, byStage: {}, byCycle: {} },
  budgetUsd: 1,
  target: { metric: 'precision', statistic: 'mean', atLeast: 95 },
  best: null,
  stopRequested: false,
  runs: 1,
  ...over,
});

const row = (frame: string, stage: string) => frame.split('\n').find((l) => l.startsWith(`${stage} `)) ?? '';

test('while the base student is measured, its own row is current and fine-tune has not started', () => {
  const p = progress({
    stage: 'evaluate',
    stageDetail: 'shard 1/4',
    shardsDone: 1,
    shardsTotal: 4,
    baseStudent: true,
  });
  const frame = renderProgress(p);
  assert.match(row(frame, 'teacher-baseline'), /100%/);
  assert.match(row(frame, 'base-student'), /\[######-+\]\s+25%\s+evaluate shard 1\/4/);
  for (const s of ['fine-tune', 'generate', 'evaluate']) assert.match(row(frame, s), /\[-+\]\s+0%/, s);
  assert.match(progressLine(p), /base-student evaluate 1\/4/);
  const generating = renderProgress(
    progress({ stage: 'generate', stageDetail: 'base student', baseStudent: true }),
  );
  assert.match(row(generating, 'base-student'), /\[running\] generate$/);
  assert.match(row(generating, 'fine-tune'), /0%/);
});

test("after the base student, cycle 0's fine-tune is current and the base row is done", () => {
  const base = {
    generations: {} as never,
    judgments: {} as never,
    evaluation: { judges: [], agreement: {} },
    score: 0,
  };
  const frame = renderProgress(progress({ stage: 'fine-tune', stageDetail: '144 samples', base }));
  assert.match(row(frame, 'base-student'), /100%/);
  assert.match(row(frame, 'fine-tune'), /\[running\] 144 samples/);
  // a run from before the base student was measured has no such row
  assert.equal(row(renderProgress(progress({ stage: 'fine-tune' })), 'base-student'), '');
});

test('an activity being retried is shown with its attempt and last failure, on one line', () => {
  const retrying = retryingActivities([
    { activityType: { name: 'generate' }, attempt: 1 },
    {
      activityType: { name: 'judgeShard' },
      attempt: 3,
      lastFailure: {
        message: 'activity failed',
        cause: { message: 'judge: 503 overloaded\n    at stack frame' },
      },
    },
  ]);
  assert.deepEqual(retrying, [{ activity: 'judgeShard', attempt: 3, lastFailure: 'judge: 503 overloaded' }]);
  const p = progress({ stage: 'evaluate' });
  assert.match(
    renderProgress(p, retrying),
    /\n {2}retrying judgeShard: attempt 3, last failure: judge: 503 overloaded$/m,
  );
  assert.match(progressLine(p, retrying), /retrying judgeShard: attempt 3/);
  assert.doesNotMatch(renderProgress(p, []), /retrying/);
  assert.deepEqual(retryingActivities(undefined), []);
  assert.equal(oneLine(`\n  ${'x'.repeat(300)}`).length, 160);
});

test('the export row shows only while the best adapter is exported; its outcome, or failure, is a line of its own', () => {
  const ref = (uri: string) => ({ uri, sha256: 'x', bytes: 1 }) as never;
  const training = renderProgress(progress({ stage: 'fine-tune' }));
  assert.equal(row(training, 'export'), '', 'no export row for a stage that may never come');
  const exporting = renderProgress(progress({ stage: 'export', stageDetail: 'cycle 1: merged + GGUF' }));
  assert.match(row(exporting, 'export'), /\[running\] cycle 1: merged \+ GGUF$/);

  const adapter = ref('file:///a/m/cycle-1/finetune/out/adapter');
  const done = renderProgress(
    progress({
      status: 'target-not-met',
      stage: 'done',
      export: { cycle: 1, adapter, merged: ref('file:///m/merged'), gguf: ref('file:///m/x.gguf') },
    }),
  );
  assert.match(done, /^export {5}cycle 1: merged file:\/\/\/m\/merged, GGUF file:\/\/\/m\/x\.gguf$/m);
  const failed = renderProgress(
    progress({
      status: 'target-not-met',
      stage: 'done',
      stageDetail: 'target-not-met; export of the best adapter failed',
      export: { cycle: 1, adapter, error: 'no space left on device' },
    }),
  );
  assert.match(failed, /^export {5}FAILED for cycle 1's adapter: no space left on device$/m);
});
