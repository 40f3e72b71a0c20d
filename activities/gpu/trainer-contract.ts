// The one description of the trainer's contract (k8s/trainer, see its CONTRACT.md): the JSON specs the GPU
// backends write, the JSON lines the trainer prints on stdout, the result.json manifest it leaves in the
// output directory, and its exit codes. The Python side (pydantic, llamaduo_trainer/spec.py) is checked
// against the JSON schema exported from here (k8s/trainer/contract-schema.json, scripts/gen-trainer-contract.ts)
// by k8s/trainer/tests/test_contract_schema.py: same fields, same defaults, and every manifest and event the
// trainer writes in its tests validates.
import { z } from 'zod';

export const GPU_STEPS = ['finetune', 'generate', 'export'] as const;
export type GpuStep = (typeof GPU_STEPS)[number];

/** Process exit codes of `python -m llamaduo_trainer`. */
export const TRAINER_EXIT = { ok: 0, failed: 1, badSpec: 2, preempted: 3 } as const;
/** 2 = bad spec or dataset: retrying cannot help. */
export const EXIT_BAD_SPEC = TRAINER_EXIT.badSpec;
/** 3 = preempted after a checkpoint: run the same spec again to resume. */
export const EXIT_PREEMPTED = TRAINER_EXIT.preempted;
export const NON_RETRIABLE_EXIT_CODES = [EXIT_BAD_SPEC] as const;

/** An absolute path on a shared volume, or an `s3://bucket/key` location the trainer reads and writes itself. */
const absolutePath = z.string().regex(/^(\/|s3:\/\/[^/])/, 'must be an absolute path or an s3:// URI');

export const TrainerDevice = z.enum(['auto', 'cpu', 'cuda']);
export type Device = z.infer<typeof TrainerDevice>;

export const FinetuneSpec = z
  .object({
    /** A model directory (safetensors + tokenizer with a chat template) or `builtin:tiny-random-llama` /
     * `builtin:small-random-llama` (randomly initialised, for tests and the CPU demo). */
    baseModel: z.string().min(1),
    /** Hub and GGUF base models are cached here for the cluster (directory or s3:// prefix). */
    modelCache: absolutePath.nullable().default(null),
    /** The migration's record of the commit a Hub revision resolved to. */
    baseModelLock: absolutePath.nullable().default(null),
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
      .prefault({}),
    /** Paper Table 5 defaults; every one can be overridden. */
    train: z
      .object({
        epochs: z.number().positive().default(1),
        maxSteps: z.number().int().positive().nullable().default(null),
        learningRate: z.number().positive().default(2e-4),
        lrScheduler: z.enum(['cosine', 'linear', 'constant']).default('cosine'),
        warmupRatio: z.number().min(0).lt(1).default(0.03),
        weightDecay: z.number().min(0).default(0),
        maxSeqLength: z.number().int().gt(8).default(1024),
        /** Sequences per micro-batch when unpacked; packed, one row holds batchSize * maxSeqLength tokens. */
        batchSize: z.number().int().positive().default(4),
        gradientAccumulation: z.number().int().positive().default(2),
        packing: z.boolean().default(true),
        /** null: on for QLoRA (memory is what is short there), off for LoRA */
        gradientCheckpointing: z.boolean().nullable().default(null),
        checkpointEverySteps: z.number().int().positive().default(200),
        seed: z.number().int().nonnegative().default(42),
        maxGradNorm: z.number().positive().default(1),
      })
      .strict()
      .prefault({}),
    /** Also save base + adapter merged (safetensors); QLoRA runs merge into the base reloaded in bf16. */
    mergeWeights: z.boolean().default(false),
    /** Also write a GGUF file of the merged model (llama.cpp, Ollama) and an Ollama Modelfile; implies the merge. */
    exportGguf: z.boolean().default(false),
    device: TrainerDevice.default('auto'),
    /** flash_attention_2 without CUDA or the flash-attn package runs sdpa (result.json fastPath says so). */
    attnImplementation: z.enum(['sdpa', 'eager', 'flex_attention', 'flash_attention_2']).default('sdpa'),
    /** 'liger': Liger's Triton kernels (RMSNorm, RoPE, SwiGLU/GeGLU, fused linear cross-entropy) where CUDA,
     * triton and liger-kernel are there; elsewhere the run goes on without them and says why. */
    kernels: z.enum(['none', 'liger']).default('none'),
    /** torch.compile on each decoder layer. */
    compileLayers: z.boolean().default(false),
  })
  .strict();
