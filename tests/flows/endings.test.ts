// Every ending leaves a final LlamaduoStatus and a report, with the real activities on a real dev server:
// a migration without its provider key, a trainer that rejects its spec, and a cancel while the (real, CPU)
// trainer runs, which must also kill the trainer process. And a migration whose GPU workers are all gone:
// its cleanup gives up the deletion once no GPU worker picked it up in time, and it still ends cancelled.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { readRecord, isAlive } from '../../activities/gpu/local-process';
import { stepKeys } from '../../activities/gpu/names';
import { TASK_QUEUES } from '../../common/activities';
import type { MigrationConfig } from '../../common/config';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import { progressQuery } from '../../workflows/messages';
import { SA_STATUS } from '../../workflows/search-attributes';
import { startFlowEnv, type FlowEnv } from './harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('endings: final status and report on every path (real activities)', () => {
  let flow: FlowEnv;
  before(async () => {
    flow = await startFlowEnv();
  });
  after(async () => {
    await flow?.close();
  });

  const start = (id: string, config: MigrationConfig) =>
    flow.env.client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: id,
      args: [{ migrationId: id, config, tuning: { heartbeatTimeout: '5s' } }],
    });

  async function assertEnded(id: string, status: string, detail: RegExp) {
    const handle = flow.env.client.workflow.getHandle(id);
    const desc = await handle.describe();
    assert.equal(desc.typedSearchAttributes.get(SA_STATUS), status, `${id}: LlamaduoStatus`);
    const progress = await handle.query(progressQuery);
    assert.equal(progress.status, status);
    assert.equal(progress.stage, 'done');
    assert.match(progress.stageDetail, detail);
    const report = await flow.store.find(`${id}/report.html`);
    assert.ok(report && report.bytes > 1000, `${id}: report written`);
    return desc;
  }

  it('a migration whose teacher has no API key ends failed, with a clear message and a report', async () => {
    const config = flow.config('no-key', {
      synthesis: {
        teacher: { provider: 'anthropic', model: 'claude-3-5-haiku-latest' },
        samplesPerRequest: 3,
        initialVolume: 6,
      },
    });
    const handle = await start('no-key', config);
    await assert.rejects(handle.result(), WorkflowFailedError);
    const desc = await assertEnded('no-key', 'failed', /failed in teacher-baseline: .*ANTHROPIC_API_KEY/);
    assert.equal(desc.status.name, 'FAILED');
  });

  it('a trainer that rejects its spec ends the migration failed at its first GPU step, with a report', async () => {
    const handle = await start('bad-model', flow.config('bad-model', { baseModel: 'builtin:no-such-model' }));
    await assert.rejects(handle.result(), WorkflowFailedError);
    // the first GPU step is the base student's generate (measured before cycle 0)
    await assertEnded(
      'bad-model',
      'failed',
      /failed in generate: bad-model\/cycle-0\/generate-base: trainer exited 2/,
    );
  });

  it('cancel during fine-tune kills the trainer process and ends cancelled, with a report', async () => {
    // enough epochs that the CPU trainer is still running when the cancel arrives
    const config = flow.config('cancel-local', {
      trainer: { method: 'lora', epochs: 400, batchSize: 1, maxSeqLength: 96, learningRate: 1e-3, seed: 1 },
    });
    const handle = await start('cancel-local', config);
    const runDir = flow.store.path(
      `${stepKeys({ migrationId: 'cancel-local', cycle: 0, step: 'finetune' }).dir}/run`,
    );
    let rec = null;
    for (let i = 0; i < 600 && !rec; i++) {
      rec = await readRecord(runDir);
      if (!rec) await sleep(200);
    }
    assert.ok(rec, 'the trainer process started');
    assert.ok(await isAlive(rec), 'and runs');
    await handle.cancel();
    await assert.rejects(handle.result(), WorkflowFailedError);
    const desc = await assertEnded('cancel-local', 'cancelled', /cancelled in fine-tune/);
    assert.equal(desc.status.name, 'CANCELLED');
    assert.equal(await isAlive(rec), false, 'the trainer process was killed');
  });
});

describe('endings with every GPU worker gone', () => {
  let flow: FlowEnv;
  before(async () => {
    flow = await startFlowEnv({ queues: ['workflow', 'data', 'llm'] });
  });
  after(async () => {
    await flow?.close();
  });

  it('a cancel ends the migration cancelled with a report; the cleanup leaves the GPU work to the reaper', async () => {
    const id = 'no-gpu-worker';
    const handle = await flow.env.client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: id,
      args: [
        {
          migrationId: id,
          config: flow.config(id),
          tuning: { heartbeatTimeout: '5s', cleanupScheduleToStart: '3s' },
        },
      ],
    });
    // the base student's generate waits for a GPU worker that never comes
    for (let i = 0; i < 600 && (await handle.query(progressQuery)).stage !== 'generate'; i++)
      await sleep(200);
    assert.equal((await handle.query(progressQuery)).stage, 'generate');
    const t0 = Date.now();
    await handle.cancel();
    await assert.rejects(handle.result(), WorkflowFailedError);
    const seconds = (Date.now() - t0) / 1000;
    // the cleanup's 10 min schedule-to-close would be the bound without the schedule-to-start one
    assert.ok(seconds < 60, `closed ${seconds.toFixed(0)} s after the cancel`);
    const desc = await flow.env.client.workflow.getHandle(id).describe();
    assert.equal(desc.status.name, 'CANCELLED');
    assert.equal(desc.typedSearchAttributes.get(SA_STATUS), 'cancelled');
    assert.match((await handle.query(progressQuery)).stageDetail, /cancelled in generate/);
    assert.ok(await flow.store.find(`${id}/report.html`), 'report written');
    const history = await handle.fetchHistory();
    const timedOut = history.events?.filter((e) => e.activityTaskTimedOutEventAttributes) ?? [];
    assert.equal(timedOut.length, 1, 'the GPU cleanup timed out waiting for a worker');
  });
});
