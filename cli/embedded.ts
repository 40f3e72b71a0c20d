// The embedded defaults: the temporal dev server on loopback (state in .llamaduo/temporal.sqlite, Web UI on
// 127.0.0.1:8233), a worker on every queue with the local GPU backend and the local artifact directory.
// The SDK's own logs (worker start-up warnings, activity failures with stack traces, native core logs) go to
// the log file, not the console; `verbose` shows them as well.
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { dataConverterFromEnv } from '../activities/codec/data-converter';
import type { MigrationConfig } from '../common/config';
import { startDevServer, type DevServer } from '../client/dev-server';
import { MigrationClient } from '../client/migrations';
import { createActivities } from '../workers/activities';
import { createWorkers, runWorkers } from '../workers/create-workers';
import { readWorkerEnv } from '../workers/worker-config';
import { missingApiKeys, missingKeysMessage } from './api-keys';
import { EMBEDDED_ADDRESS, reachable } from './connect';
import { followMigration } from './follow';
import { LiveView } from './live-view';
import { LogFile } from './log-file';

const STATE_DIR = path.resolve(process.env.LLAMADUO_HOME ?? '.llamaduo');

export interface EmbeddedOptions {
  workflowId?: string;
  json: boolean;
  /** show the SDK's logs on the console too (they always go to the log file); the CLI's --verbose */
  verbose?: boolean;
  /** the config file, for messages */
  source?: string;
}

export interface EmbeddedOutcome {
  workflowId?: string;
  /** the migration's own status, or 'failed' / 'refused' */
  status: string;
  exitCode: number;
  report?: string;
}

export async function embeddedNeeded(): Promise<boolean> {
  return !process.env.TEMPORAL_ADDRESS && !(await reachable(EMBEDDED_ADDRESS));
}

/** Ports of the embedded server: $LLAMADUO_EMBEDDED_PORT / $LLAMADUO_EMBEDDED_UI_PORT ("0": any free port). */
function embeddedPorts(): { port?: number; uiPort?: number } {
  const pick = (name: string, fallback: number) => {
    const v = process.env[name];
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new Error(`${name} must be a port number (got "${v}")`);
    return n === 0 ? undefined : n;
  };
  return { port: pick('LLAMADUO_EMBEDDED_PORT', 7233), uiPort: pick('LLAMADUO_EMBEDDED_UI_PORT', 8233) };
}

let runtimeLog: LogFile | undefined;

/** Routes the SDK's logs (TS side and native core) to the log file, once per process. */
function installRuntimeLogging(mirror?: (text: string) => void): LogFile {
  if (runtimeLog) return runtimeLog;
  runtimeLog = new LogFile({ mirror });
  Runtime.install({
    logger: runtimeLog.logger(),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
    shutdownSignals: [],
  });
  return runtimeLog;
}

async function startEmbedded(log: LogFile): Promise<{
  server: DevServer;
  stopWorkers: () => Promise<void>;
  client: Client;
}> {
  const server = await startDevServer({
    dbFile: path.join(STATE_DIR, 'temporal.sqlite'),
    ...embeddedPorts(),
    log: (line) => log.write('INFO', `temporal dev server: ${line}`),
  });
  log.write('INFO', `embedded Temporal dev server on ${server.address}, UI ${server.uiUrl}`);
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
    activities: createActivities(env, { ...process.env, LLAMADUO_SINGLE_WORKER: '1' }),
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

/**
 * Runs one migration in this process and follows it to its end. Reports its own outcome on the console and in
 * process.exitCode (0 done, 1 failed or not finished well, 2 refused before starting: a missing API key).
 */
export async function runEmbedded(config: MigrationConfig, opts: EmbeddedOptions): Promise<EmbeddedOutcome> {
  const missing = missingApiKeys(config);
  if (missing.length) {
    const message = missingKeysMessage(missing, opts.source);
    console.error(opts.json ? JSON.stringify({ error: message, missing }) : message);
    process.exitCode = 2;
    return { status: 'refused', exitCode: 2 };
  }
  const view = new LiveView(process.stdout);
  const log = installRuntimeLogging(
    opts.verbose ? (text) => (opts.json ? process.stderr.write(`${text}\n`) : view.print(text)) : undefined,
  );
  // the --verbose hint only where there is such a flag: the CLI passes a boolean, other callers (the demo) none
  if (!opts.json)
    console.log(`logs: ${log.file}${opts.verbose === false ? ' (--verbose shows them here)' : ''}`);
  const { server, client, stopWorkers } = await startEmbedded(log);
  try {
    const mc = new MigrationClient(client);
    const handle = await mc.startMigration(config, { workflowId: opts.workflowId, source: opts.source });
    const id = handle.workflowId;
    const link = `${server.uiUrl}/namespaces/default/workflows/${encodeURIComponent(id)}`;
    if (!opts.json) console.log(`migration ${id} started\nTemporal UI: ${link}`);
    const end = await followMigration(mc, id, { json: opts.json, view, log, uiLink: link });
    if (!end.result) {
      process.exitCode = 1;
      return { workflowId: id, status: end.status.toLowerCase(), exitCode: 1 };
    }
    const result = end.result;
    const { writeMigrationReport } = await import('./report-command');
    const report = await writeMigrationReport(mc, id);
    if (opts.json) console.log(JSON.stringify({ workflowId: id, status: result.status, report, ui: link }));
    else
      console.log(
        `\nmigration ${id}: ${result.status} after ${result.cycles.length} cycle(s), best score ${result.best?.score.toFixed(1) ?? '-'}, spend $${result.spend.total.usd.toFixed(4)}\nreport: ${report}\nTemporal UI: ${link}`,
      );
    const exitCode = result.status === 'succeeded' || result.status === 'target-not-met' ? 0 : 1;
    if (exitCode) process.exitCode = exitCode;
    return { workflowId: id, status: result.status, exitCode, report };
  } finally {
    await stopWorkers();
    await server.stop();
  }
}

export async function serveEmbedded(opts: { verbose?: boolean } = {}): Promise<void> {
  const log = installRuntimeLogging(opts.verbose ? (text) => process.stderr.write(`${text}\n`) : undefined);
  const { server, stopWorkers } = await startEmbedded(log);
  console.log(
    `Temporal dev server on ${server.address}, UI ${server.uiUrl}; worker running. Ctrl-C to stop.\nlogs: ${log.file}${opts.verbose ? '' : ' (--verbose shows them here)'}`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stopWorkers();
  await server.stop();
}
