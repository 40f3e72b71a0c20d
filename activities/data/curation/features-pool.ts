// Splits a feature computation over worker threads. Below a few thousand records the thread start-up
// costs more than it saves, so small batches are computed inline.
import { availableCores } from '../../cpu-cores';
import { Worker } from 'node:worker_threads';
import {
  computeFeatures,
  concatFeatures,
  type FeatureParams,
  type Features,
  type TextFields,
} from './features';
import type { NgramSet } from './hashing';

const INLINE_BELOW = 4000;

// The worker file has the same extension as this module: .ts under tsx, .js once compiled.
const WORKER_URL = new URL(
  `./features-worker${import.meta.url.endsWith('.js') ? '.js' : '.ts'}`,
  import.meta.url,
);

export function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableCores()));
}

export async function computeFeaturesParallel(
  records: readonly TextFields[],
  params: FeatureParams,
  opts: { testNgrams?: NgramSet; threads?: number } = {},
): Promise<Features> {
  const threads = opts.threads ?? defaultThreads();
  if (threads <= 1 || records.length < INLINE_BELOW) return computeFeatures(records, params, opts.testNgrams);
  const t = opts.testNgrams;
  const testNgrams = t && t.size > 0 ? { hi: t.hi, lo: t.lo, used: t.used } : null;
  const chunk = Math.ceil(records.length / threads);
  const parts = await Promise.all(
    Array.from({ length: threads }, (_, t) => {
      const slice = records.slice(t * chunk, (t + 1) * chunk).map((r) => ({
        instruction: r.instruction,
        context: r.context,
        response: r.response,
        ...(r.category !== undefined ? { category: r.category } : {}),
      }));
      return runWorker({ records: slice, params, testNgrams });
    }),
  );
  return concatFeatures(parts, params.bands);
}

function runWorker(job: {
  records: TextFields[];
  params: FeatureParams;
  testNgrams: { hi: Int32Array; lo: Int32Array; used: Uint8Array } | null;
}): Promise<Features> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER_URL);
    w.once('message', (f: Features) => {
      resolve(f);
      void w.terminate();
    });
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`feature worker exited with code ${code}`));
    });
    w.postMessage(job);
  });
}
