// The LlamaDuo cycle as one durable workflow per migration (paper section 3):
//   ingest -> [fine-tune -> generate -> evaluate -> decide -> synthesize] until the target is met,
// max cycles are run, the budget is spent or a stop is requested. Each run of this workflow executes one
// cycle and continues-as-new with a small carried state, so history stays bounded at any data volume.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  ApplicationFailure,
} from '@temporalio/workflow';
import { loraForVolume, syntheticVolumeForCycle, TargetConfig, type MigrationConfig } from '../common/config';
import { decide } from '../common/metrics';
import type {
  CycleRecord,
  Decision,
  MigrationResult,
  MigrationState,
  Progress,
  PromotionRecord,
  Spend,
} from '../common/progress';
import { addUsage, ZERO_USAGE, type MigrationStatus, type Stage, type Usage } from '../common/types';
import { activityProxies, type ActivityTuning } from './activity-proxies';
import { measureBaseStudent } from './base-stage';
import { evaluateGenerations } from './evaluate-stage';
import { promoteIfBetter } from './promotion-stage';
import {
  configQuery,
  progressQuery,
  setBudgetUpdate,
  setTargetUpdate,
  stopAfterCycleSignal,
} from './messages';
import { SA_BASE_MODEL, SA_BEST_SCORE, SA_CYCLE, SA_STATUS, SA_TEACHER } from './search-attributes';
import { synthesisWorkflow } from './synthesis-workflow';

export interface MigrationInput {
  /** prefix of every artifact key; defaults to the workflow id (scheduled runs get a fresh one each time) */
  migrationId?: string;
  /** parsed config (defaults applied); validated by the client before start */
  config: MigrationConfig;
  /** set by continue-as-new */
  state?: MigrationState;
  tuning?: ActivityTuning;
}

/** Artifact keys allow letters, digits and . _ = - only. */
function artifactSafe(id: string): string {
  return id.replace(/[^A-Za-z0-9._=-]+/g, '-');
}

