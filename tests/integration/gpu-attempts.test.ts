// Workflow logic (real dev server): a GPU step whose attempts keep ending without a failure of its own (a
// worker lost mid-step: the Job runs on and the next attempt adopts it) is retried past the old limit of five
// attempts; the step's own failures are counted by the activity (tests/unit/gpu/step-failures.test.ts).
// A GPU step no worker picks up fails the migration with a message that says so.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TASK_QUEUES } from '../../common/activities';
import type { FineTuneInput } from '../../common/types';
import { LocalArtifactStore } from '../../activities/store/local-store';
import { progressQuery } from '../../workflows/messages';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import { createFakeActivities } from '../fakes/fake-activities';
import { startTestEnv, runTestWorkers } from '../helpers/temporal-env';
import { testConfig } from '../helpers/test-config';

const LOST_WORKERS = 5; // six attempts: one more than the old limit

describe('GPU attempts and lost workers (real dev server)', () => {
  let env: TestWorkflowEnvironment;
  let dir: string;
  let stopWorkers: (() => Promise<void>) | undefined;
  let attempts = 0;

  before(async () => {
    env = await startTestEnv();
    dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-gpu-attempts-'));
    const store = new LocalArtifactStore(path.join(dir, 'artifacts'));
    const fakes = createFakeActivities({ store, ledger: path.join(dir, 'ledger.jsonl'), gpuMs: 20 });
    const activities = {
      ...fakes,
      async fineTune(input: FineTuneInput) {
        if (++attempts <= LOST_WORKERS)
          throw ApplicationFailure.retryable(`attempt ${attempts}: worker lost`, 'GpuWaitStopped');
        return fakes.fineTune(input);
      },
    };
    stopWorkers = await runTestWorkers(env, activities);
  });

  after(async () => {
    await stopWorkers?.();
    await env?.teardown();
    await rm(dir, { recursive: true, force: true });
  });

  it(`a fine-tune that lost its worker ${LOST_WORKERS} times still finishes the migration`, async () => {
    const result = await env.client.workflow.execute(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: 'gpu-lost-workers',
      args: [
        {
          migrationId: 'gpu-lost-workers',
          config: testConfig({ name: 'gpu-lost-workers', maxCycles: 1, budget: { maxUsd: 100 } }),
        },
      ],
    });
    assert.equal(attempts, LOST_WORKERS + 1);
    assert.equal(result.cycles.length, 1);
    assert.notEqual(result.status, 'failed');
  });
});

describe('a GPU step no worker picks up (real dev server)', () => {
  let env: TestWorkflowEnvironment;
  let dir: string;
  let stopWorkers: (() => Promise<void>) | undefined;

  before(async () => {
    env = await startTestEnv();
    dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-no-gpu-'));
    const store = new LocalArtifactStore(path.join(dir, 'artifacts'));
    stopWorkers = await runTestWorkers(
      env,
      createFakeActivities({ store, ledger: path.join(dir, 'ledger.jsonl') }),
      ['workflow', 'data', 'llm'],
    ); // no GPU worker
  });

  after(async () => {
    await stopWorkers?.();
    await env?.teardown();
    await rm(dir, { recursive: true, force: true });
  });

  it('fails the migration saying no worker picked the step up, instead of waiting forever', async () => {
    const handle = await env.client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: 'no-gpu-worker',
      args: [
        {
          migrationId: 'no-gpu-worker',
          config: testConfig({ name: 'no-gpu-worker', maxCycles: 1 }),
          tuning: { gpuScheduleToStart: '2s', cleanupScheduleToStart: '1s' },
        },
      ],
    });
    await assert.rejects(handle.result());
    const p = await handle.query(progressQuery);
    assert.equal(p.status, 'failed');
    assert.match(p.stageDetail, /failed in \S+: no worker picked up (generate|fineTune) in time/);
  });
});
