// Workflow logic (real dev server): config `export` exports the migration's best adapter only, in one GPU
// step after the best cycle is known, and records its outputs in the result and the progress; a config
// without it asks for no export. Scores fall cycle after cycle here, so the best cycle is not the last one.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TASK_QUEUES } from '../../common/activities';
import type * as T from '../../common/types';
import { LocalArtifactStore } from '../../activities/store/local-store';
import { progressQuery, stopAfterCycleSignal } from '../../workflows/messages';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import { createFakeActivities } from '../fakes/fake-activities';
import { startTestEnv, runTestWorkers } from '../helpers/temporal-env';
import { testConfig } from '../helpers/test-config';

describe('exports of the best adapter (real dev server)', () => {
  let env: TestWorkflowEnvironment;
  let dir: string;
  let stopWorkers: (() => Promise<void>) | undefined;
  const exports: T.ExportAdapterInput[] = [];
  const fineTunes: T.FineTuneInput[] = [];
  /** how the test's exportAdapter behaves: the fake's outputs, a trainer failure, or a step that runs until cancelled */
  let exportMode: 'ok' | 'fail' | 'block' = 'ok';
  let exportCancelled = 0;

  before(async () => {
    env = await startTestEnv();
    dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-export-best-'));
    const store = new LocalArtifactStore(path.join(dir, 'artifacts'));
    const fakes = createFakeActivities({
      store,
      ledger: path.join(dir, 'ledger.jsonl'),
      baseScore: 70,
      scorePerCycle: -15,
    });
    const activities = {
      ...fakes,
      async fineTune(input: T.FineTuneInput) {
        fineTunes.push(input);
        return fakes.fineTune(input);
      },
      async exportAdapter(input: T.ExportAdapterInput) {
        exports.push(input);
        if (exportMode === 'fail')
          throw ApplicationFailure.nonRetryable('trainer export: no space left on device', 'GpuJobFailed');
        if (exportMode === 'block') {
          // heartbeats until the migration is cancelled, as the real activity waits on its Job
          const ctx = Context.current();
          while (!ctx.cancellationSignal.aborted) {
            ctx.heartbeat({ phase: 'exporting' });
            await new Promise((r) => setTimeout(r, 100));
          }
          exportCancelled++;
          throw ctx.cancellationSignal.reason;
        }
        return fakes.exportAdapter(input);
      },
    };
    stopWorkers = await runTestWorkers(env, activities);
  });

  after(async () => {
    await stopWorkers?.();
    await env?.teardown();
    await rm(dir, { recursive: true, force: true });
  });

  const run = (id: string, overrides: Parameters<typeof testConfig>[0]) =>
    env.client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: id,
      args: [
        {
          migrationId: id,
          config: testConfig({ name: id, maxCycles: 3, ...overrides }),
          // a cancel reaches a heartbeating activity within a second or two
          tuning: { heartbeatTimeout: '2s' },
        },
      ],
    });

  it('exports the best cycle adapter once, and records merged, GGUF and Modelfile', async () => {
    const handle = await run('export-best', { export: { merged: false, gguf: true } });
    const result = await handle.result();
    assert.equal(result.cycles.length, 3);
    assert.ok(result.best);
    assert.notEqual(result.best.cycle, result.cycles.at(-1)!.cycle, 'the best cycle is not the last one');
    assert.equal(exports.length, 1, 'one export step, for the best adapter only');
    const asked = exports[0]!;
    assert.equal(asked.cycle, result.best.cycle);
    assert.equal(asked.adapter.uri, result.best.adapter.uri);
    assert.deepEqual([asked.merged, asked.gguf, asked.baseModel], [false, true, 'builtin:tiny-random-llama']);
    // the fine-tunes themselves were not asked to export anything
    assert.ok(fineTunes.every((f) => !f.trainer.mergeWeights && !f.trainer.exportGguf));

    const e = result.export;
    assert.ok(e && !e.error, JSON.stringify(e));
    assert.equal(e.cycle, result.best.cycle);
    assert.match(e.gguf!.uri, new RegExp(`export-best/cycle-${result.best.cycle}/export/model\\.gguf`));
    assert.ok(e.merged && e.modelfile && e.manifest);
    const p = await handle.query(progressQuery);
    assert.deepEqual(p.export, e, 'the progress names the same exports');
  });

  it('asks for no export without the option', async () => {
    const before = exports.length;
    const result = await (await run('export-none', {})).result();
    assert.equal(exports.length, before);
    assert.equal(result.export, undefined);
  });

  it('exports on a target-met ending and on a stop, each the best cycle', async () => {
    exportMode = 'ok';
    const met = await (
      await run('export-met', {
        export: { merged: true, gguf: false },
        target: { metric: 'precision', statistic: 'mean', atLeast: 50 },
      })
    ).result();
    assert.equal(met.status, 'succeeded');
    const stopping = await run('export-stop', { export: { merged: true, gguf: false } });
    await stopping.signal(stopAfterCycleSignal, 'test');
    const stopped = await stopping.result();
    assert.equal(stopped.status, 'stopped');
    for (const r of [met, stopped]) {
      assert.ok(r.best && r.export && !r.export.error, JSON.stringify(r.export));
      assert.equal(r.export.cycle, r.best.cycle);
      assert.ok(r.export.merged);
      assert.equal(exports.filter((e) => e.migrationId === r.migrationId).length, 1);
    }
  });

  it('a failed export keeps the ending and says so in the result, the progress and the report', async () => {
    exportMode = 'fail';
    const handle = await run('export-fails', { export: { merged: true, gguf: false } });
    const result = await handle.result();
    assert.equal(result.status, 'target-not-met', 'training and evaluation decided the ending');
    assert.ok(result.best);
    assert.deepEqual(
      { cycle: result.export?.cycle, error: result.export?.error, merged: result.export?.merged },
      { cycle: result.best.cycle, error: 'trainer export: no space left on device', merged: undefined },
    );
    const p = await handle.query(progressQuery);
    assert.equal(p.stage, 'done');
    assert.equal(p.stageDetail, 'target-not-met; export of the best adapter failed');
    assert.deepEqual(p.export, result.export);
    assert.ok(result.report, 'the report is written');
  });

  it('a cancel during the export cancels the migration and records no export', async () => {
    exportMode = 'block';
    const handle = await run('export-cancelled', { export: { merged: true, gguf: false } });
    while ((await handle.query(progressQuery)).stage !== 'export')
      await new Promise((r) => setTimeout(r, 100));
    await handle.cancel();
    await assert.rejects(handle.result(), WorkflowFailedError);
    const p = await handle.query(progressQuery);
    assert.equal(p.status, 'cancelled');
    assert.equal(p.export, undefined);
    assert.equal(exportCancelled, 1, 'the export activity was cancelled, not left running');
  });
});