export async function migrationWorkflow(input: MigrationInput): Promise<MigrationResult> {
  const { config } = input;
  const migrationId = input.migrationId ?? artifactSafe(workflowInfo().workflowId);
  const tuning = input.tuning ?? {};
  const { data, llm, gpu } = activityProxies(tuning);

  let stage: Stage = 'ingest';
  let stageDetail = '';
  let shardsDone = 0;
  let shardsTotal = 0;
  let status: MigrationStatus = 'running';
  const state: MigrationState = input.state ?? {
    ingest: undefined as never,
    teacher: null,
    cycle: 0,
    synthetic: [],
    syntheticCount: 0,
    cycles: [],
    syntheses: [],
    decisions: [],
    spend: { total: ZERO_USAGE, byStage: {}, byCycle: {} },
    target: config.target,
    maxUsd: config.budget.maxUsd,
    stopRequested: false,
    runs: 0,
  };
  state.runs++;

  const best = () =>
    state.cycles.reduce<Progress['best']>(
      (b, c) =>
        b === null || c.score > b.score ? { cycle: c.cycle, score: c.score, adapter: c.adapter } : b,
      null,
    );
  const progress = (): Progress => ({
    migrationId,
    status,
    cycle: state.cycle,
    maxCycles: config.maxCycles,
    stage,
    stageDetail,
    shardsDone,
    shardsTotal,
    cycles: state.cycles,
    syntheses: state.syntheses,
    decisions: state.decisions,
    teacher: state.teacher?.evaluation ?? null,
    teacherJudgments: state.teacher?.judgments ?? null,
    base: state.base ?? null,
    spend: state.spend,
    budgetUsd: state.maxUsd,
    target: state.target,
    best: best(),
    stopRequested: state.stopRequested,
    runs: state.runs,
  });

  setHandler(progressQuery, progress);
  setHandler(configQuery, () => config);
  setHandler(stopAfterCycleSignal, (reason) => {
    state.stopRequested = true;
    log.info('stop requested', { reason });
  });
  setHandler(
    setTargetUpdate,
    (target) => {
      state.target = target;
      return target;
    },
    {
      validator: (target) => {
        const r = TargetConfig.safeParse(target);
        if (!r.success) throw new Error(`invalid target: ${r.error.issues.map((i) => i.message).join('; ')}`);
        if (target.relativeToTeacher !== undefined && !state.teacher && state.cycle > 0)
          throw new Error('no teacher baseline to be relative to');
      },
    },
  );
  setHandler(
    setBudgetUpdate,
    (maxUsd) => {
      state.maxUsd = maxUsd;
      return maxUsd;
    },
    {
      validator: (maxUsd) => {
        if (!(maxUsd >= 0) || !Number.isFinite(maxUsd))
          throw new Error('budget must be a non-negative number');
        if (maxUsd < state.spend.total.usd)
          throw new Error(
            `budget ${maxUsd} is below what is already spent (${state.spend.total.usd.toFixed(2)} USD)`,
          );
      },
    },
  );

  const setStage = (s: Stage, detail = '') => {
    stage = s;
    stageDetail = detail;
    shardsDone = 0;
    shardsTotal = 0;
    setCurrentDetails(`**cycle ${state.cycle}** · ${s}${detail ? ` · ${detail}` : ''}`);
  };
  const onShard = (done: number, total: number) => {
    shardsDone = done;
    shardsTotal = total;
    stageDetail = `shard ${done}/${total}`;
  };
  const spend = (s: string, usage: Usage) => {
    const sp: Spend = state.spend;
    sp.total = addUsage(sp.total, usage);
    sp.byStage[s] = addUsage(sp.byStage[s] ?? ZERO_USAGE, usage);
    sp.byCycle[String(state.cycle)] =
      Math.round(((sp.byCycle[String(state.cycle)] ?? 0) + usage.usd) * 1e6) / 1e6;
  };
  const remainingUsd = () => state.maxUsd - state.spend.total.usd;
  const publish = () => {
    const b = best();
    upsertSearchAttributes([
      { key: SA_STATUS, value: status },
      { key: SA_CYCLE, value: state.cycle },
      ...(b ? [{ key: SA_BEST_SCORE, value: b.score }] : []),
    ]);
  };
  const finish = async (s: MigrationStatus, decision?: Decision): Promise<MigrationResult> => {
    if (decision) state.decisions.push(decision);
    let promotion: PromotionRecord | null = null;
    const b = best();
    if (config.promotion && b) {
      setStage('promote', config.promotion.channel);
      promotion = await promoteIfBetter({
        migrationId,
        config,
        channel: config.promotion.channel,
        best: b,
        test: state.ingest.test,
        teacherGenerations: state.teacher?.generations,
        target: state.target,
        remainingUsd: remainingUsd(),
        tuning,
        onSpend: (u) => spend('promote', u),
      });
    }
    status = s;
    setStage('done', s);
    const report = await data.writeReport.executeWithOptions({ summary: 'write the HTML report' }, [
      { migrationId, config, progress: progress() },
    ]);
    publish();
    return {
      migrationId,
      status,
      cycles: state.cycles,
      syntheses: state.syntheses,
      decisions: state.decisions,
      best: best(),
      teacher: state.teacher?.evaluation ?? null,
      spend: state.spend,
      promotion,
      report,
    };
  };
  const noEvaluation = (reason: string): Decision => ({
    cycle: state.cycle,
    score: 0,
    target: 0,
    teacherScore: null,
    outcome: 'stop-budget',
    reason,
  });

  if (!input.state) {
    upsertSearchAttributes([
      { key: SA_BASE_MODEL, value: config.baseModel },
      { key: SA_TEACHER, value: `${config.synthesis.teacher.provider}/${config.synthesis.teacher.model}` },
    ]);
    upsertMemo({
      name: config.name,
      baseModel: config.baseModel,
      teacher: `${config.synthesis.teacher.provider}/${config.synthesis.teacher.model}`,
      judges: config.evaluation.judges.map((j) => `${j.provider}/${j.model}`).join(', '),
      dataset: config.dataset.path,
    });
  }
  publish();

  // ---- once per migration: ingest and the teacher's own baseline -----------------------------------
  if (!input.state) {
    setStage('ingest', config.dataset.path);
    state.ingest = await data.ingestCoverage.executeWithOptions(
      { summary: `ingest ${config.dataset.path}` },
      [{ migrationId, dataset: config.dataset, split: config.split }],
    );

    setStage('teacher-baseline');
    const teacherGen = await llm.teacherBaseline.executeWithOptions(
      {
        summary: `teacher ${config.synthesis.teacher.model} answers ${state.ingest.test.count ?? '?'} test prompts`,
      },
      [
        {
          migrationId,
          test: state.ingest.test,
          teacher: config.synthesis.teacher,
          responsesPerPrompt: config.inference.responsesPerPrompt,
        },
      ],
    );
    spend('teacher-baseline', teacherGen.usage);
    const teacherEval = await evaluateGenerations(
      {
        migrationId,
        cycle: 0,
        subject: 'teacher',
        test: state.ingest.test,
        generations: teacherGen.generations,
        evaluation: { ...config.evaluation, pairwise: false },
      },
      tuning,
      remainingUsd(),
      onShard,
    );
    if (!teacherEval)
      return finish(
        'budget-exhausted',
        noEvaluation('the budget cannot pay for the teacher baseline evaluation'),
      );
    spend('evaluate', teacherEval.usage);
    state.teacher = {
      generations: teacherGen.generations,
      judgments: teacherEval.judgments,
      evaluation: teacherEval.summary,
    };
    if (patched('base-student-eval'))
      state.base = await measureBaseStudent({
        migrationId,
        config,
        test: state.ingest.test,
        teacher: state.teacher,
        target: state.target,
        remainingUsd: remainingUsd(),
        tuning,
        onStage: (s) => setStage(s, 'base student'),
        onShard,
        onSpend: (u) => spend('evaluate', u),
      });
  }

  // ---- one cycle -------------------------------------------------------------------------------------
  const cycle = state.cycle;
  const trainCount = state.ingest.train.count ?? 0;
  const samples = trainCount + state.syntheticCount;
  setStage('fine-tune', `${samples} samples`);
  const lora = loraForVolume(config.trainer, samples);
  const tuned = await gpu.fineTune.executeWithOptions(
    { summary: `fine-tune ${config.baseModel} on ${samples} samples (r=${lora.rank})` },
    [
      {
        migrationId,
        cycle,
        baseModel: config.baseModel,
        trainer: config.trainer,
        datasets: [state.ingest.train, ...state.synthetic],
        samples,
        lora,
        gpu: config.gpu,
      },
    ],
  );

  setStage('generate');
  const gen = await gpu.generate.executeWithOptions(
    { summary: `generate ${config.inference.responsesPerPrompt} responses per test prompt` },
    [
      {
        migrationId,
        cycle,
        baseModel: config.baseModel,
        adapter: tuned.adapter,
        test: state.ingest.test,
        inference: config.inference,
        gpu: config.gpu,
      },
    ],
  );

  setStage('evaluate');
  const evaluation = await evaluateGenerations(
    {
      migrationId,
      cycle,
      subject: 'student',
      test: state.ingest.test,
      generations: gen.generations,
      reference: state.teacher?.generations,
      evaluation: config.evaluation,
    },
    tuning,
    remainingUsd(),
    onShard,
  );
  if (!evaluation)
    return finish('budget-exhausted', noEvaluation(`the budget cannot pay for evaluating cycle ${cycle}`));
  spend('evaluate', evaluation.usage);

  setStage('decide');
  const verdict = decide(state.target, evaluation.summary, state.teacher?.evaluation);
  const score = verdict.value ?? 0;
  const teacherScore = verdict.teacherValue ?? null;
  const target = verdict.threshold ?? 100;
  const record: CycleRecord = {
    cycle,
    trainSamples: samples,
    syntheticSamples: state.syntheticCount,
    adapter: tuned.adapter,
    generations: gen.generations,
    judgments: evaluation.judgments,
    evaluation: evaluation.summary,
    score,
    target,
    reached: verdict.action === 'stop',
    fineTuneSeconds: tuned.seconds,
    method: tuned.method,
  };
  state.cycles.push(record);
  publish();
  const decision = (outcome: Decision['outcome'], reason: string): Decision => ({
    cycle,
    score,
    target,
    teacherScore,
    outcome,
    reason,
  });
  const fmt = (n: number) => n.toFixed(2);
  if (record.reached)
    return finish('succeeded', decision('stop-target-met', `score ${fmt(score)} >= target ${fmt(target)}`));
  const why =
    verdict.reason === 'below-target' ? `score ${fmt(score)} < target ${fmt(target)}` : verdict.reason;
  if (cycle + 1 >= config.maxCycles)
    return finish('target-not-met', decision('stop-max-cycles', `ran ${config.maxCycles} cycles`));
  if (state.stopRequested) return finish('stopped', decision('stop-requested', 'stop requested by a user'));
  // The next cycle costs at least another evaluation; do not start what the budget cannot finish.
  if (remainingUsd() <= evaluation.usage.usd)
    return finish(
      'budget-exhausted',
      decision('stop-budget', `remaining ${fmt(remainingUsd())} USD cannot pay for another cycle`),
    );
  state.decisions.push(decision('continue', why));

  // ---- synthesize more data for the next cycle --------------------------------------------------------
  const wanted = syntheticVolumeForCycle(config.synthesis, cycle + 1) - state.syntheticCount;
  if (wanted > 0) {
    setStage('synthesize', `${wanted} samples`);
    const synth = await executeChild(synthesisWorkflow, {
      workflowId: `${workflowInfo().workflowId}/synthesis-${cycle + 1}`,
      args: [
        {
          migrationId,
          cycle: cycle + 1,
          train: state.ingest.train,
          test: state.ingest.test,
          prior: state.synthetic,
          wanted,
          synthesis: config.synthesis,
          // keep enough for the next cycle's evaluation
          budgetUsd: Math.max(0, remainingUsd() - evaluation.usage.usd),
        },
        tuning,
      ],
      staticSummary: `synthesize ${wanted} samples for cycle ${cycle + 1}`,
    });
    spend('synthesize', synth.usage);
    state.syntheses.push({
      forCycle: cycle + 1,
      wanted,
      accepted: synth.accepted,
      generated: synth.generated,
      drops: synth.drops,
      dataset: synth.dataset,
      usd: synth.usage.usd,
    });
    if (synth.dataset) {
      state.synthetic.push(synth.dataset);
      state.syntheticCount += synth.accepted;
    }
    if (synth.accepted === 0 && remainingUsd() <= 0)
      return finish('budget-exhausted', decision('stop-budget', 'budget spent during synthesis'));
    if (synth.accepted === 0) {
      status = 'failed';
      publish();
      throw ApplicationFailure.nonRetryable(
        `synthesis for cycle ${cycle + 1} accepted no samples (drops: ${JSON.stringify(synth.drops)})`,
        'SynthesisFailed',
      );
    }
  }

  state.cycle = cycle + 1;
  publish();
  await condition(allHandlersFinished);
  return continueAsNew<typeof migrationWorkflow>({ migrationId, config, state, tuning: input.tuning });
}
