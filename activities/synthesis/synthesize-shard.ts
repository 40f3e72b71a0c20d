// synthesizeShard: one shard of a synthesis round. Samples its seeds with a seeded RNG, asks the teacher
// for `samplesPerRequest` new examples per seed (structured output, one by one or through the provider's
// batch API), heartbeats on a timer, and writes the raw samples with lineage under a deterministic key. A
// shard that already finished is reused; one that failed midway resumes from its checkpoint, and a batch it
// submitted is picked up again by id, never submitted twice.
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { ServiceModel } from '../../common/config';
import {
  addUsage,
  ZERO_USAGE,
  type SynthesizeShardInput,
  type SynthesizeShardResult,
  type Usage,
} from '../../common/types';
import { runBatch, type BatchProgress } from '../llm/batch';
import type { LlmClient, LlmFailureReason, StructuredResult } from '../llm/client';
import type { BatchIdempotency } from '../llm/provider';
import { runEnded } from '../llm/run-ended';
import { LlmError, toActivityFailure } from '../llm/errors';
import { withSpend } from '../llm/failure-spend';
import { ServiceLlmClient } from '../llm/service-client';
import type { ArtifactStore } from '../store/artifact-store';
import { CoverageRecordSchema, readRecords } from '../data/curation/read-records';
import type { CoverageRecord, RawSample } from '../data/curation/records';
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
  /** how often a submitted batch is polled; default 30 s */
  batchPollMs?: number;
}

/** Finished requests of an unfinished shard, so that a retried attempt asks the teacher only for the rest.
 * Written after every finished request: a killed worker loses at most the requests still in flight. */
interface Checkpoint {
  /** request index -> its samples, or why it failed for good */
  results: Record<number, RawSample[] | LlmFailureReason>;
  /** everything paid so far, transient failures included */
  usage: Usage;
  /** attempts that ended with requests failing transiently (a worker crash is not one) */
  transientRounds?: number;
}

/** Failures asking again will not fix: stored in the checkpoint and counted. */
const PERMANENT: ReadonlySet<LlmFailureReason> = new Set(['refusal', 'invalid-output', 'truncated']);
/** Failures of the moment: never stored; the activity is retried for them (see TRANSIENT_ATTEMPTS). */
const TRANSIENT: ReadonlySet<LlmFailureReason> = new Set(['rate-limited', 'server-error', 'timeout']);
/** After this many rounds ending with transient failures, requests still failing are counted as failed. */
const TRANSIENT_ATTEMPTS = 3;

/**
 * The batch a shard submits: stored before submit with its idempotency key (a retry that finds no id looks
 * the batch up by the key, in case the worker died after the provider accepted it) and again with the id
 * right after submit (a retried attempt resumes it).
 */
interface SubmittedBatch {
  batchId?: string;
  /** request indices in the batch */
  items: number[];
  key?: string;
  /** when the submit was first attempted (ms since the epoch) */
  since?: number;
}

interface ShardMeta {
  generated: number;
  usage: Usage;
  failed: number;
  failures: Partial<Record<LlmFailureReason, number>>;
  batchId?: string;
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
      const base = typeof llm === 'function' ? llm(synthesis.teacher) : llm;
      const budget = input.shardBudgetUsd ?? input.budgetUsd / Math.max(1, input.shards);

      const checkpointKey = key.replace(/\.jsonl$/, '.checkpoint.json');
      const batchKey = key.replace(/\.jsonl$/, '.batch.json');
      const checkpoint: Checkpoint = (await store.find(checkpointKey))
        ? await store.readJson<Checkpoint>(checkpointKey)
        : { results: {}, usage: ZERO_USAGE };
      // Every attempt reserves its worst case against what is left of the shard's share before it is fired.
      const client = base.withSpendLimit?.(budget, checkpoint.usage.usd) ?? base;
      let usage: Usage = checkpoint.usage;
      // One write at a time; calls while one runs share the next write, which snapshots the state when it
      // starts. Resolves once a write holding everything finished before the call is stored.
      let writing: Promise<unknown> = Promise.resolve();
      let queued: Promise<void> | null = null;
      const save = (): Promise<void> => {
        queued ??= writing
          .catch(() => undefined)
          .then(async () => {
            queued = null;
            const finished = Object.keys(checkpoint.results).length;
            const snapshot: Checkpoint = { ...checkpoint, usage };
            await store.writeText(checkpointKey, JSON.stringify(snapshot));
            details.finished = Math.max(details.finished, finished);
          });
        writing = queued;
        return queued;
      };

