// The user's own serving economics, for the break-even of a local model against a service LLM (paper
// section 4.5, Table 2, Figure 4): daily token volumes, the GPU price and how the serving GPUs are paid for.
// Pure (zod only): read by the migration and study configs and by the reports.
import { z } from 'zod';

/** An L4's on-demand price, about $0.80 an hour at the large clouds in 2024: the default GPU price. */
export const DEFAULT_GPU_USD_PER_HOUR = 0.8;

export const EconomicsConfig = z
  .object({
    /** Tokens your application sends to the model each day. */
    dailyInputTokens: z.number().nonnegative().default(10e6),
    /** Tokens it receives each day. */
    dailyOutputTokens: z.number().nonnegative().default(1e6),
    /**
     * One GPU hour: the migration's fine-tuning time is priced at it, and so is rented serving. Unset, the
     * reports use DEFAULT_GPU_USD_PER_HOUR and say that the price is assumed.
     */
    gpuUsdPerHour: z.number().nonnegative().optional(),
    /** GPUs (servers) that serve the local model. */
    servingGpus: z.number().int().positive().default(1),
    /** rented: serving costs gpuUsdPerHour around the clock; owned: serverUsd each up front plus power. */
    serving: z.enum(['rented', 'owned']).default('rented'),
    /** An owned server's price (the paper's L4 server: $2,539). */
    serverUsd: z.number().nonnegative().default(2539),
    /** An owned server's power a month (the paper: about $30). */
    powerUsdPerServerMonth: z.number().nonnegative().default(30),
  })
  .strict();
export type EconomicsConfig = z.infer<typeof EconomicsConfig>;
export type EconomicsInput = z.input<typeof EconomicsConfig>;

/** The GPU price a report uses: the configured one, else the assumed default. */
export const gpuUsdPerHourOf = (e: { gpuUsdPerHour?: number | undefined } | null | undefined): number =>
  e?.gpuUsdPerHour ?? DEFAULT_GPU_USD_PER_HOUR;

/** The paper's light workload on one owned L4: what a report uses when the config sets no economics. */
export const PAPER_ECONOMICS: EconomicsConfig = EconomicsConfig.parse({ serving: 'owned' });
