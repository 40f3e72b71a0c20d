import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseReportData } from '../../../report/report-schema';
import { writeReportFile } from '../../../report/write-report';
import { reportFixture } from './report-fixture';

const pretty = (v: unknown) => JSON.stringify(v, null, 2);

test('the realistic fixture passes validation unchanged', () => {
  const data = reportFixture();
  assert.deepEqual(parseReportData(pretty(data), 'run.json'), data);
});

test('a wrong field is named with its file and line', () => {
  const data = reportFixture() as unknown as {
    cycles: { evaluation: { judges: { precision: { mean: unknown } }[] } }[];
  };
  data.cycles[2]!.evaluation.judges[1]!.precision.mean = 'high';
  const text = pretty(data);
  const line = text.split('\n').findIndex((l) => l.includes('"mean": "high"')) + 1;
  assert.throws(
    () => parseReportData(text, 'run.json'),
    (err: Error) =>
      err.message.startsWith(`run.json:${line}: cycles[2].evaluation.judges[1].precision.mean: `),
  );
});

test('a missing field points at its parent object; out-of-range scores are refused', () => {
  const data = reportFixture() as unknown as Record<string, unknown> & {
    costs: { pricing: Record<string, unknown> };
  };
  delete data.costs.pricing.model;
  const text = pretty(data);
  const line = text.split('\n').findIndex((l) => l.includes('"pricing": {')) + 1;
  assert.throws(
    () => parseReportData(text, 'r.json'),
    new RegExp(`^Error: r\\.json:${line}: costs\\.pricing\\.model: `),
  );
  const scores = reportFixture();
  scores.distributions[0]!.scores[3] = 140;
  assert.throws(() => parseReportData(pretty(scores), 'r.json'), /distributions\[0\]\.scores\[3\]: .*100/);
});

test('broken JSON names the line', () => {
  assert.throws(
    () => parseReportData('{\n  "name": "x",\n  oops\n}', 'bad.json'),
    /^Error: bad\.json:3: not valid JSON/,
  );
});

test('writeReportFile writes the page atomically and leaves no temp files', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-report-'));
  try {
    const file = await writeReportFile(path.join(dir, 'nested', 'report.html'), reportFixture());
    const html = await readFile(file, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.deepEqual(await readdir(path.dirname(file)), ['report.html']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
