import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ActivityCancellationDetails } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { resumableRun } from '../../../activities/eval/resumable-run';
import { ArtifactStore } from '../../../activities/store/artifact-store';
import { LocalArtifactStore } from '../../../activities/store/local-store';

let dir: string;
let store: ArtifactStore;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-resumable-'));
  store = new LocalArtifactStore(dir);
});
after(() => rm(dir, { recursive: true, force: true }));

describe('resumableRun', () => {
  it('works outside an activity and keeps the results in item order', async () => {
    const items = [5, 1, 4, 2, 3];
    const { results } = await resumableRun({
      store,
      checkpointKey: 'a/checkpoint.jsonl',
      items,
      keyOf: String,
      concurrency: 3,
      // later items finish first
      run: (n) => new Promise<number>((resolve) => setTimeout(() => resolve(n * 10), 10 * n)),
    });
    assert.deepEqual(results, [50, 10, 40, 20, 30]);
  });

  it('heartbeats while a slow call waits, not only when one finishes', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    let finish!: (v: string) => void;
    let started!: () => void;
    const callStarted = new Promise<void>((resolve) => (started = resolve));
    const done = env.run(() =>
      resumableRun({
        store,
        checkpointKey: 'b/checkpoint.jsonl',
        items: [1],
        keyOf: String,
        concurrency: 1,
        heartbeatEveryMs: 1000,
        run: () => {
          started();
          return new Promise<string>((resolve) => (finish = resolve));
        },
      }),
    );
    await callStarted;
    assert.equal(beats.length, 1, 'one heartbeat at the start');
    t.mock.timers.tick(3000);
    assert.equal(beats.length, 4, `three more while the call is still waiting: ${JSON.stringify(beats)}`);
    assert.deepEqual(beats.at(-1), { done: 0, total: 1 });
    finish('done');
    await done;
    assert.deepEqual(beats.at(-1), { done: 1, total: 1 });
  });

  it('stops when the activity is cancelled and keeps what finished', async () => {
    const env = new MockActivityEnvironment();
    let started = 0;
    const run = env.run(() =>
      resumableRun({
        store,
        checkpointKey: 'c/checkpoint.jsonl',
        items: [1, 2, 3, 4, 5, 6],
        keyOf: String,
        concurrency: 1,
        run: async (n) => {
          started++;
          if (n === 2) env.cancel('CANCELLED');
          return n;
        },
      }),
    );
    await assert.rejects(run);
    assert.equal(started, 2, 'no call starts after the cancellation');
    const saved = await store.readAllJsonl<{ key: string }>('c/checkpoint.jsonl');
    assert.deepEqual(
      saved.map((r) => r.key),
      ['1', '2'],
    );
  });

  it('a cancel request lets the calls in flight finish and keeps them; a worker shutdown aborts them', async () => {
    for (const how of ['cancel', 'shutdown'] as const) {
      const env = new MockActivityEnvironment();
      const key = `c/drain-${how}.jsonl`;
      let started = 0;
      let aborted = 0;
      const run = env.run(() =>
        resumableRun({
          store,
          checkpointKey: key,
          items: [1, 2, 3, 4, 5, 6],
          keyOf: String,
          concurrency: 2,
          run: async (n, signal) => {
            started++;
            if (n === 4) {
              if (how === 'cancel') env.cancel();
              else env.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
            }
            // a call in flight: answers after a while unless aborted
            await new Promise<void>((resolve, reject) => {
              if (signal?.aborted) {
                aborted++;
                return reject(signal.reason);
              }
              const onAbort = () => {
                clearTimeout(t);
                aborted++;
                reject(signal!.reason);
              };
              const t = setTimeout(() => {
                signal?.removeEventListener('abort', onAbort);
                resolve();
              }, 30);
              signal?.addEventListener('abort', onAbort, { once: true });
            });
            return n;
          },
        }),
      );
      await assert.rejects(run);
      assert.equal(started, 4, `${how}: no call starts after it`);
      const saved = (await store.readAllJsonl<{ key: string }>(key)).map((r) => r.key).sort();
      if (how === 'cancel') {
        assert.equal(aborted, 0);
        assert.deepEqual(saved, ['1', '2', '3', '4'], 'the calls in flight finished and are kept');
      } else {
        assert.equal(aborted, 2);
        assert.deepEqual(saved, ['1', '2']);
      }
    }
  });
});
