// A long 429 pause inside a synthesis shard, with the real activities on a dev server: the provider asks
// for an 8 s wait while the activity's heartbeat timeout is 3 s. The shard heartbeats on a timer while its
// requests wait, so the attempt is not timed out and no request is asked (and paid for) twice.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { TASK_QUEUES } from '../../common/activities';
import { createActivities } from '../../workers/activities';
import { createWorkers } from '../../workers/create-workers';
import { readWorkerEnv } from '../../workers/worker-config';
import { synthesisWorkflow } from '../../workflows/synthesis-workflow';
import { startTestEnv, workflowBundle } from '../helpers/temporal-env';
import { scriptedTeacher } from '../chaos/scripted-teacher';
import { startOpenAiServer, type StartedServer } from '../servers';
import { API_KEY, flowConfig, isSynthesis } from './llm-flow-harness';

describe('rate-limit pause in a synthesis shard', () => {
  let env: TestWorkflowEnvironment;
  let dir: string;
  let server: StartedServer;
  let workers: Worker[];
  let running: Promise<void>;
  const billed: string[] = [];
  let activities: ReturnType<typeof createActivities>;

  before(async () => {
    env = await startTestEnv();
    dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-429-'));
    server = await startOpenAiServer({
      apiKey: API_KEY,
      // every first ask of the shard's 6 requests: "429, retry after 8 s"
      faultSequence: Array<'429'>(6).fill('429'),
      retryAfterS: 8,
      respond: (req) => {
        if (isSynthesis(req)) billed.push(JSON.stringify(req.messages));
        return scriptedTeacher(req);
      },
    });
    const workerEnv = readWorkerEnv({ LLAMADUO_ARTIFACTS: path.join(dir, 'artifacts') });
    activities = createActivities(workerEnv, { ...process.env, OPENAI_API_KEY: API_KEY });
    workers = await createWorkers({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      queues: ['workflow', 'data', 'llm'],
      activities,
      workflowBundle: await workflowBundle(),
      shutdownGraceTime: '1s',
    });
    running = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  });

  after(async () => {
    for (const w of workers ?? []) w.shutdown();
    await running;
    await server?.close();
    await env?.teardown();
    await rm(dir, { recursive: true, force: true });
  });

  it('a 429 pause longer than the heartbeat timeout re-asks nothing', async () => {
    const config = flowConfig('pause', `${server.url}/v1`);
    const split = await activities.ingestCoverage!({
      migrationId: 'pause',
      dataset: config.dataset,
      split: config.split,
    });
    const synthesis = { ...config.synthesis, requestsPerShard: 6, initialVolume: 12 };
    const handle = await env.client.workflow.start(synthesisWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: 'pause-synthesis',
      args: [
        {
          migrationId: 'pause',
          cycle: 1,
          train: split.train,
          test: split.test,
          prior: [],
          wanted: 12,
          synthesis,
          budgetUsd: 5,
        },
        { heartbeatTimeout: '3s' },
      ],
    });
    const started = Date.now();
    const result = await handle.result();
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds >= 8, `waited out the 8 s pause (${seconds.toFixed(1)} s)`);
    assert.equal(server.stats.got429, 6);
    assert.ok(result.generated > 0);

    const { events } = await handle.fetchHistory();
    const attempts = (events ?? [])
      .map((e) => e.activityTaskStartedEventAttributes?.attempt)
      .filter((a): a is number => typeof a === 'number');
    assert.ok(attempts.length >= 1);
    assert.deepEqual(
      attempts.filter((a) => a > 1),
      [],
      'no activity was timed out and retried',
    );
    assert.equal(new Set(billed).size, billed.length, 'no synthesis request was billed twice');
    assert.equal(billed.length, 6 * result.rounds);
    console.log(
      `429 pause: ${seconds.toFixed(1)} s, ${server.stats.got429} 429s, ${billed.length} requests billed once each, attempts ${attempts.join(',')}`,
    );
  });
});
