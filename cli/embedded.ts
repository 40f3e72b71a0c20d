// The embedded defaults: the temporal dev server on loopback (state in .llamaduo/temporal.sqlite, Web UI on
// 127.0.0.1:8233), a worker on every queue with the local GPU backend and the local artifact directory.
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { dataConverterFromEnv } from '../activities/codec/data-converter';
import type { MigrationConfig } from '../common/config';
import { startDevServer, type DevServer } from '../client/dev-server';
import { MigrationClient } from '../client/migrations';
import { createActivities } from '../workers/activities';
import { createWorkers, runWorkers } from '../workers/create-workers';
import { readWorkerEnv } from '../workers/worker-config';
import { EMBEDDED_ADDRESS, reachable } from './connect';
import { renderProgress } from './progress-view';

const STATE_DIR = path.resolve(process.env.LLAMADUO_HOME ?? '.llamaduo');

export async function embeddedNeeded(): Promise<boolean> {
  return !process.env.TEMPORAL_ADDRESS && !(await reachable(EMBEDDED_ADDRESS));
}

async function startEmbedded(): Promise<{
  server: DevServer;
  stopWorkers: () => Promise<void>;
  client: Client;
}> {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const server = await startDevServer({
    dbFile: path.join(STATE_DIR, 'temporal.sqlite'),
    port: 7233,
    uiPort: 8233,
  });
  const env = readWorkerEnv({
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    LLAMADUO_ARTIFACTS: process.env.LLAMADUO_ARTIFACTS ?? path.join(STATE_DIR, 'artifacts'),
  });
  const native = await NativeConnection.connect({ address: server.address });
  const workers = await createWorkers({
    connection: native,
    namespace: 'default',
    queues: env.LLAMADUO_QUEUES,
    activities: createActivities(env),
    dataConverter: dataConverterFromEnv(),
    shutdownGraceTime: '5s',
  });
  const running = runWorkers(workers);
  const connection = await Connection.connect({ address: server.address });
  return {
    server,
    client: new Client({ connection, dataConverter: dataConverterFromEnv() }),
    async stopWorkers() {
      for (const w of workers) w.shutdown();
      await running;
      await native.close();
      await connection.close();
    },
  };
}

export async function runEmbedded(
  config: MigrationConfig,
  opts: { workflowId?: string; json: boolean },
): Promise<void> {
  const { server, client, stopWorkers } = await startEmbedded();
  try {
    const mc = new MigrationClient(client);
    const handle = await mc.startMigration(config, { workflowId: opts.workflowId });
    const link = `${server.uiUrl}/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}`;
    console.log(`migration ${handle.workflowId} started\nTemporal UI: ${link}`);
    const timer = setInterval(async () => {
      try {
        const p = await mc.getProgress(handle.workflowId);
        if (!opts.json) console.log(`\n${renderProgress(p)}`);
      } catch {
        /* between runs of continue-as-new */
      }
    }, 15_000);
    let result;
    try {
      result = await handle.result();
    } finally {
      clearInterval(timer);
    }
    const { writeMigrationReport } = await import('./report-command');
    const report = await writeMigrationReport(mc, handle.workflowId);
    if (opts.json)
      console.log(JSON.stringify({ workflowId: handle.workflowId, status: result.status, report, ui: link }));
    else
      console.log(
        `\nmigration ${handle.workflowId}: ${result.status} after ${result.cycles.length} cycle(s), best score ${result.best?.score.toFixed(1) ?? '-'}, spend $${result.spend.total.usd.toFixed(4)}\nreport: ${report}\nTemporal UI: ${link}`,
      );
    if (result.status !== 'succeeded' && result.status !== 'target-not-met') process.exitCode = 1;
  } finally {
    await stopWorkers();
    await server.stop();
  }
}

export async function serveEmbedded(): Promise<void> {
  const { server, stopWorkers } = await startEmbedded();
  console.log(
    `Temporal dev server on ${server.address}, UI ${server.uiUrl}; worker running. Ctrl-C to stop.`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stopWorkers();
  await server.stop();
}
