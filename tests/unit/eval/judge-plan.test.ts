import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EvalInputs, Generation } from '../../../activities/eval/eval-inputs';
import { judgeIds, planCalls, shardCount, shardSlice } from '../../../activities/eval/judge-plan';
import type { ServiceModel } from '../../../common/config';

const m = (provider: ServiceModel['provider'], model: string, baseURL?: string): ServiceModel => ({
  provider,
  model,
  batch: false,
  ...(baseURL ? { baseURL } : {}),
});

function inputs(gens: [string, number][], reference?: [string, number][]): EvalInputs {
  const g = (p: string, s: number): Generation => ({ promptId: p, sample: s, text: `${p}/${s}` });
  const generations = gens.map(([p, s]) => g(p, s));
  const out: EvalInputs = {
    tests: new Map(),
    generations,
    generationByKey: new Map(generations.map((x) => [`${x.promptId}#${x.sample}`, x])),
  };
  if (reference) {
    out.reference = new Map();
    for (const [p, s] of reference) out.reference.set(p, [...(out.reference.get(p) ?? []), g(p, s)]);
  }
  return out;
}

describe('judge ids', () => {
  it('names judges provider/model and tells apart the same model on two endpoints', () => {
    const ids = judgeIds([
      m('openai', 'gpt-4o'),
      m('openai-compatible', 'llama3', 'http://127.0.0.1:8000/v1'),
      m('openai-compatible', 'llama3', 'http://127.0.0.1:8001/v1'),
      m('google', 'gemini-1.5-flash'),
      m('google', 'gemini-1.5-flash'),
    ]);
    assert.deepEqual(ids, [
      'openai/gpt-4o',
      'openai-compatible/llama3@127.0.0.1:8000',
      'openai-compatible/llama3@127.0.0.1:8001',
      'google/gemini-1.5-flash#4',
      'google/gemini-1.5-flash#5',
    ]);
  });
});

describe('planCalls', () => {
  const judges = [m('openai', 'gpt-4o'), m('anthropic', 'claude-3-sonnet')];

  it('lists every judge and repeat of a sample before the next sample', () => {
    const calls = planCalls(
      inputs([
        ['p1', 0],
        ['p1', 1],
      ]),
      { judges, repeats: 2, pairwise: false },
    );
    assert.deepEqual(
      calls.map((c) => `${c.promptId}#${c.sample} ${c.judge} r${c.repeat}`),
      [
        'p1#0 openai/gpt-4o r0',
        'p1#0 openai/gpt-4o r1',
        'p1#0 anthropic/claude-3-sonnet r0',
        'p1#0 anthropic/claude-3-sonnet r1',
        'p1#1 openai/gpt-4o r0',
        'p1#1 openai/gpt-4o r1',
        'p1#1 anthropic/claude-3-sonnet r0',
        'p1#1 anthropic/claude-3-sonnet r1',
      ],
    );
    assert.deepEqual(
      calls.map((c) => c.index),
      [0, 1, 2, 3, 4, 5, 6, 7],
    );
  });

  it('adds both pairwise orders, pairing student sample s with teacher sample s mod n', () => {
    const calls = planCalls(
      inputs(
        [
          ['p1', 0],
          ['p1', 1],
          ['p1', 2],
        ],
        [
          ['p1', 0],
          ['p1', 1],
        ],
      ),
      {
        judges: judges.slice(0, 1),
        repeats: 1,
        pairwise: true,
      },
    );
    const pairs = calls.filter((c) => c.kind === 'pairwise');
    assert.deepEqual(
      pairs.map((c) => c.kind === 'pairwise' && `${c.sample}->${c.referenceSample} ${c.order}`),
      [
        '0->0 student-first',
        '0->0 student-second',
        '1->1 student-first',
        '1->1 student-second',
        '2->0 student-first',
        '2->0 student-second',
      ],
    );
  });

  it('splits into shards that cover every call exactly once', () => {
    const calls = planCalls(
      inputs([
        ['p1', 0],
        ['p2', 0],
        ['p3', 0],
      ]),
      { judges, repeats: 3, pairwise: false },
    );
    const shards = shardCount(calls.length, 7);
    assert.equal(shards, 3);
    const covered = Array.from({ length: shards }, (_, s) => shardSlice(calls, s, shards, 7)).flat();
    assert.deepEqual(covered, calls);
    assert.throws(() => shardSlice(calls, 3, 3, 7), /does not fit the plan/);
  });
});
