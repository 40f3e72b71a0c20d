// judgeShard with a share of the budget, through the real SDK client against the local provider server: the
// shard's judge calls (two judges drawing on one limit) stop before the share would be passed, the failure
// is BudgetExhausted and carries what the finished calls cost, which equals the server's bill; the retried
// attempt resumes from the checkpoint and counts the earlier spend against its share.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createEvalActivities } from '../../../activities/eval/eval-activities';
import { LocalArtifactStore } from '../../../activities/store/local-store';
import { EvaluationConfig, type ServiceModel } from '../../../common/config';
import type { EvaluatePlanInput, JudgeShardResult, Usage } from '../../../common/types';
import { scriptedTeacher } from '../../chaos/scripted-teacher';
import { harness, PROVIDERS } from '../llm/harness';
import { dollyClosedQa } from './dolly-fixture';

const tests = dollyClosedQa(6);

describe('judge shard budget', () => {
  it('stops at its share, reports what it paid, and a retry counts it against the share', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-judge-budget-'));
    const a = await harness(PROVIDERS[0], { respond: scriptedTeacher });
    const b = await harness(PROVIDERS[1], { respond: scriptedTeacher });
    try {
      const store = new LocalArtifactStore(dir);
      const judges: ServiceModel[] = [a.model, b.model];
      const clients = new Map([
        [a.model.provider, a.client],
        [b.model.provider, b.client],
      ]);
      const acts = createEvalActivities({ store, llm: (m) => clients.get(m.provider)!, concurrency: 2 });
      const test = await store.writeJsonl('m1/data/test.jsonl', tests);
      const generations = await store.writeJsonl(
        'm1/cycle-0/generations.jsonl',
        tests.map((t) => ({ promptId: t.id, sample: 0, text: `student ${t.response}` })),
      );
      const input: EvaluatePlanInput = {
        migrationId: 'm1',
        cycle: 0,
        subject: 'student',
        test,
        generations,
        evaluation: EvaluationConfig.parse({ judges, repeats: 1, pairwise: false, judgeCallsPerShard: 1000 }),
      };
      // what the whole shard costs, judged without a limit elsewhere (another migration id)
      const free: JudgeShardResult = await new MockActivityEnvironment().run(acts.judgeShard, {
        ...input,
        migrationId: 'm0',
        test: await store.writeJsonl('m0/data/test.jsonl', tests),
        generations: await store.writeJsonl(
          'm0/cycle-0/generations.jsonl',
          tests.map((t) => ({ promptId: t.id, sample: 0, text: `student ${t.response}` })),
        ),
        shard: 0,
        shards: 1,
      });
      const billedFree = a.srv.stats.billedUsd + b.srv.stats.billedUsd;
      assert.ok(Math.abs(free.usage.usd - billedFree) < 1e-6);

      // a share of about half of it
      const share = free.usage.usd / 2;
      let paid: Usage | undefined;
      await assert.rejects(
        new MockActivityEnvironment().run(acts.judgeShard, {
          ...input,
          shard: 0,
          shards: 1,
          shardBudgetUsd: share,
        }),
        (e: unknown) => {
          assert.ok(e instanceof ApplicationFailure);
          assert.equal(e.type, 'BudgetExhausted');
          assert.equal(e.nonRetryable, true);
          paid = (e.details?.[0] as { usage: Usage }).usage;
          return true;
        },
      );
      const billed = a.srv.stats.billedUsd + b.srv.stats.billedUsd - billedFree;
      assert.ok(paid && paid.usd > 0 && paid.usd <= share + 1e-9, `paid ${paid?.usd} of a ${share} share`);
      assert.ok(Math.abs(paid.usd - billed) < 1e-6, `reported ${paid.usd}, billed ${billed}`);

      // the same share again: what the checkpoint paid counts against it, so hardly anything more is asked
      const before = a.srv.stats.requests + b.srv.stats.requests;
      await assert.rejects(
        new MockActivityEnvironment().run(acts.judgeShard, {
          ...input,
          shard: 0,
          shards: 1,
          shardBudgetUsd: share,
        }),
        /budget/,
      );
      const again = a.srv.stats.billedUsd + b.srv.stats.billedUsd - billedFree;
      assert.ok(again <= share + 1e-9, `billed ${again} in all for a ${share} share`);
      // and with the rest of the money, the shard finishes, its spend equal to the bill
      const res: JudgeShardResult = await new MockActivityEnvironment().run(acts.judgeShard, {
        ...input,
        shard: 0,
        shards: 1,
        shardBudgetUsd: free.usage.usd * 1.5,
      });
      const total = a.srv.stats.billedUsd + b.srv.stats.billedUsd - billedFree;
      assert.ok(Math.abs(res.usage.usd - total) < 1e-6, `${res.usage.usd} counted, ${total} billed`);
      assert.ok(a.srv.stats.requests + b.srv.stats.requests > before);
    } finally {
      await a.srv.close();
      await b.srv.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
