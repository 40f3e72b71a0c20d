// A migration seen early: one cycle judged by one judge, no teacher row yet, no synthesis, no spend.
import { GPT_4O_AUG_2024, PAPER_LIGHT_WORKLOAD, PAPER_ONE_L4 } from '../../../report/break-even';
import type { ReportData } from '../../../report/report-data';

export function minimalReport(overrides: Partial<ReportData> = {}): ReportData {
  const metric = { mean: 41.5, median: 40, coverage: { '50': 25, '70': 5 }, samples: 4 };
  return {
    migrationId: 'migration-early-1',
    name: 'early',
    baseModel: 'HuggingFaceTB/SmolLM2-135M-Instruct',
    teacherModel: 'gpt-4o-mini',
    status: 'running',
    generatedAt: '2026-11-23T09:00:00Z',
    target: { metric: 'precision', statistic: 'coverage70', value: 80 },
    cycles: [
      {
        cycle: 0,
        syntheticVolume: 0,
        trainingSamples: 60,
        evaluation: {
          judges: [{ judge: 'local-judge', similarity: metric, precision: metric, failed: 0 }],
          agreement: {},
        },
      },
    ],
    teacher: null,
    distributions: [{ subject: 0, judge: 'local-judge', metric: 'precision', scores: [20, 40, 55, 51] }],
    spend: {},
    budgetUsd: 0,
    costs: { pricing: GPT_4O_AUG_2024, scenarios: [{ workload: PAPER_LIGHT_WORKLOAD, local: PAPER_ONE_L4 }] },
    ...overrides,
  };
}
