import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ActivityCancellationDetails } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { RawSample, SyntheticSample } from '../../../activities/data/curation/records';
import { createSynthesisDataActivities, planSynthesis } from '../../../activities/synthesis/curate-synthesis';
import { shardKey } from '../../../activities/synthesis/keys';
import { createSynthesisActivities } from '../../../activities/synthesis/synthesize-shard';
import type { ArtifactRef, CurateResult, SynthesizeShardResult } from '../../../common/types';
import { InTestTeacher } from './in-test-teacher';
import { splits, synthesisInput, teacherPool, testRecords, withStore } from './fixtures';

test('planSynthesis sizes a round from what is missing, requests per shard, priced when it can be', () =>
  withStore(async (store) => {
    const base = synthesisInput(await splits(store), 100);
    // 100 missing * 1.3 / 3 per request = 44 requests; 10 per shard at most -> 5 shards of 9
    assert.deepEqual(planSynthesis({ ...base, round: 1, missing: 100 }), { requests: 9, shards: 5 });
    assert.deepEqual(planSynthesis({ ...base, round: 2, missing: 0 }), { requests: 0, shards: 0 });
    const priced: { input: number; output: number }[] = [];
    const acts = createSynthesisDataActivities({
      store,
      estimateUsd: (model, tokens) => {
        assert.equal(model.model, 'gpt-4o');
        priced.push(tokens);
        return (tokens.input * 5 + tokens.output * 15) / 1e6;
      },
    });
    const plan = await acts.planSynthesis({ ...base, round: 1, missing: 100 });
    assert.equal(plan.requests, 9);
    // priced twice per seed: the expected answer, then the whole output allowance (the worst case)
    const expected = priced.slice(0, priced.length / 2);
    const worst = priced.slice(priced.length / 2);
    assert.ok(expected.length > 0 && expected.every((t) => t.input > 100 && t.output > 3 * 15));
    assert.ok(worst.every((t) => t.output === 1024));
    const usd = (t: { input: number; output: number }) => (t.input * 5 + t.output * 15) / 1e6;
    const perRequest = expected.reduce((s, t) => s + usd(t), 0) / expected.length;
    const worstPerRequest = worst.reduce((s, t) => s + usd(t), 0) / worst.length;
    assert.ok(Math.abs(plan.worstUsdPerRequest! - worstPerRequest) < 1e-6);
    assert.ok(plan.worstUsdPerRequest! > perRequest);
    assert.ok(
      Math.abs(plan.estimatedUsdPerShard! - 9 * perRequest) < 1e-5,
      String(plan.estimatedUsdPerShard),
    );
    assert.equal(
      (await createSynthesisDataActivities({ store }).planSynthesis({ ...base, round: 1, missing: 100 }))
        .estimatedUsdPerShard,
      undefined,
    );
  }));

