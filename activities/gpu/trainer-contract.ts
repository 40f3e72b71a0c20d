// The contract with the trainer package (k8s/trainer, see its CONTRACT.md): the JSON specs the GPU
// backends write, the JSON lines the trainer prints on stdout, and the result.json manifest it leaves
// in the output directory. The Python side validates the specs with the same field names (pydantic).
import { z } from 'zod';

/** An absolute path on a shared volume, or an `s3://bucket/key` location the trainer reads and writes itself. */
const absolutePath = z
  .string()
  .refine((p) => p.startsWith('/') || /^s3:\/\/[^/]+/.test(p), 'must be an absolute path or an s3:// URI');

export const TrainerDevice = z.enum(['auto', 'cpu', 'cuda']);

export const FinetuneSpec = z
  .object({
    /** A model directory (safetensors + tokenizer with a chat template) or `builtin:tiny-random-llama` /
     * `builtin:small-random-llama` (randomly initialised, for tests and the CPU demo). */
    baseModel: z.string().min(1),
    /** Hub and GGUF base models are cached here for the cluster (directory or s3:// prefix). */
    modelCache: absolutePath.optional(),
    /** The migration's record of the commit a Hub revision resolved to. */
    baseModelLock: absolutePath.optional(),
    /** JSONL files: split records {id, category, instruction, context, response} or chat {messages}. */
    datasets: z.array(absolutePath).nonempty(),
    outputDir: absolutePath,
    method: z.enum(['qlora', 'lora']).default('qlora'),
    /** Fail instead of falling back from qlora to lora when the 4-bit stack is missing. */
    requireMethod: z.boolean().default(false),
    lora: z
      .object({
        rank: z.number().int().positive().default(8),
        alpha: z.number().positive().default(16),
        dropout: z.number().min(0).max(1).default(0.05),
        targetModules: z.union([z.array(z.string()), z.literal('all-linear')]).default('all-linear'),
      })
      .strict()
      .optional(),
    train: z
      .object({
        epochs: z.number().positive(),
        maxSteps: z.number().int().positive(),
        learningRate: z.number().positive(),
        lrScheduler: z.enum(['cosine', 'linear', 'constant']),
        warmupRatio: z.number().min(0).lt(1),
        weightDecay: z.number().min(0),
        maxSeqLength: z.number().int().gt(8),
        batchSize: z.number().int().positive(),
        gradientAccumulation: z.number().int().positive(),
        packing: z.boolean(),
        gradientCheckpointing: z.boolean(),
        checkpointEverySteps: z.number().int().positive(),
        seed: z.number().int().nonnegative(),
        maxGradNorm: z.number().positive(),
      })
      .partial()
      .strict()
      .optional(),
    mergeWeights: z.boolean().default(false),
    device: TrainerDevice.default('auto'),
    attnImplementation: z.enum(['sdpa', 'eager', 'flex_attention', 'flash_attention_2']).default('sdpa'),
  })
  .strict();
export type FinetuneSpec = z.input<typeof FinetuneSpec>;

export const GenerateSpec = z
  .object({
    baseModel: z.string().min(1),
    modelCache: absolutePath.optional(),
    baseModelLock: absolutePath.optional(),
    /** The adapter folder a finetune run wrote (result.json outputs.adapterDir); none = the base model. */
    adapterDir: absolutePath.nullable().default(null),
    /** JSONL of prompts: split records (instruction + context) or chat {messages}; a final
     * assistant turn, if present, is the reference answer and is not shown to the model. */
    prompts: absolutePath,
    outputDir: absolutePath,
    sampling: z
      .object({
        responsesPerPrompt: z.number().int().positive().max(64),
        temperature: z.number().min(0).max(2),
        topP: z.number().gt(0).max(1),
        maxNewTokens: z.number().int().positive(),
        seed: z.number().int().nonnegative(),
        batchSize: z.number().int().positive(),
      })
      .partial()
      .strict()
      .optional(),
    maxPromptTokens: z.number().int().positive().default(1024),
    device: TrainerDevice.default('auto'),
    engine: z.enum(['auto', 'transformers']).default('auto'),
  })
  .strict();
export type GenerateSpec = z.input<typeof GenerateSpec>;

