// Worker thread body: computes features for one chunk and hands the typed arrays back without copying.
import { parentPort } from 'node:worker_threads';
import { computeFeatures, type FeatureParams, type TextFields } from './features';
import { NgramSet } from './hashing';

interface Job {
  records: TextFields[];
  params: FeatureParams;
  testNgrams: { hi: Int32Array; lo: Int32Array; used: Uint8Array } | null;
}

parentPort!.on('message', (job: Job) => {
  const f = computeFeatures(
    job.records,
    job.params,
    job.testNgrams ? new NgramSet(job.testNgrams.hi, job.testNgrams.lo, job.testNgrams.used) : undefined,
  );
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
    f,
    buffers.map((b) => b.buffer as ArrayBuffer),
  );
});