export type FinetuneSpec = z.input<typeof FinetuneSpec>;

export const GenerateSpec = z
  .object({
    baseModel: z.string().min(1),
    modelCache: absolutePath.nullable().default(null),
    baseModelLock: absolutePath.nullable().default(null),
    /** The adapter folder a finetune run wrote (result.json outputs.adapterDir); none = the base model. */
    adapterDir: absolutePath.nullable().default(null),
    /** JSONL of prompts: split records (instruction + context) or chat {messages}; a final
     * assistant turn, if present, is the reference answer and is not shown to the model. */
    prompts: absolutePath,
    outputDir: absolutePath,
    sampling: z
      .object({
        responsesPerPrompt: z.number().int().positive().max(64).default(3),
        temperature: z.number().min(0).max(2).default(0.7),
        topP: z.number().gt(0).max(1).default(0.95),
        maxNewTokens: z.number().int().positive().default(512),
        seed: z.number().int().nonnegative().default(42),
        /** Prompts per forward pass (each expands to responsesPerPrompt rows). */
        batchSize: z.number().int().positive().default(16),
      })
      .strict()
      .prefault({}),
    maxPromptTokens: z.number().int().positive().default(1024),
    device: TrainerDevice.default('auto'),
    /** auto: vLLM (the adapter as a LoRA) when installed and a CUDA device is visible, else transformers;
     * 'vllm' fails with exit 2 where it cannot run. */
    engine: z.enum(['auto', 'transformers', 'vllm']).default('auto'),
  })
  .strict();
export type GenerateSpec = z.input<typeof GenerateSpec>;

/** One finished adapter (the migration's best) exported after training: merged weights and/or a GGUF file. */
export const ExportSpec = z
  .object({
    baseModel: z.string().min(1),
    modelCache: absolutePath.nullable().default(null),
    baseModelLock: absolutePath.nullable().default(null),
    /** The adapter folder a finetune run wrote (result.json outputs.adapterDir). */
    adapterDir: absolutePath,
    outputDir: absolutePath,
    /** Base + adapter merged (safetensors, with the tokenizer). */
    merged: z.boolean().default(true),
    /** A GGUF file of the merged model (llama.cpp, Ollama) and an Ollama Modelfile; implies the merge. */
    gguf: z.boolean().default(false),
  })
  .strict();
export type ExportSpec = z.input<typeof ExportSpec>;

/** Set only for Hub and GGUF base models: where the cluster's copy is cached, and the revision record. */
export type ModelCacheFields = Pick<FinetuneSpec, 'modelCache' | 'baseModelLock'>;

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

const Durations = z.record(z.string(), z.number().nonnegative());
/** Package versions; torch and trainer always. */
const Versions = z.object({ trainer: z.string(), torch: z.string() }).catchall(z.string());

const ResultBase = {
  schemaVersion: z.literal(1),
  versions: Versions,
};

