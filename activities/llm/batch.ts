// Bulk structured calls through a provider's batch API (about half price, slower): submit once, poll with
// a heartbeat that carries the batch id (so an activity retried on another worker resumes the same batch
// instead of paying twice), fetch the results, validate them, and retry the items that failed inside the
// batch synchronously through the ordinary client.
import type { z } from 'zod';
import { addUsage, ZERO_USAGE, type Usage } from '../../common/types';
import type { LlmRequest, StructuredResult } from './client';
import { LlmError } from './errors';
import type { BatchIdempotency, BatchItemResult } from './provider';
import { defaultSleep, usageOf, type ServiceLlmClient } from './service-client';
import { parseStructured, planStructured } from './structured';

export interface BatchItem {
  /** unique within the batch; results come back keyed by it */
  id: string;
  request: Omit<LlmRequest, 'model'>;
}

/** What the heartbeat carries: enough for a retried activity to pick the batch up again. */
export interface BatchProgress {
  batchId: string;
  state: 'submitted' | 'running' | 'ended' | 'retrying';
  done?: number;
  total?: number;
}

export interface RunBatchOptions<T> {
  client: ServiceLlmClient;
  items: BatchItem[];
  schema: z.ZodType<T>;
  name: string;
  /** batch id from the last heartbeat of an earlier attempt (Context.current().info.heartbeatDetails) */
  resumeBatchId?: string;
  /** called after submit and on every poll; pass Context.current().heartbeat */
  heartbeat?: (p: BatchProgress) => void;
  /** awaited right after a new batch is submitted, before the first poll: store the id durably here */
  onSubmitted?: (batchId: string) => Promise<void>;
  /**
   * Tags the submission; without a resume id, a batch submitted earlier with the same key is looked up (by
   * listing the account's batches) and resumed before anything is submitted, so a worker killed between the
   * provider accepting a batch and `onSubmitted` storing its id does not pay for the batch twice.
   */
  idempotency?: BatchIdempotency;
  /**
   * Asked when `signal` aborts while the batch runs: true cancels the provider batch (the run was cancelled
   * or its workflow is gone), false leaves it for the next attempt (a worker shutting down).
   */
  cancelOnAbort?: () => boolean | Promise<boolean>;
  pollIntervalMs?: number;
  /** give up waiting after this long and retry the unfinished items synchronously; default 24 h */
  maxWaitMs?: number;
  signal?: AbortSignal;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface BatchRunResult<T> {
  batchId: string;
  results: Map<string, StructuredResult<T>>;
  /** billed by the batch (discounted) plus the synchronous retries */
  usage: Usage;
  /** items that failed inside the batch and were retried synchronously */
  retriedSync: number;
}

export async function runBatch<T>(opts: RunBatchOptions<T>): Promise<BatchRunResult<T>> {
  const { client, items } = opts;
  if (items.length === 0) throw new Error('runBatch: no items');
  const ids = new Set(items.map((i) => i.id));
  if (ids.size !== items.length) throw new Error('runBatch: item ids must be unique');
  const plan = planStructured(opts.schema, opts.name);
  const requests = items.map((i) => ({ id: i.id, req: { ...i.request, model: client.model } as LlmRequest }));

  // The worst case at the batch price is held against the budget from before submit until the batch's bill
  // is known: a batch that could pass the budget is never submitted. A resumed batch was reserved by the
  // attempt that submitted it; this attempt books its bill when the results are in.
  const worst = opts.resumeBatchId
    ? 0
    : requests.reduce((usd, r) => usd + client.estimate(r.req).usd, 0) * (client.price.batchMultiplier ?? 1);
  const reservation = client.reserveBudget(worst);
  let batchId = opts.resumeBatchId;
  let raw: Map<string, BatchItemResult>;
  try {
    if (!batchId && opts.idempotency) {
      try {
        batchId = (await client.adapter.findBatch(opts.idempotency, requests.length)) ?? undefined;
      } catch (err) {
        const e = client.classifyError(err);
        throw new LlmError(e.reason, `batch lookup failed: ${e.message}`, e.retryable, e.status);
      }
      if (batchId) await opts.onSubmitted?.(batchId);
    }
    if (!batchId) {
      try {
        batchId = await client.adapter.submitBatch(
          requests.map((r) => ({ ...r, structured: plan.spec })),
          opts.idempotency,
        );
      } catch (err) {
        // classified like any call: an exhausted account or a bad key is not retried
        const e = client.classifyError(err);
        throw new LlmError(e.reason, `batch submit failed: ${e.message}`, e.retryable, e.status);
      }
      await opts.onSubmitted?.(batchId);
    }
    raw = await waitForResults(client, batchId, items.length, opts);
  } catch (err) {
    reservation?.cancel();
    if (batchId && opts.signal?.aborted && (await opts.cancelOnAbort?.()))
      await client.adapter.cancelBatch(batchId).catch(() => undefined); // best effort: it expires anyway
    throw err;
  }

  const results = new Map<string, StructuredResult<T>>();
  let usage: Usage = ZERO_USAGE;
  const retry: typeof requests = [];
  /** what the batch billed for an item whose reply could not be used: counted with its retry */
  const billedFirst = new Map<string, Usage>();
  for (const r of requests) {
    const got = raw.get(r.id);
    if (!got || 'error' in got) {
      retry.push(r);
      continue;
    }
    const u = usageOf(got, client.price, true);
    client.recordUsage(u, true);
    usage = addUsage(usage, u);
    if (got.finish === 'refusal') {
      results.set(r.id, { ok: false, reason: 'refusal', message: 'refused', usage: u, attempts: 1 });
      continue;
    }
    const parsed = got.finish === 'length' ? null : parseStructured(plan, got.text);
    if (parsed?.ok) results.set(r.id, { ok: true, value: parsed.value, usage: u, attempts: 1 });
    else {
      billedFirst.set(r.id, u);
      retry.push(r);
    }
  }
  reservation?.settle(usage.usd);

  opts.heartbeat?.({ batchId, state: 'retrying', done: results.size, total: items.length });
  // In parallel: the client's limiter bounds concurrency and pace.
  await Promise.all(
    retry.map(async (r) => {
      const res = await client.generateStructured({ ...r.req, signal: opts.signal }, opts.schema, {
        name: opts.name,
      });
      usage = addUsage(usage, res.usage);
      // per item, the batch's bill for it too: the items' usages add up to the total
      const first = billedFirst.get(r.id);
      results.set(r.id, {
        ...res,
        usage: first ? addUsage(first, res.usage) : res.usage,
        attempts: res.attempts + 1,
      });
      opts.heartbeat?.({ batchId, state: 'retrying', done: results.size, total: items.length });
    }),
  );
  return { batchId, results, usage, retriedSync: retry.length };
}

/** Polls until the batch ends (its results) or fails / runs out of time (no results: all retried). */
async function waitForResults(
  client: ServiceLlmClient,
  batchId: string,
  total: number,
  opts: Pick<RunBatchOptions<unknown>, 'heartbeat' | 'pollIntervalMs' | 'maxWaitMs' | 'signal' | 'sleep'>,
): Promise<Map<string, BatchItemResult>> {
  const sleep = opts.sleep ?? defaultSleep;
  opts.heartbeat?.({ batchId, state: 'submitted', total });
  const started = Date.now();
  const pollMs = opts.pollIntervalMs ?? 30_000;
  const outOfTime = () => Date.now() - started > (opts.maxWaitMs ?? 24 * 3600_000);
  let failedPolls = 0;
  for (;;) {
    try {
      const s = await client.adapter.batchStatus(batchId);
      failedPolls = 0;
      opts.heartbeat?.({
        batchId,
        state: s.state === 'ended' ? 'ended' : 'running',
        done: s.done,
        total: s.total ?? total,
      });
      if (s.state === 'ended') return await client.adapter.batchResults(batchId);
      if (s.state === 'failed' || outOfTime()) return new Map();
    } catch (err) {
      // A network blip or a 5xx/429 while polling must not fail an attempt that may have waited hours: it
      // is retried here with backoff. Only what waiting cannot fix (a bad key, an unknown batch) fails.
      const e = client.classifyError(err);
      if (!e.retryable || opts.signal?.aborted)
        throw new LlmError(e.reason, `batch ${batchId} poll failed: ${e.message}`, e.retryable, e.status);
      if (outOfTime()) return new Map();
      failedPolls++;
      opts.heartbeat?.({ batchId, state: 'running', total });
      await sleep(e.retryAfterMs ?? pollBackoffMs(failedPolls, pollMs), opts.signal);
      continue;
    }
    await sleep(pollMs, opts.signal);
  }
}

/** The wait after the n-th poll failing in a row: doubling from a second, at most the longer of a minute
 * and the poll interval. */
function pollBackoffMs(n: number, pollMs: number): number {
  const base = Math.min(1000, pollMs);
  return Math.min(base * 2 ** (n - 1), Math.max(60_000, pollMs));
}
