// The evaluation activities (paper §3.4): plan the judge calls, judge one shard, summarize, and the teacher's
// baseline answers. Judges are called only through the LlmClient, whose rate limiter paces them.
import { ApplicationFailure } from '@temporalio/common';
import type {
  EvaluatePlan,
  EvaluatePlanInput,
  JudgeShardInput,
  JudgeShardResult,
  SummarizeEvaluationInput,
  SummarizeEvaluationResult,
  TeacherBaselineInput,
  TeacherBaselineResult,
  Usage,
} from '../../common/types';
import type { ServiceModel } from '../../common/config';
import type { LlmClient } from '../llm/client';
import { withSpend } from '../llm/failure-spend';
import { SpendMeter } from '../llm/spend';
import type { ArtifactStore } from '../store/artifact-store';
import { EvalInputError, loadEvalInputs, type EvalInputs } from './eval-inputs';
import { estimateEvaluationUsd, type EstimateUsd } from './estimate-cost';
import { evalOutputKey, shardCheckpointKey, shardKey } from './eval-keys';
import { judgeViaBatch, batchJudging } from './judge-batch';
import { runJudgeCall } from './judge-call';
import { judgeIds, planCalls, shardCount, shardSlice, type JudgeCall } from './judge-plan';
import type { JudgmentRecord } from './judgment-record';
import { scoreAgainstReferences } from './reference-score';
import { checkpointRecords, dropCheckpoint, resumableRun } from './resumable-run';
import { summarizeJudgments } from './summarize-judgments';
import { teacherBaseline } from './teacher-baseline';

export interface EvalDeps {
  store: ArtifactStore;
  /** one client for every model, or the client of each model (a judge or the teacher) */
  llm: LlmClient | ((model: ServiceModel) => LlmClient);
  /** judge calls in flight per activity (the client's rate limiter still decides the pace); default 8 */
  concurrency?: number;
  /** prices estimated token counts (the LLM layer's pricing table); without it plans carry no estimate */
  estimateUsd?: EstimateUsd;
  /** how often a judge batch is polled (judges with `batch: true`); default 30 s */
  batchPollMs?: number;
}

/** Loads and plans, turning bad input into a non-retryable failure that names the record. */
async function loadAndPlan(
  store: ArtifactStore,
  input: EvaluatePlanInput,
): Promise<{ inputs: EvalInputs; calls: JudgeCall[] }> {
  try {
    const pairwise = input.evaluation.pairwise && input.reference !== undefined;
    const inputs = await loadEvalInputs(store, {
      test: input.test,
      generations: input.generations,
      reference: pairwise ? input.reference : undefined,
    });
    const calls = planCalls(inputs, {
      judges: input.evaluation.judges,
      repeats: input.evaluation.repeats,
      pairwise,
    });
    return { inputs, calls };
  } catch (err) {
    if (err instanceof EvalInputError)
      throw ApplicationFailure.nonRetryable(err.message, 'InvalidEvaluationInput');
    throw err;
  }
}

function usageOf(records: readonly JudgmentRecord[]): Usage {
  const u = { calls: 0, inputTokens: 0, outputTokens: 0, cachedTokens: 0, usd: 0 };
  for (const r of records) {
    u.calls += r.attempts;
    u.inputTokens += r.tokens.input;
    u.outputTokens += r.tokens.output;
    u.cachedTokens += r.tokens.cached;
    u.usd += r.cost;
  }
  u.usd = Math.round(u.usd * 1e6) / 1e6;
  return u;
}

function shardResult(
  judgments: JudgeShardResult['judgments'],
  records: readonly JudgmentRecord[],
): JudgeShardResult {
  return { judgments, usage: usageOf(records), failed: records.filter((r) => r.error).length };
}

