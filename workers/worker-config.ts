// Worker configuration from the environment (a Kubernetes ConfigMap/Secret in production).
import { z } from 'zod';
import type { QueueName } from '../common/activities';

const QUEUES = ['workflow', 'data', 'llm', 'gpu'] as const;

export const WorkerEnv = z.object({
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  // TLS, mTLS and API key variables (TEMPORAL_TLS, TEMPORAL_TLS_CA/CERT/KEY/SERVER_NAME, TEMPORAL_API_KEY)
  // are read by common/temporal-connection.ts.
  /** a prebuilt workflow bundle (the image has one beside the compiled worker; see workflow-bundle.ts) */
  LLAMADUO_WORKFLOW_BUNDLE: z.string().optional(),
  /** comma-separated subset of workflow,data,llm,gpu: scale GPU-waiting and LLM-calling work apart */
  LLAMADUO_QUEUES: z
    .string()
    .default(QUEUES.join(','))
    .transform((s) =>
      s
        .split(',')
        .map((q) => q.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(QUEUES)).nonempty()),
  LLAMADUO_ARTIFACTS: z.string().default('.llamaduo/artifacts'),
  LLAMADUO_LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  LLAMADUO_LLM_CONCURRENCY: z.coerce.number().int().positive().default(8),
  LLAMADUO_GPU_CONCURRENCY: z.coerce.number().int().positive().default(4),
  /** data activities at once; curation peaks near 1.6 GB at 256k samples, so size memory by this */
  LLAMADUO_DATA_CONCURRENCY: z.coerce.number().int().positive().default(4),
  /** Redis/Valkey shared by all LLM workers, e.g. redis://redis:6379/0: rate limits then hold across replicas */
  LLAMADUO_REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** rate limits per provider/model: inline YAML/JSON starting with `{`, or a file path (rate-limit-settings.ts) */
  LLAMADUO_RATE_LIMITS: z.string().optional(),
  /**
   * GPU workers only: comma-separated Kubernetes namespaces whose llamaduo Jobs the reaper deletes once their
   * workflow is closed (terminated, reset, lost). Empty: no reaper.
   */
  LLAMADUO_REAPER_NAMESPACES: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean),
    ),
  /**
   * Further Temporal namespaces (comma-separated) whose migrations' Jobs the reaper judges, besides
   * TEMPORAL_NAMESPACE; a Job names its namespace, so Jobs of namespaces not listed are left alone.
   */
  LLAMADUO_REAPER_TEMPORAL_NAMESPACES: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean),
    ),
  /** seconds between reaper passes */
  LLAMADUO_REAPER_PERIOD_S: z.coerce.number().positive().default(300),
  /** /healthz and /readyz for Kubernetes probes; 0 turns them off */
  LLAMADUO_HEALTH_PORT: z.coerce.number().int().nonnegative().default(8080),
  /** GET /metrics for Prometheus (the product's series and the Temporal SDK's); 0 turns it off */
  LLAMADUO_METRICS_PORT: z.coerce.number().int().nonnegative().default(9464),
});
export type WorkerEnv = z.infer<typeof WorkerEnv> & { LLAMADUO_QUEUES: QueueName[] };

export function readWorkerEnv(env: NodeJS.ProcessEnv = process.env): WorkerEnv {
  const r = WorkerEnv.safeParse(env);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid worker environment:\n${lines.join('\n')}`);
  }
  return r.data as WorkerEnv;
}
