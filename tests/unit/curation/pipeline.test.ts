import assert from 'node:assert/strict';
import { test } from 'node:test';
import { curate } from '../../../activities/data/curation/pipeline';
import { buildQualityProfile } from '../../../activities/data/curation/quality';
import type { CoverageRecord } from '../../../activities/data/curation/records';
import { words } from '../../../activities/data/curation/text';
import { DEFAULT_DEDUP, dollyRecords } from './real-records';

const records = dollyRecords(1200);
const train = records.slice(0, 400);
const test_ = records.slice(400, 460);
const fresh = records
  .slice(460)
  .filter((r) => words(r.response).length >= 60 && words(r.instruction).length >= 4);

function variant(r: CoverageRecord, id: string, change: Partial<CoverageRecord>): CoverageRecord {
  return { ...r, ...change, id };
}

const noise = (s: string) =>
  s
    .split(' ')
    .map((w, i) => (i % 3 === 0 ? w.toUpperCase() : w))
    .join('  \n ');
const reorderSentences = (s: string) => {
  const parts = s.split(/(?<=\.)\s+/);
  return parts.length > 2 ? [...parts.slice(1), parts[0]].join(' ') : s;
};
const changeNumbers = (s: string) => s.replace(/\d+/g, (d) => String(Number(d) + 7));
const swapAdjacent = (s: string) => {
  const w = s.split(' ');
  for (let i = 5; i + 1 < w.length; i += 40) [w[i], w[i + 1]] = [w[i + 1]!, w[i]!];
  return w.join(' ');
};

async function run(samples: CoverageRecord[], references: CoverageRecord[] = train, threads = 1) {
  return curate({ samples, references, test: test_, quality: null, dedup: DEFAULT_DEDUP, threads });
}

test('distinct real records all survive', async () => {
  const out = await run(fresh.slice(0, 60));
  assert.equal(out.kept.length, 60, JSON.stringify(out.drops));
});

test('adversarial near-duplicates of a batch member are dropped, the original kept', async () => {
  const base = fresh.slice(0, 40);
  const multi = base.filter((r) => r.response.split(/(?<=\.)\s+/).length > 3).slice(0, 8);
  const withNumbers = fresh.filter((r) => /\d/.test(r.response)).slice(0, 5);
  const adversarial = [
    ...base
      .slice(0, 10)
      .map((r) =>
        variant(r, r.id + '-noise', { instruction: noise(r.instruction), response: noise(r.response) }),
      ),
    ...base
      .slice(10, 20)
      .map((r) => variant(r, r.id + '-punct', { response: r.response.replace(/[.,]/g, ' ; ') + '!!' })),
    ...multi.map((r) => variant(r, r.id + '-reorder', { response: reorderSentences(r.response) })),
    ...base.slice(20, 30).map((r) => variant(r, r.id + '-swap', { response: swapAdjacent(r.response) })),
  ];
  const numbered = withNumbers.map((r) => variant(r, r.id + '-num', { response: changeNumbers(r.response) }));
  const originals = [...base, ...withNumbers.filter((r) => !base.includes(r))];
  const out = await run([...originals, ...adversarial, ...numbered]);
  const keptIds = new Set(out.kept.map((r) => r.id));
  for (const r of originals) assert.ok(keptIds.has(r.id), `original ${r.id} kept`);
  for (const r of [...adversarial, ...numbered]) assert.ok(!keptIds.has(r.id), `variant ${r.id} dropped`);
  assert.equal(
    (out.drops['exact-duplicate'] ?? 0) +
      (out.drops['near-duplicate'] ?? 0) +
      (out.drops['rouge-l-similar'] ?? 0),
    adversarial.length + numbered.length,
  );
  assert.ok(
    (out.drops['near-duplicate'] ?? 0) >= numbered.length,
    'changed numbers are caught by MinHash, not exact dedup',
  );
});

test('near-duplicates of the train split are dropped; a heavily rewritten record is kept', async () => {
  const r = train.find((x) => words(x.response).length > 80)!;
  const near = variant(r, 'near-train', { response: swapAdjacent(r.response) });
  const w = r.response.split(' ');
  const rewritten = variant(r, 'rewritten', {
    instruction: 'Explain in your own words: ' + fresh[0]!.instruction,
    response: w.map((x, i) => (i % 2 ? 'different' + i : x)).join(' '),
  });
  const out = await run([near, rewritten]);
  assert.deepEqual(
    out.kept.map((x) => x.id),
    ['rewritten'],
  );
  assert.equal(out.drops['near-duplicate'], 1);
});

