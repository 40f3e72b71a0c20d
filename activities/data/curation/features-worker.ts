// Worker thread body (features-pool.ts): keeps its chunk of the batch, answers with the exact-duplicate
// keys, then with the features of the chunk's live records (and, when asked, the calibration
// neighbours of the real records it starts with), handing the typed arrays back without copying.
import { parentPort } from 'node:worker_threads';
import { exactKeys } from './exact-dedup';
import { computeFeatures, type TextFields } from './features';
import { calibrationNeighbours, type FeatureAnswer, type FeatureJob } from './features-pool';
import { NgramSet } from './hashing';

let records: TextFields[] = [];
let computed = false;

parentPort!.on('message', (job: FeatureJob) => {
  if (job.type === 'records') {
    records = job.records;
    const keys = exactKeys(records.slice(job.keysFrom));
    parentPort!.postMessage(keys, [keys.buffer as ArrayBuffer]);
    return;
  }
  // one features job per chunk: the records are let go after it
  if (computed) throw new Error('feature worker: a second features job for the same chunk');
  computed = true;
  // job.live covers the start of the chunk this worker computes; the caller takes the rest
  const chosen = records.slice(0, job.live.length).filter((_, i) => job.live[i]);
  const f = computeFeatures(
    chosen,
    job.params,
    job.testNgrams ? new NgramSet(job.testNgrams.hi, job.testNgrams.lo, job.testNgrams.used) : undefined,
  );
  const neighbours = job.calibrate ? calibrationNeighbours(chosen, f, job.calibrate, job.params) : null;
  records = [];
  const buffers = [
    f.full.offsets,
    f.full.data,
    f.fullKeys,
    f.prompt.offsets,
    f.prompt.data,
    f.promptKeys,
    f.ngramHit,
  ];
  parentPort!.postMessage(
    { features: f, neighbours } satisfies FeatureAnswer,
    buffers.map((b) => b.buffer as ArrayBuffer),
  );
});
