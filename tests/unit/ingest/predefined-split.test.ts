// split.field: the dataset's own split (No Robots ships `split: train|test`) read from each record.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DatasetErrors } from '../../../activities/data/ingest/coverage-record';
import { loadCoverage } from '../../../activities/data/ingest/ingest-activity';
import { parseCoverageBytes } from '../../../activities/data/ingest/parse-coverage';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MigrationConfig } from '../../../common/config';

const jsonl = (...rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const row = (i: number, split: unknown, category = 'Closed QA') => ({
  messages: [
    { role: 'user', content: `question ${i}` },
    { role: 'assistant', content: `answer ${i}` },
  ],
  category,
  split,
});

describe('predefined split (split.field)', () => {
  it('parses the side of every record and names the line and field of a record without one', () => {
    const opts = { maxRecordChars: 2000, splitField: 'split' };
    const parsed = parseCoverageBytes('nr.jsonl', Buffer.from(jsonl(row(1, 'train'), row(2, 'test'))), opts);
    assert.deepEqual(
      parsed.records.map((r) => r.split),
      ['train', 'test'],
    );
    // without split.field the field is ignored and not kept
    assert.equal(
      parseCoverageBytes('nr.jsonl', Buffer.from(jsonl(row(1, 'train'))), { maxRecordChars: 2000 })
        .records[0]!.split,
      undefined,
    );
    assert.throws(
      () => parseCoverageBytes('nr.jsonl', Buffer.from(jsonl(row(1, 'train'), row(2, 7))), opts),
      (err: unknown) =>
        err instanceof DatasetErrors &&
        /nr\.jsonl:2 field 'split': must be a non-empty string/.test(err.message),
    );
  });

  it("the dataset's test records are the test split, whatever testRatio says; limit caps train only", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'predefined-split-'));
    try {
      const file = path.join(dir, 'no_robots.jsonl');
      const rows = [
        ...Array.from({ length: 30 }, (_, i) => row(i, 'train')),
        ...Array.from({ length: 4 }, (_, i) => row(100 + i, 'test')),
        row(200, 'test', 'Coding'),
      ];
      await writeFile(file, jsonl(...rows));
      const config = MigrationConfig.parse({
        name: 'nr',
        dataset: { path: file, categories: ['Closed QA'], limit: 10 },
        split: { field: 'split', testRatio: 0.5 },
        baseModel: 'builtin:tiny-random-llama',
        evaluation: { judges: [{ provider: 'openai', model: 'gpt-4o' }] },
        target: { metric: 'precision', statistic: 'mean', atLeast: 90 },
        synthesis: { teacher: { provider: 'openai', model: 'gpt-4o' } },
      });
      const { split } = await loadCoverage(config);
      assert.deepEqual(split.test.map((r) => r.instruction).sort(), [
        'question 100',
        'question 101',
        'question 102',
        'question 103',
      ]);
      assert.equal(split.train.length, 10);
      assert.ok(split.train.every((r) => /^question \d$|^question [12]\d$/.test(r.instruction)));
      // the marker is not written into the splits
      assert.ok([...split.train, ...split.test].every((r) => !('split' in r)));
      // a value that marks nothing is an error naming the field and the values found
      await assert.rejects(
        loadCoverage({ ...config, split: { ...config.split, testValue: 'validation' } }),
        /field 'split\.field': field 'split' gives 0 test and 10 train record\(s\).*values found: test, train/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
