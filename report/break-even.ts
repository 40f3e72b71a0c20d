// Cost of serving a task with a service LLM's API vs a fine-tuned local model, after the LlamaDuo paper
// (section 4.5, Table 2, Figure 4). Pure arithmetic: no I/O, so the report and the CLI share it.
import type { ServiceModel } from '../common/config';
import { gpuUsdPerHourOf, type EconomicsConfig } from '../common/economics';
import { priceOf, PRICES, UnknownPriceError } from '../activities/llm/pricing';

/** API price in USD per million tokens. */
export interface ApiPricing {
  model: string;
  inputUsdPerMTok: number;
  outputUsdPerMTok: number;
}

/** Tokens a deployment sends to / receives from the model each day. */
export interface Workload {
  name: string;
  inputTokensPerDay: number;
  outputTokensPerDay: number;
}

/** Local serving: a one-off outlay (fine-tuning, servers) and running cost (power) per month. */
export interface LocalServing {
  name: string;
  fineTuningUsd: number;
  servers: number;
  serverUsd: number;
  powerUsdPerServerMonth: number;
}

/** The paper counts a month as 30 days ($65/day light workload = $1,950/month). */
export const DAYS_PER_MONTH = 30;

export const GPT_4O_AUG_2024: ApiPricing = { model: 'GPT-4o', inputUsdPerMTok: 5, outputUsdPerMTok: 15 };
export const PAPER_LIGHT_WORKLOAD: Workload = {
  name: 'light',
  inputTokensPerDay: 10e6,
  outputTokensPerDay: 1e6,
};
// The paper's text says 50M in + 10M out a day, but that is $400/day at GPT-4o prices; its Table 2
// ("1500M/150M" a month) and its $325/day both mean 50M in + 5M out, which is what is used here.
export const PAPER_HEAVY_WORKLOAD: Workload = {
  name: 'heavy',
  inputTokensPerDay: 50e6,
  outputTokensPerDay: 5e6,
};
/** One L4 server ($2,539) for the light workload, eight for the heavy one; ~$30 of power a month each. */
export const PAPER_ONE_L4: LocalServing = {
  name: '1 x L4',
  fineTuningUsd: 800,
  servers: 1,
  serverUsd: 2539,
  powerUsdPerServerMonth: 30,
};
export const PAPER_EIGHT_L4: LocalServing = { ...PAPER_ONE_L4, name: '8 x L4', servers: 8 };

export function apiUsdPerDay(w: Workload, p: ApiPricing): number {
  return (w.inputTokensPerDay / 1e6) * p.inputUsdPerMTok + (w.outputTokensPerDay / 1e6) * p.outputUsdPerMTok;
}

export function apiUsdPerMonth(w: Workload, p: ApiPricing): number {
  return apiUsdPerDay(w, p) * DAYS_PER_MONTH;
}

/** API spend after `months` months of use. */
export function apiUsd(w: Workload, p: ApiPricing, months: number): number {
  return apiUsdPerMonth(w, p) * months;
}

export function localUpfrontUsd(l: LocalServing): number {
  return l.fineTuningUsd + l.servers * l.serverUsd;
}

export function localUsdPerMonth(l: LocalServing): number {
  return l.servers * l.powerUsdPerServerMonth;
}

/** Local spend after `months` months: the outlay plus power. */
export function localUsd(l: LocalServing, months: number): number {
  return localUpfrontUsd(l) + localUsdPerMonth(l) * months;
}

/** Months after which cumulative API spend passes local spend; null when it never does. */
export function breakEvenMonths(w: Workload, p: ApiPricing, l: LocalServing): number | null {
  const saving = apiUsdPerMonth(w, p) - localUsdPerMonth(l);
  if (saving <= 0) return null;
  return localUpfrontUsd(l) / saving;
}

/** Daily workload implied by the average tokens per call of observed usage, at `requestsPerDay`. */
export function workloadFromCalls(
  name: string,
  observed: { calls: number; inputTokens: number; outputTokens: number },
  requestsPerDay: number,
): Workload {
  if (observed.calls <= 0) throw new Error('workloadFromCalls: observed usage has no calls');
  if (!(requestsPerDay > 0)) throw new Error('workloadFromCalls: requestsPerDay must be positive');
  return {
    name,
    inputTokensPerDay: (observed.inputTokens / observed.calls) * requestsPerDay,
    outputTokensPerDay: (observed.outputTokens / observed.calls) * requestsPerDay,
  };
}

/** One scenario of the paper's Table 2: a workload served by the API or by local servers. */
export interface CostScenario {
  workload: Workload;
  local: LocalServing;
}

export interface CostTableRow {
  scenario: string;
  apiUsdPerMonth: number;
  apiMTokPerMonth: { input: number; output: number };
  localUpfrontUsd: number;
  localUsdPerMonth: number;
  /** months -> { api, local } cumulative USD */
  at: { months: number; apiUsd: number; localUsd: number }[];
  breakEvenMonths: number | null;
}

