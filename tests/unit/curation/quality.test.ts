import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildQualityProfile, qualityIssue } from '../../../activities/data/curation/quality';
import { dollyRecords } from './real-records';

const train = dollyRecords(600);
const profile = buildQualityProfile(train);
const good = train.find(
  (r) => r.category === 'open_qa' && r.response.split(' ').length > 20 && /[.!?]$/.test(r.response),
)!;
const sample = (change: Partial<typeof good>) => ({ ...good, ...change });

test('the profile has per-category length ranges and the split language', () => {
  assert.equal(profile.language, 'eng');
  assert.ok(profile.ranges.open_qa && profile.ranges.summarization);
  assert.ok(profile.ranges.open_qa.response[1] > profile.ranges.open_qa.response[0]);
});

test('real train records pass (few false drops)', () => {
  const dropped = train.filter((r) => qualityIssue(r, profile) !== null);
  // dangling punctuation and language misfires on real data stay rare
  assert.ok(dropped.length / train.length < 0.05, `${dropped.length} of ${train.length} dropped`);
  assert.equal(qualityIssue(good, profile), null);
});

test('empty fields', () => {
  assert.equal(qualityIssue(sample({ response: '  ' }), profile), 'empty-field');
  assert.equal(qualityIssue(sample({ instruction: '' }), profile), 'empty-field');
});

test('cut-off responses', () => {
  assert.equal(
    qualityIssue(
      sample({ response: good.response + ' and then the', instruction: good.instruction }),
      profile,
    ),
    null,
  );
  assert.equal(qualityIssue(sample({ response: good.response + ' Steps:' }), profile), 'truncated');
  assert.equal(qualityIssue(sample({ response: good.response + ' see,' }), profile), 'truncated');
  assert.equal(
    qualityIssue(sample({ response: 'Here is code:\n```python\nprint(1)\n' }), profile),
    'truncated',
  );
  assert.equal(qualityIssue(sample({ response: good.response + '…' }), profile), 'truncated');
});

test('length outside the seed category range', () => {
  const long = Array.from({ length: 40 }, () => good.response).join(' ');
  assert.equal(qualityIssue(sample({ response: long }), profile), 'length-out-of-range');
  const range = profile.ranges.classification!;
  const tooLong =
    Array.from({ length: Math.ceil(range.response[1] * 1.5) + 5 }, (_, i) => `word${i}`).join(' ') + '.';
  assert.equal(
    qualityIssue(sample({ category: 'classification', response: tooLong }), profile),
    'length-out-of-range',
  );
});

test('refusals and AI boilerplate', () => {
  assert.equal(
    qualityIssue(sample({ response: "I'm sorry, but I cannot help with that request." }), profile),
    'refusal',
  );
  assert.equal(
    qualityIssue(sample({ response: 'As an AI, I do not have opinions. ' + good.response }), profile),
    'refusal',
  );
  assert.equal(
    qualityIssue(sample({ response: 'As a language model, ' + good.response }), profile),
    'refusal',
  );
});

test('instruction echoed as the response', () => {
  const instruction = 'Explain why the sky appears blue during the day but red at sunset.';
  assert.equal(qualityIssue(sample({ instruction, response: instruction }), profile), 'echo');
  assert.equal(
    qualityIssue(
      sample({
        instruction,
        response: 'Explain why the sky appears blue during the day, but red at sunset!',
      }),
      profile,
    ),
    'echo',
  );
});

test('wrong language', () => {
  const german =
    'Der Himmel erscheint am Tag blau, weil die Luftmoleküle das kurzwellige blaue Licht stärker streuen als das rote Licht. ' +
    'Bei Sonnenuntergang ist der Weg durch die Atmosphäre länger, daher kommt vor allem rotes Licht bei uns an.';
  assert.equal(
    qualityIssue(sample({ instruction: 'Warum ist der Himmel blau?', response: german }), profile),
    'wrong-language',
  );
  const sampleDe = sample({ instruction: 'Warum ist der Himmel blau?', response: german });
  assert.equal(
    qualityIssue(sampleDe, { ...profile, language: 'und' }),
    null,
    'no language rule without a train language',
  );
});
