// The GPU activities (fineTune, generate, exportAdapter): write the trainer spec into the artifact store, run it on the
// backend the migration chose (Kubernetes Job or local process), and turn the trainer's result.json into
// artifact references. A step whose result.json says succeeded is not run again.
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowNotFoundError } from '@temporalio/client';
import { KubeConfig } from '@kubernetes/client-node';
import type { GpuBackendConfig } from '../../common/config';
import type { GpuActivities } from '../../common/activities';
import type * as T from '../../common/types';
import type { ArtifactStore } from '../store/artifact-store';
import { LocalArtifactStore } from '../store/local-store';
import { s3TrainerEnv } from '../store/s3-config';
import { StopWaiting, type GpuBackend, type RunHooks } from './backend';
import {
  ResultManifest,
  type Device,
  type ExportSpec,
  type FinetuneSpec,
  type GenerateSpec,
  type GpuStep,
  type ModelCacheFields,
} from './trainer-contract';
import { createKubernetesBackend } from './kubernetes-backend';
import { countStepFailure } from './step-failures';
import { createLocalBackend } from './local-backend';
import { stepKeys, type GpuWorkId, type StepKeys } from './names';
import { noopMetrics, type MetricsSink } from '../metrics/sink';
import { needsModelCache } from '../../common/model-source';

/** Store key under which Hub and GGUF base models are cached (migration ids cannot start with '_'). */
export const MODEL_CACHE_KEY = '_models';

export interface GpuActivityDeps {
  store: ArtifactStore;
  /** picks the backend for a step's config; default: local process or Kubernetes from $KUBECONFIG / in-cluster */
  backendFor?: (gpu: GpuBackendConfig) => GpuBackend;
  /** GPU step phases and durations for the worker's /metrics */
  metrics?: MetricsSink;
}

export function defaultBackendFor(store: ArtifactStore): (gpu: GpuBackendConfig) => GpuBackend {
  let kc: KubeConfig | undefined;
  return (gpu) => {
    if (gpu.kind === 'local') return createLocalBackend({ store, config: gpu });
    if (!kc) {
      kc = new KubeConfig();
      kc.loadFromDefault();
    }
    const remoteArtifacts =
      store instanceof LocalArtifactStore
        ? undefined
        : { location: store.location, env: s3TrainerEnv(process.env) };
    return createKubernetesBackend({ kubeConfig: kc, config: gpu, remoteArtifacts });
  };
}

/**
 * Whether the workflow that scheduled this activity is closed (terminated, cancelled, timed out, reset away)
 * or gone. A heartbeat answered "not found" means either that, or a stale attempt whose successor already
 * runs (and owns the work); only the first may delete the work.
 */
async function workflowClosed(ctx: Context): Promise<boolean> {
  const workflowId = ctx.info.workflowExecution?.workflowId;
  if (!workflowId) return true;
  try {
    // The id's latest run, not this one: a run that reset this one away re-runs the step and adopts the Job
    // (the adoption moves the Job's run annotation to it); the reaper deletes it if nobody adopts it.
    const d = await ctx.client.workflow.getHandle(workflowId).describe();
    return d.status.name !== 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return true;
    // Cannot tell (e.g. no permission to describe): deleting might take the Job from a live retry that adopted
    // it; the reaper, which describes with its own client, deletes it if the workflow really is closed.
    return false;
  }
}

/** Heartbeats and cancellation from the Temporal activity context, in the backend's terms. */
function temporalHooks(): RunHooks & { dispose(): void } {
  const ctx = Context.current();
  const stop = new AbortController();
  const onCancel = async () => {
    const d = ctx.cancellationDetails;
    // A requested cancellation (migration cancelled, activity reset) deletes the work; so does a workflow that
    // is gone (terminated, or closed without waiting for this activity). A worker shutting down or a timed-out
    // attempt leaves it for the next attempt to adopt.
    let deleteWork = !!(d?.cancelRequested || d?.reset);
    // (the abort listener runs outside the activity's async context: use the captured one)
    if (!deleteWork && d?.notFound) deleteWork = await workflowClosed(ctx).catch(() => true);
    stop.abort(new StopWaiting(deleteWork, `activity cancelled: ${JSON.stringify(d ?? {})}`));
  };
  const listener = () => void onCancel();
  if (ctx.cancellationSignal.aborted) listener();
  else ctx.cancellationSignal.addEventListener('abort', listener, { once: true });
  return {
    heartbeat: (p) => ctx.heartbeat(p),
    signal: stop.signal,
    dispose: () => ctx.cancellationSignal.removeEventListener('abort', listener),
  };
}

