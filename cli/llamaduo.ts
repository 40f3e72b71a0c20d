// The `llamaduo` command line. Exit codes: 0 ok, 1 migration failed or not finished well, 2 invalid input,
// 3 not found, 4 Temporal unreachable.
import { Command, Option } from 'commander';
import { WorkflowNotFoundError } from '@temporalio/client';
import { loadConfigFile } from '../client/config-file';
import { checkDataset, InvalidConfigError, MigrationClient } from '../client/migrations';
import {
  createSchedule,
  deleteSchedule,
  listSchedules,
  pauseSchedule,
  resumeSchedule,
  triggerSchedule,
} from '../client/schedules';
import { CliError, connect, temporalAddress, uiUrl } from './connect';
import { errorParagraph } from './failure-paragraph';
import { followMigration } from './follow';
import { LiveView } from './live-view';
import { LogFile, logFilePath } from './log-file';
import { renderProgress } from './progress-view';
import { registerStudyCommands } from './study-command';

const program = new Command();
program
  .name('llamaduo')
  .description('Migrate a task from a service LLM to a small local model, durably (Temporal + Kubernetes).')
  .option('--json', 'machine-readable output')
  .option(
    '--verbose',
    `show the Temporal SDK's worker logs and full errors here too (always in ${logFilePath()})`,
  )
  .showHelpAfterError();

const json = () => Boolean(program.opts().json);
const verbose = () => Boolean(program.opts().verbose);
/** The log file; with --verbose every line is shown on stderr as well (or above the live view). */
const openLog = (view?: LiveView) =>
  new LogFile({
    mirror: verbose()
      ? (text) => (view && !json() ? view.print(text) : process.stderr.write(`${text}\n`))
      : undefined,
  });
const print = (human: string, data: unknown) => console.log(json() ? JSON.stringify(data, null, 2) : human);

async function withClient<T>(fn: (mc: MigrationClient) => Promise<T>): Promise<T> {
  const { client, connection } = await connect();
  try {
    return await fn(new MigrationClient(client));
  } finally {
    await connection.close();
  }
}

program
  .command('validate')
  .argument('<config>', 'migration config (YAML or JSON)')
  .description('check a config; prints each problem with file, line and field')
  .action(async (file: string) => {
    const config = await loadConfigFile(file);
    const split = await checkDataset(config);
    const data = split
      ? `dataset ${split.train} train / ${split.test} test`
      : 'dataset not readable here (the worker checks it)';
    print(
      `${file}: valid (${config.name}: ${config.baseModel}, ${config.maxCycles} cycles max, $${config.budget.maxUsd} budget; ${data})`,
      { valid: true, config, split },
    );
  });

program
  .command('start')
  .argument('<config>', 'migration config (YAML or JSON)')
  .option('--id <workflowId>', 'workflow id (default: llamaduo-<name>-<time>)')
  .option('--wait', 'wait for the migration to finish, showing progress')
  .option(
    '--embedded',
    'run the embedded dev server and a worker in this process (default when no TEMPORAL_ADDRESS is set and none is running)',
  )
  .description('start a migration')
  .action(async (file: string, opts: { id?: string; wait?: boolean; embedded?: boolean }) => {
    const config = await loadConfigFile(file);
    const { runEmbedded, embeddedNeeded } = await import('./embedded');
    if (opts.embedded || (await embeddedNeeded())) {
      await runEmbedded(config, { workflowId: opts.id, json: json(), verbose: verbose(), source: file });
      return;
    }
    await withClient(async (mc) => {
      const { storeFromEnv } = await import('../activities/store/open-store');
      // With LLAMADUO_ARTIFACTS=s3://…, a local dataset is uploaded to the store the workers read.
      const store = process.env.LLAMADUO_ARTIFACTS ? storeFromEnv() : undefined;
      const handle = await mc.startMigration(config, { workflowId: opts.id, source: file, store });
      const ui = uiUrl();
      print(
        `started ${handle.workflowId}${ui ? `\n  ${ui}/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}` : ''}`,
        { workflowId: handle.workflowId, runId: handle.firstExecutionRunId },
      );
      if (opts.wait) await watch(mc, handle.workflowId, ui);
    });
  });

async function watch(mc: MigrationClient, id: string, ui = uiUrl(), intervalMs?: number) {
  const view = new LiveView(process.stdout);
  const end = await followMigration(mc, id, {
    json: json(),
    view,
    log: openLog(view),
    intervalMs,
    uiLink: ui ? `${ui}/namespaces/default/workflows/${encodeURIComponent(id)}` : undefined,
  });
  const progress = end.progress;
  if (json()) console.log(JSON.stringify({ workflowId: id, status: end.status, progress }));
  else console.log(`${id}: ${end.status}${progress ? ` (${progress.status})` : ''}`);
  if (end.status !== 'COMPLETED' || (progress && progress.status !== 'succeeded')) process.exitCode = 1;
}

program
  .command('status')
  .argument('<id>', 'workflow id')
  .description('show a migration’s progress once')
  .action(async (id: string) => {
    await withClient(async (mc) => {
      const p = await mc.getProgress(id);
      print(renderProgress(p), p);
    });
  });

program
  .command('watch')
  .argument('<id>', 'workflow id')
  .option('--interval <ms>', 'refresh interval', '2000')
  .description('follow a migration live until it ends')
  .action(async (id: string, opts: { interval: string }) => {
    await withClient((mc) => watch(mc, id, uiUrl(), Number(opts.interval)));
  });

