// Test activities for the workflow tests (Temporal's testing guide registers test activities on the worker).
// Ingest is the real activity. Every other stage is deterministic: scores rise by `scorePerCycle` a cycle,
// outputs are written under deterministic keys, an existing output is reused, and every write that really
// happened is appended to a ledger, so a test can prove no stage's output was written twice.
// No kinder than the real activities: pairwise judge calls are planned, made and paid for; curation drops
// a varying share per round (each sample by its own draw); synthesis and the teacher baseline stop at
// their budget as the real ones do.
import { appendFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { AllActivities } from '../../common/activities';
import type * as T from '../../common/types';
import type { JudgmentRecord } from '../../activities/eval/judgment-record';
import { summarizeJudgments } from '../../activities/eval/summarize-judgments';
import { loadEvalInputs } from '../../activities/eval/eval-inputs';
import { scoreAgainstReferences } from '../../activities/eval/reference-score';
import { ArtifactStore } from '../../activities/store/artifact-store';
import { createIngestActivities } from '../../activities/data/ingest/ingest-activity';
import { createPromotionActivities } from '../../activities/data/promotion/promotion-activities';
import { createReportActivities } from '../../activities/data/report/report-activity';

export interface FakeOptions {
  store: ArtifactStore;
  /** JSONL file that records every artifact actually written */
  ledger: string;
  baseScore?: number;
  scorePerCycle?: number;
  /** how long GPU / LLM shard activities take (heartbeating meanwhile) */
  gpuMs?: number;
  shardMs?: number;
  /** USD per judge call and per synthesis request */
  usdPerCall?: number;
  /** write the synthetic samples themselves (false: only counts, for the 256k history bench) */
  materialize?: boolean;
  /** share of generated synthetic samples curation drops */
  dropRate?: number;
  /** the level judges give the currently promoted adapter's answers */
  promotedScore?: number;
  /** what a judge call of a shard really costs when it is not usdPerCall (the estimate stays at usdPerCall) */
  judgeUsdPerCall?: (input: T.JudgeShardInput) => number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function inActivity(): boolean {
  try {
    Context.current();
    return true;
  } catch {
    return false;
  }
}

/** Sleeps `ms`, heartbeating every 200 ms so a killed worker is noticed within the heartbeat timeout. */
async function busy(ms: number, details?: unknown) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (inActivity()) Context.current().heartbeat(details);
    await sleep(Math.min(200, end - Date.now()));
  }
}

/**
 * As busy(), but ends early on a cancel request, as the real synthesis shard does; returns the share of the
 * work done. A worker shutting down (no cancel request) throws, leaving the work to the next attempt.
 */
async function busyUnlessCancelled(ms: number, details?: unknown): Promise<number> {
  if (!inActivity()) return busy(ms, details).then(() => 1);
  const ctx = Context.current();
  const start = Date.now();
  while (Date.now() < start + ms) {
    if (ctx.cancellationSignal.aborted) {
      if (!ctx.cancellationDetails?.cancelRequested) throw ctx.cancellationSignal.reason;
      return (Date.now() - start) / ms;
    }
    ctx.heartbeat(details);
    await sleep(Math.min(200, start + ms - Date.now()));
  }
  return 1;
}

