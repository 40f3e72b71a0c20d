// The GPU side of the trainer contract as the backends need it: a spec file goes in, a result.json
// manifest comes out, both in the artifact store. The trainer package (`python -m llamaduo_trainer
// finetune|generate --spec <file>`, k8s/trainer/) owns the full schema in trainer-contract.ts; this file
// holds only what the backends read, so either side can grow fields without breaking the other.
import { z } from 'zod';

export const GPU_STEPS = ['finetune', 'generate'] as const;
export type GpuStep = (typeof GPU_STEPS)[number];

/** Exit code the trainer uses for "will fail again, do not retry" (bad spec, CUDA out of memory). */
export const NON_RETRIABLE_EXIT_CODES = [2, 3] as const;

/** What the backends put in every spec, besides the step's own inputs. Paths are as the runner sees them. */
export interface SpecPaths {
  /** the artifact store root where the runner sees it (a PVC mount in a Job, the store root locally) */
  artifactsRoot: string;
  /** directory (under artifactsRoot) the trainer writes its outputs to */
  outputDir: string;
  /** where the trainer writes its result manifest when it is done */
  resultPath: string;
}

export const ResultManifest = z
  .object({
    step: z.enum(GPU_STEPS),
    status: z.literal('succeeded'),
    /** output name -> file path relative to outputDir (e.g. adapter -> adapter.tar, generations -> generations.jsonl) */
    outputs: z.record(z.string(), z.string().min(1)),
    method: z.string().optional(),
    trainLoss: z.number().optional(),
    tokensPerSecond: z.number().optional(),
    seconds: z.number().nonnegative(),
  })
  .loose();
export type ResultManifest = z.infer<typeof ResultManifest>;
