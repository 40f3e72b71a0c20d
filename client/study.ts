// Starting and reading studies (workflows/study-workflow.ts) from a client.
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { TASK_QUEUES } from '../common/activities';
import type { Progress } from '../common/progress';
import type { StudyInput } from '../common/study-config';
import { storeFromEnv } from '../activities/store/open-store';
import type { ArtifactStore } from '../activities/store/artifact-store';
import { renderStudyReport } from '../report/study-render';
import { loadStudyData } from './study-data';
import { progressQuery } from '../workflows/messages';
import { stopStudySignal, studyProgressQuery, type StudyProgress } from '../workflows/study-messages';
import { studyWorkflow } from '../workflows/study-workflow';

export const studyWorkflowId = (name: string) => `llamaduo-study-${name}`;

/** Starts the study; starting one whose id is already running is refused, not repeated. */
export async function startStudy(
  client: Client,
  input: StudyInput,
  workflowId = studyWorkflowId(input.name),
) {
  try {
    return await client.workflow.start(studyWorkflow, {
      taskQueue: TASK_QUEUES.workflow,
      workflowId,
      args: [input],
      staticSummary: `study ${input.name}: ${input.cells.length} migrations, ${input.maxConcurrent} at a time, $${input.maxUsd}`,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      throw new Error(
        `study ${workflowId} is already running: follow it with llamaduo study watch ${workflowId}`,
      );
    throw err;
  }
}

/** The study's progress: its result once it has completed, its query while it runs. */
export async function getStudyProgress(client: Client, workflowId: string): Promise<StudyProgress> {
  const handle = client.workflow.getHandle<typeof studyWorkflow>(workflowId);
  const desc = await handle.describe();
  if (desc.status.name === 'COMPLETED') return handle.result();
  return handle.query(studyProgressQuery);
}

/** The running cells' own progress (stage, cycle), keyed by cell. */
export async function runningCellProgress(
  client: Client,
  study: StudyProgress,
): Promise<Record<string, Progress>> {
  const out: Record<string, Progress> = {};
  await Promise.all(
    study.cells
      .filter((c) => c.status === 'running')
      .map(async (c) => {
        try {
          out[c.key] = await client.workflow.getHandle(c.workflowId).query(progressQuery);
        } catch {
          // not started yet, or between runs: shown without detail
        }
      }),
  );
  return out;
}

export async function stopStudy(
  client: Client,
  workflowId: string,
  reason = 'stopped by user',
): Promise<void> {
  await client.workflow.getHandle(workflowId).signal(stopStudySignal, reason);
}

export function renderStudyStatus(study: StudyProgress, live: Record<string, Progress> = {}): string {
  const lines = [
    `${study.name}: ${study.status}${study.stopRequested ? ' (stop requested)' : ''} · $${study.spentUsd.toFixed(2)} of $${study.maxUsd} · ${study.maxConcurrent} at a time`,
  ];
  for (const c of study.cells) {
    const p = live[c.key];
    const detail = p
      ? ` cycle ${p.cycle}/${p.maxCycles} ${p.stage}${p.stageDetail ? ` ${p.stageDetail}` : ''}`
      : '';
    lines.push(`  ${c.key.padEnd(48)} ${c.status.padEnd(16)}${detail}${c.detail ? ` (${c.detail})` : ''}`);
  }
  return lines.join('\n');
}

/** The study's HTML report, with what its cells' artifacts add (Figure 3, Table 4, Table 2 / Figure 4). */
export async function writeStudyReport(
  client: Client,
  workflowId: string,
  out?: string,
  store: ArtifactStore = storeFromEnv(),
): Promise<string> {
  const study = await getStudyProgress(client, workflowId);
  const data = await loadStudyData(client, store, study);
  const file = path.resolve(out ?? `${workflowId}.html`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, renderStudyReport(study, new Date().toISOString(), data));
  return file;
}