function hashUnit(...parts: (string | number)[]): number {
  const h = createHash('sha256').update(parts.join('|')).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

export function usageOf(calls: number, usdPerCall: number): T.Usage {
  return {
    calls,
    inputTokens: calls * 400,
    outputTokens: calls * 120,
    cachedTokens: 0,
    usd: Math.round(calls * usdPerCall * 1e6) / 1e6,
  };
}

export function createFakeActivities(opts: FakeOptions): AllActivities {
  const { store } = opts;
  const baseScore = opts.baseScore ?? 55;
  const perCycle = opts.scorePerCycle ?? 10;
  const gpuMs = opts.gpuMs ?? 50;
  const shardMs = opts.shardMs ?? 20;
  const usdPerCall = opts.usdPerCall ?? 0.001;
  const materialize = opts.materialize ?? true;
  const dropRate = opts.dropRate ?? 0.1;
  const promotedScore = opts.promotedScore ?? 60;

  /** Returns the existing artifact, or writes it and records the write in the ledger. */
  async function once(key: string, produce: () => Promise<T.ArtifactRef>): Promise<T.ArtifactRef> {
    const existing = await store.find(key);
    if (existing) return existing;
    const ref = await produce();
    appendFileSync(opts.ledger, JSON.stringify({ key, pid: process.pid }) + '\n');
    return ref;
  }

  async function testIds(test: T.ArtifactRef): Promise<string[]> {
    const ids: string[] = [];
    for await (const r of store.readJsonl<{ id: string }>(test.uri)) ids.push(r.id);
    return ids;
  }

  /** As the real plan: a single grade per generation, judge and repeat, plus both orders when pairwise. */
  function judgeCalls(input: T.EvaluatePlanInput, prompts: number, responses: number) {
    const e = input.evaluation;
    const perRepeat = pairwiseOn(input) ? 3 : 1;
    return prompts * responses * e.repeats * e.judges.length * perRepeat;
  }
  const pairwiseOn = (input: T.EvaluatePlanInput) =>
    input.evaluation.pairwise && input.reference !== undefined;

  const ingest = createIngestActivities({ store });

  return {
    ...ingest,
    ...createPromotionActivities({ store }),
    ...createReportActivities({ store }),

    async teacherBaseline(input) {
      const ids = await testIds(input.test);
      const cost = usageOf(ids.length * input.responsesPerPrompt, usdPerCall).usd;
      if (input.budgetUsd !== undefined && cost > input.budgetUsd)
        throw ApplicationFailure.nonRetryable(
          `the teacher baseline may cost up to ${cost} USD, more than the ${input.budgetUsd} USD left in the budget`,
          'BudgetExceeded',
        );
      const key = ArtifactStore.key(input.migrationId, 'teacher', 'generations.jsonl');
      const generations = await once(key, () =>
        store.writeJsonl(
          key,
          ids.flatMap((id) =>
            Array.from({ length: input.responsesPerPrompt }, (_, s) => ({
              promptId: id,
              sample: s,
              text: `teacher ${id}`,
            })),
          ),
        ),
      );
      return { generations, usage: usageOf(ids.length * input.responsesPerPrompt, usdPerCall) };
    },

    async fineTune(input) {
      await busy(gpuMs, { phase: 'training' });
      const key = ArtifactStore.key(input.migrationId, `cycle-${input.cycle}`, 'adapter.json');
      const adapter = await once(key, () =>
        store.writeJson(key, {
          baseModel: input.baseModel,
          samples: input.samples,
          lora: input.lora,
          datasets: input.datasets.map((d) => d.sha256),
        }),
      );
      const mkey = ArtifactStore.key(input.migrationId, `cycle-${input.cycle}`, 'finetune-result.json');
      const manifest = await once(mkey, () => store.writeJson(mkey, { status: 'succeeded', method: 'lora' }));
      return { adapter, manifest, method: 'lora', trainLoss: 1 / (input.cycle + 1), seconds: 1 };
    },

    async exportAdapter(input) {
      await busy(gpuMs, { phase: 'exporting' });
      const dir = ArtifactStore.key(input.migrationId, `cycle-${input.cycle}`, 'export');
      const write = (name: string, body: object) =>
        once(`${dir}/${name}`, () => store.writeJson(`${dir}/${name}`, body));
      const from = { adapter: input.adapter.sha256 };
      const merged = input.merged || input.gguf ? await write('merged.json', from) : undefined;
      const gguf = input.gguf ? await write('model.gguf.json', from) : undefined;
      const modelfile = input.gguf ? await write('Modelfile.json', from) : undefined;
      const manifest = await write('result.json', { status: 'succeeded', command: 'export' });
      return { ...(merged && { merged }), ...(gguf && { gguf, modelfile }), manifest, seconds: 1 };
    },

    async deleteGpuWork() {
      // the fake GPU steps run inside the activity: nothing outlives a cancelled attempt
      return { deleted: [] };
    },

    async generate(input) {
      await busy(gpuMs, { phase: 'generating' });
      const ids = await testIds(input.test);
      const key = ArtifactStore.key(
        input.migrationId,
        input.tag ?? `cycle-${input.cycle}`,
        'generations.jsonl',
      );
      const generations = await once(key, () =>
        store.writeJsonl(
          key,
          ids.flatMap((id) =>
            Array.from({ length: input.inference.responsesPerPrompt }, (_, s) => ({
              promptId: id,
              sample: s,
              text: `student c${input.cycle} ${id} ${s}`,
            })),
          ),
        ),
      );
      const mkey = ArtifactStore.key(
        input.migrationId,
        input.tag ?? `cycle-${input.cycle}`,
        'generate-result.json',
      );
      const manifest = await once(mkey, () => store.writeJson(mkey, { status: 'succeeded' }));
      return { generations, manifest, seconds: 1 };
    },

    async planEvaluation(input) {
      const prompts = input.test.count ?? 0;
      const responses = Math.round((input.generations.count ?? 0) / Math.max(prompts, 1));
      const calls = judgeCalls(input, prompts, responses);
      return {
        shards: Math.max(1, Math.ceil(calls / input.evaluation.judgeCallsPerShard)),
        calls,
        estimatedUsd: usageOf(calls, usdPerCall).usd,
      };
    },

    async judgeShard(input) {
      await busy(shardMs, { shard: input.shard });
      const gens: { promptId: string; sample: number }[] = await store.readAllJsonl(input.generations.uri);
      const mine = gens.filter((_, i) => i % input.shards === input.shard);
      const key = ArtifactStore.key(
        input.migrationId,
        `cycle-${input.cycle}`,
        `judgments-${input.subject}`,
        `shard-${input.shard}.jsonl`,
      );
      const level =
        input.subject === 'teacher'
          ? 90
          : input.subject === 'promoted'
            ? promotedScore
            : baseScore + perCycle * input.cycle;
      const callUsd = opts.judgeUsdPerCall?.(input) ?? usdPerCall;
      const spent = { tokens: { input: 400, output: 120, cached: 0 }, cost: callUsd, attempts: 1 };
      const rows: JudgmentRecord[] = mine.flatMap((g) =>
        input.evaluation.judges.flatMap((j) =>
          Array.from({ length: input.evaluation.repeats }, (_, repeat) => {
            const jitter = (hashUnit(g.promptId, g.sample, j.model, repeat) - 0.5) * 10;
            const score = Math.max(0, Math.min(100, Math.round(level + jitter)));
            const base = {
              judge: `${j.provider}/${j.model}`,
              repeat,
              promptId: g.promptId,
              sample: g.sample,
            };
            const single: JudgmentRecord = {
              kind: 'single',
              ...base,
              scores: { similarity: score, precision: score },
              rationale: null,
              ...spent,
            };
            if (!pairwiseOn(input)) return [single];
            // The student wins against the teacher (level 90) as often as its level says.
            const orders = ['student-first', 'student-second'] as const;
            return [
              single,
              ...orders.map((order): JudgmentRecord => {
                const studentWins =
                  hashUnit(g.promptId, g.sample, j.model, repeat, order) < level / (level + 90);
                const studentFirst = order === 'student-first';
                return {
                  kind: 'pairwise',
                  ...base,
                  order,
                  referenceSample: g.sample,
                  verdict: studentWins === studentFirst ? 'A' : 'B',
                  rationale: null,
                  ...spent,
                };
              }),
            ];
          }).flat(),
        ),
      );
      // as the real shard: no call past its share of the budget; what was paid goes with the failure
      if (input.shardBudgetUsd !== undefined && rows.length * callUsd > input.shardBudgetUsd + 1e-9) {
        const paid = Math.floor(input.shardBudgetUsd / callUsd + 1e-9);
        throw ApplicationFailure.create({
          type: 'BudgetExhausted',
          nonRetryable: true,
          message: `judge budget exhausted after ${paid} of ${rows.length} calls`,
          details: [{ usage: usageOf(paid, callUsd) }],
        });
      }
      const judgments = await once(key, () => store.writeJsonl(key, rows));
      return { judgments, usage: usageOf(rows.length, callUsd), failed: 0 };
    },

    async summarizeEvaluation(input) {
      const rows: JudgmentRecord[] = [];
      for (const ref of input.shardOutputs) rows.push(...(await store.readAllJsonl<JudgmentRecord>(ref.uri)));
      const { summary, perSample } = summarizeJudgments(rows, {
        judges: input.evaluation.judges.map((j) => `${j.provider}/${j.model}`),
        aggregate: input.evaluation.aggregate,
        thresholds: input.evaluation.coverageThresholds,
      });
      if (input.evaluation.reference)
        summary.reference = scoreAgainstReferences(
          await loadEvalInputs(store, input),
          input.evaluation.reference.metric,
        ).summary;
      const dir = [input.migrationId, `cycle-${input.cycle}`, `eval-${input.subject}`];
      await once(ArtifactStore.key(...dir, 'per-sample.jsonl'), () =>
        store.writeJsonl(ArtifactStore.key(...dir, 'per-sample.jsonl'), perSample),
      );
      const key = ArtifactStore.key(...dir, 'judgments.jsonl');
      const judgments = await once(key, () => store.writeJsonl(key, rows));
      return { summary, judgments };
    },

    async planSynthesis(input) {
      const perShard = input.synthesis.requestsPerShard * input.synthesis.samplesPerRequest;
      // ask for a little more than missing: curation drops some
      const want = Math.ceil(input.missing / (1 - dropRate));
      const shards = Math.max(1, Math.ceil(want / perShard));
      const requests = Math.ceil(want / input.synthesis.samplesPerRequest / shards);
      return { shards, requests, estimatedUsdPerShard: usageOf(requests, usdPerCall).usd };
    },

    async synthesizeShard(input) {
      const done = await busyUnlessCancelled(shardMs, { shard: input.shard });
      // as the real shard: no request its share of the budget cannot pay for; cancelled, the requests made
      const budget = input.shardBudgetUsd ?? input.budgetUsd / Math.max(1, input.shards);
      const affordable = Math.min(input.requests, Math.floor(budget / usdPerCall + 1e-9));
      const made = done < 1 ? Math.floor(affordable * done) : affordable;
      const n = made * input.synthesis.samplesPerRequest;
      const key = ArtifactStore.key(
        input.migrationId,
        `cycle-${input.cycle}`,
        'synth',
        `round-${input.round}`,
        `shard-${input.shard}.jsonl`,
      );
      const raw = await once(key, async () =>
        materialize
          ? store.writeJsonl(
              key,
              Array.from({ length: n }, (_, i) => ({
                messages: [
                  {
                    role: 'user',
                    content: `synthetic c${input.cycle} r${input.round} s${input.shard} #${i}`,
                  },
                  { role: 'assistant', content: `answer ${i}` },
                ],
              })),
            )
          : { ...(await store.writeText(key, '')), count: n },
      );
      return {
        raw: { ...raw, count: n },
        generated: n,
        usage: usageOf(made, usdPerCall),
        failed: input.requests - made,
      };
    },

    async curateSynthesis(input) {
      const generated = input.shardOutputs.reduce((a, r) => a + (r.count ?? 0), 0);
      const before = input.accepted?.count ?? 0;
      // each sample kept or dropped by its own draw: the share dropped varies from round to round (the same
      // for every migration: runs of one config must compare equal)
      let dropped = 0;
      for (let i = 0; i < generated; i++) if (hashUnit(input.cycle, input.round, i) < dropRate) dropped++;
      const acceptedCount = Math.min(input.wanted, before + generated - dropped);
      const key = ArtifactStore.key(
        input.migrationId,
        `cycle-${input.cycle}`,
        'synth',
        `accepted-round-${input.round}.json`,
      );
      const accepted = await once(key, () =>
        store.writeJson(key, { count: acceptedCount, sources: input.shardOutputs.map((r) => r.sha256) }),
      );
      return {
        accepted: { ...accepted, count: acceptedCount },
        acceptedCount,
        drops: { 'near-duplicate': dropped },
      };
    },
  };
}
