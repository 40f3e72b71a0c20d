import assert from 'node:assert/strict';
import { test } from 'node:test';
import { curate, type DedupParams } from '../../../activities/data/curation/pipeline';
import type { CoverageRecord } from '../../../activities/data/curation/records';
import { templateFor, wrapRecord } from '../../../bench/templated-data';
import { DEFAULT_DEDUP, dollyRecords } from './real-records';

const DEFAULTS: DedupParams = {
  ...DEFAULT_DEDUP,
  thresholds: 'calibrated',
  calibrationPercentile: 0.99,
  templates: true,
};

// real records, templated, with near-copies and exact copies among the samples
const real = dollyRecords(9000).map((r) => wrapRecord(r, templateFor(r)));
const copy = (r: CoverageRecord, k: number): CoverageRecord =>
  k % 3 === 0
    ? { ...r, id: `${r.id}~${k}`, response: r.response.toUpperCase() }
    : { ...r, id: `${r.id}~${k}`, response: `${r.response} (${k})` };

async function curateWith(references: CoverageRecord[], samples: CoverageRecord[], threads: number) {
  const out = await curate({
    samples,
    references,
    real: references.length,
    test: real.slice(8800),
    quality: null,
    dedup: DEFAULTS,
    threads,
    listDrops: true,
  });
  return { ...out, kept: out.kept.map((r) => r.id) };
}

for (const [name, refs, fresh] of [
  // the real records fit in the first worker's chunk: it calibrates
  ['references in the first worker', 600, 5000],
  // more real records than a chunk holds: the calling thread calibrates
  ['references over a chunk', 4000, 3000],
] as const) {
  test(`threads compute what one thread does, calibration included (${name})`, async () => {
    const references = real.slice(0, refs);
    const originals = real.slice(refs, refs + fresh);
    const samples = [
      ...originals,
      ...originals.slice(0, 1500).map(copy),
      ...references.slice(0, 200).map(copy),
    ];
    const one = await curateWith(references, samples, 1);
    assert.ok(one.calibration && one.calibration.queries > 0, 'calibrated');
    assert.ok(one.templates.length > 0, 'templates found');
    assert.ok((one.drops['exact-duplicate'] ?? 0) >= 500 && (one.drops['near-duplicate'] ?? 0) >= 500);
    for (const threads of [2, 3]) {
      const many = await curateWith(references, samples, threads);
      assert.deepEqual(many.kept, one.kept, `${threads} threads: kept`);
      assert.deepEqual(many.drops, one.drops, `${threads} threads: drops`);
      assert.deepEqual(many.dropped, one.dropped, `${threads} threads: dropped`);
      assert.deepEqual(many.calibration, one.calibration, `${threads} threads: calibration`);
      assert.deepEqual(many.examples, one.examples, `${threads} threads: examples`);
    }
  });
}
