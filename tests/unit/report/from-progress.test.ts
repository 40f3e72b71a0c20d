import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MigrationConfig } from '../../../common/config';
import type { CycleRecord, Progress } from '../../../common/progress';
import type { ArtifactRef } from '../../../common/types';
import { reportDataFromProgress } from '../../../report/from-progress';
import { ReportDataSchema } from '../../../report/report-schema';
import { renderReport } from '../../../report/render';
import { reportFixture } from './report-fixture';

const ref = (key: string): ArtifactRef => ({ uri: `artifact://${key}`, sha256: '0'.repeat(64), bytes: 10 });
const config = MigrationConfig.parse({
  name: 'dolly-closed-qa',
  dataset: { path: 'data.jsonl' },
  baseModel: 'google/gemma-2-2b-it',
  evaluation: { judges: [{ provider: 'openai', model: 'gpt-4o' }] },
  target: { metric: 'precision', statistic: 'mean', relativeToTeacher: 0.9 },
  synthesis: { teacher: { provider: 'anthropic', model: 'claude-3-5-sonnet' } },
});

function progressFromFixture(): Progress {
  const f = reportFixture();
  const cycles: CycleRecord[] = f.cycles.map((c) => ({
    cycle: c.cycle,
    trainSamples: c.trainingSamples,
    syntheticSamples: c.syntheticVolume,
    adapter: ref(`a/${c.cycle}`),
    generations: ref(`g/${c.cycle}`),
    judgments: ref(`j/${c.cycle}`),
    evaluation: c.evaluation,
    score: 0,
    target: 80.8,
    reached: false,
    fineTuneSeconds: 60,
    method: 'qlora',
  }));
  const usage = { calls: 1, inputTokens: 1, outputTokens: 1, cachedTokens: 0, usd: 1 };
  return {
    migrationId: f.migrationId,
    status: 'succeeded',
    cycle: 3,
    maxCycles: 8,
    stage: 'done',
    stageDetail: '',
    shardsDone: 0,
    shardsTotal: 0,
    cycles,
    syntheses: f.cycles
      .filter((c) => c.synthesis)
      .map((c) => ({ forCycle: c.cycle + 1, wanted: 1000, dataset: null, usd: 2, ...c.synthesis! })),
    decisions: [
      { cycle: 3, score: 80, target: 80.81, teacherScore: 89.79, outcome: 'stop-max-cycles', reason: '' },
    ],
    teacher: f.teacher,
    teacherJudgments: null,
    spend: {
      total: { ...usage, usd: 48.25 },
      byStage: { ...f.spend, 'not-a-stage': usage } as Progress['spend']['byStage'],
      byCycle: {},
    },
    budgetUsd: 50,
    target: config.target,
    best: null,
    stopRequested: false,
    runs: 2,
  };
}

test('progress + config map onto ReportData that validates and renders', () => {
  const progress = progressFromFixture();
  const data = reportDataFromProgress(progress, config, {
    now: new Date('2026-11-23T10:00:00Z'),
    gpuUsd: 11.75,
    requestsPerDay: 20_000,
  });
  assert.doesNotThrow(() => ReportDataSchema.parse(data));
  assert.equal(data.teacherModel, 'claude-3-5-sonnet');
  assert.equal(data.generatedAt, '2026-11-23T10:00:00.000Z');
  // relativeToTeacher targets take the absolute value the workflow last decided with.
  assert.deepEqual(data.target, { metric: 'precision', statistic: 'mean', value: 80.81 });
  // The synthesis "for cycle 1" is shown after cycle 0; the last cycle had none.
  assert.equal(data.cycles[0]!.synthesis!.generated, 1335);
  assert.equal(data.cycles[3]!.synthesis, undefined);
  assert.deepEqual(Object.keys(data.spend), ['teacher-baseline', 'evaluate', 'synthesize']);
  // The user's scenario: teacher tokens per call x 20k requests/day, fine-tuning = spend + GPU.
  const yours = data.costs.scenarios[0]!;
  assert.equal(yours.workload.inputTokensPerDay, (27_600 / 60) * 20_000);
  assert.equal(yours.local.fineTuningUsd, 48.25 + 11.75);
  assert.match(renderReport(data), /claude-3-5-sonnet/);
});

