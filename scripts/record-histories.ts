// Records histories of the current workflow code for the replay test (tests/integration/replay.test.ts).
// Run after a deliberate, patched workflow change: `bash scripts/node-env.sh tsx scripts/record-histories.ts`.
// Keep the old files: replaying the histories of earlier versions is what catches non-determinism.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { startDevServer, temporalCliPath } from '../client/dev-server';
import { TASK_QUEUES } from '../common/activities';
import { LocalArtifactStore } from '../activities/store/local-store';
import { createWorkers } from '../workers/create-workers';
import { migrationWorkflow } from '../workflows/migration-workflow';
import { stopAfterCycleSignal } from '../workflows/messages';
import { createFakeActivities } from '../tests/fakes/fake-activities';
import { workflowBundle } from '../tests/helpers/temporal-env';
import { testConfig } from '../tests/helpers/test-config';

const version = process.argv[2] ?? 'v1';
const outDir = path.resolve(import.meta.dirname, '..', 'tests', 'histories');
const server = await startDevServer();
const native = await NativeConnection.connect({ address: server.address });
const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection });
const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-record-'));
const workers = await createWorkers({
  connection: native,
  namespace: 'default',
  queues: ['workflow', 'data', 'llm', 'gpu'],
  activities: createFakeActivities({
    store: new LocalArtifactStore(dir),
    ledger: path.join(dir, 'ledger'),
    usdPerCall: 0.002,
  }),
  workflowBundle: await workflowBundle(),
  shutdownGraceTime: '1s',
});
const running = Promise.all(workers.map((w) => w.run()));
try {
  const scenarios: [string, Parameters<typeof testConfig>[0], boolean][] = [
    ['target-met', {}, false],
    ['stopped', { target: { metric: 'precision', statistic: 'mean', atLeast: 99 } }, true],
    [
      'budget',
      { target: { metric: 'similarity', statistic: 'coverage70', atLeast: 99 }, budget: { maxUsd: 1.2 } },
      false,
    ],
  ];
  for (const [name, overrides, stop] of scenarios) {
    const id = `${version}-${name}`;
    const handle = await client.workflow.start(migrationWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId: id,
      args: [{ migrationId: id, config: testConfig({ name: id, ...overrides }) }],
    });
    if (stop) await handle.signal(stopAfterCycleSignal, 'recorded');
    await handle.result();
  }
  for await (const exec of client.workflow.list()) {
    // the CLI writes the standard JSON form that historyFromJSON reads
    const json = execFileSync(temporalCliPath(), [
      'workflow',
      'show',
      '--address',
      server.address,
      '-w',
      exec.workflowId,
      '-r',
      exec.runId,
      '--output',
      'json',
    ]);
    // file name: <encoded workflow id>@<run id>.json (replay needs the workflow id)
    const file = path.join(outDir, `${encodeURIComponent(exec.workflowId)}@${exec.runId}.json`);
    await writeFile(file, json);
    console.log(
      `recorded ${path.relative(process.cwd(), file)} (${JSON.parse(json.toString()).events.length} events)`,
    );
  }
} finally {
  for (const w of workers) w.shutdown();
  await running;
  await native.close();
  await connection.close();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
