// Runs many independent calls with bounded concurrency, heartbeating progress and checkpointing finished results
// to the artifact store, so a retried activity attempt resumes instead of paying for the same calls again.
// (A worker pool of a few lines; the rate limits themselves are the LLM client's job.)
import type { ArtifactStore } from '../store/artifact-store';
import { currentActivity } from './activity-context';

export interface ResumableRunOptions<I, R> {
  store: ArtifactStore;
  /** deterministic key of the checkpoint (JSONL of { key, result }) */
  checkpointKey: string;
  items: readonly I[];
  /** stable identity of an item across attempts */
  keyOf: (item: I) => string;
  run: (item: I, signal: AbortSignal | undefined) => Promise<R>;
  concurrency: number;
  /** write the checkpoint after this many new results (and always when stopping) */
  checkpointEvery?: number;
  /** heartbeat at least this often even without progress (calls waiting on the rate limiter); default a
   * third of the heartbeat timeout, at most 5 s */
  heartbeatEveryMs?: number;
}

export interface ResumableRunResult<R> {
  results: R[];
  /** results reused from an earlier attempt's checkpoint */
  resumed: number;
}

export async function resumableRun<I, R>(opts: ResumableRunOptions<I, R>): Promise<ResumableRunResult<R>> {
  const { store, checkpointKey, items, keyOf } = opts;
  const wanted = new Set(items.map(keyOf));
  const done = new Map<string, R>();
  if (await store.find(checkpointKey)) {
    for await (const row of store.readJsonl<{ key: string; result: R }>(checkpointKey)) {
      if (wanted.has(row.key)) done.set(row.key, row.result);
    }
  }
  const resumed = done.size;
  const todo = items.filter((it) => !done.has(keyOf(it)));
  // Captured once: timer callbacks may run outside the activity's async context.
  const activity = currentActivity();
  const signal = activity?.cancellationSignal;
  const every = opts.checkpointEvery ?? 20;
  let sinceCheckpoint = 0;
  let writing: Promise<unknown> = Promise.resolve();
  const checkpoint = () => {
    const rows = [...done].map(([key, result]) => ({ key, result }));
    writing = writing.then(() => store.writeJsonl(checkpointKey, rows));
    writing.catch(() => undefined); // surfaced by the final await, not as an unhandled rejection
    return writing;
  };
  const beat = () => activity?.heartbeat({ done: done.size, total: items.length });
  beat();

  // A cancel request drains: no new call starts, and the calls in flight finish and are kept (the provider
  // bills them anyway). A worker shutting down aborts them; the next attempt asks them again.
  const calls = new AbortController();
  const onAbort = () => {
    if (!activity?.cancellationDetails?.cancelRequested) calls.abort(signal?.reason);
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });

  let next = 0;
  let failure: unknown;
  async function worker() {
    while (failure === undefined && next < todo.length) {
      if (signal?.aborted) {
        failure ??= signal.reason ?? new Error('cancelled');
        return;
      }
      const item = todo[next++]!;
      try {
        const result = await opts.run(item, signal ? calls.signal : undefined);
        done.set(keyOf(item), result);
        beat();
        if (++sinceCheckpoint >= every) {
          sinceCheckpoint = 0;
          void checkpoint();
        }
      } catch (err) {
        failure ??= err;
      }
    }
  }
  // well within the heartbeat timeout: calls waiting out a 429 pause must not look like a dead worker
  const beatEveryMs =
    opts.heartbeatEveryMs ?? Math.max(200, Math.min(5000, (activity?.info.heartbeatTimeoutMs ?? 15_000) / 3));
  const keepAlive = setInterval(beat, beatEveryMs);
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, todo.length)) }, worker));
  } finally {
    clearInterval(keepAlive);
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure === undefined && signal?.aborted) failure = signal.reason ?? new Error('cancelled');
  if (failure !== undefined) {
    await checkpoint();
    throw failure;
  }
  await writing;
  return { results: items.map((it) => done.get(keyOf(it))!), resumed };
}

/** Removes a checkpoint once its final output is written (a leftover one is harmless, just unused). */
export async function dropCheckpoint(store: ArtifactStore, checkpointKey: string): Promise<void> {
  await store.remove(checkpointKey);
}

/** The results an unfinished run has checkpointed (none when there is no checkpoint). */
export async function checkpointRecords<R>(store: ArtifactStore, checkpointKey: string): Promise<R[]> {
  const rows: R[] = [];
  if (!(await store.find(checkpointKey))) return rows;
  for await (const row of store.readJsonl<{ key: string; result: R }>(checkpointKey)) rows.push(row.result);
  return rows;
}
