// judgeViaBatch when a resumed batch covers only part of a judge's calls: the rest goes out as a follow-up
// batch, whose id replaces the first one's in the batch record. The first batch's answers must be
// checkpointed before that submit, so a worker killed during the follow-up's wait never submits them again.
import { ActivityCancellationDetails } from '@temporalio/common';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { loadEvalInputs } from '../../../activities/eval/eval-inputs';
import { judgeViaBatch } from '../../../activities/eval/judge-batch';
import { planCalls } from '../../../activities/eval/judge-plan';
import type { JudgmentRecord } from '../../../activities/eval/judgment-record';
import type { ArtifactStore } from '../../../activities/store/artifact-store';
import { LocalArtifactStore } from '../../../activities/store/local-store';
import type { ServiceModel } from '../../../common/config';
import { killableStore } from '../../helpers/killable-store';
import { scriptedTeacher } from '../../chaos/scripted-teacher';
import { harness, PROVIDERS } from '../llm/harness';
import { dollyClosedQa } from './dolly-fixture';

type Beat = { batches: Record<string, { batchId?: string }> };

it('a kill while a follow-up batch waits does not submit the resumed batch’s calls again', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-judge-followup-'));
  const { srv, client, model } = await harness(PROVIDERS[0], { respond: scriptedTeacher, batchDelayMs: 300 });
  try {
    const store = new LocalArtifactStore(dir);
    const tests = dollyClosedQa(4);
    const test = await store.writeJsonl('m1/data/test.jsonl', tests);
    const generations = await store.writeJsonl(
      'm1/cycle-1/generations.jsonl',
      tests.flatMap((t) =>
        [0, 1].map((sample) => ({ promptId: t.id, sample, text: `student ${t.response}` })),
      ),
    );
    const judges: ServiceModel[] = [{ ...model, batch: true }];
    const inputs = await loadEvalInputs(store, { test, generations });
    const calls = planCalls(inputs, { judges, repeats: 1, pairwise: false });
    assert.equal(calls.length, 8);
    const judge = (s: ArtifactStore, part: typeof calls) =>
      judgeViaBatch({
        store: s,
        checkpointKey: 'm1/cycle-1/judge-shard-0.checkpoint.jsonl',
        calls: part,
        judges,
        inputs,
        llmFor: () => client,
        pollMs: 30,
        concurrency: 2,
      });

    // an earlier attempt submitted a batch for half of the calls and died while it was queued
    const first = new MockActivityEnvironment({ heartbeatTimeoutMs: 3000 });
    let firstBatch: string | undefined;
    first.on('heartbeat', (d: Beat) => {
      firstBatch ??= d.batches['0-single']?.batchId;
      if (firstBatch)
        first.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
    });
    await assert.rejects(first.run(() => judge(store, calls.slice(0, 4))));
    assert.ok(firstBatch);

    // the next resumes that batch, then submits the other half and is killed during its wait
    const worker = killableStore(store);
    const second = new MockActivityEnvironment({ heartbeatTimeoutMs: 3000, attempt: 2 });
    second.on('heartbeat', (d: Beat) => {
      const id = d.batches['0-single']?.batchId;
      if (id && id !== firstBatch) {
        worker.kill();
        second.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
      }
    });
    await assert.rejects(second.run(() => judge(worker.store, calls)));
    assert.equal(srv.stats.batchesCreated, 2);

    const third = new MockActivityEnvironment({ heartbeatTimeoutMs: 3000, attempt: 3 });
    const records: JudgmentRecord[] = await third.run(() => judge(store, calls));
    assert.equal(records.length, 8);
    assert.ok(records.every((r) => r.scores));
    assert.equal(srv.stats.batchesCreated, 2, 'the resumed batch’s calls were not submitted again');
    assert.equal(srv.stats.batchItems, 8);
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});
