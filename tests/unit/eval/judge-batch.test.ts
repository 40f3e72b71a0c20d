// judgeShard with judges on `batch: true`, through the real SDKs against the local provider servers: the
// shard's calls go out as one batch per judge and kind of call (single grade, pairwise verdict), the
// records equal what the synchronous path would store, the spend equals the servers' bill at their batch
// price, and an attempt that dies while the batches are queued is resumed without a second submit.
import { ActivityCancellationDetails } from '@temporalio/common';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createEvalActivities } from '../../../activities/eval/eval-activities';
import type { JudgmentRecord } from '../../../activities/eval/judgment-record';
import type { ServiceModel } from '../../../common/config';
import { LocalArtifactStore } from '../../../activities/store/local-store';
import { EvaluationConfig } from '../../../common/config';
import type { EvaluatePlanInput, JudgeShardResult } from '../../../common/types';
import { scriptedTeacher } from '../../chaos/scripted-teacher';
import { harness, PROVIDERS } from '../llm/harness';
import { dollyClosedQa } from './dolly-fixture';

const tests = dollyClosedQa(4);

describe('batch judging', () => {
  it('two batch judges: one batch per judge and kind, billed at the batch price, resumed after a kill', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-judge-batch-'));
    const a = await harness(PROVIDERS[0], { respond: scriptedTeacher, batchDelayMs: 300 });
    const b = await harness(PROVIDERS[1], { respond: scriptedTeacher, batchDelayMs: 300 });
    try {
      const store = new LocalArtifactStore(dir);
      const judges: ServiceModel[] = [
        { ...a.model, batch: true },
        { ...b.model, batch: true },
      ];
      const clients = new Map([
        [judges[0]!.provider, a.client],
        [judges[1]!.provider, b.client],
      ]);
      const acts = createEvalActivities({
        store,
        llm: (m) => clients.get(m.provider)!,
        batchPollMs: 30,
      });
      const test = await store.writeJsonl('m1/data/test.jsonl', tests);
      const gens = (who: string) =>
        tests.flatMap((t) =>
          [0, 1].map((sample) => ({ promptId: t.id, sample, text: `${who} ${t.response}` })),
        );
      const generations = await store.writeJsonl('m1/cycle-1/generations.jsonl', gens('student'));
      const reference = await store.writeJsonl('m1/teacher/generations.jsonl', gens('teacher'));
      const input: EvaluatePlanInput = {
        migrationId: 'm1',
        cycle: 1,
        subject: 'student',
        test,
        generations,
        reference,
        evaluation: EvaluationConfig.parse({ judges, repeats: 1, pairwise: true, judgeCallsPerShard: 1000 }),
      };
      const plan = await acts.planEvaluation(input);
      assert.equal(plan.calls, 8 * 2 * 3, '8 generations, 2 judges, single + both pairwise orders');

      const first = new MockActivityEnvironment({ heartbeatTimeoutMs: 3000 });
      let last: unknown;
      first.on('heartbeat', (d: { batches: Record<string, unknown> }) => {
        last = d;
        if (Object.keys(d.batches).length === 4)
          first.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
      });
      await assert.rejects(first.run(acts.judgeShard, { ...input, shard: 0, shards: 1 }));
      assert.equal(a.srv.stats.batchesCreated + b.srv.stats.batchesCreated, 4);

      const retry = new MockActivityEnvironment({ heartbeatDetails: last, attempt: 2 });
      const res: JudgeShardResult = await retry.run(acts.judgeShard, { ...input, shard: 0, shards: 1 });
      assert.equal(a.srv.stats.batchesCreated + b.srv.stats.batchesCreated, 4, 'no batch submitted twice');
      assert.equal(a.srv.stats.batchItems + b.srv.stats.batchItems, plan.calls);
      assert.equal(res.failed, 0);
      const records = await store.readAllJsonl<JudgmentRecord>(res.judgments.uri);
      assert.equal(records.length, plan.calls);
      assert.equal(records.filter((r) => r.kind === 'pairwise').length, 8 * 2 * 2);
      assert.ok(records.every((r) => (r.kind === 'single' ? r.scores : r.verdict)));
      const bill = a.srv.stats.billedUsd + b.srv.stats.billedUsd;
      assert.equal(bill, a.srv.stats.batchUsd + b.srv.stats.batchUsd, 'all at the batch price');
      assert.ok(Math.abs(res.usage.usd - bill) <= 1e-6 * plan.calls, `${res.usage.usd} vs ${bill}`);
    } finally {
      await a.srv.close();
      await b.srv.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
