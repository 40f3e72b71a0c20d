// Stored judgments -> the evaluation summary (paper Table 1 cells, pairwise rates, inter-judge agreement).
// No I/O: the summary can always be recomputed from the JSONL records.
import type { JudgeMetric } from '../../common/config';
import {
  ALL_JUDGES,
  aggregate as fold,
  bothOrderVerdict,
  mean,
  rankAgreement,
  summarizeMetric,
  summarizePairwise,
  type Aggregate,
  type PairwiseOutcome,
} from '../../common/metrics';
import type { EvaluationSummary, JudgeSummary } from '../../common/types';
import type { JudgmentRecord } from './judgment-record';

const METRICS: readonly JudgeMetric[] = ['similarity', 'precision'];

export interface SummarizeOptions {
  /** every configured judge, in config order (a judge with no successful call still gets a row) */
  judges: readonly string[];
  aggregate: Aggregate;
  thresholds: readonly number[];
}

/** One sample's score per judge after folding the repeats (the unit the metrics and agreement work on). */
export interface SampleScore {
  judge: string;
  promptId: string;
  sample: number;
  similarity: number;
  precision: number;
  /** successful repeats folded into the score */
  repeats: number;
}

type Pair = { outcome: PairwiseOutcome; positionDisagreement: boolean };

export function summarizeJudgments(
  records: readonly JudgmentRecord[],
  opts: SummarizeOptions,
): { summary: EvaluationSummary; perSample: SampleScore[] } {
  const sampleKeys = new Set<string>();
  const perJudge = new Map<
    string,
    { scored: Map<string, SampleScore>; pairs: Pair[]; calls: number; failed: number }
  >();
  for (const judge of opts.judges) perJudge.set(judge, { scored: new Map(), pairs: [], calls: 0, failed: 0 });

  // Group the repeats of each (judge, sample), and the two orders of each (judge, sample, repeat).
  const repeats = new Map<
    string,
    { judge: string; promptId: string; sample: number; sim: number[]; prec: number[] }
  >();
  const orders = new Map<string, { judge: string; first?: JudgmentRecord; second?: JudgmentRecord }>();
  for (const r of records) {
    const j = perJudge.get(r.judge);
    if (!j)
      throw new Error(`judgment by ${r.judge}, which is not a configured judge (${opts.judges.join(', ')})`);
    j.calls++;
    if (r.error) j.failed++;
    const sk = `${r.promptId}#${r.sample}`;
    if (r.kind === 'single') {
      sampleKeys.add(sk);
      const g = repeats.get(`${r.judge}|${sk}`) ?? {
        judge: r.judge,
        promptId: r.promptId,
        sample: r.sample,
        sim: [],
        prec: [],
      };
      repeats.set(`${r.judge}|${sk}`, g);
      if (r.scores) {
        g.sim.push(r.scores.similarity);
        g.prec.push(r.scores.precision);
      }
    } else if (r.verdict) {
      const key = `${r.judge}|${sk}|${r.repeat}`;
      const o = orders.get(key) ?? { judge: r.judge };
      orders.set(key, o);
      if (r.order === 'student-first') o.first = r;
      else o.second = r;
    }
  }
  for (const g of repeats.values()) {
    if (g.sim.length === 0) continue;
    const s: SampleScore = {
      judge: g.judge,
      promptId: g.promptId,
      sample: g.sample,
      similarity: fold(g.sim, opts.aggregate),
      precision: fold(g.prec, opts.aggregate),
      repeats: g.sim.length,
    };
    perJudge.get(g.judge)!.scored.set(`${g.promptId}#${g.sample}`, s);
  }
  for (const o of orders.values()) {
    // A pair with a failed order is not counted: the failure is already in `failed`.
    if (o.first?.verdict && o.second?.verdict)
      perJudge.get(o.judge)!.pairs.push(bothOrderVerdict(o.first.verdict, o.second.verdict));
  }

  const rows: JudgeSummary[] = [];
  const anyPairwise = records.some((r) => r.kind === 'pairwise');
  for (const [judge, j] of perJudge) {
    const scored = [...j.scored.values()];
    const row: JudgeSummary = {
      judge,
      similarity: summarizeMetric(
        scored.map((s) => s.similarity),
        opts.thresholds,
      ),
      precision: summarizeMetric(
        scored.map((s) => s.precision),
        opts.thresholds,
      ),
      failed: j.failed,
      calls: j.calls,
      failedSamples: sampleKeys.size - scored.length,
    };
    if (anyPairwise) row.pairwise = summarizePairwise(j.pairs);
    rows.push(row);
  }

  // 'all': a sample's score is the mean over the judges that scored it; pairwise pairs are pooled.
  const pooled = new Map<string, { similarity: number[]; precision: number[] }>();
  for (const j of perJudge.values()) {
    for (const [k, s] of j.scored) {
      const p = pooled.get(k) ?? { similarity: [], precision: [] };
      pooled.set(k, p);
      p.similarity.push(s.similarity);
      p.precision.push(s.precision);
    }
  }
  const allRow: JudgeSummary = {
    judge: ALL_JUDGES,
    similarity: summarizeMetric(
      [...pooled.values()].map((p) => mean(p.similarity)),
      opts.thresholds,
    ),
    precision: summarizeMetric(
      [...pooled.values()].map((p) => mean(p.precision)),
      opts.thresholds,
    ),
    failed: rows.reduce((n, r) => n + r.failed, 0),
    calls: rows.reduce((n, r) => n + (r.calls ?? 0), 0),
    failedSamples: sampleKeys.size - pooled.size,
  };
  if (anyPairwise) allRow.pairwise = summarizePairwise([...perJudge.values()].flatMap((j) => j.pairs));
  rows.push(allRow);

  const agreement: EvaluationSummary['agreement'] = {};
  const agreementDetail: NonNullable<EvaluationSummary['agreementDetail']> = {};
  const judges = [...perJudge.keys()];
  for (let a = 0; a < judges.length; a++) {
    for (let b = a + 1; b < judges.length; b++) {
      const sa = perJudge.get(judges[a]!)!.scored;
      const sb = perJudge.get(judges[b]!)!.scored;
      const both = [...sa.keys()].filter((k) => sb.has(k)).sort();
      const pair = `${judges[a]}|${judges[b]}`;
      const detail = Object.fromEntries(
        METRICS.map((m) => [
          m,
          rankAgreement(
            both.map((k) => sa.get(k)![m]),
            both.map((k) => sb.get(k)![m]),
          ),
        ]),
      ) as Record<JudgeMetric, ReturnType<typeof rankAgreement>>;
      agreementDetail[pair] = detail;
      const rhos = METRICS.map((m) => detail[m].spearman).filter((x): x is number => x !== null);
      if (rhos.length) agreement[pair] = Math.round(mean(rhos) * 1e4) / 1e4;
    }
  }

  const perSample = [...perJudge.values()].flatMap((j) => [...j.scored.values()]);
  return { summary: { judges: rows, agreement, agreementDetail, aggregate: opts.aggregate }, perSample };
}
