// Splits a curation batch into chunks, one per thread: the last chunk stays on the calling thread (it
// would otherwise wait idle), the others go to worker threads. Each thread hashes the exact-duplicate
// keys of its chunk first, then computes the similarity features of its records still live, so the
// records cross to the workers once and both passes run in parallel. The first worker's chunk starts with
// the references: it also measures the real records' nearest neighbours for threshold calibration, off
// the calling thread's path. Below a few thousand records the thread start-up costs more than it saves,
// so small batches are computed inline.
import { Worker } from 'node:worker_threads';
import { availableCores } from '../../cpu-cores';
import { exactKeys } from './exact-dedup';
import { CALIBRATION_QUERIES, realNeighbourSimilarities, type NeighbourSimilarities } from './calibrate';
import {
  computeFeatures,
  concatFeatures,
  variablePromptWords,
  type FeatureParams,
  type Features,
  type TextFields,
} from './features';
import { TemplateMasker } from './templates';
import type { NgramSet } from './hashing';

const INLINE_BELOW = 4000;
/**
 * Share of each worker's chunk whose exact keys the calling thread computes while the worker is still
 * receiving its records (copying them in costs the worker about what hashing a third of them does).
 */
const KEYS_ON_CALLER = 0.3;
/** What measuring one real record's nearest neighbours costs, in records' features. */
const CALIBRATION_COST = 12;

// The worker file has the same extension as this module: .ts under tsx, .js once compiled.
const WORKER_URL = new URL(
  `./features-worker${import.meta.url.endsWith('.js') ? '.js' : '.ts'}`,
  import.meta.url,
);

export function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableCores()));
}

/** What a worker is sent: its chunk once, then the live mask of that chunk. */
export type FeatureJob =
  | { type: 'records'; records: TextFields[]; keysFrom: number }
  | {
      type: 'features';
      live: Uint8Array;
      params: FeatureParams;
      testNgrams: { hi: Int32Array; lo: Int32Array; used: Uint8Array } | null;
      /** real records at the start of the chunk to calibrate on (0: none) */
      calibrate: number;
    };

/** What a worker answers to a features job. */
export interface FeatureAnswer {
  features: Features;
  neighbours: NeighbourSimilarities | null;
}

/** Nearest-neighbour similarities of the first `real` records, computed on the features of a chunk. */
export function calibrationNeighbours(
  records: readonly TextFields[],
  f: Features,
  real: number,
  params: FeatureParams,
): NeighbourSimilarities {
  const masker = params.templates ? new TemplateMasker(params.templates) : null;
  return realNeighbourSimilarities(f, real, (i) => variablePromptWords(records[i]!, masker));
}

export class FeaturePool {
  private readonly workers: WorkerChannel[] = [];
  /** [start, end) of each worker's chunk */
  private readonly chunks: [number, number][] = [];
  /** [start, end) of the chunk computed on the calling thread */
  private readonly own: [number, number];
  /** the workers' first answers (their exact keys) */
  private readonly keys: Promise<Int32Array>[] = [];
  /** where each worker's own exact keys start (the caller hashes its chunk up to there) */
  private readonly keysFrom: number[] = [];