export function costTable(
  scenarios: CostScenario[],
  pricing: ApiPricing,
  horizons: number[] = [2, 12],
): CostTableRow[] {
  return scenarios.map(({ workload, local }) => ({
    scenario: workload.name,
    apiUsdPerMonth: apiUsdPerMonth(workload, pricing),
    apiMTokPerMonth: {
      input: (workload.inputTokensPerDay * DAYS_PER_MONTH) / 1e6,
      output: (workload.outputTokensPerDay * DAYS_PER_MONTH) / 1e6,
    },
    localUpfrontUsd: localUpfrontUsd(local),
    localUsdPerMonth: localUsdPerMonth(local),
    at: horizons.map((months) => ({
      months,
      apiUsd: apiUsd(workload, pricing, months),
      localUsd: localUsd(local, months),
    })),
    breakEvenMonths: breakEvenMonths(workload, pricing, local),
  }));
}

/**
 * The scenarios a report compares: the user's own workload (average tokens per call of the teacher's
 * answers on the test split, at `requestsPerDay`) on one L4 with this migration's real spend as its
 * fine-tuning cost, then the paper's light and heavy workloads for reference.
 */
export function defaultCostScenarios(opts: {
  teacherUsage: { calls: number; inputTokens: number; outputTokens: number };
  requestsPerDay: number;
  /** What this migration cost: service-LLM spend plus GPU time. */
  migrationUsd: number;
}): CostScenario[] {
  const scenarios: CostScenario[] = [];
  if (opts.teacherUsage.calls > 0) {
    scenarios.push({
      workload: workloadFromCalls(
        `your (${opts.requestsPerDay.toLocaleString('en-US')} requests/day)`,
        opts.teacherUsage,
        opts.requestsPerDay,
      ),
      local: { ...PAPER_ONE_L4, fineTuningUsd: opts.migrationUsd },
    });
  }
  scenarios.push({ workload: PAPER_LIGHT_WORKLOAD, local: PAPER_ONE_L4 });
  scenarios.push({ workload: PAPER_HEAVY_WORKLOAD, local: PAPER_EIGHT_L4 });
  return scenarios;
}

/** The user's daily tokens from the config's economics. */
export function workloadOf(e: EconomicsConfig, name = 'your workload'): Workload {
  return { name, inputTokensPerDay: e.dailyInputTokens, outputTokensPerDay: e.dailyOutputTokens };
}

/** Hours in the paper's month (30 days). */
export const HOURS_PER_MONTH = 24 * DAYS_PER_MONTH;

/**
 * Local serving from the config's economics, with `fineTuningUsd` (what the migration cost) as the outlay:
 * rented GPUs cost gpuUsdPerHour around the clock and nothing up front; owned ones their price plus power.
 */
export function localServingOf(e: EconomicsConfig, fineTuningUsd: number): LocalServing {
  const gpuUsdPerHour = gpuUsdPerHourOf(e);
  const gpus = `${e.servingGpus} GPU${e.servingGpus === 1 ? '' : 's'}`;
  return e.serving === 'rented'
    ? {
        name: `${gpus} rented at $${gpuUsdPerHour}/h`,
        fineTuningUsd,
        servers: e.servingGpus,
        serverUsd: 0,
        powerUsdPerServerMonth: gpuUsdPerHour * HOURS_PER_MONTH,
      }
    : {
        name: `${gpus} owned`,
        fineTuningUsd,
        servers: e.servingGpus,
        serverUsd: e.serverUsd,
        powerUsdPerServerMonth: e.powerUsdPerServerMonth,
      };
}

/** GPU spend of fine-tuning: the cycles' fine-tune seconds at the configured hourly price. */
export function fineTuneGpuUsd(fineTuneSeconds: number, e: Pick<EconomicsConfig, 'gpuUsdPerHour'>): number {
  return (fineTuneSeconds / 3600) * gpuUsdPerHourOf(e);
}

/** A service model's API price from the pricing table (or its config override); GPT-4o's when unknown. */
export function apiPricingOf(model: ServiceModel): { pricing: ApiPricing; known: boolean } {
  if (!model.price && !Object.hasOwn(PRICES, model.provider))
    return { pricing: GPT_4O_AUG_2024, known: false };
  try {
    const p = priceOf(model);
    return {
      pricing: {
        model: `${model.provider}/${model.model}`,
        inputUsdPerMTok: p.inputPerMTok,
        outputUsdPerMTok: p.outputPerMTok,
      },
      known: true,
    };
  } catch (err) {
    if (!(err instanceof UnknownPriceError)) throw err;
    return { pricing: GPT_4O_AUG_2024, known: false };
  }
}