export function createEvalActivities(deps: EvalDeps) {
  const { store } = deps;
  const llm = (model: ServiceModel): LlmClient =>
    typeof deps.llm === 'function' ? deps.llm(model) : deps.llm;
  const concurrency = deps.concurrency ?? 8;
  // The judges' clients of one shard attempt, all drawing on one spend limit: the shard's share of the
  // budget less what its checkpoint (earlier attempts) already paid. Without a share, the plain clients.
  async function limited(
    checkpointKey: string,
    shareUsd: number | undefined,
  ): Promise<(model: ServiceModel) => LlmClient> {
    if (shareUsd === undefined) return llm;
    const paid = usageOf(await checkpointRecords<JudgmentRecord>(store, checkpointKey)).usd;
    const meter = new SpendMeter(shareUsd, paid);
    const clients = new Map<ServiceModel, LlmClient>();
    return (model) => {
      let c = clients.get(model);
      if (!c) clients.set(model, (c = llm(model).withSpendMeter?.(meter) ?? llm(model)));
      return c;
    };
  }

  return {
    async planEvaluation(input: EvaluatePlanInput): Promise<EvaluatePlan> {
      const { inputs, calls } = await loadAndPlan(store, input);
      const plan: EvaluatePlan = {
        shards: shardCount(calls.length, input.evaluation.judgeCallsPerShard),
        calls: calls.length,
      };
      if (deps.estimateUsd)
        plan.estimatedUsd = estimateEvaluationUsd(inputs, calls, input.evaluation.judges, deps.estimateUsd);
      return plan;
    },

    async judgeShard(input: JudgeShardInput): Promise<JudgeShardResult> {
      const key = shardKey(input, input.shard, input.shards);
      const existing = await store.find(key);
      if (existing) return shardResult(existing, await store.readAllJsonl<JudgmentRecord>(key));

      const { inputs, calls } = await loadAndPlan(store, input);
      let mine: JudgeCall[];
      try {
        mine = shardSlice(calls, input.shard, input.shards, input.evaluation.judgeCallsPerShard);
      } catch (err) {
        throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidEvaluationInput');
      }
      const checkpointKey = shardCheckpointKey(input, input.shard, input.shards);
      const judges = input.evaluation.judges;
      const judgeClients = await limited(checkpointKey, input.shardBudgetUsd);
      let results: JudgmentRecord[];
      try {
        results = batchJudging(judges)
          ? await judgeViaBatch({
              store,
              checkpointKey,
              calls: mine,
              judges,
              inputs,
              llmFor: llm,
              pollMs: deps.batchPollMs ?? 30_000,
              concurrency,
            })
          : (
              await resumableRun({
                store,
                checkpointKey,
                items: mine,
                keyOf: (c) => String(c.index),
                concurrency,
                run: (call, signal) => runJudgeCall(judgeClients, judges, inputs, call, signal),
              })
            ).results;
      } catch (err) {
        // what the finished calls (this attempt's and earlier ones') paid goes with the failure
        throw withSpend(err, usageOf(await checkpointRecords<JudgmentRecord>(store, checkpointKey)));
      }
      const ref = await store.writeJsonl(key, results);
      await dropCheckpoint(store, checkpointKey);
      return shardResult(ref, results);
    },

    async summarizeEvaluation(input: SummarizeEvaluationInput): Promise<SummarizeEvaluationResult> {
      const summaryKey = evalOutputKey(input, 'summary.json');
      if (await store.find(summaryKey)) return store.readJson<SummarizeEvaluationResult>(summaryKey);

      const records: JudgmentRecord[] = [];
      for (const ref of input.shardOutputs)
        records.push(...(await store.readAllJsonl<JudgmentRecord>(ref.uri)));
      const { inputs, calls } = await loadAndPlan(store, input);
      if (records.length !== calls.length) {
        throw ApplicationFailure.nonRetryable(
          `shard outputs hold ${records.length} judgments but the plan has ${calls.length} calls`,
          'IncompleteEvaluation',
        );
      }
      const { summary, perSample } = summarizeJudgments(records, {
        judges: judgeIds(input.evaluation.judges),
        aggregate: input.evaluation.aggregate,
        thresholds: input.evaluation.coverageThresholds,
      });
      if (input.evaluation.reference) {
        const reference = scoreAgainstReferences(inputs, input.evaluation.reference.metric);
        await store.writeJsonlOnce(evalOutputKey(input, 'reference.jsonl'), reference.perSample);
        summary.reference = reference.summary;
      }
      const judgments = await store.writeJsonlOnce(evalOutputKey(input, 'judgments.jsonl'), records);
      await store.writeJsonlOnce(evalOutputKey(input, 'per-sample.jsonl'), perSample);
      const result: SummarizeEvaluationResult = { summary, judgments };
      await store.writeJson(summaryKey, result); // last: marks the step finished
      return result;
    },

    async teacherBaseline(input: TeacherBaselineInput): Promise<TeacherBaselineResult> {
      return teacherBaseline({ store, llm: llm(input.teacher), concurrency }, input);
    },
  };
}
