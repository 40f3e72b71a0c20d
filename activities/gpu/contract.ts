// The GPU side of the trainer contract (k8s/trainer/CONTRACT.md on branch `trainer`): the activity writes a
// JSON spec into the artifact store, the trainer (`python -m llamaduo_trainer finetune|generate --spec <file>`)
// writes <outputDir>/result.json. The trainer owns the full schemas in trainer-contract.ts; this file holds
// only what the backends build and read, kept in step with the trainer's pydantic models (extra="forbid").
import { z } from 'zod';
import type { InferenceConfig, TrainerConfig } from '../../common/config';

export const GPU_STEPS = ['finetune', 'generate'] as const;
export type GpuStep = (typeof GPU_STEPS)[number];

/** Trainer exit codes: 2 = bad spec or dataset (retrying cannot help); 3 = preempted after a checkpoint. */
export const EXIT_BAD_SPEC = 2;
export const EXIT_PREEMPTED = 3;
export const NON_RETRIABLE_EXIT_CODES = [EXIT_BAD_SPEC] as const;

export type Device = 'auto' | 'cpu' | 'cuda';

/** Paths are absolute, as the runner (Job container or local process) sees them. */
/** Where a base model downloaded from the Hub or converted from GGUF is cached, and where the migration
 * records the commit its revision resolved to (set only for such sources). */
export interface ModelCacheFields {
  modelCache?: string;
  baseModelLock?: string;
}

export interface FinetuneSpec extends ModelCacheFields {
  baseModel: string;
  datasets: string[];
  outputDir: string;
  method: 'qlora' | 'lora';
  lora: { rank: number; alpha: number; dropout: number };
  train: Pick<
    TrainerConfig,
    | 'epochs'
    | 'learningRate'
    | 'lrScheduler'
    | 'maxSeqLength'
    | 'batchSize'
    | 'gradientAccumulation'
    | 'packing'
    | 'gradientCheckpointing'
    | 'checkpointEverySteps'
    | 'seed'
  >;
  device: Device;
}

export interface GenerateSpec extends ModelCacheFields {
  baseModel: string;
  /** none: the base model alone */
  adapterDir?: string;
  prompts: string;
  outputDir: string;
  sampling: z.infer<typeof InferenceConfig>;
  device: Device;
}

export const ResultManifest = z
  .object({
    command: z.enum(GPU_STEPS),
    status: z.enum(['succeeded', 'failed', 'preempted']),
    /** absolute paths as the runner saw them: finetune -> adapterDir, generate -> generations */
    outputs: z.record(z.string(), z.string().min(1)).default({}),
    method: z.string().optional(),
    tokensPerSecond: z.number().nullish(),
    metrics: z.object({ trainLoss: z.number().nullish() }).loose().optional(),
    durations: z.object({ totalSeconds: z.number() }).loose().optional(),
  })
  .loose();
export type ResultManifest = z.infer<typeof ResultManifest>;