/** One line of stdout. Unknown events are kept (passthrough) so a newer trainer does not break a worker. */
export const TrainerEvent = z.discriminatedUnion('event', [
  z.object({
    event: z.literal('progress'),
    /** finetune: optimizer step; generate: prompts done */
    step: z.number().int().optional(),
    total_steps: z.number().int().optional(),
    done: z.number().int().optional(),
    total: z.number().int().optional(),
    epoch: z.number().optional(),
    loss: z.number().optional(),
    lr: z.number().optional(),
    tokens_per_s: z.number(),
    eta_s: z.number().nullable(),
  }),
  z.object({ event: z.literal('checkpoint'), step: z.number().int(), path: z.string() }),
  z.object({ event: z.literal('resume'), step: z.number().int(), total_steps: z.number().int() }),
  z.object({ event: z.literal('done'), status: z.string(), result: z.string() }),
  z.object({ event: z.literal('error'), kind: z.enum(['spec', 'runtime']), message: z.string() }),
]);
export type TrainerEvent = z.infer<typeof TrainerEvent>;

/** Parses one stdout line; undefined for lines that are not trainer events. */
export function parseTrainerEvent(line: string): TrainerEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed = TrainerEvent.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Process exit codes of `python -m llamaduo_trainer`. */
export const TRAINER_EXIT = { ok: 0, failed: 1, badSpec: 2, preempted: 3 } as const;

const Durations = z.record(z.string(), z.number().nonnegative());
const Versions = z.record(z.string(), z.string()).refine((v) => 'torch' in v && 'trainer' in v, {
  message: 'versions must name torch and trainer',
});

const ResultBase = {
  schemaVersion: z.literal(1),
  versions: Versions,
};

const FailedResult = z.object({
  ...ResultBase,
  command: z.enum(['finetune', 'generate']),
  status: z.literal('failed'),
  error: z.object({ kind: z.enum(['spec', 'runtime']), message: z.string() }),
});

const FinetuneRun = {
  ...ResultBase,
  command: z.literal('finetune'),
  method: z.enum(['qlora', 'lora']),
  requestedMethod: z.enum(['qlora', 'lora']),
  /** Why method differs from requestedMethod; null when it does not. */
  methodReason: z.string().nullable(),
  baseModel: z.string(),
  device: z.string(),
  dtype: z.string(),
  /** bfloat16 when a CPU run computes under torch.autocast (AVX-512 BF16 / AMX); null otherwise */
  autocast: z.string().nullable().optional(),
  /** intra-op threads of a CPU run */
  threads: z.number().int().nullable().optional(),
  metrics: z.object({
    steps: z.number().int(),
    totalSteps: z.number().int(),
    examples: z.number().int(),
    /** Examples left out because maxSeqLength cut off their whole answer. */
    droppedExamples: z.number().int().optional(),
    tokens: z.number().int(),
    trainedTokens: z.number().int(),
    firstLoss: z.number().nullable(),
    finalLoss: z.number().nullable(),
    trainLoss: z.number().nullable(),
    losses: z.array(z.number()),
  }),
  tokensPerSecond: z.number().nullable(),
  durations: Durations,
  resumedFromStep: z.number().int().nullable(),
  outputs: z.object({ adapterDir: z.string().optional(), mergedDir: z.string().optional() }),
  lora: z.object({ rank: z.number(), alpha: z.number(), dropout: z.number() }),
  packing: z.boolean(),
  mergeSkipped: z.string().optional(),
};

const FinetuneResult = z.object({ ...FinetuneRun, status: z.enum(['succeeded', 'preempted']) });

const GenerateResult = z.object({
  ...ResultBase,
  command: z.literal('generate'),
  status: z.literal('succeeded'),
  engine: z.string(),
  baseModel: z.string(),
  adapterDir: z.string().nullable(),
  device: z.string(),
  dtype: z.string(),
  /** bfloat16 when a CPU run computes under torch.autocast (AVX-512 BF16 / AMX); null otherwise */
  autocast: z.string().nullable().optional(),
  /** intra-op threads of a CPU run */
  threads: z.number().int().nullable().optional(),
  metrics: z.object({ prompts: z.number().int(), samples: z.number().int(), newTokens: z.number().int() }),
  tokensPerSecond: z.number().nullable(),
  durations: Durations,
  outputs: z.object({ generations: z.string() }),
});

/** result.json as the trainer writes it. */
export const TrainerResult = z.union([FailedResult, FinetuneResult, GenerateResult]);
export type TrainerResult = z.infer<typeof TrainerResult>;

/** One line of generations.jsonl. */
export const GenerationRecord = z
  .object({ promptId: z.string(), sample: z.number().int().nonnegative(), text: z.string() })
  .strict();
export type GenerationRecord = z.infer<typeof GenerationRecord>;
