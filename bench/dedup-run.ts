// Child process of bench/dedup.ts: runs this project's curation (similarity steps, no quality rules) on
// the benchmark set, then lists the near-duplicate neighbours it finds for the sampled records.
// Usage: tsx bench/dedup-run.ts <samples.jsonl> <test.jsonl> <dedup.json> <sample-ids.json> <out.json>
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setAt } from '../activities/data/curation/features';
import { computeFeaturesParallel } from '../activities/data/curation/features-pool';
import { jaccard } from '../activities/data/curation/hashing';
import { LshBuckets } from '../activities/data/curation/lsh-buckets';
import { curate, type DedupParams } from '../activities/data/curation/pipeline';
import type { CoverageRecord } from '../activities/data/curation/records';

const [samplesFile, testFile, dedupFile, idsFile, outFile] = process.argv.slice(2);

// line by line, as the curation activity reads the artifact store
async function readJsonl(file: string): Promise<CoverageRecord[]> {
  const out: CoverageRecord[] = [];
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line) out.push(JSON.parse(line) as CoverageRecord);
  }
  return out;
}
const samples = await readJsonl(samplesFile!);
const test = await readJsonl(testFile!);
const dedup = JSON.parse(readFileSync(dedupFile!, 'utf8')) as DedupParams;
const sampleIds = JSON.parse(readFileSync(idsFile!, 'utf8')) as number[];

const t0 = performance.now();
const cpu0 = process.cpuUsage();
const out = await curate({ samples, references: [], test, quality: null, dedup, listDrops: true });
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const peakRssMB = process.resourceUsage().maxRSS / 1024;

// Accuracy, outside the timing: every record the LSH index pairs with a sampled record, confirmed.
const f = await computeFeaturesParallel(samples, {
  ...dedup,
  templates: undefined,
  ngram: dedup.decontaminationNgram,
  seed: 1,
});
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
    cpuSeconds,
    peakRssMB,
    kept: out.kept.length,
    drops: out.drops,
    timings: out.timings,
    neighbours,
    dropped: Object.values(out.dropped ?? {}).flat(),
    droppedBySimilarity: (['exact-duplicate', 'near-duplicate', 'test-near-duplicate'] as const).flatMap(
      (r) => out.dropped?.[r] ?? [],
    ),
  }),
);