      // Heartbeat on a timer, not only when a request finishes: a long 429 pause or a batch in the
      // provider's queue must not look like a dead worker (a retry would re-ask, and pay for, the same calls).
      const earlierBatch = (ctx?.info.heartbeatDetails as { batch?: BatchProgress } | undefined)?.batch;
      const details: {
        shard: number;
        finished: number;
        requests: number;
        usd: number;
        batch?: BatchProgress;
      } = {
        shard,
        finished: Object.keys(checkpoint.results).length,
        requests: seeds.length,
        usd: usage.usd,
        // an attempt killed after its batch ended and was checkpointed has nothing left to ask: the batch
        // it went through is still the one the earlier attempt reported
        ...(earlierBatch ? { batch: earlierBatch } : {}),
      };
      const beat = () => ctx?.heartbeat({ ...details, usd: usage.usd });
      beat();
      const everyMs = Math.max(200, Math.min(5000, (ctx?.info.heartbeatTimeoutMs ?? 15_000) / 3));
      const timer = setInterval(beat, everyMs);

      let budgetSkipped = 0;
      let cancelled = false;
      let transient = 0;
      let fatal: LlmError | undefined;
      const record = (
        q: number,
        seed: CoverageRecord,
        promptHash: string,
        res: StructuredResult<SyntheticBatch>,
      ) => {
        if (res.ok) {
          checkpoint.results[q] = res.value.examples.slice(0, synthesis.samplesPerRequest).map((ex, k) => ({
            id: `${migrationId}-c${cycle}-r${round}-s${shard}-q${q}-${k}`,
            category: seed.category,
            seedId: seed.id,
            teacher,
            cycle,
            round,
            shard,
            promptHash,
            instruction: ex.instruction,
            context: ex.context,
            response: ex.response,
          }));
        } else if (PERMANENT.has(res.reason)) checkpoint.results[q] = res.reason;
        else if (res.reason === 'budget')
          budgetSkipped++; // a retry with budget left may still make it
        else if (TRANSIENT.has(res.reason)) transient++;
        else fatal ??= new LlmError(res.reason, res.message, false); // quota, bad key, bad request
      };
      const requestOf = (q: number) => {
        const prompt = buildSynthesisPrompt(seeds[q]!, synthesis.samplesPerRequest);
        return {
          prompt,
          request: {
            system: prompt.system,
            prompt: prompt.user,
            temperature: synthesis.teacher.temperature ?? 1,
            cachePrefix: true,
          },
        };
      };
      const pending = () => seeds.map((_, q) => q).filter((q) => checkpoint.results[q] === undefined);

      try {
        if (synthesis.teacher.batch) {
          if (!(client instanceof ServiceLlmClient))
            throw ApplicationFailure.nonRetryable(
              `${teacher}: batch synthesis needs a provider client with a batch API`,
              'InvalidConfig',
            );
          usage = addUsage(usage, await viaBatch(client, pending()));
        } else await oneByOne(client, pending());
      } catch (err) {
        fatal ??= err instanceof LlmError ? err : undefined;
        if (!fatal) {
          await save().catch(() => undefined);
          // A requested cancel (the synthesis' budget was lowered below what its shards in flight may spend,
          // or the migration was cancelled) ends the shard with what it paid for, as one stopped by its
          // budget; a worker shutting down leaves it for the next attempt to resume.
          if (!ctx?.cancellationDetails?.cancelRequested) throw err;
          cancelled = true;
        }
      } finally {
        clearInterval(timer);
      }
      // Rounds are counted here, not with the activity's attempt number, which worker crashes raise too.
      if (transient > 0 && !fatal) checkpoint.transientRounds = (checkpoint.transientRounds ?? 0) + 1;
      await save(); // what finished is kept whatever happens next
      // a failure says what the shard paid (all attempts, from the checkpoint): the migration counts it
      if (fatal) throw withSpend(toActivityFailure(fatal), usage);
      if (transient > 0 && !cancelled && (checkpoint.transientRounds ?? 0) < TRANSIENT_ATTEMPTS)
        throw ApplicationFailure.create({
          type: 'LlmError:transient',
          message: `${transient} of ${seeds.length} teacher requests failed for the moment (rate limit, server error or timeout); retrying the shard`,
          details: [{ usage }],
        });

      // request order, not completion order: the same answers always give the same file
      const samples: RawSample[] = [];
      const failures: Partial<Record<LlmFailureReason, number>> = {};
      if (budgetSkipped) failures.budget = budgetSkipped;
      if (transient) failures['server-error'] = transient;
      for (let q = 0; q < seeds.length; q++) {
        const r = checkpoint.results[q];
        if (Array.isArray(r)) samples.push(...r);
        else if (r !== undefined) failures[r] = (failures[r] ?? 0) + 1;
      }
      if (cancelled) {
        const open = seeds.filter((_, q) => checkpoint.results[q] === undefined).length;
        const unasked = open - budgetSkipped - transient;
        if (unasked > 0) failures.budget = (failures.budget ?? 0) + unasked;
      }
      const failed = Object.values(failures).reduce((s, n) => s + n, 0);
      const meta: ShardMeta = {
        generated: samples.length,
        usage,
        failed,
        failures,
        batchId: details.batch?.batchId,
      };
      await store.writeJson(metaKey, meta);
      const raw = await store.writeJsonl(key, samples);
      await store.remove(checkpointKey);
      await store.remove(batchKey);
      return { raw, generated: samples.length, usage, failed };

