// The study's Table 2 and Figure 4: per task, the break-even of the best local model against each service
// LLM of Table 1, with the user's daily tokens and GPU price (the config's economics; the paper's light
// workload on one owned L4 when none is set), priced at each service row's own model.
import { PAPER_ECONOMICS, type EconomicsConfig } from '../common/economics';
import {
  apiPricingOf,
  apiUsd,
  costTable,
  fineTuneGpuUsd,
  localServingOf,
  localUsd,
  workloadOf,
  type ApiPricing,
  type CostTableRow,
  type LocalServing,
  type Workload,
} from './break-even';
import { color, type ChartSpec } from './charts';
import type { StudyData } from './study-data';
import { overall, table1 } from './study-tables';
import type { StudyProgress } from '../workflows/study-messages';

export interface StudyCostRow {
  service: string;
  pricing: ApiPricing;
  /** false when the model is not in the pricing table: priced as GPT-4o */
  priced: boolean;
  row: CostTableRow;
}

export interface StudyCosts {
  task: string;
  /** the local row priced: the best local model of the task */
  local: { model: string; cell: string; serviceUsd: number; gpuUsd: number; serving: LocalServing };
  workload: Workload;
  economics: EconomicsConfig;
  /** true when the cells' configs set economics, false for the paper's default */
  configured: boolean;
  /** no cell sets economics.gpuUsdPerHour: the GPU price is the assumed default */
  gpuPriceAssumed: boolean;
  rows: StudyCostRow[];
}

const parseModel = (name: string) => {
  const [provider, ...rest] = name.split('/');
  return { provider: provider as 'openai', model: rest.join('/') };
};

export function studyCosts(progress: StudyProgress, data: StudyData, horizons = [2, 12]): StudyCosts[] {
  const out: StudyCosts[] = [];
  for (const t of table1(progress)) {
    const locals = t.rows.filter((r) => r.kind === 'local');
    const services = t.rows.filter((r) => r.kind === 'service');
    if (locals.length === 0 || services.length === 0) continue;
    const best = locals.reduce((a, b) => (overall(b.evaluation) > overall(a.evaluation) ? b : a));
    const bestData = data.cells.find((c) => c.key === best.cell);
    const cell = progress.cells.find((c) => c.key === best.cell)!;
    const configured = data.cells.find((c) => c.economics)?.economics ?? null;
    const economics = bestData?.economics ?? configured ?? PAPER_ECONOMICS;
    const gpuUsd = fineTuneGpuUsd(bestData?.fineTuneSeconds ?? 0, economics);
    const serving = localServingOf(economics, cell.spentUsd + gpuUsd);
    const workload = workloadOf(economics);
    const rows = services.map((s) => {
      // the cell's generator as configured (its price override included) when the row is that generator; a
      // baseline row (evaluation.baselines) is priced by its own name
      const isGenerator = progress.cells.find((c) => c.key === s.cell)?.generator === s.model;
      const generator = isGenerator ? data.cells.find((c) => c.key === s.cell)?.generatorModel : null;
      const model = generator ?? (parseModel(s.model) as Parameters<typeof apiPricingOf>[0]);
      const { pricing, known } = apiPricingOf(model);
      const [row] = costTable([{ workload, local: serving }], pricing, horizons);
      return { service: s.model, pricing, priced: known, row: row! };
    });
    out.push({
      task: t.task,
      local: { model: best.model, cell: best.cell, serviceUsd: cell.spentUsd, gpuUsd, serving },
      workload,
      economics,
      configured: configured !== null,
      gpuPriceAssumed: economics.gpuUsdPerHour === undefined,
      rows,
    });
  }
  return out;
}

/** Figure 4 per task: the local model's cumulative cost and each service LLM's, over months of use. */
export function fig4Charts(costs: StudyCosts[]): ChartSpec[] {
  return costs.map((c, i) => {
    const even = c.rows.map((r) => r.row.breakEvenMonths ?? 0);
    const horizon = Math.max(12, Math.ceil(Math.max(0, ...even) * 2));
    const months = Array.from({ length: horizon + 1 }, (_, m) => m);
    return {
      id: `fig4-${i}`,
      title: `${c.task}: ${c.local.model} (${c.local.serving.name}) vs the service LLMs`,
      config: {
        type: 'line',
        data: {
          datasets: [
            {
              label: `local: ${c.local.model}`,
              data: months.map((m) => ({ x: m, y: Math.round(localUsd(c.local.serving, m)) })),
              borderColor: '#059669',
              backgroundColor: '#059669',
              pointRadius: 0,
              borderWidth: 2,
            },
            ...c.rows.map((r, k) => ({
              label: `${r.service} API`,
              data: months.map((m) => ({ x: m, y: Math.round(apiUsd(c.workload, r.pricing, m)) })),
              borderColor: color(k + 1),
              backgroundColor: color(k + 1),
              borderDash: [6, 4],
              pointRadius: 0,
              borderWidth: 2,
            })),
          ],
        },
        options: {
          plugins: { legend: { position: 'bottom', labels: { boxWidth: 18 } } },
          scales: {
            x: { type: 'linear', min: 0, max: horizon, title: { display: true, text: 'months of use' } },
            y: { beginAtZero: true, title: { display: true, text: 'cumulative USD' } },
          },
        },
      },
    } as ChartSpec;
  });
}
