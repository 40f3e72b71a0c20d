// Table 4: token statistics per dataset, and the study's table per task (coverage splits once, then every
// synthetic dataset per cell).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CellData, DataTokenRow } from '../../../report/study-data';
import { table4, table4Html } from '../../../report/study-data-tables';
import { summarize, tokenStats } from '../../../report/token-stats';
import { study } from './study-fixture';

describe('Table 4: token statistics', () => {
  it('summarizes min, max, mean, median and population std', () => {
    assert.deepEqual(summarize([4, 1, 3, 2]), {
      min: 1,
      max: 4,
      mean: 2.5,
      median: 2.5,
      std: Math.sqrt(1.25),
    });
    assert.deepEqual(summarize([5, 1, 3]), { min: 1, max: 5, mean: 3, median: 3, std: Math.sqrt(8 / 3) });
    assert.deepEqual(summarize([]), { min: 0, max: 0, mean: 0, median: 0, std: 0 });
  });

  it('counts prompt (instruction + context) and response tokens at four characters a token', () => {
    const s = tokenStats([
      { instruction: 'a'.repeat(8), context: '', response: 'b'.repeat(40) },
      { instruction: 'a'.repeat(8), context: 'c'.repeat(6), response: 'b'.repeat(3) },
    ]);
    assert.equal(s.records, 2);
    // 8 chars -> 2 tokens; 8 + "\n\n" + 6 = 16 chars -> 4 tokens
    assert.deepEqual([s.prompt.min, s.prompt.max], [2, 4]);
    assert.deepEqual([s.response.min, s.response.max], [1, 10]);
    assert.deepEqual([s.total.min, s.total.max, s.total.mean], [5, 12, 8.5]);
  });

  it("per task: each distinct coverage split once (by digest), every cell's synthetic datasets", () => {
    const stats = tokenStats([{ instruction: 'abcd', context: '', response: 'abcdefgh' }]);
    const row = (
      dataset: DataTokenRow['dataset'],
      sha: string,
      cycle: number | null = null,
    ): DataTokenRow => ({
      dataset,
      cycle,
      sha256: sha,
      stats,
    });
    const cell = (key: string, tokens: DataTokenRow[]): CellData => ({
      key,
      scores: [],
      tokens,
      generatorModel: null,
      economics: null,
      fineTuneSeconds: 0,
    });
    const data = {
      cells: [
        cell('tiny.gpt', [row('coverage-train', 'T'), row('coverage-test', 'E'), row('synthetic', 'S1', 1)]),
        cell('small.gpt', [row('coverage-train', 'T'), row('coverage-test', 'E')]),
        cell('small.claude', [
          row('coverage-train', 'T2'),
          row('coverage-test', 'E'),
          row('synthetic', 'S2', 1),
        ]),
      ],
    };
    const [t] = table4(study, data);
    assert.ok(t);
    assert.deepEqual(
      t.rows.map((r) => `${r.dataset}: ${r.cells.join(' ')}`),
      [
        'coverage train: tiny.gpt small.gpt',
        'coverage train: small.claude',
        'coverage test: tiny.gpt small.gpt small.claude',
        'synthetic by gpt, for cycle 1: tiny.gpt',
        'synthetic by claude, for cycle 1: small.claude',
      ],
    );
    const html = table4Html(t);
    assert.equal(html.match(/<tr data-dataset=/g)?.length, 5);
    assert.match(html, /<td>1<\/td><td>3<\/td><td>3<\/td><td>3<\/td><td>0<\/td>/);
    assert.deepEqual(table4(study, { cells: [] }), []);
  });
});