  /** Starts threads - 1 workers and hands each its chunk of `records` (none for small batches). */
  constructor(
    private readonly records: readonly TextFields[],
    threads = defaultThreads(),
  ) {
    if (threads <= 1 || records.length < INLINE_BELOW) {
      this.own = [0, records.length];
      return;
    }
    const chunk = Math.ceil(records.length / threads);
    this.own = [(threads - 1) * chunk, records.length];
    try {
      this.startWorkers(threads - 1, chunk);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  private startWorkers(count: number, chunk: number): void {
    const { records } = this;
    for (let t = 0; t < count; t++) {
      const range: [number, number] = [t * chunk, Math.min(records.length, (t + 1) * chunk)];
      const slice = records.slice(...range).map((r) => ({
        instruction: r.instruction,
        context: r.context,
        response: r.response,
        ...(r.category !== undefined ? { category: r.category } : {}),
      }));
      const w = new WorkerChannel();
      this.workers.push(w);
      const keysFrom = Math.floor(slice.length * KEYS_ON_CALLER);
      // listened for from the start, so that the answer cannot be missed
      this.keys.push(w.request<Int32Array>({ type: 'records', records: slice, keysFrom }));
      this.keysFrom.push(range[0] + keysFrom);
      this.chunks.push(range);
    }
  }

  /** exactKeys of every record, in order. */
  async exactKeys(): Promise<Int32Array> {
    const out = new Int32Array(this.records.length * 2);
    out.set(exactKeys(this.records.slice(...this.own)), this.own[0] * 2);
    this.chunks.forEach(([start], t) =>
      out.set(exactKeys(this.records.slice(start, this.keysFrom[t])), start * 2),
    );
    const parts = await Promise.all(this.keys);
    parts.forEach((keys, t) => out.set(keys, this.keysFrom[t]! * 2));
    return out;
  }

  /**
   * Features of the records with live[i] set, in order; with `calibrate` (the real records, at the start
   * of the batch and live), also their nearest-neighbour similarities.
   */
  async features(
    live: Uint8Array,
    params: FeatureParams,
    testNgrams?: NgramSet,
    calibrate = 0,
  ): Promise<{ features: Features; neighbours: NeighbourSimilarities | null }> {
    // the first worker calibrates when the real records are all in its chunk
    const onWorker = calibrate >= 2 && this.chunks.length > 0 && calibrate <= this.chunks[0]![1];
    const t =
      testNgrams && testNgrams.size > 0
        ? { hi: testNgrams.hi, lo: testNgrams.lo, used: testNgrams.used }
        : null;
    // Equal shares of the live records: a worker computes its chunk up to its share (less an allowance
    // for calibrating) and this thread the rest of the batch. Records stay where they are; only the cut
    // moves, since this thread holds every record.
    let liveCount = 0;
    for (let i = 0; i < live.length; i++) liveCount += live[i]!;
    const share = liveCount / (this.workers.length + 1);
    const cuts = this.chunks.map(([start, end], k) => {
      const calibrating = onWorker && k === 0;
      let want = share - (calibrating ? Math.min(calibrate, CALIBRATION_QUERIES) * CALIBRATION_COST : 0);
      // the worker that calibrates keeps the real records it calibrates on
      let i = calibrating ? start + calibrate : start;
      for (let j = start; j < i; j++) want -= live[j]!;
      while (i < end && want > 0) want -= live[i++]!;
      return i;
    });
    const answers = Promise.all(
      this.workers.map((w, k) => {
        const [start] = this.chunks[k]!;
        return w.request<FeatureAnswer>({
          type: 'features',
          live: live.slice(start, cuts[k]),
          params,
          testNgrams: t,
          calibrate: onWorker && k === 0 ? calibrate : 0,
        });
      }),
    );
    answers.catch(() => {}); // awaited below, unless this thread's share fails first
    const liveIn = (from: number, to: number) =>
      computeFeatures(
        this.records.slice(from, to).filter((_, i) => live[from + i]),
        params,
        testNgrams,
      );
    // this thread: the rest of each worker's chunk, then its own chunk
    const mine = [...this.chunks.map(([, end], k) => liveIn(cuts[k]!, end)), liveIn(...this.own)];
    if (this.workers.length === 0)
      return {
        features: mine[0]!,
        neighbours: calibrate >= 2 ? calibrationNeighbours(this.records, mine[0]!, calibrate, params) : null,
      };
    const parts = await answers;
    const ordered = parts.flatMap((p, k) => [p.features, mine[k]!]);
    const features = concatFeatures([...ordered, mine.at(-1)!], params.bands);
    const neighbours = onWorker
      ? parts[0]!.neighbours
      : calibrate >= 2
        ? calibrationNeighbours(this.records, features, calibrate, params)
        : null;
    return { features, neighbours };
  }

  /** Stops the threads (also after a failure part-way). */
  close(): void {
    for (const w of this.workers) w.close();
    this.workers.length = 0;
  }
}

/**
 * One worker and its one pending request. A failure (an error, an exit) rejects what is pending and
 * every later request, so a worker that dies between two requests cannot leave the caller waiting.
 */
class WorkerChannel {
  private readonly worker = new Worker(WORKER_URL);
  private pending: { resolve: (m: unknown) => void; reject: (e: Error) => void } | null = null;
  private failed: Error | null = null;

  constructor() {
    this.worker.on('message', (m: unknown) => {
      const p = this.pending;
      this.pending = null;
      if (p) p.resolve(m);
      else this.fail(new Error('feature worker: a message with no request'));
    });
    this.worker.on('messageerror', (e: Error) => this.fail(e));
    this.worker.on('error', (e: Error) => this.fail(e));
    this.worker.on('exit', (code: number) => this.fail(new Error(`feature worker exited with code ${code}`)));
  }

  /** Posts `job`; the worker's answer, or its failure. */
  request<T>(job: FeatureJob): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.pending) throw new Error('feature worker: a request while another is waiting');
    const answer = new Promise<T>((resolve, reject) => {
      this.pending = { resolve: resolve as (m: unknown) => void, reject };
    });
    answer.catch(() => {}); // the caller awaits it; a pool closed before that must not fail unhandled
    this.worker.postMessage(job);
    return answer;
  }

  close(): void {
    this.fail(new Error('feature pool closed'));
    void this.worker.terminate();
  }

  private fail(e: Error): void {
    this.failed ??= e;
    const p = this.pending;
    this.pending = null;
    p?.reject(this.failed);
  }
}
