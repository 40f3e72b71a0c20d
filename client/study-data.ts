// Gathers what the study report shows beyond the study's progress (report/study-data.ts): per cell, its
// migration's per-sample scores (Figure 3), the token statistics of its splits and synthetic datasets
// (Table 4), its data generator's model and economics (Table 2 / Figure 4). Read from the child migrations'
// queries and the artifact store; nothing is judged or generated again.
import type { Client } from '@temporalio/client';
import { perSampleUri } from '../activities/data/report/distributions';
import type { SampleScore } from '../activities/eval/summarize-judgments';
import { ArtifactStore } from '../activities/store/artifact-store';
import type { MigrationConfig } from '../common/config';
import type { Progress } from '../common/progress';
import type { ArtifactRef } from '../common/types';
import type { CellData, CellScores, DataTokenRow, StudyData } from '../report/study-data';
import { TokenCounter, type TextRecord } from '../report/token-stats';
import { configQuery, progressQuery } from '../workflows/messages';
import type { StudyProgress } from '../workflows/study-messages';

async function scoresOf(
  store: ArtifactStore,
  judgments: ArtifactRef,
  cycle: number,
  syntheticSamples: number,
): Promise<CellScores[]> {
  const uri = perSampleUri(judgments);
  if (!(await store.find(store.keyOf(uri), { countLines: false }))) return [];
  const byJudge = new Map<string, CellScores>();
  for await (const s of store.readJsonl<SampleScore>(uri)) {
    let row = byJudge.get(s.judge);
    if (!row)
      byJudge.set(
        s.judge,
        (row = { cycle, syntheticSamples, judge: s.judge, similarity: [], precision: [] }),
      );
    row.similarity.push(s.similarity);
    row.precision.push(s.precision);
  }
  return [...byJudge.values()];
}

async function tokensOf(
  store: ArtifactStore,
  key: string,
  dataset: DataTokenRow['dataset'],
  cycle: number | null,
): Promise<DataTokenRow | null> {
  const ref = await store.find(key, { countLines: false });
  if (!ref) return null;
  const counter = new TokenCounter();
  for await (const r of store.readJsonl<TextRecord>(ref.uri)) counter.add(r);
  return { dataset, cycle, sha256: ref.sha256, stats: counter.stats() };
}

/** One cell's data from its migration's progress and config and the artifacts they name. */
export async function cellData(
  store: ArtifactStore,
  key: string,
  progress: Progress,
  config: MigrationConfig | null,
): Promise<CellData> {
  const scores: CellScores[] = [];
  for (const c of progress.cycles)
    scores.push(...(await scoresOf(store, c.judgments, c.cycle, c.syntheticSamples)));
  const tokens: DataTokenRow[] = [];
  for (const [split, dataset] of [
    ['train', 'coverage-train'],
    ['test', 'coverage-test'],
  ] as const) {
    const row = await tokensOf(
      store,
      ArtifactStore.key(progress.migrationId, 'data', `${split}.jsonl`),
      dataset,
      null,
    );
    if (row) tokens.push(row);
  }
  for (const s of progress.syntheses) {
    if (!s.dataset) continue;
    const row = await tokensOf(store, store.keyOf(s.dataset.uri), 'synthetic', s.forCycle);
    if (row) tokens.push(row);
  }
  return {
    key,
    scores,
    tokens,
    generatorModel: config?.synthesis.teacher ?? null,
    economics: config?.economics ?? null,
    fineTuneSeconds: progress.cycles.reduce((s, c) => s + c.fineTuneSeconds, 0),
  };
}

/** Every started cell's data; a cell whose migration cannot be queried (not started, gone) is left out. */
export async function loadStudyData(
  client: Client,
  store: ArtifactStore,
  study: StudyProgress,
): Promise<StudyData> {
  const cells: CellData[] = [];
  for (const cell of study.cells) {
    if (cell.status === 'pending' || cell.status === 'skipped') continue;
    const handle = client.workflow.getHandle(cell.workflowId);
    let progress: Progress;
    try {
      progress = await handle.query(progressQuery);
    } catch {
      continue;
    }
    const config = await handle.query(configQuery).catch(() => null);
    cells.push(await cellData(store, cell.key, progress, config));
  }
  return { cells };
}