/** `<root>/<key>` for a directory root or an `s3://bucket/prefix` one (path.join would fold `s3://`). */
function joinRoot(root: string, key: string): string {
  return `${root.replace(/\/+$/, '')}/${key}`;
}

export function createGpuActivities(deps: GpuActivityDeps): GpuActivities {
  const { store } = deps;
  const backendFor = deps.backendFor ?? defaultBackendFor(store);

  async function finishedResult(keys: StepKeys): Promise<ResultManifest | null> {
    if (!(await store.find(keys.result, { countLines: false }))) return null;
    const parsed = ResultManifest.safeParse(await store.readJson(keys.result));
    if (!parsed.success)
      throw ApplicationFailure.nonRetryable(`${keys.result}: ${parsed.error.message}`, 'GpuJobBadResult');
    return parsed.data.status === 'succeeded' ? parsed.data : null;
  }

  /**
   * Runs one step unless a succeeded result.json exists. `spec` gets a mapper from artifact URIs to paths as
   * the runner sees them, plus the output directory.
   */
  async function runStep<S extends object>(
    id: GpuWorkId,
    gpu: GpuBackendConfig,
    spec: (
      at: (uri: string) => string,
      outputDir: string,
      modelCache: (baseModel: string) => ModelCacheFields,
    ) => S,
  ) {
    const keys = stepKeys(id);
    const backend = backendFor(gpu);
    const root = backend.artifactsRoot;
    const modelCache = (baseModel: string): ModelCacheFields =>
      needsModelCache(baseModel)
        ? {
            modelCache: joinRoot(root, MODEL_CACHE_KEY),
            baseModelLock: joinRoot(root, `${id.migrationId}/base-model.json`),
          }
        : {};
    let manifest = await finishedResult(keys);
    if (!manifest) {
      const at = (uri: string) => joinRoot(root, store.keyOf(uri));
      await store.writeJson(keys.spec, spec(at, joinRoot(root, keys.output), modelCache));
      const hooks = temporalHooks();
      const metrics = deps.metrics ?? noopMetrics;
      const labels = { step: id.step, backend: gpu.kind };
      let phase: string | undefined;
      const heartbeat = hooks.heartbeat;
      hooks.heartbeat = (p) => {
        if (p.phase !== phase) metrics.gpuPhase(labels, phase, p.phase);
        phase = p.phase;
        heartbeat(p);
      };
      const started = performance.now();
      let outcome: 'succeeded' | 'failed' | 'stopped' = 'failed';
      try {
        const { workflowExecution: run, namespace } = Context.current().info;
        const owner = run ? { namespace, workflowId: run.workflowId, runId: run.runId } : undefined;
        await backend.run({ ...id, specPath: joinRoot(root, keys.spec), owner }, hooks);
        outcome = 'succeeded';
      } catch (err) {
        if (err instanceof StopWaiting) outcome = 'stopped';
        // Hand Temporal its own cancellation error; the Job or process keeps running unless deleteWork.
        if (err instanceof StopWaiting)
          throw (
            Context.current().cancellationSignal.reason ??
            ApplicationFailure.retryable(err.message, 'GpuWaitStopped')
          );
        throw await countStepFailure(store, keys.dir, err);
      } finally {
        hooks.dispose();
        metrics.gpuPhase(labels, phase, undefined);
        metrics.gpuStep({ ...labels, outcome }, (performance.now() - started) / 1000);
      }
      manifest = await finishedResult(keys);
      if (!manifest)
        throw ApplicationFailure.nonRetryable(
          `${id.step} exited 0 without a succeeded ${keys.result}`,
          'GpuJobNoResult',
        );
    }
    const manifestRef = (await store.find(keys.result, { countLines: false }))!;
    /** an output the trainer names by its runner-side path, as a reference in this store */
    const output = async (name: string): Promise<T.ArtifactRef> => {
      const p = manifest.outputs[name];
      const prefix = root.endsWith('/') ? root : `${root}/`;
      if (!p || !p.startsWith(prefix))
        throw ApplicationFailure.nonRetryable(
          `${keys.result}: outputs.${name} (${p}) is not under ${root}`,
          'GpuJobBadResult',
        );
      const ref = await store.pathRef(p.slice(prefix.length));
      if (!ref)
        throw ApplicationFailure.nonRetryable(
          `${keys.result}: outputs.${name} -> ${p} does not exist`,
          'GpuJobBadResult',
        );
      return ref;
    };
    /** an output the trainer may leave out (an export it skipped): undefined when the manifest has none */
    const optionalOutput = async (name: string): Promise<T.ArtifactRef | undefined> =>
      manifest.outputs[name] ? output(name) : undefined;
    return { manifest, manifestRef, output, optionalOutput };
  }

  const work = (input: { migrationId: string; cycle: number; tag?: string }, step: GpuStep): GpuWorkId => ({
    migrationId: input.migrationId,
    cycle: input.cycle,
    step,
    ...(input.tag !== undefined ? { tag: input.tag } : {}),
  });
  const device = (gpu: GpuBackendConfig): Device => (gpu.kind === 'local' ? gpu.device : 'cuda');

  return {
    async deleteGpuWork(input: T.DeleteGpuWorkInput): Promise<T.DeleteGpuWorkResult> {
      const deleted = await backendFor(input.gpu).deleteWork(input.migrationId);
      if (deleted.length) log.info('deleted GPU work', { migrationId: input.migrationId, deleted });
      return { deleted };
    },

    async fineTune(input: T.FineTuneInput): Promise<T.FineTuneResult> {
      const t = input.trainer;
      const { manifest, manifestRef, output } = await runStep(
        work(input, 'finetune'),
        input.gpu,
        (at, outputDir, modelCache): FinetuneSpec => ({
          baseModel: input.baseModel,
          ...modelCache(input.baseModel),
          datasets: input.datasets.map((d) => at(d.uri)),
          outputDir,
          method: t.method,
          lora: { rank: input.lora.rank, alpha: input.lora.alpha, dropout: t.loraDropout },
          train: {
            epochs: t.epochs,
            learningRate: t.learningRate,
            lrScheduler: t.lrScheduler,
            maxSeqLength: t.maxSeqLength,
            batchSize: t.batchSize,
            gradientAccumulation: t.gradientAccumulation,
            packing: t.packing,
            gradientCheckpointing: t.gradientCheckpointing ?? null,
            checkpointEverySteps: t.checkpointEverySteps,
            seed: t.seed,
          },
          mergeWeights: t.mergeWeights,
          exportGguf: t.exportGguf,
          device: device(input.gpu),
          // absent in the input of a migration started before these options existed: the trainer's defaults
          attnImplementation: t.attnImplementation ?? 'sdpa',
          kernels: t.kernels ?? 'none',
          compileLayers: t.compileLayers ?? false,
        }),
      );
      return {
        adapter: await output('adapterDir'),
        manifest: manifestRef,
        method: manifest.method ?? t.method,
        trainLoss: manifest.metrics?.trainLoss ?? undefined,
        tokensPerSecond: manifest.tokensPerSecond ?? undefined,
        seconds: manifest.durations?.totalSeconds ?? 0,
      };
    },

    async exportAdapter(input: T.ExportAdapterInput): Promise<T.ExportAdapterResult> {
      const { manifest, manifestRef, optionalOutput } = await runStep(
        work(input, 'export'),
        input.gpu,
        (at, outputDir, modelCache): ExportSpec => ({
          baseModel: input.baseModel,
          ...modelCache(input.baseModel),
          adapterDir: at(input.adapter.uri),
          outputDir,
          merged: input.merged,
          gguf: input.gguf,
        }),
      );
      const [merged, gguf, modelfile] = await Promise.all(
        ['mergedDir', 'ggufFile', 'modelfile'].map((name) => optionalOutput(name)),
      );
      return {
        ...(merged ? { merged } : {}),
        ...(gguf ? { gguf } : {}),
        ...(modelfile ? { modelfile } : {}),
        ...(manifest.ggufSkipped ? { ggufSkipped: manifest.ggufSkipped } : {}),
        manifest: manifestRef,
        seconds: manifest.durations?.totalSeconds ?? 0,
      };
    },

    async generate(input: T.GenerateInput): Promise<T.GenerateResult> {
      const { engine = 'transformers', ...sampling } = input.inference;
      const { manifest, manifestRef, output } = await runStep(
        work(input, 'generate'),
        input.gpu,
        (at, outputDir, modelCache): GenerateSpec => ({
          baseModel: input.baseModel,
          ...modelCache(input.baseModel),
          ...(input.adapter ? { adapterDir: at(input.adapter.uri) } : {}),
          prompts: at(input.test.uri),
          outputDir,
          sampling,
          device: device(input.gpu),
          engine,
        }),
      );
      const generations = await output('generations');
      if (generations.count === undefined)
        generations.count = (await store.find(store.keyOf(generations.uri), { countLines: true }))?.count;
      return {
        generations,
        manifest: manifestRef,
        tokensPerSecond: manifest.tokensPerSecond ?? undefined,
        seconds: manifest.durations?.totalSeconds ?? 0,
      };
    },
  };
}
