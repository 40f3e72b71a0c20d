// Per-sample scores for the report's distributions (paper Figure 3), read back from the evaluation's
// per-sample file (written beside each judgments.jsonl by summarizeEvaluation), so no judge is called again.
import type { JudgeMetric } from '../../../common/config';
import type { Progress } from '../../../common/progress';
import type { ArtifactRef } from '../../../common/types';
import type { SampleScore } from '../../eval/summarize-judgments';
import type { ScoreDistribution } from '../../../report';
import type { ArtifactStore } from '../../store/artifact-store';

const METRICS: JudgeMetric[] = ['similarity', 'precision'];

export function perSampleUri(judgments: ArtifactRef): string {
  return judgments.uri.replace(/judgments\.jsonl$/, 'per-sample.jsonl');
}

async function distributionsOf(
  store: ArtifactStore,
  judgments: ArtifactRef,
  subject: ScoreDistribution['subject'],
): Promise<ScoreDistribution[]> {
  const uri = perSampleUri(judgments);
  if (!(await store.find(store.keyOf(uri), { countLines: false }))) return [];
  const byJudge = new Map<string, SampleScore[]>();
  for await (const s of store.readJsonl<SampleScore>(uri)) {
    let rows = byJudge.get(s.judge);
    if (!rows) byJudge.set(s.judge, (rows = []));
    rows.push(s);
  }
  return [...byJudge].flatMap(([judge, rows]) =>
    METRICS.map((metric) => ({ subject, judge, metric, scores: rows.map((r) => r[metric]) })),
  );
}

export async function loadDistributions(
  store: ArtifactStore,
  progress: Progress,
): Promise<ScoreDistribution[]> {
  const out: ScoreDistribution[] = [];
  for (const c of progress.cycles) out.push(...(await distributionsOf(store, c.judgments, c.cycle)));
  if (progress.teacherJudgments)
    out.push(...(await distributionsOf(store, progress.teacherJudgments, 'teacher')));
  return out;
}
