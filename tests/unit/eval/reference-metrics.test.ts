import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MigrationConfig } from '../../../common/config';
import {
  chrfScore,
  exactMatch,
  normalizeAnswer,
  rougeLScore,
} from '../../../activities/eval/reference-metrics';
import { scoreAgainstReferences } from '../../../activities/eval/reference-score';
import type { TestRecord } from '../../../activities/eval/eval-inputs';
import { testConfig } from '../../helpers/test-config';

describe('reference metrics', () => {
  it('exact match ignores case, surrounding punctuation, whitespace and the separator style, nothing else', () => {
    assert.equal(normalizeAnswer('  "Open_QA."\n'), 'open_qa');
    assert.equal(exactMatch('Open_QA.', 'open_qa'), 100);
    assert.equal(exactMatch('Creative writing', 'creative_writing'), 100);
    assert.equal(exactMatch('open-qa', 'open_qa'), 100);
    assert.equal(exactMatch('open  _ qa', 'open_qa'), 100);
    assert.equal(exactMatch('openqa', 'open_qa'), 0);
    assert.equal(exactMatch('open qa!', 'open_qa'), 100);
    assert.equal(exactMatch('creative writing request', 'creative_writing'), 0);
    assert.equal(exactMatch('The answer is open_qa', 'open_qa'), 0);
    assert.equal(exactMatch('brainstorming', 'classification'), 0);
  });

  it('ROUGE-L F1 over words: identical 100, disjoint 0, partial overlap in between', () => {
    assert.equal(rougeLScore('The cat sat on the mat', 'the cat sat on the mat.'), 100);
    assert.equal(rougeLScore('dogs bark', 'the cat sat'), 0);
    // LCS "the cat the mat" = 4 of 6 words each side
    assert.equal(Math.round(rougeLScore('the cat lay on the mat', 'the cat sat by the mat')), 67);
  });

  it('chrF: identical 100, disjoint 0, a near miss scores high and below a far one', () => {
    assert.equal(chrfScore('information_extraction', 'information_extraction'), 100);
    assert.equal(chrfScore('xyz', 'abc'), 0);
    const near = chrfScore('informations extracted', 'information_extraction');
    const far = chrfScore('creative writing', 'information_extraction');
    assert.ok(near > 50 && near < 100 && far < near, `${near} ${far}`);
  });

  it('scores every generation against its own test record and summarizes on 0-100', () => {
    const tests = new Map<string, TestRecord>(
      ['a', 'b', 'c', 'd'].map((id, i) => [
        id,
        {
          id,
          category: 'x',
          instruction: `q${i}`,
          context: '',
          response: i % 2 ? 'open_qa' : 'brainstorming',
        },
      ]),
    );
    const generations = [
      { promptId: 'a', sample: 0, text: 'Brainstorming' },
      { promptId: 'b', sample: 0, text: 'open_qa' },
      { promptId: 'c', sample: 0, text: 'open_qa' },
      { promptId: 'd', sample: 0, text: 'I think it is open_qa' },
    ];
    const { summary, perSample } = scoreAgainstReferences({ tests, generations }, 'exact-match');
    assert.deepEqual(
      perSample.map((s) => s.score),
      [100, 100, 0, 0],
    );
    assert.deepEqual(summary, { metric: 'exact-match', mean: 50, samples: 4, perfect: 50 });
  });

  it('is a validated, optional config field', () => {
    assert.equal(testConfig().evaluation.reference, undefined);
    const base = testConfig();
    const parsed = MigrationConfig.parse({ ...base, evaluation: { ...base.evaluation, reference: {} } });
    assert.equal(parsed.evaluation.reference?.metric, 'exact-match');
    const bad = MigrationConfig.safeParse({
      ...base,
      evaluation: { ...base.evaluation, reference: { metric: 'bleu' } },
    });
    assert.equal(bad.success, false);
    assert.deepEqual(bad.error!.issues[0]!.path, ['evaluation', 'reference', 'metric']);
  });
});
