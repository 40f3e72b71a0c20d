// The one schema that describes a migration. Pure (zod only): imported by the client, the CLI,
// activities and the workflow bundle alike. docs/config.schema.json is generated from it.
import { z } from 'zod';
import { parseModelSource } from './model-source';
import { EconomicsConfig } from './economics';

export const ProviderName = z.enum(['openai', 'anthropic', 'google', 'openai-compatible']);
export type ProviderName = z.infer<typeof ProviderName>;

/** A service LLM endpoint. Keys never appear here: they come from the worker's environment. */
export const ServiceModel = z
  .object({
    provider: ProviderName,
    model: z.string().min(1),
    /** For 'openai-compatible' (vLLM, Ollama, llama.cpp server) or a proxy; never carries credentials. */
    baseURL: z
      .url()
      .refine((u) => !/^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(u) && !/[?&](key|api[_-]?key|token)=/i.test(u), {
        message: 'must not carry credentials (keys come from the worker environment, apiKeyEnv)',
      })
      .optional(),
    /** Name of the environment variable that holds the API key on the worker (not the key itself). */
    apiKeyEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name')
      .optional(),
    temperature: z.number().min(0).max(2).optional(),
    maxOutputTokens: z.number().int().positive().max(65536).optional(),
    /** Use the provider's batch API (about half price, slower) for bulk work. */
    batch: z.boolean().default(false),
    /** Per-minute budgets; defaults come from the provider table when omitted. */
    rpm: z.number().int().positive().optional(),
    tpm: z.number().int().positive().optional(),
    /** Calls in flight at once per worker (a self-hosted server that decodes one request at a time wants 1). */
    concurrency: z.number().int().positive().max(256).optional(),
    /** USD per million tokens; overrides the built-in table (activities/llm/pricing.ts) for this model. */
    price: z
      .object({
        inputPerMTok: z.number().nonnegative(),
        outputPerMTok: z.number().nonnegative(),
        cachedInputPerMTok: z.number().nonnegative().optional(),
        /** multiplier applied to batch API calls, e.g. 0.5 */
        batchMultiplier: z.number().gt(0).max(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type ServiceModel = z.infer<typeof ServiceModel>;

export const DatasetSource = z
  .object({
    /** Path, file:// or s3:// URI of a JSONL or JSON file: chat `messages`, {prompt,response} or Dolly records. */
    path: z.string().min(1),
    /** Keep only these categories (Dolly `category`); all when omitted. */
    categories: z.array(z.string().min(1)).nonempty().optional(),
    /** Use at most this many records (after the category filter), chosen with the split seed. */
    limit: z.number().int().positive().optional(),
    maxRecordChars: z.number().int().positive().default(32_000),
  })
  .strict();
export type DatasetSource = z.infer<typeof DatasetSource>;

export const SplitConfig = z
  .object({
    testRatio: z.number().gt(0).lt(1).default(0.06),
    seed: z.number().int().nonnegative().default(42),
    /** 'response': by the reference answer, for label tasks scored by exact match (every label in both sets) */
    stratifyBy: z.enum(['category', 'response', 'none']).default('category'),
    /**
     * A predefined split read from this field of each record (No Robots ships `split: train|test`): records
     * whose value is `testValue` are the test split, all others train; testRatio and stratifyBy are unused.
     */
    field: z.string().min(1).optional(),
    /** The field's value that marks a test record (default "test"). */
    testValue: z.string().min(1).optional(),
  })
  .strict();

export const LoraStep = z
  .object({
    /** the tier applies while the synthetic samples so far are at most this many */
    upToSamples: z.number().int().positive(),
    rank: z.number().int().positive(),
    alpha: z.number().positive(),
  })
  .strict();

/** Paper Table 5: rank/alpha 8/16 for 1k-16k samples, 16/32 at 32k, 32/64 for 64k-256k. */
export const DEFAULT_LORA_SCHEDULE = [
  { upToSamples: 16_000, rank: 8, alpha: 16 },
  { upToSamples: 32_000, rank: 16, alpha: 32 },
  { upToSamples: Number.MAX_SAFE_INTEGER, rank: 32, alpha: 64 },
];

export const TrainerConfig = z
  .object({
    method: z.enum(['qlora', 'lora']).default('qlora'),
    epochs: z.number().positive().default(1),
    learningRate: z.number().positive().default(2e-4),
    lrScheduler: z.enum(['cosine', 'linear', 'constant']).default('cosine'),
    maxSeqLength: z.number().int().positive().default(1024),
    batchSize: z.number().int().positive().default(4),
    gradientAccumulation: z.number().int().positive().default(2),
    loraDropout: z.number().min(0).max(1).default(0.05),
    loraSchedule: z.array(LoraStep).nonempty().default(DEFAULT_LORA_SCHEDULE),
    packing: z.boolean().default(true),
    /** unset: on for QLoRA, off for LoRA (the trainer decides) */
    gradientCheckpointing: z.boolean().optional(),
    checkpointEverySteps: z.number().int().positive().default(200),
    seed: z.number().int().nonnegative().default(42),
    /** Every fine-tune also saves the merged model (base + adapter, safetensors) next to its adapter; to merge
     * only the best adapter, use `export.merged`. */
    mergeWeights: z.boolean().default(false),
    /** Every fine-tune also writes a GGUF file of the merged model and an Ollama Modelfile (llama.cpp, Ollama); for
     * the best adapter only, use `export.gguf`. */
    exportGguf: z.boolean().default(false),
    /** Attention kernel; flash_attention_2 (varlen for packed rows) falls back to sdpa without CUDA or flash-attn. */
    attnImplementation: z.enum(['sdpa', 'eager', 'flex_attention', 'flash_attention_2']).default('sdpa'),
    /** 'liger': Liger's Triton kernels and fused linear cross-entropy on CUDA; elsewhere the run goes on without. */
    kernels: z.enum(['none', 'liger']).default('none'),
    /** torch.compile on each decoder layer (GPU fast path; minutes of compile time at the start of a run). */
    compileLayers: z.boolean().default(false),
  })
  .strict();
export type TrainerConfig = z.infer<typeof TrainerConfig>;

export const InferenceConfig = z
  .object({
    responsesPerPrompt: z.number().int().positive().max(32).default(3),
    temperature: z.number().min(0).max(2).default(0.7),
    topP: z.number().gt(0).max(1).default(0.95),
    maxNewTokens: z.number().int().positive().default(512),
    seed: z.number().int().nonnegative().default(42),
    /** Generation engine on the GPU runner: 'transformers'; 'auto' uses vLLM (the adapter as a LoRA) where it is
     * installed and a CUDA device is visible; 'vllm' fails the step where it cannot run. */
    engine: z.enum(['transformers', 'auto', 'vllm']).default('transformers'),
  })
  .strict()
  .refine((i) => i.temperature > 0 || i.responsesPerPrompt === 1, {
    path: ['temperature'],
    message:
      'temperature 0 is greedy decoding, which gives one answer per prompt: with responsesPerPrompt > 1 use a temperature above 0 (or set responsesPerPrompt to 1)',
  });

export const JudgeMetric = z.enum(['similarity', 'precision']);
export type JudgeMetric = z.infer<typeof JudgeMetric>;

/** Deterministic scores against the test records' reference responses: free (no LLM), shown beside the judges'. */
export const ReferenceMetric = z.enum(['exact-match', 'rouge-l', 'chrf']);
export type ReferenceMetric = z.infer<typeof ReferenceMetric>;

export const EvaluationConfig = z
  .object({
    judges: z.array(ServiceModel).nonempty(),
    repeats: z.number().int().positive().max(10).default(3),
    aggregate: z.enum(['mean', 'median']).default('mean'),
    coverageThresholds: z.array(z.number().min(0).max(100)).nonempty().default([50, 70]),
    pairwise: z.boolean().default(true),
    /**
     * Service LLMs besides the teacher whose own answers to the test prompts are judged once, like the
     * teacher's: more service rows in Table 1 from one migration (the paper compares three). A model equal to
     * the teacher, or listed twice, is judged once.
     */
    baselines: z.array(ServiceModel).optional(),
    judgeCallsPerShard: z.number().int().positive().default(300),
    /**
     * Also score every answer against the test record's reference response with a deterministic metric:
     * exact-match (fixed label sets, short extractions), rouge-l or chrf (free text). No LLM is called.
     */
    reference: z
      .object({ metric: ReferenceMetric.default('exact-match') })
      .strict()
      .optional(),
  })
  .strict();

/** The stop rule: a metric's mean (or coverage %) reaches an absolute value or a share of the teacher's. */
export const TargetConfig = z
  .object({
    metric: JudgeMetric.default('precision'),
    statistic: z.enum(['mean', 'coverage50', 'coverage70']).default('mean'),
    /** Absolute target on the 0-100 scale ... */
    atLeast: z.number().min(0).max(100).optional(),
    /** ... or relative to the teacher's own score on the same test split (e.g. 0.9). */
    relativeToTeacher: z.number().gt(0).max(2).optional(),
    /**
     * The reference code's compound stop rule: stop only when similarity and precision both reach the target
     * (the cycle's score is the lower of the two statistics; `metric` still orders the reports' columns).
     */
    bothMetrics: z.boolean().optional(),
  })
  .strict()
  .refine((t) => (t.atLeast === undefined) !== (t.relativeToTeacher === undefined), {
    message: 'give exactly one of atLeast or relativeToTeacher',
  });
export type TargetConfig = z.infer<typeof TargetConfig>;

export const SynthesisConfig = z
  .object({
    teacher: ServiceModel,
    samplesPerRequest: z.number().int().positive().max(50).default(5),
    /** Synthetic volume of cycle t (t >= 1) is initialVolume * 2^(t-1), capped at maxVolume. */
    initialVolume: z.number().int().positive().default(1000),
    maxVolume: z.number().int().positive().default(256_000),
    /**
     * 'reach-max': the volumes grow geometrically from initialVolume at cycle 1 to maxVolume at the last cycle
     * (maxCycles − 1), so a run reaches maxVolume within maxCycles; the paper's 1k·2^n up to 256k is
     * initialVolume 1000, maxVolume 256000, maxCycles 10. Default: doubling from initialVolume.
     */
    schedule: z.enum(['doubling', 'reach-max']).optional(),
    requestsPerShard: z.number().int().positive().default(200),
    concurrentShards: z.number().int().positive().max(64).default(4),
    maxRounds: z.number().int().positive().default(4),
    dedup: z
      .object({
        numPerm: z.number().int().positive().max(1024).default(128),
        bands: z.number().int().positive().default(32),
        threshold: z.number().gt(0).max(1).default(0.8),
        shingleSize: z.number().int().positive().default(3),
        rougeLThreshold: z.number().gt(0).max(1).default(0.7),
        decontaminationNgram: z.number().int().positive().default(13),
        /**
         * 'calibrated': a sample is too similar only above the `calibrationPercentile` of the real
         * records' nearest-neighbour similarity (threshold and rougeLThreshold are floors);
         * 'absolute': threshold and rougeLThreshold as given.
         */
        thresholds: z.enum(['calibrated', 'absolute']).default('calibrated'),
        calibrationPercentile: z.number().gt(0).max(1).default(0.99),
        /** Mask the prompt templates found in the train split before comparing records. */
        templates: z.boolean().default(true),
      })
      .strict()
      .refine((d) => d.numPerm % d.bands === 0, {
        message: 'numPerm must be a multiple of bands (each band hashes numPerm / bands rows)',
        path: ['numPerm'],
      })
      .default({
        numPerm: 128,
        bands: 32,
        threshold: 0.8,
        shingleSize: 3,
        rougeLThreshold: 0.7,
        decontaminationNgram: 13,
        thresholds: 'calibrated',
        calibrationPercentile: 0.99,
        templates: true,
      }),
  })
  .strict();

/** How the trainer reaches the Hugging Face Hub (or a mirror) for a `baseModel` given as a Hub id. */
const HubAccess = {
  /** A mirror or proxy of the Hub (sets HF_ENDPOINT); default: huggingface.co, or the worker's HF_ENDPOINT. */
  endpoint: z.url().optional(),
  /** Forbid Hub requests (HF_HUB_OFFLINE=1): the model must be pinned to a commit sha and already cached. */
  offline: z.boolean().default(false),
};

export const GpuBackendConfig = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('local'),
      /** Python interpreter that has the trainer package installed. */
      python: z.string().optional(),
      device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
      /** The trainer process inherits the worker's environment, HF_TOKEN included. */
      hub: z.object(HubAccess).strict().optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('kubernetes'),
      namespace: z.string().min(1).default('llamaduo'),
      image: z.string().min(1),
      gpus: z.number().int().nonnegative().default(1),
      nodeSelector: z.record(z.string(), z.string()).default({}),
      tolerations: z
        .array(
          z
            .object({
              key: z.string().optional(),
              operator: z.enum(['Exists', 'Equal']).optional(),
              value: z.string().optional(),
              effect: z.string().optional(),
            })
            .strict(),
        )
        .default([]),
      priorityClassName: z.string().optional(),
      kueueQueue: z.string().optional(),
      artifactsPvc: z.string().min(1).default('llamaduo-artifacts'),
      secretName: z.string().optional(),
      hub: z
        .object({
          ...HubAccess,
          /** The Kubernetes Secret (and key in it) whose value the Job gets as HF_TOKEN, for gated or
           * private models. The token never enters the migration's config, history or logs. */
          tokenSecret: z
            .object({ name: z.string().min(1), key: z.string().min(1).default('HF_TOKEN') })
            .strict()
            .optional(),
        })
        .strict()
        .optional(),
      /** Runs the trainer under this service account: with an S3 store, its cloud identity (IRSA on EKS,
       * Workload Identity on GKE) can grant bucket access without a key in a Secret. */
      serviceAccountName: z.string().optional(),
      /** With an S3 store, the size limit of the pod's scratch volume (inputs, checkpoints, outputs in
       * flight); default: no limit beyond the node's ephemeral storage. */
      workSize: z.string().optional(),
      activeDeadlineSeconds: z
        .number()
        .int()
        .positive()
        .default(6 * 3600),
      backoffLimit: z.number().int().nonnegative().default(2),
      unschedulableTimeoutSeconds: z.number().int().positive().default(1800),
      /** How long a scheduled pod may stay unable to start (a missing Secret or ConfigMap key, a volume that
       * will not mount or attach, an image that cannot be pulled) before the step fails and its Job is
       * deleted, instead of holding quota until activeDeadlineSeconds. */
      stuckTimeoutSeconds: z.number().int().nonnegative().default(300),
      /** Time the trainer gets between SIGTERM (preemption, eviction, drain) and SIGKILL to finish its
       * current optimizer step and write a checkpoint. */
      terminationGracePeriodSeconds: z.number().int().nonnegative().default(300),
      imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
      /** Names of docker-registry Secrets in the Job's namespace for a private trainer image. */
      imagePullSecrets: z.array(z.string().min(1)).default([]),
      /** Kueue WorkloadPriorityClass for the Job (label kueue.x-k8s.io/priority-class). */
      kueuePriorityClass: z.string().optional(),
      /** A Job that fails BackoffLimitExceeded is submitted once more, kept off the nodes its pods failed
       * on (a flaky node, a broken driver); a second failure is final. */
      retryOnOtherNode: z.boolean().default(true),
      cpu: z.string().default('8'),
      memory: z.string().default('64Gi'),
      shmSize: z.string().default('16Gi'),
    })
    .strict(),
]);
export type GpuBackendConfig = z.infer<typeof GpuBackendConfig>;

export const BudgetConfig = z
  .object({
    maxUsd: z.number().nonnegative().default(50),
  })
  .strict();

export const MigrationConfig = z
  .object({
    /** Becomes part of the workflow id: lowercase letters, digits and dashes. */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'lowercase letters, digits and dashes, at most 48'),
    dataset: DatasetSource,
    split: SplitConfig.default({ testRatio: 0.06, seed: 42, stratifyBy: 'category' }),
    /** A Hugging Face Hub id (`org/name` or `org/name@revision`), an absolute model directory or .gguf file
     * on the trainer's node, an `s3://` prefix or .gguf object, or `builtin:<name>`. */
    baseModel: z
      .string()
      .min(1)
      .superRefine((v, ctx) => {
        const s = parseModelSource(v);
        if ('error' in s) ctx.addIssue({ code: 'custom', message: s.error });
      }),
    trainer: TrainerConfig.default(TrainerConfig.parse({})),
    inference: InferenceConfig.default(InferenceConfig.parse({})),
    evaluation: EvaluationConfig,
    target: TargetConfig,
    synthesis: SynthesisConfig,
    budget: BudgetConfig.default({ maxUsd: 50 }),
    maxCycles: z.number().int().positive().max(20).default(8),
    /**
     * Scheduled re-migrations: the best adapter of a run is promoted on this channel only if it beats the
     * adapter promoted there now, both judged on this run's test split.
     */
    promotion: z
      .object({
        channel: z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'lowercase letters, digits and dashes'),
      })
      .strict()
      .optional(),
    /**
     * Exports of the migration's best adapter only, written in one GPU step once the best cycle is known (after
     * promotion): `merged` saves base + adapter merged (safetensors), `gguf` a GGUF file of it with an Ollama
     * Modelfile. trainer.mergeWeights / trainer.exportGguf still export every cycle's adapter.
     */
    export: z
      .object({
        merged: z.boolean().default(false),
        gguf: z.boolean().default(false),
      })
      .strict()
      .optional(),
    gpu: GpuBackendConfig.default({ kind: 'local', device: 'auto' }),
    /** The break-even in the report (Table 2 / Figure 4): your daily tokens and GPU price. */
    economics: EconomicsConfig.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const need = c.target.statistic === 'coverage50' ? 50 : c.target.statistic === 'coverage70' ? 70 : null;
    if (need !== null && !c.evaluation.coverageThresholds.includes(need))
      ctx.addIssue({
        code: 'custom',
        path: ['target', 'statistic'],
        message: `${c.target.statistic} needs ${need} in evaluation.coverageThresholds`,
      });
  });