test('ROUGE-L novelty: a reworded instruction with a different answer is dropped', async () => {
  const a = variant(fresh[0]!, 'a', {
    instruction: 'What is the capital city of France and why is it famous?',
    context: '',
  });
  const b = variant(fresh[1]!, 'b', {
    instruction: 'Why is the capital city of France famous and what is it?',
    context: '',
  });
  const c = variant(fresh[2]!, 'c', {
    instruction: 'List three rivers that flow through Germany.',
    context: '',
  });
  // the same generic instruction over different passages is novel
  const withContext = records.filter((r) => words(r.context).length > 30).slice(0, 2);
  const s1 = variant(withContext[0]!, 's1', { instruction: 'Summarize the passage.' });
  const s2 = variant(withContext[1]!, 's2', { instruction: 'Summarize the passage.' });
  const out = await run([a, b, c, s1, s2], []);
  assert.deepEqual(
    out.kept.map((x) => x.id),
    ['a', 'c', 's1', 's2'],
  );
  assert.equal(out.drops['rouge-l-similar'], 1);
});

test('decontamination: leaked test prompts and references are dropped', async () => {
  const t0 = test_.find((x) => words(x.instruction).length < 13 && words(x.instruction).length >= 5)!;
  const withContext = test_.find((x) => words(x.context).length > 40)!;
  const longRef = test_.find((x) => words(x.response).length > 30 && x !== withContext)!;
  const leaks = [
    // short test prompt, case and whitespace noise, new answer: MinHash on the instruction
    variant(fresh[3]!, 'leak-instruction', { instruction: noise(t0.instruction), context: '' }),
    // a 13-word span of a test context pasted into a new instruction
    variant(fresh[4]!, 'leak-context', {
      instruction: 'Read this: ' + withContext.context.split(/\s+/).slice(5, 25).join(' '),
      context: '',
    }),
    // the test reference answer reused
    variant(fresh[5]!, 'leak-reference', { response: 'Sure. ' + longRef.response }),
  ];
  const clean = fresh.slice(10, 20);
  const out = await run([...leaks, ...clean]);
  const kept = new Set(out.kept.map((x) => x.id));
  for (const l of leaks) assert.ok(!kept.has(l.id), `${l.id} dropped`);
  for (const c of clean) assert.ok(kept.has(c.id), `${c.id} kept`);
  assert.equal((out.drops['test-ngram-overlap'] ?? 0) + (out.drops['test-near-duplicate'] ?? 0), 3);
  assert.ok((out.drops['test-near-duplicate'] ?? 0) >= 1, 'the short prompt is caught by MinHash');
});

test('worker threads compute the same result as one thread', async () => {
  const many = records.slice(0, 1200);
  const samples: CoverageRecord[] = [];
  for (let k = 0; k < 5000; k++) {
    const r = many[k % many.length]!;
    samples.push(
      k < many.length ? r : variant(r, `${r.id}-v${k}`, { response: swapAdjacent(r.response) + ' ' + k }),
    );
  }
  const one = await run(samples, train.slice(0, 50), 1);
  const two = await run(samples, train.slice(0, 50), 2);
  assert.deepEqual(two.drops, one.drops);
  assert.deepEqual(
    two.kept.map((r) => r.id),
    one.kept.map((r) => r.id),
  );
  assert.ok(one.kept.length < samples.length && one.kept.length > 500);
});

test('quality rules run inside the pipeline and are counted', async () => {
  const profile = buildQualityProfile(train);
  const bad = variant(fresh[6]!, 'refusal', {
    response: "I'm sorry, but as an AI language model I cannot help with that.",
  });
  const out = await curate({
    samples: [bad, fresh[7]!],
    references: train,
    test: test_,
    quality: profile,
    dedup: DEFAULT_DEDUP,
  });
  assert.deepEqual(
    out.kept.map((x) => x.id),
    [fresh[7]!.id],
  );
  assert.equal(out.drops.refusal, 1);
});
