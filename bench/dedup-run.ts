// Child process of bench/dedup.ts: runs this project's curation (similarity steps, no quality rules) on
// the benchmark set, with the train split as references, as curateSynthesis runs it.
// Usage: tsx bench/dedup-run.ts <samples.jsonl> <train.jsonl> <test.jsonl> <dedup.json> <out.json>
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { curate, type DedupParams } from '../activities/data/curation/pipeline';
import type { CoverageRecord } from '../activities/data/curation/records';

const [samplesFile, trainFile, testFile, dedupFile, outFile] = process.argv.slice(2);

// line by line, as the curation activity reads the artifact store
async function readJsonl(file: string): Promise<CoverageRecord[]> {
  const out: CoverageRecord[] = [];
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line) out.push(JSON.parse(line) as CoverageRecord);
  }
  return out;
}
const samples = await readJsonl(samplesFile!);
const train = await readJsonl(trainFile!);
const test = await readJsonl(testFile!);
const dedup = JSON.parse(readFileSync(dedupFile!, 'utf8')) as DedupParams;

const t0 = performance.now();
const cpu0 = process.cpuUsage();
const out = await curate({
  samples,
  references: train,
  real: train.length,
  test,
  quality: null,
  dedup,
  listDrops: true,
});
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const peakRssMB = process.resourceUsage().maxRSS / 1024;

writeFileSync(
  outFile!,
  JSON.stringify({
    seconds,
    cpuSeconds,
    peakRssMB,
    kept: out.kept.length,
    drops: out.drops,
    timings: out.timings,
    thresholds: out.thresholds,
    calibration: out.calibration,
    templates: out.templates.length,
    dropped: out.dropped,
  }),
);
