// `llamaduo study start|status|watch|stop|report`: a grid of migrations as one workflow (docs/study.md).
import type { Command } from 'commander';
import { loadStudyFile } from '../client/study-file';
import {
  getStudyProgress,
  renderStudyStatus,
  runningCellProgress,
  startStudy,
  stopStudy,
  writeStudyReport,
} from '../client/study';
import { connect, uiUrl } from './connect';

type Print = (human: string, data: unknown) => void;

async function withTemporal<T>(fn: (client: Awaited<ReturnType<typeof connect>>['client']) => Promise<T>) {
  const { client, connection } = await connect();
  try {
    return await fn(client);
  } finally {
    await connection.close();
  }
}

const FINAL = ['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT'];

export function registerStudyCommands(program: Command, print: Print): void {
  const study = program
    .command('study')
    .description("run a grid of migrations and collate the paper's tables and figures");
  study
    .command('start')
    .argument('<study>', 'study file (YAML or JSON)')
    .option('--id <workflowId>', 'workflow id (default: llamaduo-study-<name>)')
    .description('start a study')
    .action(async (file: string, opts: { id?: string }) => {
      const input = await loadStudyFile(file);
      const handle = await withTemporal((client) => startStudy(client, input, opts.id));
      const ui = uiUrl();
      print(
        `started ${handle.workflowId}: ${input.cells.length} cells, ${input.maxConcurrent} at a time${ui ? `\n  ${ui}/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}` : ''}`,
        { workflowId: handle.workflowId, cells: input.cells.map((c) => c.key) },
      );
    });
  study
    .command('status')
    .argument('<id>', 'study workflow id')
    .description("show each cell's status once")
    .action(async (id: string) => {
      await withTemporal(async (client) => {
        const p = await getStudyProgress(client, id);
        print(renderStudyStatus(p, await runningCellProgress(client, p)), p);
      });
    });
  study
    .command('watch')
    .argument('<id>', 'study workflow id')
    .option('--interval <ms>', 'refresh interval', '5000')
    .description('follow a study until it ends')
    .action(async (id: string, opts: { interval: string }) => {
      await withTemporal(async (client) => {
        for (;;) {
          const desc = await client.workflow.getHandle(id).describe();
          const p = await getStudyProgress(client, id).catch(() => null);
          if (p) print(renderStudyStatus(p, await runningCellProgress(client, p)), p);
          if (FINAL.includes(desc.status.name)) {
            if (desc.status.name !== 'COMPLETED') process.exitCode = 1;
            print(`${id}: ${desc.status.name}`, { workflowId: id, status: desc.status.name });
            return;
          }
          await new Promise((r) => setTimeout(r, Number(opts.interval)));
        }
      });
    });
  study
    .command('stop')
    .argument('<id>', 'study workflow id')
    .option('--reason <text>', 'recorded in the history', 'stopped by user')
    .description('start no more cells; running cells finish their cycle and stop')
    .action(async (id: string, opts: { reason: string }) => {
      await withTemporal((client) => stopStudy(client, id, opts.reason));
      print(`stop requested for ${id}`, { workflowId: id, stopRequested: true });
    });
  study
    .command('report')
    .argument('<id>', 'study workflow id')
    .option('-o, --out <file>', 'where to write the HTML report')
    .description("write the study's HTML report (Tables 1, 2, 4; Figures 2, 3, 4)")
    .action(async (id: string, opts: { out?: string }) => {
      const file = await withTemporal((client) => writeStudyReport(client, id, opts.out));
      print(`report written to ${file}`, { workflowId: id, report: file });
    });
}
