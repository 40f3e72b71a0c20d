// Child process of bench/dedup.ts: runs this project's curation (similarity steps, no quality rules) on
// the benchmark set, then lists the near-duplicate neighbours it finds for the sampled records.
// Usage: tsx bench/dedup-run.ts <set.json> <sample-ids.json> <out.json>
import { readFileSync, writeFileSync } from 'node:fs';
import { setAt } from '../activities/data/curation/features';
import { computeFeaturesParallel } from '../activities/data/curation/features-pool';
import { jaccard } from '../activities/data/curation/hashing';
import { LshBuckets } from '../activities/data/curation/lsh-buckets';
import { curate, type DedupParams } from '../activities/data/curation/pipeline';
import type { BenchSet } from './dedup-data';

const [setFile, idsFile, outFile] = process.argv.slice(2);
const { samples, test, dedup } = JSON.parse(readFileSync(setFile!, 'utf8')) as BenchSet & {
  dedup: DedupParams;
};
const sampleIds = JSON.parse(readFileSync(idsFile!, 'utf8')) as number[];

const t0 = performance.now();
const out = await curate({ samples, references: [], test, quality: null, dedup });
const seconds = (performance.now() - t0) / 1000;
const peakRssMB = process.resourceUsage().maxRSS / 1024;

// Accuracy, outside the timing: every record the LSH index pairs with a sampled record, confirmed.
const f = await computeFeaturesParallel(samples, { ...dedup, ngram: dedup.decontaminationNgram, seed: 1 });
const buckets = new LshBuckets(f.fullKeys, f.count, dedup.bands).prepare();
const neighbours: Record<number, number[]> = {};
for (const i of sampleIds) {
  const found: number[] = [];
  buckets.forEachCandidate(i, false, (j) => {
    if (jaccard(setAt(f.full, i), setAt(f.full, j)) >= dedup.threshold) found.push(j);
  });
  neighbours[i] = found;
}
writeFileSync(
  outFile!,
  JSON.stringify({
    seconds,
    peakRssMB,
    kept: out.kept.length,
    drops: out.drops,
    timings: out.timings,
    neighbours,
  }),
);
