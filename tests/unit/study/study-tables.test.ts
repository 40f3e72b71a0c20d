// Table 1 and Figure 2 collated from a study's cells: a baseline row per service LLM, the best cycle per
// student, Perf. Matching = best local ÷ best service per judge and metric.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fig2Series, table1 } from '../../../report/study-tables';
import { study } from './study-fixture';

describe('study tables', () => {
  it('Table 1: a service row per generator, the best cycle per student, matching = best local ÷ best service', () => {
    const [t] = table1(study);
    assert.ok(t);
    assert.deepEqual(
      t.rows.map((r) => `${r.kind}:${r.model}`),
      ['service:gpt', 'service:claude', 'local:tiny', 'local:small'],
    );
    assert.match(t.rows[3]!.source, /data by claude, 100 synthetic, cycle 1/);
    assert.match(t.rows[2]!.source, /data by gpt, 100 synthetic/);
    assert.deepEqual(t.judges, ['j1', 'j2', 'all']);
    assert.equal(t.matching.j1!.precision, 80); // 72 / 90
    assert.equal(t.matching.j2!.precision, 90); // 72 / 80
    assert.equal(t.matching.all!.similarity, (100 * 72) / 85); // claude baseline: mean of 90 and 80
  });

  it('Figure 2: mean and coverage ≥ 50 / ≥ 70 against volume per judge, generator and student', () => {
    const s = fig2Series(study).find(
      (x) =>
        x.judge === 'all' && x.generator === 'claude' && x.student === 'small' && x.metric === 'precision',
    );
    assert.deepEqual(s?.points, [
      { volume: 0, mean: 45, coverage50: 0, coverage70: 0 },
      { volume: 100, mean: 72, coverage50: 100, coverage70: 100 },
    ]);
    assert.equal(fig2Series(study).length, 3 * 4 * 2);
  });
});