      async function oneByOne(c: LlmClient, todo: number[]): Promise<void> {
        // A cancel request drains: no new request, and those in flight finish and are kept (the provider bills
        // them anyway). A worker shutting down aborts them; the next attempt asks them again.
        const requests = new AbortController();
        let draining = false;
        const onAbort = () => {
          if (ctx?.cancellationDetails?.cancelRequested) draining = true;
          else requests.abort(ctx?.cancellationSignal.reason);
        };
        if (ctx?.cancellationSignal.aborted) onAbort();
        else ctx?.cancellationSignal.addEventListener('abort', onAbort, { once: true });
        let next = 0;
        const worker = async () => {
          while (next < todo.length && !fatal && !draining) {
            const q = todo[next++]!;
            if (usage.usd >= budget) {
              budgetSkipped++; // not stored: a retry with budget left may still make this request
              continue;
            }
            const { prompt, request } = requestOf(q);
            const res = await c.generateStructured(
              { ...request, model: synthesis.teacher, signal: requests.signal },
              SyntheticBatch,
              { name: 'synthetic_examples' },
            );
            usage = addUsage(usage, res.usage);
            record(q, seeds[q]!, prompt.promptHash, res);
            await save(); // paid: stored before the next request, so a killed worker never asks it again
            beat();
          }
        };
        // every worker ends (a cancel aborts their requests) before the shard's outcome is decided
        const ended = await Promise.allSettled(
          Array.from({ length: Math.min(concurrency, todo.length) }, worker),
        );
        ctx?.cancellationSignal.removeEventListener('abort', onAbort);
        const failedWorker = ended.find((e) => e.status === 'rejected');
        if (failedWorker) throw failedWorker.reason;
        if (draining) cancelled = true;
      }

      /** The pending requests as one provider batch (resumed when an earlier attempt submitted it). */
      async function viaBatch(c: ServiceLlmClient, todo: number[]): Promise<Usage> {
        if (todo.length === 0) return ZERO_USAGE;
        const stored = (await store.find(batchKey)) ? await store.readJson<SubmittedBatch>(batchKey) : null;
        const fromBeat = (ctx?.info.heartbeatDetails as { batch?: BatchProgress } | undefined)?.batch
          ?.batchId;
        let items: number[];
        let resume: string | undefined;
        let idempotency: BatchIdempotency | undefined;
        if (stored && stored.items.every((q) => todo.includes(q))) {
          items = stored.items;
          resume = stored.batchId;
          if (stored.key) idempotency = { key: stored.key, since: stored.since };
        } else {
          // as many requests as the shard's share can pay for at the batch price, worst case
          const multiplier = c.price.batchMultiplier ?? 1;
          let left = budget - usage.usd;
          items = [];
          for (const q of todo) {
            const usd = c.estimate({ ...requestOf(q).request, model: synthesis.teacher }).usd * multiplier;
            if (usd > left) break;
            left -= usd;
            items.push(q);
          }
          budgetSkipped += todo.length - items.length;
          resume = stored ? undefined : fromBeat;
          if (items.length === 0) return ZERO_USAGE;
          if (!resume) {
            const key = createHash('sha256')
              .update(`${batchKey}:${items.join(',')}`)
              .digest('hex')
              .slice(0, 20);
            idempotency = { key, since: Date.now() };
            await store.writeJson(batchKey, { items, ...idempotency } satisfies SubmittedBatch);
          }
        }
        const r = await runBatch({
          client: c,
          items: items.map((q) => ({ id: String(q), request: requestOf(q).request })),
          schema: SyntheticBatch,
          name: 'synthetic_examples',
          resumeBatchId: resume,
          idempotency,
          cancelOnAbort: () => (ctx ? runEnded(ctx) : false),
          onSubmitted: async (batchId) => {
            await store.writeJson(batchKey, { batchId, items, ...idempotency } satisfies SubmittedBatch);
            details.batch = { batchId, state: 'submitted', total: items.length };
            beat();
          },
          heartbeat: (p) => {
            details.batch = p;
          },
          pollIntervalMs: deps.batchPollMs ?? 30_000,
          signal: ctx?.cancellationSignal,
        });
        details.batch = { batchId: r.batchId, state: 'ended', done: r.results.size, total: items.length };
        // the batch's bill (and its synchronous retries) is counted once, here, not per item
        for (const q of items) {
          const res = r.results.get(String(q));
          if (res) record(q, seeds[q]!, requestOf(q).prompt.promptHash, res);
        }
        return r.usage;
      }
    },
  };
}