test('a migration with no cycles yet still maps and renders', () => {
  const progress = { ...progressFromFixture(), cycles: [], syntheses: [], decisions: [], teacher: null };
  const data = reportDataFromProgress(progress, config);
  assert.equal(data.cycles.length, 0);
  assert.equal(data.target.value, 0, 'no absolute target known before the teacher is judged');
  const html = renderReport(data);
  assert.match(html, /No cycle has been evaluated yet/);
  assert.doesNotMatch(html, /id="fig-score-/);
});

test('spend of every workflow stage reaches the report, promotion included', () => {
  const progress = progressFromFixture();
  const usage = { calls: 3, inputTokens: 30, outputTokens: 9, cachedTokens: 0, usd: 0.25 };
  progress.spend.byStage.promote = usage;
  const data = reportDataFromProgress(progress, config);
  assert.deepEqual(data.spend.promote, usage);
  assert.match(renderReport(data), /promote/);
});

test("break-even: priced at the teacher's model, GPU time at the configured price, the user's daily tokens", () => {
  const progress = progressFromFixture(); // four cycles of 60 s fine-tuning, $48.25 service spend
  // no economics: the teacher's price (claude-3-5-sonnet, $3 / $15), fine-tuning at the default $0.80/h
  const plain = reportDataFromProgress(progress, config);
  assert.deepEqual(plain.costs.pricing, {
    model: 'anthropic/claude-3-5-sonnet',
    inputUsdPerMTok: 3,
    outputUsdPerMTok: 15,
  });
  assert.equal(plain.costs.gpuUsd, (240 / 3600) * 0.8);
  assert.equal(plain.costs.scenarios[0]!.local.fineTuningUsd, 48.25 + (240 / 3600) * 0.8);
  // the default price is an assumption, and the report says so and how to set it
  assert.deepEqual(plain.costs.gpuPrice, { usdPerHour: 0.8, hours: 240 / 3600, assumed: true });
  assert.doesNotThrow(() => ReportDataSchema.parse(plain));
  assert.match(
    renderReport(plain),
    /0\.07 fine-tuning hours at \$0\.80?\/h, an assumed default price \(an L4 on demand\): set economics\.gpuUsdPerHour in the config to yours/,
  );
  // economics in the config: its tokens a day, its GPU price for fine-tuning and rented serving
  const withEconomics = MigrationConfig.parse({
    ...config,
    economics: { dailyInputTokens: 3e6, dailyOutputTokens: 2e5, gpuUsdPerHour: 1.5, servingGpus: 2 },
  });
  const data = reportDataFromProgress(progress, withEconomics);
  assert.doesNotThrow(() => ReportDataSchema.parse(data));
  const [yours, light] = data.costs.scenarios;
  assert.deepEqual(yours!.workload, {
    name: 'your workload',
    inputTokensPerDay: 3e6,
    outputTokensPerDay: 2e5,
  });
  assert.equal(data.costs.gpuUsd, 0.1);
  assert.deepEqual(yours!.local, {
    name: '2 GPUs rented at $1.5/h',
    fineTuningUsd: 48.35,
    servers: 2,
    serverUsd: 0,
    powerUsdPerServerMonth: 1.5 * 24 * 30,
  });
  assert.equal(light!.workload.name, 'light');
  assert.match(renderReport(data), /service-LLM spend plus \$0\.10? of GPU time/);
  assert.deepEqual(data.costs.gpuPrice, { usdPerHour: 1.5, hours: 240 / 3600, assumed: false });
  assert.match(renderReport(data), /at \$1\.50\/h, economics\.gpuUsdPerHour from the config/);
  assert.doesNotMatch(renderReport(data), /assumed default/);
  // an economics block without a GPU price: the price is still the assumed default, and the report says so
  const tokensOnly = MigrationConfig.parse({ ...config, economics: { dailyInputTokens: 3e6 } });
  const partial = reportDataFromProgress(progress, tokensOnly);
  assert.deepEqual(partial.costs.gpuPrice, { usdPerHour: 0.8, hours: 240 / 3600, assumed: true });
  assert.match(renderReport(partial), /an assumed default price/);
  // a teacher missing from the pricing table is priced as GPT-4o rather than failing the report
  const local = MigrationConfig.parse({
    ...config,
    synthesis: { ...config.synthesis, teacher: { provider: 'openai', model: 'my-finetune' } },
  });
  assert.equal(reportDataFromProgress(progress, local).costs.pricing.model, 'GPT-4o');
});

test('the best adapter exports are named in the report: each file, a skipped GGUF, or the failure', () => {
  const progress = progressFromFixture();
  progress.export = {
    cycle: 2,
    adapter: ref('a/2'),
    merged: ref('m/cycle-2/export/out/merged'),
    gguf: ref('m/cycle-2/export/out/gguf/model.gguf'),
    modelfile: ref('m/cycle-2/export/out/gguf/Modelfile'),
  };
  const data = reportDataFromProgress(progress, config, { gpuUsd: 1 });
  assert.doesNotThrow(() => ReportDataSchema.parse(data));
  assert.deepEqual(data.exports, {
    cycle: 2,
    merged: 'artifact://m/cycle-2/export/out/merged',
    gguf: 'artifact://m/cycle-2/export/out/gguf/model.gguf',
    modelfile: 'artifact://m/cycle-2/export/out/gguf/Modelfile',
  });
  const html = renderReport(data);
  assert.match(html, /<section id="exports">[\s\S]*Cycle 2/);
  for (const uri of Object.values(data.exports!).filter((v) => typeof v === 'string'))
    assert.ok(html.includes(`<code>${uri}</code>`), uri);

  progress.export = {
    cycle: 2,
    adapter: ref('a/2'),
    merged: ref('m/merged'),
    ggufSkipped: 'Gemma is not covered',
  };
  assert.match(
    renderReport(reportDataFromProgress(progress, config, { gpuUsd: 1 })),
    /not written: Gemma is not covered/,
  );
  progress.export = { cycle: 2, adapter: ref('a/2'), error: 'GPU node lost' };
  const failed = renderReport(reportDataFromProgress(progress, config, { gpuUsd: 1 }));
  assert.match(failed, /The export failed: GPU node lost/);
  assert.doesNotMatch(failed, /merged into the base model/, 'a failed export is not said to be merged');

  delete progress.export;
  assert.doesNotMatch(renderReport(reportDataFromProgress(progress, config, { gpuUsd: 1 })), /id="exports"/);
});
