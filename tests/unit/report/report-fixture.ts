// A realistic ReportData: three judges, four cycles (0, 1k, 2k, 4k synthetic samples) on a 20-prompt
// test split with 3 responses each, per-sample scores drawn from a seeded generator and every summary
// computed from those scores, so tables, histograms and lines must agree with each other.
import type { JudgeMetric } from '../../../common/config';
import type { EvaluationSummary, JudgeSummary, MetricSummary, Usage } from '../../../common/types';
import { GPT_4O_AUG_2024, defaultCostScenarios } from '../../../report/break-even';
import type {
  CurationDetails,
  CycleReport,
  ReportData,
  ScoreDistribution,
} from '../../../report/report-data';

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = mulberry32(42);
function gaussian(mean: number, sd: number): number {
  const u = 1 - random();
  const v = random();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const JUDGES = ['gpt-4o', 'claude-3-5-sonnet', 'gemini-1.5-flash'];
/** Judge leniency per metric, in the direction the paper reports (Claude lenient, Gemini harsh on similarity). */
const BIAS: Record<string, Record<JudgeMetric, number>> = {
  'gpt-4o': { precision: 0, similarity: -4 },
  'claude-3-5-sonnet': { precision: 8, similarity: 4 },
  'gemini-1.5-flash': { precision: 1, similarity: -15 },
};
const SAMPLES = 60;
const THRESHOLDS = [50, 70];

function metricSummary(scores: number[]): MetricSummary {
  const sorted = [...scores].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const mean = scores.reduce((s, x) => s + x, 0) / scores.length;
  const coverage = Object.fromEntries(
    THRESHOLDS.map((t) => [String(t), (100 * scores.filter((s) => s >= t).length) / scores.length]),
  );
  return { mean: +mean.toFixed(2), median, coverage, samples: scores.length };
}

function judge(
  subject: number | 'teacher',
  base: number,
  distributions: ScoreDistribution[],
): EvaluationSummary {
  const judges: JudgeSummary[] = JUDGES.map((name) => {
    const per = {} as Record<JudgeMetric, MetricSummary>;
    for (const metric of ['precision', 'similarity'] as JudgeMetric[]) {
      const scores = Array.from({ length: SAMPLES }, () =>
        Math.round(Math.min(100, Math.max(0, gaussian(base + BIAS[name]![metric], 13)))),
      );
      distributions.push({ subject, judge: name, metric, scores });
      per[metric] = metricSummary(scores);
    }
    return {
      judge: name,
      similarity: per.similarity,
      precision: per.precision,
      failed: name === 'gemini-1.5-flash' ? 1 : 0,
    };
  });
  const avg = (metric: JudgeMetric): MetricSummary => ({
    mean: +(judges.reduce((s, j) => s + j[metric].mean, 0) / judges.length).toFixed(2),
    median: judges.reduce((s, j) => s + j[metric].median, 0) / judges.length,
    coverage: Object.fromEntries(
      THRESHOLDS.map((t) => [
        String(t),
        judges.reduce((s, j) => s + j[metric].coverage[String(t)]!, 0) / judges.length,
      ]),
    ),
    samples: SAMPLES,
  });
  judges.push({ judge: 'all', similarity: avg('similarity'), precision: avg('precision'), failed: 0 });
  return {
    judges,
    agreement: {
      'gpt-4o|claude-3-5-sonnet': 0.71,
      'gpt-4o|gemini-1.5-flash': 0.64,
      'claude-3-5-sonnet|gemini-1.5-flash': 0.58,
    },
  };
}

function usage(calls: number, inTok: number, outTok: number, cached = 0): Usage {
  const usd =
    (inTok / 1e6) * GPT_4O_AUG_2024.inputUsdPerMTok + (outTok / 1e6) * GPT_4O_AUG_2024.outputUsdPerMTok;
  return { calls, inputTokens: inTok, outputTokens: outTok, cachedTokens: cached, usd: +usd.toFixed(4) };
}

export function reportFixture(): ReportData {
  const distributions: ScoreDistribution[] = [];
  const teacher = judge('teacher', 88, distributions);
  const volumes = [0, 1000, 2000, 4000];
  const levels = [52, 64, 72, 79];
  const drops = [
    {
      generated: 1335,
      accepted: 1000,
      drops: {
        'exact-duplicate': 96,
        'near-duplicate': 142,
        'rouge-l-novelty': 61,
        'quality-rule': 27,
        decontaminated: 9,
      },
      curation: curationDetails(),
    },
    {
      generated: 1420,
      accepted: 1000,
      drops: {
        'exact-duplicate': 88,
        'near-duplicate': 187,
        'rouge-l-novelty': 104,
        'quality-rule': 31,
        decontaminated: 10,
      },
    },
    {
      generated: 2980,
      accepted: 2000,
      drops: {
        'exact-duplicate': 201,
        'near-duplicate': 431,
        'rouge-l-novelty': 262,
        'quality-rule': 70,
        decontaminated: 16,
      },
    },
  ];
  const cycles: CycleReport[] = volumes.map((syntheticVolume, cycle) => ({
    cycle,
    syntheticVolume,
    trainingSamples: 313 + syntheticVolume,
    evaluation: judge(cycle, levels[cycle]!, distributions),
    ...(drops[cycle] ? { synthesis: drops[cycle] } : {}),
  }));
  const teacherUsage = usage(60, 27_600, 14_100);
  const spend = {
    'teacher-baseline': teacherUsage,
    evaluate: usage(4 * 3 * 60 * 3 + 3 * 60 * 3, 5 * 540 * 1150, 5 * 540 * 95, 5 * 540 * 700),
    synthesize: usage(1147, 1147 * 620, 1147 * 1450),
  };
  const migrationUsd = Object.values(spend).reduce((s, u) => s + u.usd, 0) + 12;
  return {
    migrationId: 'migration-dolly-closed-qa-7f3a',
    name: 'dolly-closed-qa',
    baseModel: 'google/gemma-2-2b-it',
    teacherModel: 'gpt-4o',
    status: 'succeeded',
    generatedAt: '2026-11-23T09:00:00Z',
    target: { metric: 'precision', statistic: 'mean', value: 75 },
    cycles,
    teacher,
    distributions,
    spend,
    budgetUsd: 50,
    costs: {
      pricing: GPT_4O_AUG_2024,
      scenarios: defaultCostScenarios({ teacherUsage, requestsPerDay: 20_000, migrationUsd }),
    },
  };
}

export const TEMPLATE_PREFIX =
  'System: You are Ava, the customer assistant of Northwind Outfitters. Answer first, then one tip.\n\nCustomer: ';

/** What a curation round records: a template, calibrated thresholds, example pairs for two reasons. */
export function curationDetails(): CurationDetails {
  const rec = (question: string, response: string) => {
    const prompt = TEMPLATE_PREFIX + question + '\nAva:';
    return {
      prompt,
      response,
      template: [
        [0, TEMPLATE_PREFIX.length - 2],
        [prompt.length - 4, prompt.length - 1],
      ] as [number, number][],
    };
  };
  return {
    thresholds: { threshold: 0.8, rougeLThreshold: 0.86 },
    calibration: { percentile: 0.99, realJaccard: 0.31, realRougeL: 0.86 },
    templates: [
      {
        category: 'support',
        records: 240,
        matching: 238,
        templateShare: 0.88,
        spans: [TEMPLATE_PREFIX.slice(0, -2), 'Ava'],
      },
    ],
    examples: {
      'near-duplicate': [
        {
          sample: rec('Can I return boots I wore once?', 'YES ; you can return worn boots within 30 days !'),
          matched: {
            ...rec('Can I return boots I wore once?', 'Yes, you can return worn boots within 30 days.'),
            kind: 'sample',
          },
          similarity: 0.91,
        },
      ],
      'rouge-l-novelty': [
        {
          sample: rec('Do you ship tents to Canada?', 'We ship to Canada in 5-8 days.'),
          matched: {
            ...rec('Do you ship tents to Canada or Mexico?', 'Canada and Mexico, yes.'),
            kind: 'reference',
          },
          similarity: 0.9,
        },
      ],
    },
  };
}
