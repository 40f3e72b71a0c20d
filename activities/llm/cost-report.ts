// Projected spend of a synthesis run, sync vs batch API, from the pricing table: the figure a user weighs
// before switching `batch: true` on for the teacher.
import type { ServiceModel } from '../../common/config';
import { costUsd, priceOf } from './pricing';

export interface SynthesisCostInput {
  teacher: ServiceModel;
  samples: number;
  samplesPerRequest: number;
  /** prompt tokens per request (instructions + one seed example) */
  promptTokens: number;
  /** output tokens per generated sample */
  outputTokensPerSample: number;
}

export interface SynthesisCostReport {
  model: string;
  samples: number;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  syncUsd: number;
  batchUsd: number;
  /** batchUsd / syncUsd */
  batchShare: number;
}

export function synthesisCost(i: SynthesisCostInput): SynthesisCostReport {
  const requests = Math.ceil(i.samples / i.samplesPerRequest);
  const tokens = {
    inputTokens: requests * i.promptTokens,
    outputTokens: i.samples * i.outputTokensPerSample,
    cachedTokens: 0,
  };
  const price = priceOf(i.teacher);
  const syncUsd = costUsd(price, tokens);
  const batchUsd = costUsd(price, tokens, { batch: true });
  return {
    model: i.teacher.model,
    samples: i.samples,
    requests,
    ...tokens,
    syncUsd,
    batchUsd,
    batchShare: Math.round((batchUsd / syncUsd) * 1000) / 1000,
  };
}