test('synthesizeShard writes lineage-tagged samples under a deterministic key, heartbeats, and is reused on retry', () =>
  withStore(async (store) => {
    const teacher = new InTestTeacher(teacherPool, (call) => (call === 2 ? 'invalid' : 'normal'));
    const { synthesizeShard } = createSynthesisActivities({ store, llm: teacher, concurrency: 3 });
    const input = {
      ...synthesisInput(await splits(store), 100),
      round: 0,
      missing: 100,
      shard: 1,
      shards: 2,
      requests: 10,
    };
    const env = new MockActivityEnvironment();
    const beats: { finished: number; requests: number }[] = [];
    env.on('heartbeat', (d: { finished: number; requests: number }) => beats.push(d));

    const res: SynthesizeShardResult = await env.run(synthesizeShard, input);
    assert.equal(teacher.calls, 10, 'a shard makes its `requests` requests');
    assert.equal(res.failed, 1);
    assert.equal(res.generated, 9 * 3);
    assert.equal(res.raw.uri, store.uri(shardKey('m1', 1, 0, 1)));
    assert.equal(res.raw.count, 27);
    assert.equal(res.usage.calls, 10);
    // one heartbeat per finished request at least (a timer adds more while requests wait)
    assert.ok(beats.length >= 10, `${beats.length} heartbeats`);
    assert.equal(beats.at(-1)!.finished, 10);
    assert.deepEqual(beats.at(-1), { shard: 1, finished: 10, requests: 10, usd: 0.1 });

    const rows = await store.readAllJsonl<RawSample>(res.raw.uri);
    for (const r of rows) {
      assert.equal(r.teacher, 'openai/gpt-4o');
      assert.deepEqual([r.cycle, r.round, r.shard], [1, 0, 1]);
      assert.match(r.promptHash, /^[0-9a-f]{16}$/);
      assert.ok(r.seedId.startsWith('dolly-'));
      assert.ok(r.instruction && r.response);
    }
    assert.equal(new Set(rows.map((r) => r.id)).size, rows.length, 'ids are unique');

    // a retry after completion reuses the file: no teacher calls, same ref, same usage
    const again = await synthesizeShard(input); // outside an activity: heartbeats are skipped
    assert.equal(teacher.calls, 10);
    assert.deepEqual(again.raw, res.raw);
    assert.deepEqual(again.usage, res.usage);
  }));

test('a shard that failed midway resumes from its checkpoint', () =>
  withStore(async (store) => {
    const base = {
      ...synthesisInput(await splits(store), 100),
      round: 0,
      missing: 100,
      shard: 0,
      shards: 1,
      requests: 40,
    };
    const first = new InTestTeacher(teacherPool, (c) => (c === 25 ? 'crash' : 'normal'));
    await assert.rejects(
      createSynthesisActivities({ store, llm: first, concurrency: 1 }).synthesizeShard(base),
      /worker lost/,
    );
    assert.equal(first.calls, 26);
    const second = new InTestTeacher(teacherPool.slice(200));
    const res = await createSynthesisActivities({ store, llm: second, concurrency: 1 }).synthesizeShard(base);
    assert.equal(second.calls, 15, 'the 25 requests that finished before the crash are not asked again');
    assert.equal(res.generated, 40 * 3);
    assert.equal(res.usage.calls, 25 + 15, 'usage of the checkpointed requests is kept');
    const rows = await store.readAllJsonl<RawSample>(res.raw.uri);
    assert.equal(new Set(rows.map((r) => r.id)).size, 120);
    assert.deepEqual(await store.list('m1/cycle-1/synth'), [
      'm1/cycle-1/synth/round-0/shard-0.jsonl',
      'm1/cycle-1/synth/round-0/shard-0.meta.json',
    ]);
  }));

test('rate-limited, 5xx and timed-out requests are retried, never stored as failures', () =>
  withStore(async (store) => {
    const input = {
      ...synthesisInput(await splits(store), 100),
      round: 0,
      missing: 100,
      shard: 0,
      shards: 1,
      requests: 10,
    };
    const first = new InTestTeacher(teacherPool, (c) => (c % 3 === 0 ? 'rate-limited' : 'normal'));
    const env = new MockActivityEnvironment({ attempt: 1 });
    await assert.rejects(
      env.run(createSynthesisActivities({ store, llm: first, concurrency: 1 }).synthesizeShard, input),
      (e: { type?: string; nonRetryable?: boolean }) => e.type === 'LlmError:transient' && !e.nonRetryable,
    );
    const second = new InTestTeacher(teacherPool.slice(200));
    const res: SynthesizeShardResult = await new MockActivityEnvironment({ attempt: 2 }).run(
      createSynthesisActivities({ store, llm: second, concurrency: 1 }).synthesizeShard,
      input,
    );
    assert.equal(second.calls, 4, 'only the 4 rate-limited requests are asked again');
    assert.equal(res.failed, 0);
    assert.equal(res.generated, 10 * 3);
  }));

