// npm run bench:history
// An 8-cycle migration whose (test) synthesis grows to 256k samples, on a real dev server. Reads every run's
// history (migration runs and synthesis child workflows) back from the server and prints one JSON line:
// {"cycles":8,"runs":..,"maxEventsPerRun":..,"maxPayloadBytes":..}. Target: <= 2,000 events, <= 64 KiB.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import { TASK_QUEUES } from '../common/activities';
import { LocalArtifactStore } from '../activities/store/local-store';
import { startDevServer } from '../client/dev-server';
import { createWorkers } from '../workers/create-workers';
import { migrationWorkflow } from '../workflows/migration-workflow';
import { createFakeActivities } from '../tests/fakes/fake-activities';
import { workflowBundle } from '../tests/helpers/temporal-env';
import { testConfig } from '../tests/helpers/test-config';

/** Bytes of payload data carried by one history event (all its payloads together). */
export function eventPayloadBytes(node: unknown): number {
  if (node === null || typeof node !== 'object') return 0;
  if (node instanceof Uint8Array) return 0;
  const obj = node as Record<string, unknown>;
  if (obj.data instanceof Uint8Array && 'metadata' in obj) return obj.data.length;
  let total = 0;
  for (const v of Object.values(obj))
    total += Array.isArray(v) ? v.reduce((a, x) => a + eventPayloadBytes(x), 0) : eventPayloadBytes(v);
  return total;
}

Runtime.install({ logger: new DefaultLogger('WARN') });
const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-history-'));
const server = await startDevServer();
const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection });
const native = await NativeConnection.connect({ address: server.address });
const workers = await createWorkers({
  connection: native,
  namespace: 'default',
  queues: ['workflow', 'data', 'llm', 'gpu'],
  activities: createFakeActivities({
    store: new LocalArtifactStore(path.join(dir, 'artifacts')),
    ledger: path.join(dir, 'ledger.jsonl'),
    gpuMs: 0,
    shardMs: 0,
    scorePerCycle: 1,
    materialize: false,
  }),
  workflowBundle: await workflowBundle(),
  concurrency: { llm: 32, data: 8, gpu: 2 },
  shutdownGraceTime: '1s',
});
const running = Promise.all(workers.map((w) => w.run()));

try {
  const id = 'history-bench';
  const config = testConfig({
    name: id,
    maxCycles: 8,
    target: { metric: 'precision', statistic: 'mean', atLeast: 99 },
    budget: { maxUsd: 1e6 },
    synthesis: {
      teacher: { provider: 'openai', model: 'gpt-4o' },
      initialVolume: 4000,
      maxVolume: 256_000,
      samplesPerRequest: 5,
      requestsPerShard: 200,
      concurrentShards: 16,
    },
  });
  const handle = await client.workflow.start(migrationWorkflow, {
    taskQueue: TASK_QUEUES.workflow,
    workflowId: id,
    args: [{ migrationId: id, config }],
  });
  const result = await handle.result();
  const largestSynthesis = Math.max(...result.syntheses.map((s) => s.wanted));
  const finalVolume = result.cycles.at(-1)!.syntheticSamples;

  let runs = 0;
  let maxEventsPerRun = 0;
  let maxPayloadBytes = 0;
  for await (const exec of client.workflow.list()) {
    const history = await client.workflow.getHandle(exec.workflowId, exec.runId).fetchHistory();
    const events = (history.events ?? []) as temporal.api.history.v1.IHistoryEvent[];
    runs++;
    maxEventsPerRun = Math.max(maxEventsPerRun, events.length);
    for (const e of events) maxPayloadBytes = Math.max(maxPayloadBytes, eventPayloadBytes(e));
  }
  console.error(
    `cycles ${result.cycles.length}, final synthetic volume ${finalVolume}, largest synthesis ${largestSynthesis}, status ${result.status}`,
  );
  console.log(
    JSON.stringify({
      cycles: result.cycles.length,
      syntheticSamples: finalVolume,
      runs,
      maxEventsPerRun,
      maxPayloadBytes,
    }),
  );
  if (
    result.cycles.length !== 8 ||
    finalVolume !== 256_000 ||
    maxEventsPerRun > 2000 ||
    maxPayloadBytes > 65536
  )
    process.exitCode = 1;
} finally {
  for (const w of workers) w.shutdown();
  await running;
  await native.close();
  await connection.close();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
