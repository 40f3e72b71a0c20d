// A judge shard's calls through the judges' batch APIs (judges configured with `batch: true`): one batch
// per judge and kind of call (single grade / pairwise verdict: one answer schema each), submitted together
// and polled by this heartbeating activity. Each batch id is stored right after submit, so an attempt
// retried after a crash resumes it instead of paying again; finished records are checkpointed like the
// synchronous path's (the same JSONL of { key, result }), and the judges without batch go synchronously.
import { createHash } from 'node:crypto';
import type { ServiceModel } from '../../common/config';
import { runBatch, type BatchProgress } from '../llm/batch';
import type { LlmClient } from '../llm/client';
import { ServiceLlmClient } from '../llm/service-client';
import { runEnded } from '../llm/run-ended';
import type { ArtifactStore } from '../store/artifact-store';
import { currentActivity } from './activity-context';
import type { EvalInputs } from './eval-inputs';
import { answerSchemaOf, judgeRequestOf, judgmentOf, runJudgeCall } from './judge-call';
import type { JudgeCall } from './judge-plan';
import type { JudgmentRecord } from './judgment-record';

export interface JudgeBatchOptions {
  store: ArtifactStore;
  checkpointKey: string;
  calls: readonly JudgeCall[];
  judges: readonly ServiceModel[];
  inputs: EvalInputs;
  llmFor: (model: ServiceModel) => LlmClient;
  pollMs: number;
  concurrency: number;
}

interface SubmittedBatch {
  /** absent while only the intent to submit is stored (see `key`) */
  batchId?: string;
  /** the submission's idempotency key: a retry finding no id looks the batch up by it */
  key?: string;
  since?: number;
  /** call indices in the batch */
  items: number[];
}

/** Whether any of the judges is configured for its provider's batch API. */
export function batchJudging(judges: readonly ServiceModel[]): boolean {
  return judges.some((j) => j.batch);
}

export async function judgeViaBatch(opts: JudgeBatchOptions): Promise<JudgmentRecord[]> {
  const { store, checkpointKey, calls, judges, inputs, llmFor } = opts;
  const done = new Map<number, JudgmentRecord>();
  if (await store.find(checkpointKey))
    for await (const row of store.readJsonl<{ key: string; result: JudgmentRecord }>(checkpointKey))
      done.set(Number(row.key), row.result);
  const pending = calls.filter((c) => !done.has(c.index));
  const ctx = currentActivity();
  const signal = ctx?.cancellationSignal;
  const batches: Record<string, BatchProgress> = {};
  const beat = () => ctx?.heartbeat({ done: done.size, total: calls.length, batches });
  beat();
  const timer = setInterval(
    beat,
    Math.max(200, Math.min(5000, (ctx?.info.heartbeatTimeoutMs ?? 15_000) / 3)),
  );

  // One write at a time; calls while one runs share the next write, which snapshots `done` when it starts.
  let writing: Promise<unknown> = Promise.resolve();
  let queued: Promise<void> | null = null;
  const checkpoint = (): Promise<void> => {
    queued ??= writing
      .catch(() => undefined)
      .then(async () => {
        queued = null;
        const rows = [...done].map(([index, result]) => ({ key: String(index), result }));
        await store.writeJsonl(checkpointKey, rows);
      });
    writing = queued;
    return queued;
  };

  let failure: unknown;
  const record = (call: JudgeCall, res: Parameters<typeof judgmentOf>[1]) => {
    try {
      done.set(call.index, judgmentOf(call, res));
    } catch (err) {
      failure ??= err; // transient, budget or quota: the rest is still kept
    }
  };

  const batchKeys = new Set<string>();
  const groups = new Map<string, JudgeCall[]>();
  const sync: JudgeCall[] = [];
  for (const c of pending) {
    const model = judges[c.judgeIndex]!;
    if (!model.batch || !(llmFor(model) instanceof ServiceLlmClient)) sync.push(c);
    else groups.set(`${c.judgeIndex}-${c.kind}`, [...(groups.get(`${c.judgeIndex}-${c.kind}`) ?? []), c]);
  }

  async function runGroup(group: string, members: JudgeCall[]): Promise<void> {
    const model = judges[members[0]!.judgeIndex]!;
    const client = llmFor(model) as ServiceLlmClient;
    const { schema, name } = answerSchemaOf(members[0]!);
    const batchKey = `${checkpointKey.replace(/\.jsonl?$/, '')}.batch-${group}.json`;
    batchKeys.add(batchKey);
    const stored = (await store.find(batchKey)) ? await store.readJson<SubmittedBatch>(batchKey) : null;
    const indices = new Set(members.map((c) => c.index));
    const resume = stored && stored.items.every((i) => indices.has(i)) ? stored : null;
    const items = resume ? members.filter((c) => resume.items.includes(c.index)) : members;
    let idempotency = resume?.key ? { key: resume.key, since: resume.since } : undefined;
    if (!resume?.batchId && !idempotency) {
      const indices = items.map((c) => c.index);
      const key = createHash('sha256')
        .update(`${batchKey}:${indices.join(',')}`)
        .digest('hex')
        .slice(0, 20);
      idempotency = { key, since: Date.now() };
      await store.writeJson(batchKey, { items: indices, ...idempotency } satisfies SubmittedBatch);
    }
    const r = await runBatch({
      client,
      items: items.map((c) => {
        const { system, prompt } = judgeRequestOf(judges, inputs, c);
        return { id: String(c.index), request: { system, prompt, cachePrefix: true } };
      }),
      schema,
      name,
      resumeBatchId: resume?.batchId,
      idempotency,
      cancelOnAbort: () => (ctx ? runEnded(ctx) : false),
      onSubmitted: async (batchId) => {
        await store.writeJson(batchKey, {
          batchId,
          items: items.map((c) => c.index),
          ...idempotency,
        } satisfies SubmittedBatch);
        batches[group] = { batchId, state: 'submitted', total: items.length };
        beat();
      },
      heartbeat: (p) => {
        batches[group] = p;
      },
      pollIntervalMs: opts.pollMs,
      signal,
    });
    for (const c of items) {
      const res = r.results.get(String(c.index));
      if (res) record(c, res);
    }
    // stored before anything else is submitted: a follow-up batch replaces this one's id in `batchKey`, so a
    // kill during its wait must not leave these answers only in memory (they would be submitted again)
    await checkpoint();
    // items left out of a resumed batch (an earlier attempt finished part of the group) go as a new one
    if (items.length < members.length)
      await runGroup(
        group,
        members.filter((c) => !indices.has(c.index) || !items.includes(c)),
      );
  }

  async function runSync(): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < sync.length && failure === undefined) {
        const c = sync[next++]!;
        try {
          done.set(c.index, await runJudgeCall(llmFor, judges, inputs, c, signal));
        } catch (err) {
          failure ??= err;
        }
        beat();
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, sync.length)) }, worker));
  }

  try {
    await Promise.all([...[...groups].map(([g, m]) => runGroup(g, m)), runSync()]);
  } catch (err) {
    failure ??= err;
  } finally {
    clearInterval(timer);
    await checkpoint();
  }
  if (failure !== undefined) throw failure;
  for (const key of batchKeys) await store.remove(key);
  return calls.map((c) => done.get(c.index)!);
}