test('an exhausted account fails the shard for good, keeping what finished', () =>
  withStore(async (store) => {
    const input = {
      ...synthesisInput(await splits(store), 100),
      round: 0,
      missing: 100,
      shard: 0,
      shards: 1,
      requests: 10,
    };
    const teacher = new InTestTeacher(teacherPool, (c) => (c >= 3 ? 'quota' : 'normal'));
    await assert.rejects(
      createSynthesisActivities({ store, llm: teacher, concurrency: 1 }).synthesizeShard(input),
      (e: { type?: string; nonRetryable?: boolean; details?: unknown[] }) =>
        e.type === 'LlmError:quota' &&
        e.nonRetryable === true &&
        // what the three answered requests cost goes with the failure, for the migration to count
        (e.details?.[0] as { usage?: { usd: number; calls: number } }).usage?.calls === 3 &&
        Math.abs((e.details?.[0] as { usage: { usd: number } }).usage.usd - 0.03) < 1e-9,
    );
    assert.equal(teacher.calls, 4, 'stops at the first refusal');
    assert.deepEqual(await store.list('m1/cycle-1/synth'), [
      'm1/cycle-1/synth/round-0/shard-0.checkpoint.json',
    ]);
  }));

test('synthesizeShard stops asking once its share of the budget is spent', () =>
  withStore(async (store) => {
    const teacher = new InTestTeacher(teacherPool);
    const { synthesizeShard } = createSynthesisActivities({ store, llm: teacher, concurrency: 1 });
    const base = synthesisInput(await splits(store), 100);
    const res = await synthesizeShard({
      ...base,
      budgetUsd: 0.05,
      round: 0,
      missing: 100,
      shard: 0,
      shards: 1,
      requests: 20,
    });
    assert.equal(teacher.calls, 5, '5 calls at $0.01 reach the $0.05 budget');
    assert.equal(res.failed, 15);
  }));

test('a synthesis (plan, shards, curate, repeat) reaches the wanted volume with drops counted', () =>
  withStore(async (store) => {
    // every 7th request echoes its seed (near-duplicate of train), every 11th refuses
    const teacher = new InTestTeacher(teacherPool, (c) =>
      c % 7 === 3 ? 'copy-seed' : c % 11 === 5 ? 'refuse' : 'normal',
    );
    const llmActs = createSynthesisActivities({ store, llm: teacher });
    const dataActs = createSynthesisDataActivities({ store, threads: 1 });
    const base = synthesisInput(await splits(store), 120);
    // a leaked test prompt among the teacher's answers must not survive
    teacherPool.unshift({ ...testRecords[0]!, category: 'open_qa', id: 'leak' });

    let accepted: ArtifactRef | null = null;
    let acceptedCount = 0;
    const drops: Record<string, number> = {};
    let round = 0;
    const env = new MockActivityEnvironment();
    const steps = new Set<string>();
    env.on('heartbeat', (d: { step: string }) => steps.add(d.step));
    for (; acceptedCount < base.wanted && round < base.synthesis.maxRounds; round++) {
      const planInput = { ...base, round, missing: base.wanted - acceptedCount };
      const plan = await dataActs.planSynthesis(planInput);
      const shardOutputs = [];
      for (let shard = 0; shard < plan.shards; shard++) {
        shardOutputs.push(
          (
            await llmActs.synthesizeShard({
              ...planInput,
              shard,
              shards: plan.shards,
              requests: plan.requests,
            })
          ).raw,
        );
      }
      const cur: CurateResult = await env.run(dataActs.curateSynthesis, {
        ...base,
        round,
        shardOutputs,
        accepted,
      });
      accepted = cur.accepted;
      acceptedCount = cur.acceptedCount;
      for (const [k, v] of Object.entries(cur.drops)) drops[k] = (drops[k] ?? 0) + v;
    }
    assert.equal(acceptedCount, 120);
    for (const step of ['read', 'after read', 'after features', 'after near-duplicate', 'after rouge-l']) {
      assert.ok(steps.has(step), `curation heartbeats ${step}`);
    }
    assert.ok((drops['near-duplicate'] ?? 0) + (drops['exact-duplicate'] ?? 0) > 0, JSON.stringify(drops));
    assert.ok((drops.refusal ?? 0) > 0, JSON.stringify(drops));
    assert.ok(
      (drops['test-ngram-overlap'] ?? 0) + (drops['test-near-duplicate'] ?? 0) >= 1,
      JSON.stringify(drops),
    );
    const rows = await store.readAllJsonl<SyntheticSample>(accepted!.uri);
    assert.equal(rows.length, 120);
    for (const r of rows) {
      assert.deepEqual(
        r.messages.map((m) => m.role),
        ['user', 'assistant'],
      );
      assert.ok(r.seedId && r.teacher && r.promptHash && r.cycle === 1);
      assert.doesNotMatch(r.messages[1]!.content, /as an AI language model/);
    }
    assert.ok(
      !rows.some((r) => r.messages[0]!.content.startsWith(testRecords[0]!.instruction)),
      'leaked test prompt dropped',
    );
    teacherPool.shift();

    // curation of a finished round is reused as is
    const again = await dataActs.curateSynthesis({
      ...base,
      round: round - 1,
      shardOutputs: [],
      accepted: null,
    });
    assert.deepEqual(again.accepted, accepted);
  }));

