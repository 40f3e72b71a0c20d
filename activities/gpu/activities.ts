// The GPU activities (fineTune, generate): write the trainer spec into the artifact store, run it on the
// backend the migration chose (Kubernetes Job or local process), and turn the trainer's result.json into
// artifact references. A step whose result.json already exists is not run again.
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { KubeConfig } from '@kubernetes/client-node';
import type { GpuBackendConfig } from '../../common/config';
import type { GpuActivities } from '../../common/activities';
import type * as T from '../../common/types';
import type { ArtifactStore } from '../store/artifact-store';
import { StopWaiting, type GpuBackend, type RunHooks } from './backend';
import { ResultManifest, type GpuStep, type SpecPaths } from './contract';
import { createKubernetesBackend } from './kubernetes-backend';
import { createLocalBackend } from './local-backend';
import { stepKeys, type GpuWorkId } from './names';

export interface GpuActivityDeps {
  store: ArtifactStore;
  /** picks the backend for a step's config; default: local process or Kubernetes from $KUBECONFIG / in-cluster */
  backendFor?: (gpu: GpuBackendConfig) => GpuBackend;
}

export function defaultBackendFor(store: ArtifactStore): (gpu: GpuBackendConfig) => GpuBackend {
  let kc: KubeConfig | undefined;
  return (gpu) => {
    if (gpu.kind === 'local') return createLocalBackend({ store, config: gpu });
    if (!kc) {
      kc = new KubeConfig();
      kc.loadFromDefault();
    }
    return createKubernetesBackend({ kubeConfig: kc, config: gpu });
  };
}

/** Heartbeats and cancellation from the Temporal activity context, in the backend's terms. */
function temporalHooks(): RunHooks & { dispose(): void } {
  const ctx = Context.current();
  const stop = new AbortController();
  const onCancel = () => {
    const d = ctx.cancellationDetails;
    // Only a requested cancellation (migration cancelled/stopped, activity reset) deletes the work.
    const deleteWork = !!(d?.cancelRequested || d?.reset);
    stop.abort(new StopWaiting(deleteWork, `activity cancelled: ${JSON.stringify(d ?? {})}`));
  };
  if (ctx.cancellationSignal.aborted) onCancel();
  else ctx.cancellationSignal.addEventListener('abort', onCancel, { once: true });
  return {
    heartbeat: (p) => ctx.heartbeat(p),
    signal: stop.signal,
    dispose: () => ctx.cancellationSignal.removeEventListener('abort', onCancel),
  };
}

export function createGpuActivities(deps: GpuActivityDeps): GpuActivities {
  const { store } = deps;
  const backendFor = deps.backendFor ?? defaultBackendFor(store);

  /** Runs one step unless its result manifest exists; returns the manifest and its reference. */
  async function runStep(id: GpuWorkId, gpu: GpuBackendConfig, spec: (p: (uri: string) => string) => object) {
    const keys = stepKeys(id);
    let manifestRef = await store.find(keys.result, { countLines: false });
    if (!manifestRef) {
      const backend = backendFor(gpu);
      const at = (key: string) => path.posix.join(backend.artifactsRoot, key);
      const paths: SpecPaths = {
        artifactsRoot: backend.artifactsRoot,
        outputDir: at(keys.output),
        resultPath: at(keys.result),
      };
      const specPath = at(keys.spec);
      await store.writeJson(keys.spec, {
        version: 1,
        step: id.step,
        migrationId: id.migrationId,
        cycle: id.cycle,
        ...paths,
        ...spec((uri) => at(store.keyOf(uri))),
      });
      const hooks = temporalHooks();
      try {
        await backend.run({ ...id, specPath }, hooks);
      } catch (err) {
        // Hand Temporal its own cancellation error; the Job or process keeps running unless deleteWork.
        if (err instanceof StopWaiting)
          throw (
            Context.current().cancellationSignal.reason ??
            ApplicationFailure.retryable(err.message, 'GpuWaitStopped')
          );
        throw err;
      } finally {
        hooks.dispose();
      }
      manifestRef = await store.find(keys.result, { countLines: false });
      if (!manifestRef)
        throw ApplicationFailure.nonRetryable(`${id.step} finished without ${keys.result}`, 'GpuJobNoResult');
    }
    const parsed = ResultManifest.safeParse(await store.readJson(keys.result));
    if (!parsed.success)
      throw ApplicationFailure.nonRetryable(`${keys.result}: ${parsed.error.message}`, 'GpuJobBadResult');
    return { keys, manifest: parsed.data, manifestRef };
  }

  async function output(
    keys: ReturnType<typeof stepKeys>,
    manifest: ResultManifest,
    name: string,
  ): Promise<T.ArtifactRef> {
    const rel = manifest.outputs[name];
    if (!rel)
      throw ApplicationFailure.nonRetryable(`${keys.result}: outputs.${name} is missing`, 'GpuJobBadResult');
    const key = `${keys.output}/${rel}`;
    const ref = await store.find(key);
    if (!ref)
      throw ApplicationFailure.nonRetryable(
        `${keys.result}: outputs.${name} -> ${key} does not exist`,
        'GpuJobBadResult',
      );
    return ref;
  }

  const step = (input: { migrationId: string; cycle: number }, s: GpuStep): GpuWorkId => ({
    migrationId: input.migrationId,
    cycle: input.cycle,
    step: s,
  });

  return {
    async fineTune(input: T.FineTuneInput): Promise<T.FineTuneResult> {
      const { keys, manifest, manifestRef } = await runStep(step(input, 'finetune'), input.gpu, (p) => ({
        baseModel: input.baseModel,
        trainer: input.trainer,
        datasets: input.datasets.map((d) => p(d.uri)),
        samples: input.samples,
        lora: input.lora,
      }));
      return {
        adapter: await output(keys, manifest, 'adapter'),
        manifest: manifestRef,
        method: manifest.method ?? input.trainer.method,
        trainLoss: manifest.trainLoss,
        tokensPerSecond: manifest.tokensPerSecond,
        seconds: manifest.seconds,
      };
    },

    async generate(input: T.GenerateInput): Promise<T.GenerateResult> {
      const { keys, manifest, manifestRef } = await runStep(step(input, 'generate'), input.gpu, (p) => ({
        baseModel: input.baseModel,
        adapter: p(input.adapter.uri),
        test: p(input.test.uri),
        inference: input.inference,
      }));
      return {
        generations: await output(keys, manifest, 'generations'),
        manifest: manifestRef,
        tokensPerSecond: manifest.tokensPerSecond,
        seconds: manifest.seconds,
      };
    },
  };
}
