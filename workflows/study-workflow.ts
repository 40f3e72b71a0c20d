// A study: every cell of a grid runs as a child migration, at most maxConcurrent at once, out of one budget.
// Each cell is started with its share of what is left (left ÷ cells not yet started) and hands back what it did
// not spend when it ends. Child ids derive from the study's id and the cell key, so a study replayed after a
// worker crash finds its children instead of starting them again. Cancelling the study cancels its children
// (they clean up their GPU work), and so does terminating it (ParentClosePolicy.REQUEST_CANCEL).
import {
  CancellationScope,
  condition,
  isCancellation,
  ParentClosePolicy,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { StudyCell, StudyInput } from '../common/study-config';
import { stopAfterCycleSignal } from './messages';
import { migrationWorkflow } from './migration-workflow';
import { SA_STATUS } from './search-attributes';
import { studyProgressQuery, stopStudySignal, type CellProgress, type StudyProgress } from './study-messages';

/** A cell is not started with less than this (it could not pay for its teacher baseline). */
export const MIN_CELL_USD = 0.01;

const round = (usd: number) => Math.round(usd * 1e6) / 1e6;

export async function studyWorkflow(input: StudyInput): Promise<StudyProgress> {
  const studyId = workflowInfo().workflowId;
  const progress: StudyProgress = {
    name: input.name,
    status: 'running',
    maxConcurrent: input.maxConcurrent,
    maxUsd: input.maxUsd,
    spentUsd: 0,
    stopRequested: false,
    cells: input.cells.map((c) => ({
      key: c.key,
      task: c.task,
      student: c.student,
      generator: c.generator,
      volume: c.volume,
      workflowId: `${studyId}.${c.key}`,
      status: 'pending',
      budgetUsd: 0,
      spentUsd: 0,
      teacher: null,
      cycles: [],
      detail: '',
    })),
  };
  const running = new Map<string, ChildWorkflowHandle<typeof migrationWorkflow>>();
  setHandler(studyProgressQuery, () => progress);
  setHandler(stopStudySignal, (reason) => {
    if (progress.stopRequested) return;
    progress.stopRequested = true;
    for (const h of running.values())
      void h.signal(stopAfterCycleSignal, reason ?? 'study stopped').catch(() => undefined);
    publish();
  });

  const runningCells = () => progress.cells.filter((c) => c.status === 'running').length;
  function committedUsd(): number {
    return progress.cells.reduce((s, c) => s + (c.status === 'running' ? c.budgetUsd : c.spentUsd), 0);
  }
  function publish(): void {
    const by = (s: string) => progress.cells.filter((c) => c.status === s).length;
    const done = progress.cells.filter((c) => !['pending', 'running'].includes(c.status)).length;
    upsertSearchAttributes([{ key: SA_STATUS, value: progress.status }]);
    setCurrentDetails(
      [
        `**study ${input.name}** · ${done}/${progress.cells.length} cells done · ${by('running')} running · $${round(progress.spentUsd)} of $${input.maxUsd}`,
        '',
        '| cell | status | USD |',
        '| --- | --- | --- |',
        ...progress.cells.map(
          (c) => `| ${c.key} | ${c.status} | ${round(c.status === 'running' ? c.budgetUsd : c.spentUsd)} |`,
        ),
      ].join('\n'),
    );
  }

  async function runCell(cell: StudyCell, p: CellProgress): Promise<void> {
    try {
      const handle = await startChild(migrationWorkflow, {
        workflowId: p.workflowId,
        args: [
          {
            migrationId: p.workflowId.replace(/[^A-Za-z0-9._=-]+/g, '-'),
            config: { ...cell.config, budget: { maxUsd: p.budgetUsd } },
          },
        ],
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        staticSummary: `study ${input.name}: ${cell.student} on ${cell.task}, data by ${cell.generator}, ${cell.volume} synthetic`,
      });
      running.set(cell.key, handle);
      if (progress.stopRequested)
        void handle.signal(stopAfterCycleSignal, 'study stopped').catch(() => undefined);
      const result = await handle.result();
      p.status = result.status;
      p.spentUsd = result.spend.total.usd;
      p.teacher = result.teacher;
      if (result.baselines?.length)
        p.baselines = result.baselines.map((b) => ({ model: b.model, evaluation: b.evaluation }));
      p.cycles = result.cycles.map((c) => ({
        cycle: c.cycle,
        syntheticSamples: c.syntheticSamples,
        evaluation: c.evaluation,
      }));
    } catch (err) {
      p.detail = String(((err as Error).cause as Error | undefined)?.message ?? (err as Error).message);
      if (isCancellation(err) && CancellationScope.current().consideredCancelled) {
        p.status = 'cancelled';
        throw err;
      }
      // A failed or cancelled cell does not end the study; its spend is unknown here, so its whole share counts.
      p.status = isCancellation(err) ? 'cancelled' : 'failed';
      p.spentUsd = p.budgetUsd;
    } finally {
      running.delete(cell.key);
      progress.spentUsd = round(progress.cells.reduce((s, c) => s + c.spentUsd, 0));
      publish();
    }
  }

  publish();
  const started: Promise<void>[] = [];
  try {
    for (const [i, cell] of input.cells.entries()) {
      const p = progress.cells[i]!;
      await condition(() => runningCells() < input.maxConcurrent || progress.stopRequested);
      if (progress.stopRequested) {
        p.status = 'skipped';
        p.detail = 'the study was stopped';
        continue;
      }
      const notStarted = input.cells.length - i;
      const share = round((input.maxUsd - committedUsd()) / notStarted);
      if (share < MIN_CELL_USD) {
        p.status = 'skipped';
        p.detail = `the study's budget is spent ($${round(committedUsd())} of $${input.maxUsd})`;
        continue;
      }
      p.status = 'running';
      p.budgetUsd = share;
      started.push(runCell(cell, p));
      publish();
    }
    await Promise.all(started);
  } catch (err) {
    if (isCancellation(err)) {
      progress.status = 'cancelled';
      await CancellationScope.nonCancellable(async () => {
        await Promise.allSettled(started);
        publish();
      });
    }
    throw err;
  }
  progress.status = progress.stopRequested
    ? 'stopped'
    : progress.cells.some((c) => c.status === 'skipped')
      ? 'budget-exhausted'
      : 'completed';
  publish();
  return progress;
}