test('a malformed train split is reported with artifact, line and field', () =>
  withStore(async (store) => {
    await store.writeText(
      'm1/train.jsonl',
      '{"id":"a","instruction":"x","response":"y"}\n{"id":"b","instruction":"x"}\n',
    );
    const train = await store.find('m1/train.jsonl');
    const { synthesizeShard } = createSynthesisActivities({ store, llm: new InTestTeacher([]) });
    const base = synthesisInput({ train: train!, test: train! }, 10);
    await assert.rejects(
      synthesizeShard({ ...base, round: 0, missing: 10, shard: 0, shards: 1, requests: 1 }),
      /artifact:\/\/m1\/train\.jsonl line 2: field "response"/,
    );
  }));

test('a cancel request ends the shard with what it paid for, the requests in flight included; a worker shutdown does not', () =>
  withStore(async (store) => {
    const input = {
      ...synthesisInput(await splits(store), 100),
      round: 0,
      missing: 100,
      shard: 0,
      shards: 1,
      requests: 10,
    };
    // four quick answers, then requests 4 and 5 are in flight when the cancel comes
    const run = async (how: 'cancel' | 'shutdown') => {
      const teacher = new InTestTeacher(teacherPool, (c) =>
        c < 4 ? 'normal' : how === 'cancel' ? 'slow' : 'hang',
      );
      const { synthesizeShard } = createSynthesisActivities({ store, llm: teacher, concurrency: 2 });
      const env = new MockActivityEnvironment();
      const result = env.run(synthesizeShard, input) as Promise<SynthesizeShardResult>;
      while (teacher.calls < 6) await new Promise((r) => setTimeout(r, 5));
      if (how === 'cancel') env.cancel();
      else env.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
      return { result, teacher };
    };
    const shutdown = await run('shutdown');
    await assert.rejects(shutdown.result, 'a shutting-down worker leaves the shard to the next attempt');
    await store.remove('m1/cycle-1/synth/round-0/shard-0.checkpoint.json');

    const { result, teacher } = await run('cancel');
    const res = await result;
    assert.equal(teacher.calls, 6, 'nothing asked after the cancel');
    assert.equal(res.usage.calls, 6, 'the two requests in flight finished and were paid for');
    assert.ok(Math.abs(res.usage.usd - 0.06) < 1e-9);
    assert.equal(res.generated, 6 * 3);
    assert.equal(res.failed, 4, 'the requests never asked');
    assert.equal((await store.readAllJsonl<RawSample>(res.raw.uri)).length, 18);
  }));
