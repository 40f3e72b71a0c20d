// synthesizeShard: one shard of a synthesis round. Samples its seeds with a seeded RNG, asks the teacher
// for `samplesPerRequest` new examples per seed (structured output), heartbeats progress, and writes the
// raw samples with lineage under a deterministic key. A shard that already finished is reused; one that
// failed midway resumes from its checkpoint.
import { toActivityFailure } from '../llm/errors';
import type { ServiceModel } from '../../common/config';
import type { LlmClient, LlmFailureReason } from '../llm/client';
import type { ArtifactStore } from '../store/artifact-store';
import {
  addUsage,
  ZERO_USAGE,
  type SynthesizeShardInput,
  type SynthesizeShardResult,
  type Usage,
} from '../../common/types';
import { CoverageRecordSchema, readRecords } from '../data/curation/read-records';
import type { RawSample } from '../data/curation/records';
import { currentActivity } from './activity-context';
import { shardKey, shardMetaKey } from './keys';
import { buildSynthesisPrompt, SyntheticBatch } from './prompts';
import { mulberry32, seedOf } from './rng';
import { sampleSeeds } from './seeds';

export interface SynthesisDeps {
  store: ArtifactStore;
  /** one client for every model, or the client of a model (as the evaluation activities take it) */
  llm: LlmClient | ((model: ServiceModel) => LlmClient);
  /** teacher requests in flight per shard; the LLM client still enforces the provider's rate limits */
  concurrency?: number;
}

/** Finished requests of an unfinished shard, so that a retried attempt asks the teacher only for the rest. */
interface Checkpoint {
  /** request index -> its samples, or why it failed */
  results: Record<number, RawSample[] | LlmFailureReason>;
  usage: Usage;
}
const CHECKPOINT_EVERY = 20;

interface ShardMeta {
  generated: number;
  usage: Usage;
  failed: number;
  failures: Partial<Record<LlmFailureReason, number>>;
}

export function createSynthesisActivities(deps: SynthesisDeps) {
  const { store, llm } = deps;
  const concurrency = deps.concurrency ?? 8;

  return {
    async synthesizeShard(input: SynthesizeShardInput): Promise<SynthesizeShardResult> {
      const { migrationId, cycle, round, shard, synthesis } = input;
      const key = shardKey(migrationId, cycle, round, shard);
      const metaKey = shardMetaKey(migrationId, cycle, round, shard);
      const done = await store.find(key);
      if (done) {
        const meta = await store.readJson<ShardMeta>(metaKey);
        return { raw: done, generated: done.count ?? meta.generated, usage: meta.usage, failed: meta.failed };
      }

      const ctx = currentActivity();
      const train = await readRecords(store, input.train.uri, CoverageRecordSchema);
      if (train.length === 0)
        throw new Error(`${input.train.uri}: the train split is empty, nothing to seed synthesis with`);
      const count = input.requests; // this shard's requests (SynthesisPlan.requests is per shard)
      const seeds = sampleSeeds(train, count, mulberry32(seedOf(migrationId, cycle, round, shard)));
      const teacher = `${synthesis.teacher.provider}/${synthesis.teacher.model}`;
      const client = typeof llm === 'function' ? llm(synthesis.teacher) : llm;
      const budget = input.budgetUsd / Math.max(1, input.shards);

      const checkpointKey = key.replace(/\.jsonl$/, '.checkpoint.json');
      const checkpoint: Checkpoint = (await store.find(checkpointKey))
        ? await store.readJson<Checkpoint>(checkpointKey)
        : { results: {}, usage: ZERO_USAGE };
      let usage: Usage = checkpoint.usage;
      let finished = Object.keys(checkpoint.results).length;
      let next = 0;
      let saving: Promise<unknown> = Promise.resolve();
      const save = () => {
        const snapshot = JSON.stringify({ results: checkpoint.results, usage });
        saving = saving.then(() => store.writeText(checkpointKey, snapshot));
      };

      let budgetSkipped = 0;
      const worker = async () => {
        while (next < seeds.length) {
          const q = next++;
          if (checkpoint.results[q] !== undefined) continue;
          if (usage.usd >= budget) {
            // not checkpointed: a retry with budget left may still make this request
            budgetSkipped++;
            continue;
          }
          const seed = seeds[q]!;
          const prompt = buildSynthesisPrompt(seed, synthesis.samplesPerRequest);
          const res = await client.generateStructured(
            {
              model: synthesis.teacher,
              system: prompt.system,
              prompt: prompt.user,
              temperature: synthesis.teacher.temperature ?? 1,
              cachePrefix: true,
              signal: ctx?.cancellationSignal,
            },
            SyntheticBatch,
            { name: 'synthetic_examples' },
          );
          usage = addUsage(usage, res.usage);
          if (res.ok) {
            checkpoint.results[q] = res.value.examples.slice(0, synthesis.samplesPerRequest).map((ex, k) => ({
              id: `${migrationId}-c${cycle}-r${round}-s${shard}-q${q}-${k}`,
              category: seed.category,
              seedId: seed.id,
              teacher,
              cycle,
              round,
              shard,
              promptHash: prompt.promptHash,
              instruction: ex.instruction,
              context: ex.context,
              response: ex.response,
            }));
          } else checkpoint.results[q] = res.reason;
          finished++;
          if (finished % CHECKPOINT_EVERY === 0) save();
          ctx?.heartbeat({ shard, finished, requests: seeds.length, usd: usage.usd });
        }
      };
      try {
        await Promise.all(Array.from({ length: Math.min(concurrency, seeds.length) }, worker));
      } catch (err) {
        save(); // keep what finished for the retry
        await saving.catch(() => undefined);
        throw toActivityFailure(err); // a bad key or request is not retried
      }
      await saving;

      // request order, not completion order: the same answers always give the same file
      const samples: RawSample[] = [];
      const failures: Partial<Record<LlmFailureReason, number>> = budgetSkipped
        ? { budget: budgetSkipped }
        : {};
      for (let q = 0; q < seeds.length; q++) {
        const r = checkpoint.results[q];
        if (Array.isArray(r)) samples.push(...r);
        else if (r !== undefined) failures[r] = (failures[r] ?? 0) + 1;
      }
      const failed = Object.values(failures).reduce((s, n) => s + n, 0);
      const meta: ShardMeta = { generated: samples.length, usage, failed, failures };
      await store.writeJson(metaKey, meta);
      const raw = await store.writeJsonl(key, samples);
      await store.remove(checkpointKey);
      return { raw, generated: samples.length, usage, failed };
    },
  };
}
