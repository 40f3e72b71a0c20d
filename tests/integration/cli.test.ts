// Every `llamaduo` command as a user runs it (a child process), against a real dev server and a worker
// with test activities.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { stringify } from 'yaml';
import { LocalArtifactStore } from '../../activities/store/local-store';
import { startDevServer, type DevServer } from '../../client/dev-server';
import { createWorkers } from '../../workers/create-workers';
import { createFakeActivities } from '../fakes/fake-activities';
import { workflowBundle } from '../helpers/temporal-env';
import { DOLLY } from '../helpers/test-config';

const CLI = path.resolve(import.meta.dirname, '..', '..', 'cli', 'llamaduo.ts');
const run = promisify(execFile);

describe('llamaduo CLI (real dev server)', () => {
  let server: DevServer;
  let dir: string;
  let native: NativeConnection;
  let connection: Connection;
  let client: Client;
  let workers: Worker[];
  let running: Promise<unknown>;
  let configFile: string;

  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', CLI, ...args], {
        env: { ...process.env, TEMPORAL_ADDRESS: server.address, TEMPORAL_UI_URL: server.uiUrl },
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  const config = (overrides: Record<string, unknown> = {}) => ({
    name: 'cli-test',
    dataset: { path: DOLLY, categories: ['classification'], limit: 60 },
    split: { testRatio: 0.1, seed: 3 },
    baseModel: 'builtin:tiny-random-llama',
    evaluation: { judges: [{ provider: 'openai', model: 'gpt-4o' }], repeats: 1 },
    target: { metric: 'precision', atLeast: 70 },
    synthesis: { teacher: { provider: 'openai', model: 'gpt-4o' }, initialVolume: 50, requestsPerShard: 10 },
    maxCycles: 4,
    ...overrides,
  });

  before(async () => {
    server = await startDevServer();
    dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-cli-'));
    native = await NativeConnection.connect({ address: server.address });
    workers = await createWorkers({
      connection: native,
      namespace: 'default',
      queues: ['workflow', 'data', 'llm', 'gpu'],
      activities: createFakeActivities({
        store: new LocalArtifactStore(path.join(dir, 'a')),
        ledger: path.join(dir, 'ledger'),
        gpuMs: 300,
      }),
      workflowBundle: await workflowBundle(),
      shutdownGraceTime: '1s',
    });
    running = Promise.all(workers.map((w) => w.run()));
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection });
    configFile = path.join(dir, 'migration.yaml');
    await writeFile(configFile, stringify(config()));
  });

  after(async () => {
    for (const w of workers ?? []) w.shutdown();
    await running;
    await native?.close();
    await connection?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('validate: accepts a good config and names file, line and field of a bad one (exit 2)', async () => {
    const ok = await cli('validate', configFile);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /valid \(cli-test: builtin:tiny-random-llama, 4 cycles max/);
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, stringify(config({ maxCycles: -1, budget: { maxUsd: 'lots' } })));
    const r = await cli('validate', bad);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.yaml:\d+ field 'maxCycles'/);
    assert.match(r.stderr, /bad\.yaml:\d+ field 'budget\.maxUsd'/);
    const json = await cli('--json', 'validate', bad);
    assert.equal(JSON.parse(json.stderr).issues.length, 2);
  });

  it('start --wait, status, list and report the outcome with exit codes', async () => {
    const started = await cli('--json', 'start', configFile, '--id', 'cli-run-1');
    assert.equal(started.code, 0, started.stderr);
    assert.equal(JSON.parse(started.stdout).workflowId, 'cli-run-1');
    const watched = await cli('watch', 'cli-run-1', '--interval', '300');
    assert.equal(watched.code, 0, watched.stderr);
    assert.match(watched.stdout, /cli-run-1: COMPLETED \(succeeded\)/);
    assert.match(watched.stdout, /cycle 0: score/);
    const status = await cli('--json', 'status', 'cli-run-1');
    const p = JSON.parse(status.stdout);
    assert.equal(p.status, 'succeeded');
    assert.ok(p.cycles.length >= 2);
    const list = await cli('--json', 'list', '--query', 'LlamaduoStatus = "succeeded"');
    assert.ok(JSON.parse(list.stdout).some((r: { workflowId: string }) => r.workflowId === 'cli-run-1'));
    const missing = await cli('status', 'no-such-migration');
    assert.notEqual(missing.code, 0);
  });

  it('stop and cancel', async () => {
    const hard = path.join(dir, 'hard.yaml');
    await writeFile(hard, stringify(config({ target: { metric: 'precision', atLeast: 99 } })));
    await cli('start', hard, '--id', 'cli-stop');
    const stop = await cli('stop', 'cli-stop');
    assert.equal(stop.code, 0, stop.stderr);
    const stopped = await client.workflow.getHandle('cli-stop').result();
    assert.equal(stopped.status, 'stopped');

    await cli('start', hard, '--id', 'cli-cancel');
    const cancel = await cli('cancel', 'cli-cancel');
    assert.equal(cancel.code, 0, cancel.stderr);
    await assert.rejects(client.workflow.getHandle('cli-cancel').result(), /cancel/i);
  });

  it('schedule create, list, pause, resume, trigger, delete', async () => {
    const created = await cli('schedule', 'create', 'weekly', configFile, '--cron', '0 3 * * 1');
    assert.equal(created.code, 0, created.stderr);
    assert.match((await cli('schedule', 'list')).stdout, /^weekly$/m);
    await cli('schedule', 'pause', 'weekly');
    assert.match((await cli('schedule', 'list')).stdout, /weekly \(paused\)/);
    await cli('schedule', 'resume', 'weekly');
    const trig = await cli('schedule', 'trigger', 'weekly');
    assert.equal(trig.code, 0, trig.stderr);
    const desc = await client.schedule.getHandle('weekly').describe();
    assert.equal(desc.state.paused, false);
    assert.ok((desc.spec.calendars?.length ?? 0) > 0);
    // the triggered run is a real migration
    for (
      let i = 0;
      i < 50 && (await client.schedule.getHandle('weekly').describe()).info.recentActions.length === 0;
      i++
    )
      await new Promise((r) => setTimeout(r, 200));
    const action = (await client.schedule.getHandle('weekly').describe()).info.recentActions[0]!;
    const result = await client.workflow.getHandle(action.action.workflow.workflowId).result();
    assert.equal(result.status, 'succeeded');
    assert.equal((await cli('schedule', 'delete', 'weekly')).code, 0);
    assert.doesNotMatch((await cli('schedule', 'list')).stdout, /weekly/);
  });

  it('ui prints the Web UI address', async () => {
    const r = await cli('ui');
    assert.equal(r.stdout.trim(), server.uiUrl);
  });
});
