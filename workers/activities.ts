// Builds the real activity implementations from the worker's environment.
import path from 'node:path';
import type { AllActivities } from '../common/activities';
import type { GpuBackendConfig } from '../common/config';
import { createGpuActivities, defaultBackendFor } from '../activities/gpu/activities';
import { createLocalBackend } from '../activities/gpu/local-backend';
import { createIngestActivities } from '../activities/data/ingest/ingest-activity';
import { createPromotionActivities } from '../activities/data/promotion/promotion-activities';
import { createReportActivities } from '../activities/data/report/report-activity';
import { createEvalActivities } from '../activities/eval/eval-activities';
import { createClientRegistry, estimateUsd } from '../activities/llm/client-registry';
import { openArtifactStore } from '../activities/store/open-store';
import { createSynthesisDataActivities } from '../activities/synthesis/curate-synthesis';
import { createSynthesisActivities } from '../activities/synthesis/synthesize-shard';
import type { MetricsSink } from '../activities/metrics/sink';
import { heartbeatWhileRunning } from './heartbeat-timer';
import type { WorkerEnv } from './worker-config';

export function createActivities(
  env: WorkerEnv,
  processEnv: NodeJS.ProcessEnv = process.env,
  metrics?: MetricsSink,
): Partial<AllActivities> {
  const store = openArtifactStore(env.LLAMADUO_ARTIFACTS, processEnv);
  const clientFor = createClientRegistry(processEnv, undefined, metrics);
  // how often a provider batch is polled (default 30 s; tests use less)
  const batchPollMs = positiveInt(processEnv.LLAMADUO_BATCH_POLL_MS, 'LLAMADUO_BATCH_POLL_MS');
  const k8sOrLocal = defaultBackendFor(store);
  // The local GPU backend runs the trainer from this checkout with the project's venv unless told otherwise.
  const repo = path.resolve(import.meta.dirname, '..');
  // The trainer reaches an s3:// store with the worker's own AWS settings and credential sources.
  const awsEnv = Object.fromEntries(
    Object.entries(processEnv).filter(([k]) => k.startsWith('AWS_') || k.startsWith('LLAMADUO_S3_')),
  );
  const trainerEnv = {
    ...awsEnv,
    PYTHONPATH: [path.join(repo, 'k8s', 'trainer'), processEnv.PYTHONPATH]
      .filter(Boolean)
      .join(path.delimiter),
  };
  const python =
    processEnv.LLAMADUO_PYTHON ??
    process.env.LLAMADUO_PYTHON ??
    path.join(
      processEnv.LLAMADUO_TOOLS ?? process.env.LLAMADUO_TOOLS ?? path.join(repo, '.tools'),
      'venv',
      'bin',
      'python',
    );
  const backendFor = (gpu: GpuBackendConfig) =>
    gpu.kind === 'local'
      ? createLocalBackend({
          store,
          config: { ...gpu, python: gpu.python ?? python },
          env: trainerEnv,
          runStateDir: path.join(processEnv.LLAMADUO_HOME ?? '.llamaduo', 'gpu-runs'),
        })
      : k8sOrLocal(gpu);
  const evaluation = createEvalActivities({ store, llm: clientFor, estimateUsd, batchPollMs });
  const ingest = createIngestActivities({ store });
  const report = createReportActivities({ store });
  return {
    ...ingest,
    ...createPromotionActivities({ store }),
    ...report,
    ...evaluation,
    // data activities that do not heartbeat themselves
    ingestCoverage: heartbeatWhileRunning(ingest.ingestCoverage),
    writeReport: heartbeatWhileRunning(report.writeReport),
    planEvaluation: heartbeatWhileRunning(evaluation.planEvaluation),
    summarizeEvaluation: heartbeatWhileRunning(evaluation.summarizeEvaluation),
    ...createSynthesisActivities({ store, llm: clientFor, batchPollMs }),
    ...createSynthesisDataActivities({ store, estimateUsd }),
    ...createGpuActivities({ store, backendFor, metrics }),
  };
}

/** An optional positive integer from the environment; a bad value is an error naming the variable. */
function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer (got "${value}")`);
  return n;
}
