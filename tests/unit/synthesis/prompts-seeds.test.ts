import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSynthesisPrompt, familyOf } from '../../../activities/synthesis/prompts';
import { mulberry32, seedOf } from '../../../activities/synthesis/rng';
import { allocateByCategory, sampleSeeds } from '../../../activities/synthesis/seeds';
import { trainRecords } from './fixtures';

test('task families from categories', () => {
  assert.equal(familyOf('summarization'), 'summarization');
  assert.equal(familyOf('classification'), 'classification');
  assert.equal(familyOf('closed_qa'), 'closed-qa');
  assert.equal(familyOf('information_extraction'), 'extraction');
  assert.equal(familyOf('open_qa'), 'general');
});

test('prompts carry the seed, the count, length hints; summarization asks for new passages', () => {
  const summ = trainRecords.find((r) => r.category === 'summarization')!;
  const qa = trainRecords.find((r) => r.category === 'open_qa')!;
  const p = buildSynthesisPrompt(summ, 4);
  assert.match(p.user, /Task category: summarization/);
  assert.match(p.user, /Write 4 new, different examples/);
  assert.ok(p.user.includes(JSON.stringify(summ.response)), 'seed response shown');
  assert.match(p.user, /its own new passage in "context"/);
  assert.match(p.user, /response about \d+-\d+ words/);
  const q = buildSynthesisPrompt(qa, 4);
  assert.doesNotMatch(q.user, /its own new passage/);
  assert.equal(q.system, p.system, 'the system prompt is a stable prefix (provider prompt caching)');
  assert.equal(buildSynthesisPrompt(qa, 4).promptHash, q.promptHash);
  assert.notEqual(buildSynthesisPrompt(qa, 5).promptHash, q.promptHash);
  assert.match(q.promptHash, /^[0-9a-f]{16}$/);
});

test('allocation follows category proportions and sums to the count', () => {
  assert.deepEqual(allocateByCategory({ a: 50, b: 30, c: 20 }, 10), { a: 5, b: 3, c: 2 });
  const odd = allocateByCategory({ a: 1, b: 1, c: 1 }, 5);
  assert.equal(
    Object.values(odd).reduce((s, n) => s + n, 0),
    5,
  );
  assert.deepEqual(allocateByCategory({ a: 0 }, 3), {});
});

test('seed sampling is seeded, spread over categories and over records', () => {
  const a = sampleSeeds(trainRecords, 300, mulberry32(seedOf('m1', 1, 0, 0)));
  const b = sampleSeeds(trainRecords, 300, mulberry32(seedOf('m1', 1, 0, 0)));
  const c = sampleSeeds(trainRecords, 300, mulberry32(seedOf('m1', 1, 0, 1)));
  assert.deepEqual(
    a.map((r) => r.id),
    b.map((r) => r.id),
  );
  assert.notDeepEqual(
    a.map((r) => r.id),
    c.map((r) => r.id),
  );
  const share = (xs: typeof trainRecords, cat: string) =>
    xs.filter((r) => r.category === cat).length / xs.length;
  for (const cat of new Set(trainRecords.map((r) => r.category))) {
    assert.ok(Math.abs(share(a, cat) - share(trainRecords, cat)) < 0.01, cat);
  }
  // 300 seeds over 150 records: every record used exactly twice
  const uses = new Map<string, number>();
  for (const r of a) uses.set(r.id, (uses.get(r.id) ?? 0) + 1);
  assert.equal(uses.size, trainRecords.length);
  assert.deepEqual(new Set(uses.values()), new Set([2]));
});
