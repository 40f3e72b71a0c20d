// Replays every recorded history (tests/histories, recorded from earlier versions of the workflow code)
// against the current workflow code: a change that would break running migrations fails here.
// After an intended change, guard it with patched() and record new histories (scripts/record-histories.ts).
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { workflowBundle } from '../helpers/temporal-env';

const HISTORIES = path.resolve(import.meta.dirname, '..', 'histories');

describe('replay of recorded histories', () => {
  it('replays every recorded history without non-determinism', async () => {
    const files = (await readdir(HISTORIES)).filter((f) => f.endsWith('.json')).sort();
    assert.ok(files.length >= 5, `expected recorded histories in ${HISTORIES}`);
    // recorded with the real activities (scripts/record-real-histories.ts): every scenario is in the corpus
    for (const scenario of [
      'v2-real-updates',
      'v2-real-promoted-second',
      'v2-real-failed',
      'v2-real-cancelled',
      'v3-real-budget-stop',
      'v3-real-budget-stop%2Fsynthesis-1',
      'v3-real-batch-wait',
      'v3-real-batch-wait%2Fsynthesis-1',
    ])
      assert.ok(
        files.some((f) => f.startsWith(`${scenario}@`)),
        `no recorded history for ${scenario}`,
      );
    const histories = await Promise.all(
      files.map(async (f) => ({
        workflowId: decodeURIComponent(f.slice(0, f.lastIndexOf('@'))),
        history: historyFromJSON(JSON.parse(await readFile(path.join(HISTORIES, f), 'utf8'))),
      })),
    );
    const bundle = await workflowBundle();
    const failures: string[] = [];
    let replayed = 0;
    for await (const r of Worker.runReplayHistories(
      { workflowBundle: bundle, replayName: 'llamaduo' },
      histories,
    )) {
      replayed++;
      if (r.error) failures.push(`${r.workflowId}: ${r.error}`);
    }
    assert.equal(replayed, files.length);
    assert.deepEqual(failures, []);
  });
});