const FailedResult = z.object({
  ...ResultBase,
  command: z.enum(GPU_STEPS),
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
  /** bfloat16 when the run computes under torch.autocast (CUDA bf16, or a CPU with AVX-512 BF16 / AMX) */
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
  outputs: z.object({
    adapterDir: z.string().optional(),
    mergedDir: z.string().optional(),
    ggufFile: z.string().optional(),
    modelfile: z.string().optional(),
  }),
  lora: z.object({ rank: z.number(), alpha: z.number(), dropout: z.number() }),
  packing: z.boolean(),
  /** Why exportGguf wrote no GGUF file (an architecture or tokenizer the exporter does not cover). */
  ggufSkipped: z.string().optional(),
  /** The attention, kernels, compiled decoder layers and optimizer the run used; fallbacks say why any
   * differ from the spec (no CUDA, a package missing). */
  fastPath: z
    .object({
      attention: z.string(),
      kernels: z.enum(['none', 'liger']),
      compiledLayers: z.number().int().nonnegative(),
      fusedAdamW: z.boolean(),
      fallbacks: z.array(z.string()),
    })
    .optional(),
  /** What the run trained with: the spec's settings, or a rung down after CUDA ran out of memory. */
  fit: z
    .object({
      gradientCheckpointing: z.boolean(),
      batchSize: z.number().int().positive(),
      gradientAccumulation: z.number().int().positive(),
      oomRetries: z.array(
        z.object({
          step: z.number().int().positive(),
          error: z.string(),
          gradientCheckpointing: z.boolean(),
          batchSize: z.number().int().positive(),
          gradientAccumulation: z.number().int().positive(),
        }),
      ),
    })
    .optional(),
};

const FinetuneResult = z.object({ ...FinetuneRun, status: z.enum(['succeeded', 'preempted']) });

const GenerateResult = z.object({
  ...ResultBase,
  command: z.literal('generate'),
  status: z.literal('succeeded'),
  engine: z.string(),
  /** Why the engine is not vLLM where the spec said auto (no CUDA, vllm not installed, a builtin model). */
  engineReason: z.string().optional(),
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
  /** transformers engine: prompts per batch it finished with, lower than the spec's after CUDA ran out of
   * memory (the batch is halved and the same prompts tried again; each time in oomRetries). */
  fit: z
    .object({
      batchSize: z.number().int().positive(),
      oomRetries: z.array(
        z.object({
          /** prompts already generated when it happened */
          done: z.number().int().nonnegative(),
          batchSize: z.number().int().positive(),
          error: z.string(),
        }),
      ),
    })
    .optional(),
});

const ExportResult = z.object({
  ...ResultBase,
  command: z.literal('export'),
  status: z.literal('succeeded'),
  baseModel: z.string(),
  adapterDir: z.string(),
  durations: Durations,
  outputs: z.object({
    mergedDir: z.string().optional(),
    ggufFile: z.string().optional(),
    modelfile: z.string().optional(),
  }),
  /** Why no GGUF file was written (an architecture or tokenizer the exporter does not cover). */
  ggufSkipped: z.string().optional(),
});

/** result.json as the trainer writes it. */
export const TrainerResult = z.union([FailedResult, FinetuneResult, GenerateResult, ExportResult]);
export type TrainerResult = z.infer<typeof TrainerResult>;

/** One line of generations.jsonl. */
export const GenerationRecord = z
  .object({ promptId: z.string(), sample: z.number().int().nonnegative(), text: z.string() })
  .strict();
export type GenerationRecord = z.infer<typeof GenerationRecord>;

/**
 * The part of result.json the GPU activities read. Looser than TrainerResult on purpose: a worker must not
 * fail a finished step because a newer trainer added or renamed a field it does not use.
 */
export const ResultManifest = z
  .object({
    command: z.enum(GPU_STEPS),
    status: z.enum(['succeeded', 'failed', 'preempted']),
    /** absolute paths as the runner saw them: finetune -> adapterDir, generate -> generations, export ->
     * mergedDir, ggufFile, modelfile */
    outputs: z.record(z.string(), z.string().min(1)).default({}),
    method: z.string().optional(),
    tokensPerSecond: z.number().nullish(),
    metrics: z.object({ trainLoss: z.number().nullish() }).loose().optional(),
    durations: z.object({ totalSeconds: z.number() }).loose().optional(),
    /** export: why no GGUF file was written */
    ggufSkipped: z.string().optional(),
  })
  .loose();
export type ResultManifest = z.infer<typeof ResultManifest>;

/** The JSON schemas the Python side is tested against (k8s/trainer/contract-schema.json). */
export function trainerContractJsonSchema(): Record<string, unknown> {
  const input = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input' });
  const output = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'output' });
  return {
    $comment:
      'Generated from activities/gpu/trainer-contract.ts by scripts/gen-trainer-contract.ts; do not edit.',
    exitCodes: TRAINER_EXIT,
    specs: { finetune: input(FinetuneSpec), generate: input(GenerateSpec), export: input(ExportSpec) },
    result: output(TrainerResult),
    event: output(TrainerEvent),
    generationRecord: output(GenerationRecord),
  };
}
