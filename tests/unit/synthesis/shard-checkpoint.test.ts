// synthesizeShard's checkpoint through the real OpenAI SDK against the local server: a worker killed between
// requests loses none of the answers it was billed for (none is asked again on resume, and the shard's usage
// equals the server's bill), and transient failures are retried for a number of rounds counted in the
// checkpoint, not by the activity's attempt number (which worker crashes raise too).
import { ActivityCancellationDetails } from '@temporalio/common';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSynthesisActivities } from '../../../activities/synthesis/synthesize-shard';
import type { ArtifactStore } from '../../../activities/store/artifact-store';
import type { SynthesizeShardInput, SynthesizeShardResult } from '../../../common/types';
import { killableStore } from '../../helpers/killable-store';
import { scriptedTeacher } from '../../chaos/scripted-teacher';
import { harness, PROVIDERS } from '../llm/harness';
import { InTestTeacher } from './in-test-teacher';
import { splits, synthesisInput, teacherPool, withStore } from './fixtures';

async function shardInput(store: ArtifactStore, requests: number): Promise<SynthesizeShardInput> {
  return {
    ...synthesisInput(await splits(store), 100),
    round: 1,
    missing: 100,
    shard: 0,
    shards: 1,
    requests,
  };
}

test('a worker killed after some answers loses none of them: no prompt is asked twice, usage equals the bill', () =>
  withStore(async (store) => {
    const { srv, client, model } = await harness(PROVIDERS[0], { respond: scriptedTeacher });
    try {
      const input = await shardInput(store, 8);
      input.synthesis = { ...input.synthesis, teacher: model };
      const worker = killableStore(store);
      const first = new MockActivityEnvironment({ heartbeatTimeoutMs: 3000 });
      first.on('heartbeat', (d: { finished: number }) => {
        if (d.finished >= 3) {
          worker.kill(); // SIGKILL: nothing after this point is written
          first.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
        }
      });
      await assert.rejects(
        first.run(
          createSynthesisActivities({ store: worker.store, llm: client, concurrency: 1 }).synthesizeShard,
          input,
        ),
      );
      const askedBefore = srv.stats.log.length;
      assert.ok(askedBefore >= 3 && askedBefore < 8, `${askedBefore} asked before the kill`);

      const retry = new MockActivityEnvironment({ attempt: 2, heartbeatTimeoutMs: 3000 });
      const res: SynthesizeShardResult = await retry.run(
        createSynthesisActivities({ store, llm: client, concurrency: 1 }).synthesizeShard,
        input,
      );
      const prompts = srv.stats.log.map((r) => JSON.stringify(r.messages));
      assert.equal(new Set(prompts).size, 8, 'eight different prompts');
      assert.equal(prompts.length, 8, 'no prompt was asked twice');
      assert.equal(res.generated, 8 * 3);
      assert.equal(res.usage.calls, 8);
      assert.ok(
        Math.abs(res.usage.usd - srv.stats.billedUsd) <= 8e-6,
        `usage ${res.usage.usd} vs billed ${srv.stats.billedUsd}`,
      );
    } finally {
      await srv.close();
    }
  }));

test('transient failures are retried for rounds counted in the checkpoint, whatever the attempt number', () =>
  withStore(async (store) => {
    const input = await shardInput(store, 6);
    const run = (teacher: InTestTeacher, attempt: number): Promise<SynthesizeShardResult> =>
      new MockActivityEnvironment({ attempt }).run(
        createSynthesisActivities({ store, llm: teacher, concurrency: 1 }).synthesizeShard,
        input,
      );
    const isTransient = (e: { type?: string; nonRetryable?: boolean }) =>
      e.type === 'LlmError:transient' && !e.nonRetryable;
    // attempt 5: two worker crashes came first; this is still the shard's first round with a 429
    const limited = () => new InTestTeacher(teacherPool, (c) => (c === 0 ? 'rate-limited' : 'normal'));
    await assert.rejects(run(limited(), 5), isTransient);
    await assert.rejects(run(limited(), 6), isTransient);
    // the third round still failing: the request is dropped and counted, the shard ends
    const res: SynthesizeShardResult = await run(limited(), 7);
    assert.equal(res.failed, 1);
    assert.equal(res.generated, 5 * 3);
  }));
