// planSynthesis and curateSynthesis: the data-queue side of a synthesis round. Planning sizes a round
// from the samples still missing; curation runs the curation pipeline on the round's shard outputs
// against the train split, earlier cycles' data and what earlier rounds accepted, and decontaminates
// against the test split.
import type { ServiceModel } from '../../common/config';
import type { ArtifactStore } from '../store/artifact-store';
import type { CurateInput, CurateResult, SynthesisPlan, SynthesisPlanInput } from '../../common/types';
import { curate } from '../data/curation/pipeline';
import { buildQualityProfile } from '../data/curation/quality';
import {
  CoverageRecordSchema,
  RawSampleSchema,
  readRecords,
  SyntheticSampleSchema,
} from '../data/curation/read-records';
import {
  fieldsOfSample,
  toSyntheticSample,
  type CoverageRecord,
  type SyntheticSample,
} from '../data/curation/records';
import { heartbeat } from './activity-context';
import { acceptedKey, curationMetaKey } from './keys';
import { buildSynthesisPrompt } from './prompts';

/** More requests than strictly needed, since curation drops part of what the teacher writes. */
const OVERSHOOT = 1.3;

/** Prices a token count on a model (the LLM layer's pricing table); same shape as the evaluation's. */
export type EstimateUsd = (model: ServiceModel, tokens: { input: number; output: number }) => number;

/** Round sizing: `requests` is per shard (the workflow hands it to every shard as is). */
export function planSynthesis(input: SynthesisPlanInput): SynthesisPlan {
  const { samplesPerRequest, requestsPerShard } = input.synthesis;
  if (input.missing <= 0) return { shards: 0, requests: 0 };
  const total = Math.ceil((input.missing * OVERSHOOT) / samplesPerRequest);
  const shards = Math.ceil(total / requestsPerShard);
  return { shards, requests: Math.ceil(total / shards) };
}

const tokensOf = (s: string) => Math.ceil(s.length / 4);
/** the LLM client's output allowance when the model config sets none (service-client defaultMaxTokens) */
const DEFAULT_MAX_OUTPUT_TOKENS = 1024;
const SEEDS_PRICED = 200;
const HEARTBEAT_EVERY_MS = 5000;

/** Mean teacher price of one request, from the prompts of (up to 200) train seeds; 4 characters a token. */
export function estimateRequestUsd(
  train: readonly CoverageRecord[],
  input: SynthesisPlanInput,
  estimate: EstimateUsd,
  /** price the whole output allowance, as the client reserves it before a call */
  worstCase = false,
): number {
  const { teacher, samplesPerRequest } = input.synthesis;
  const seeds = train.slice(0, SEEDS_PRICED);
  if (seeds.length === 0) return 0;
  let usd = 0;
  for (const seed of seeds) {
    const p = buildSynthesisPrompt(seed, samplesPerRequest);
    // the answer: samplesPerRequest examples about the seed's size, plus JSON keys and quotes
    let output = samplesPerRequest * (tokensOf(seed.instruction + seed.context + seed.response) + 15);
    if (teacher.maxOutputTokens) output = Math.min(output, teacher.maxOutputTokens);
    if (worstCase) output = teacher.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
    usd += estimate(teacher, { input: tokensOf(p.system) + tokensOf(p.user), output });
  }
  return usd / seeds.length;
}

export interface SynthesisDataDeps {
  store: ArtifactStore;
  /** worker threads for curation features; default: available cores, at most 4 */
  threads?: number;
  /** prices teacher tokens; without it plans carry no estimate */
  estimateUsd?: EstimateUsd;
}

export function createSynthesisDataActivities(deps: SynthesisDataDeps) {
  const { store } = deps;

  return {
    async planSynthesis(input: SynthesisPlanInput): Promise<SynthesisPlan> {
      const plan = planSynthesis(input);
      if (deps.estimateUsd && plan.shards > 0) {
        const train = await readRecords(store, input.train.uri, CoverageRecordSchema);
        const perRequest = estimateRequestUsd(train, input, deps.estimateUsd);
        plan.estimatedUsdPerShard = Math.round(perRequest * plan.requests * 1e6) / 1e6;
        const worst = estimateRequestUsd(train, input, deps.estimateUsd, true);
        plan.worstUsdPerRequest = Math.round(worst * 1e6) / 1e6;
      }
      return plan;
    },

    async curateSynthesis(input: CurateInput): Promise<CurateResult> {
      const { migrationId, cycle, round } = input;
      const key = acceptedKey(migrationId, cycle, round);
      const metaKey = curationMetaKey(migrationId, cycle, round);
      const done = await store.find(key);
      if (done) {
        const meta = await store.readJson<{ drops: Record<string, number> }>(metaKey);
        return { accepted: done, acceptedCount: done.count ?? 0, drops: meta.drops };
      }

      // Heartbeat on a timer too: reading and the (worker-thread) feature step can outlast a heartbeat
      // timeout at 256k samples; the matching steps are synchronous but take seconds each.
      const progress = { step: 'read' };
      heartbeat(progress);
      const timer = setInterval(() => heartbeat(progress), HEARTBEAT_EVERY_MS);
      let loaded: Awaited<ReturnType<typeof loadAndCurate>>;
      try {
        loaded = await loadAndCurate(store, input, deps.threads, (done) => {
          progress.step = `after ${done}`;
          heartbeat(progress);
        });
      } finally {
        clearInterval(timer);
      }
      const { out, raw, acceptedSoFar } = loaded;

      const room = Math.max(0, input.wanted - acceptedSoFar.length);
      const drops: Record<string, number> = { ...out.drops };
      if (out.kept.length > room) drops['over-volume'] = out.kept.length - room;
      const accepted = [...acceptedSoFar, ...out.kept.slice(0, room).map(toSyntheticSample)];
      await store.writeJson(metaKey, {
        generated: raw.length,
        kept: out.kept.length,
        drops,
        timings: out.timings,
        thresholds: out.thresholds,
        calibration: out.calibration,
        templates: out.templates,
        examples: out.examples,
      });
      const ref = await store.writeJsonl(key, accepted);
      return { accepted: ref, acceptedCount: accepted.length, drops };
    },
  };
}

async function loadAndCurate(
  store: ArtifactStore,
  input: CurateInput,
  threads: number | undefined,
  onStep: (step: string) => void,
) {
  const train = await readRecords(store, input.train.uri, CoverageRecordSchema);
  const test = await readRecords(store, input.test.uri, CoverageRecordSchema);
  const prior: SyntheticSample[] = [];
  for (const ref of input.prior) prior.push(...(await readRecords(store, ref.uri, SyntheticSampleSchema)));
  const acceptedSoFar = input.accepted
    ? await readRecords(store, input.accepted.uri, SyntheticSampleSchema)
    : [];
  const raw = [];
  for (const ref of input.shardOutputs) raw.push(...(await readRecords(store, ref.uri, RawSampleSchema)));
  onStep('read');
  const out = await curate({
    samples: raw,
    references: [
      ...train,
      ...[...prior, ...acceptedSoFar].map((s) => ({ ...fieldsOfSample(s), category: s.category })),
    ],
    real: train.length,
    test,
    quality: buildQualityProfile(train),
    dedup: input.synthesis.dedup,
    threads,
    onStep,
  });
  return { out, raw, acceptedSoFar };
}