program
  .command('stop')
  .argument('<id>', 'workflow id')
  .option('--reason <text>', 'recorded in the history', 'stopped by user')
  .description('finish the running cycle, record its evaluation, then stop')
  .action(async (id: string, opts: { reason: string }) => {
    await withClient((mc) => mc.stop(id, opts.reason));
    print(`stop requested for ${id}`, { workflowId: id, stopRequested: true });
  });

program
  .command('cancel')
  .argument('<id>', 'workflow id')
  .description('cancel now: running activities are cancelled, Kubernetes Jobs deleted')
  .action(async (id: string) => {
    await withClient((mc) => mc.cancel(id));
    print(`cancellation requested for ${id}`, { workflowId: id, cancelRequested: true });
  });

program
  .command('list')
  .option('--query <visibility query>', 'e.g. LlamaduoStatus = "running"')
  .option('--limit <n>', 'at most this many', '50')
  .description('list migrations, newest first')
  .action(async (opts: { query?: string; limit: string }) => {
    const rows = await withClient((mc) => mc.list(opts.query, Number(opts.limit)));
    print(
      rows.length
        ? rows
            .map(
              (r) =>
                `${r.workflowId.padEnd(48)} ${r.status.padEnd(10)} ${(r.llamaduoStatus ?? '').padEnd(16)} ${r.baseModel ?? ''}`,
            )
            .join('\n')
        : 'no migrations',
      rows,
    );
  });

const schedule = program.command('schedule').description('scheduled re-migrations (Temporal Schedules)');
schedule
  .command('create')
  .argument('<id>', 'schedule id')
  .argument('<config>', 'migration config (YAML or JSON)')
  .addOption(new Option('--cron <expr...>', 'cron expression(s), e.g. "0 3 * * 1"'))
  .option('--every <interval>', 'interval, e.g. 7d')
  .option('--catchup-window <duration>', 'catch up missed runs within this window', '1d')
  .option('--paused', 'create paused')
  .action(
    async (
      id: string,
      file: string,
      opts: { cron?: string[]; every?: string; catchupWindow: string; paused?: boolean },
    ) => {
      const config = await loadConfigFile(file);
      const { client, connection } = await connect();
      try {
        await createSchedule(client, config, {
          scheduleId: id,
          cron: opts.cron,
          every: opts.every,
          catchupWindow: opts.catchupWindow,
          paused: opts.paused,
        });
      } finally {
        await connection.close();
      }
      print(`schedule ${id} created`, { scheduleId: id });
    },
  );
schedule.command('list').action(async () => {
  const { client, connection } = await connect();
  try {
    const rows = await listSchedules(client);
    print(
      rows.map((s) => `${s.scheduleId}${s.state.paused ? ' (paused)' : ''}`).join('\n') || 'no schedules',
      rows,
    );
  } finally {
    await connection.close();
  }
});
for (const [name, fn, verb] of [
  ['delete', deleteSchedule, 'deleted'],
  ['pause', pauseSchedule, 'paused'],
  ['resume', resumeSchedule, 'resumed'],
  ['trigger', triggerSchedule, 'triggered'],
] as const) {
  schedule
    .command(name)
    .argument('<id>', 'schedule id')
    .action(async (id: string) => {
      const { client, connection } = await connect();
      try {
        await fn(client, id);
      } finally {
        await connection.close();
      }
      print(`schedule ${id} ${verb}`, { scheduleId: id, [verb]: true });
    });
}

program
  .command('report')
  .argument('<id>', 'workflow id')
  .option('-o, --out <file>', 'where to write the HTML report')
  .description('write the self-contained HTML report of a migration')
  .action(async (id: string, opts: { out?: string }) => {
    const { writeMigrationReport } = await import('./report-command');
    const file = await withClient((mc) => writeMigrationReport(mc, id, opts.out));
    print(`report written to ${file}`, { workflowId: id, report: file });
  });

registerStudyCommands(program, print);

program
  .command('server')
  .description('run the embedded Temporal dev server (UI on 127.0.0.1:8233) and a worker in the foreground')
  .action(async () => {
    const { serveEmbedded } = await import('./embedded');
    await serveEmbedded({ verbose: verbose() });
  });

program
  .command('ui')
  .description('print the Temporal Web UI address')
  .action(() => {
    const url = uiUrl() || '(set TEMPORAL_UI_URL for your cluster’s UI)';
    print(url, { ui: url, temporal: temporalAddress() });
  });

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof InvalidConfigError) {
    console.error(json() ? JSON.stringify({ error: err.message, issues: err.issues }) : err.message);
    process.exitCode = 2;
  } else if (err instanceof CliError) {
    console.error(err.message);
    process.exitCode = err.exitCode;
  } else if (err instanceof WorkflowNotFoundError) {
    console.error(`not found: ${err.message}`);
    process.exitCode = 3;
  } else {
    // One paragraph here; the whole chain with stack traces in the log file.
    const log = openLog();
    log.failure(`llamaduo ${process.argv.slice(2).join(' ')} failed`, err);
    const text = errorParagraph(err, log.file);
    console.error(json() ? JSON.stringify({ error: text }) : text);
    process.exitCode = 1;
  }
}
