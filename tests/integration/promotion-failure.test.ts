// Workflow logic (real dev server): a promotion that fails (here the registry write is refused for good) ends
// the migration as failed, in the promote stage, with the cause and a report; the search attribute
// `llamaduo list` reads says failed too, not running or the status the run would have ended with.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { TASK_QUEUES } from '../../common/activities';
import { LocalArtifactStore } from '../../activities/store/local-store';
import { progressQuery } from '../../workflows/messages';
import { migrationWorkflow } from '../../workflows/migration-workflow';
import { SA_STATUS } from '../../workflows/search-attributes';
import { createFakeActivities } from '../fakes/fake-activities';
import { startTestEnv, runTestWorkers } from '../helpers/temporal-env';
import { testConfig } from '../helpers/test-config';

describe('a failed promotion (real dev server)', () => {
  let env: TestWorkflowEnvironment;
  let dir: string;
  let stopWorkers: (() => Promise<void>) | undefined;
  let reports = 0;

  before(async () => {
    env = await startTestEnv();
    dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-promotion-failure-'));
    const store = new LocalArtifactStore(path.join(dir, 'artifacts'));
    const fakes = createFakeActivities({ store, ledger: path.join(dir, 'ledger.jsonl') });
    const activities = {
      ...fakes,
      async promote(): Promise<never> {
        throw ApplicationFailure.nonRetryable('registry write refused: bucket is read-only', 'StoreError');
      },
      async writeReport(input: Parameters<typeof fakes.writeReport>[0]) {
        reports++;
        return fakes.writeReport(input);
      },
    };
    stopWorkers = await runTestWorkers(env, activities);
  });

  after(async () => {
    await stopWorkers?.();
    await env?.teardown();
    await rm(dir, { recursive: true, force: true });
  });

  it('ends failed in the promote stage, with the cause and a report', async () => {
    const handle = await env.client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: 'promotion-fails',
      args: [
        {
          migrationId: 'promotion-fails',
          // the target is met in cycle 0: the run would end succeeded but for its promotion
          config: testConfig({
            name: 'promotion-fails',
            maxCycles: 1,
            target: { metric: 'precision', statistic: 'mean', atLeast: 10 },
            promotion: { channel: 'prod' },
          }),
        },
      ],
    });
    await assert.rejects(handle.result());
    const p = await handle.query(progressQuery);
    assert.equal(p.status, 'failed');
    assert.match(p.stageDetail, /failed in promote: registry write refused/);
    assert.equal(p.decisions.at(-1)?.outcome, 'stop-target-met', 'the cycle itself met its target');
    const desc = await handle.describe();
    assert.equal(desc.typedSearchAttributes.get(SA_STATUS), 'failed');
    assert.equal(reports, 1, 'the report was written');
  });
});
