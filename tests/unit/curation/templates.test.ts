import assert from 'node:assert/strict';
import { test } from 'node:test';
import { curate, type DedupParams } from '../../../activities/data/curation/pipeline';
import { findTemplates, TemplateMasker, templateRanges } from '../../../activities/data/curation/templates';
import type { CoverageRecord } from '../../../activities/data/curation/records';
import { promptText } from '../../../activities/data/curation/features';
import { templateFor, TEMPLATES, wrapRecord } from '../../../bench/templated-data';
import { DEFAULT_DEDUP, dollyRecords } from './real-records';

const CALIBRATED: DedupParams = {
  ...DEFAULT_DEDUP,
  thresholds: 'calibrated',
  calibrationPercentile: 0.99,
  templates: true,
};
const BEFORE: DedupParams = { ...DEFAULT_DEDUP, thresholds: 'absolute', templates: false };

const records = dollyRecords(1400);
const wrap = (r: CoverageRecord) => wrapRecord(r, templateFor(r));
const train = records.slice(0, 500).map(wrap);
const test_ = records.slice(500, 560).map(wrap);
const fresh = records.slice(600, 900).map(wrap);

const run = (samples: CoverageRecord[], dedup: DedupParams) =>
  curate({ samples, references: train, real: train.length, test: test_, quality: null, dedup, threads: 1 });

test('templates are found per category in the real records, and masked', () => {
  const model = findTemplates(train);
  const categories = new Set(train.map((r) => r.category));
  for (const c of categories) assert.ok(model.keys[c]?.length, `no template found for ${c}`);
  const masker = new TemplateMasker(model);
  const r = fresh.find((x) => x.category === 'support')!;
  const prompt = promptText(r);
  const ranges = templateRanges(masker, prompt, r.category);
  const greyed = ranges.map(([s, e]) => prompt.slice(s, e)).join(' ');
  // the preamble is template, the customer's own question is not
  assert.match(greyed, /You are Ava, the customer assistant of Northwind Outfitters/);
  const question = records.find((x) => x.id === r.id)!.instruction;
  const at = prompt.indexOf(question);
  assert.ok(at > 0);
  assert.ok(!ranges.some(([s, e]) => s <= at && e >= at + question.length), `greyed: ${question}`);
});

test('untemplated prose yields no templates', () => {
  const model = findTemplates(records.slice(0, 500));
  assert.deepEqual(Object.keys(model.keys), []);
});

test('templated distinct records survive with templates on, and not without', async () => {
  const on = await run(fresh, CALIBRATED);
  const off = await run(fresh, BEFORE);
  assert.ok(on.kept.length >= 0.95 * fresh.length, `kept ${on.kept.length}: ${JSON.stringify(on.drops)}`);
  assert.ok(off.kept.length < 0.2 * fresh.length, `without templates kept ${off.kept.length}`);
  assert.ok(on.templates.length >= 5);
  const tool = on.templates.find((t) => t.category === 'tool-use')!;
  assert.ok(tool.templateShare > 0.5 && tool.spans.join(' ').includes('search_web'));
});

test('a near-duplicate of a templated record is dropped, and the drop shows the pair', async () => {
  const base = fresh.slice(0, 40);
  const copies = base.slice(0, 10).map((r) => ({
    ...r,
    id: r.id + '-copy',
    response: r.response.replace(/[.,]/g, ' ;').toUpperCase() + ' !',
  }));
  const out = await run([...base, ...copies], CALIBRATED);
  const kept = new Set(out.kept.map((r) => r.id));
  for (const c of copies) assert.ok(!kept.has(c.id), `copy kept: ${c.id}`);
  assert.ok(base.filter((r) => kept.has(r.id)).length >= 38);
  const nd = out.examples['near-duplicate']?.[0];
  assert.ok(nd, JSON.stringify(out.drops));
  assert.equal(nd.matched?.kind, 'sample');
  assert.ok(nd.similarity! >= out.thresholds.threshold);
  assert.ok(nd.sample.template.length > 0 && nd.matched.template.length > 0);
});

test('calibrated thresholds never fall below the absolute ones; absolute mode keeps them', async () => {
  const cal = await run(fresh.slice(0, 50), CALIBRATED);
  assert.ok(cal.calibration && cal.calibration.queries > 0);
  assert.ok(cal.thresholds.threshold >= DEFAULT_DEDUP.threshold);
  assert.ok(cal.thresholds.rougeLThreshold >= DEFAULT_DEDUP.rougeLThreshold);
  const abs = await run(fresh.slice(0, 50), { ...CALIBRATED, thresholds: 'absolute' });
  assert.equal(abs.calibration, null);
  assert.deepEqual(abs.thresholds, {
    threshold: DEFAULT_DEDUP.threshold,
    rougeLThreshold: DEFAULT_DEDUP.rougeLThreshold,
  });
});

test('the benchmark templates are realistic lengths (300-1,500 characters)', () => {
  for (const t of TEMPLATES) {
    const n = t.before.length + t.after.length;
    assert.ok(n >= 300 && n <= 1500, `${t.category}: ${n}`);
  }
});