export type MigrationConfig = z.infer<typeof MigrationConfig>;
export type MigrationConfigInput = z.input<typeof MigrationConfig>;

/** LoRA rank/alpha for a synthetic-data volume, from the (paper Table 5) schedule. */
export function loraForVolume(trainer: TrainerConfig, samples: number): { rank: number; alpha: number } {
  const step = trainer.loraSchedule.find((s) => samples <= s.upToSamples) ?? trainer.loraSchedule.at(-1)!;
  return { rank: step.rank, alpha: step.alpha };
}

/**
 * Synthetic volume requested for cycle t: 0 at t = 0, then initialVolume * 2^(t-1) up to maxVolume; with
 * schedule 'reach-max' (and `maxCycles` given), initialVolume * r^(t-1) with r chosen so that the last
 * cycle, maxCycles − 1, asks for maxVolume (rounded to whole samples).
 */
export function syntheticVolumeForCycle(
  synthesis: z.infer<typeof SynthesisConfig>,
  cycle: number,
  maxCycles?: number,
): number {
  if (cycle <= 0) return 0;
  const { initialVolume, maxVolume } = synthesis;
  if (synthesis.schedule === 'reach-max' && maxCycles !== undefined && maxCycles > 2) {
    const steps = maxCycles - 2; // cycles 1 .. maxCycles − 1
    if (cycle >= maxCycles - 1 || initialVolume >= maxVolume) return maxVolume;
    return Math.min(
      maxVolume,
      Math.round(initialVolume * (maxVolume / initialVolume) ** ((cycle - 1) / steps)),
    );
  }
  return Math.min(maxVolume, initialVolume * 2 ** (cycle - 1));
}
