// Runs trainer steps as Kubernetes Jobs. Submit is idempotent (deterministic name, 409 adopts the existing
// Job), waiting survives worker crashes (the next attempt adopts the same Job), failures are classified,
// and only a real cancellation deletes the Job (propagationPolicy Background, so its pods go too).
import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Job,
  type V1Pod,
} from '@kubernetes/client-node';
import {
  makeWake,
  sleepOrWake,
  stopReason,
  type GpuBackend,
  type GpuProgress,
  type GpuRunRequest,
  type RunHooks,
} from './backend';
import { classifyJob, podLogTail } from './classify';
import { toApplicationFailure, type FailureClass } from './failures';
import {
  ARTIFACTS_MOUNT,
  buildJob,
  TRAINER_CONTAINER,
  type KubernetesGpuConfig,
  type RemoteArtifacts,
} from './job-manifest';
import { keepWatching } from './resource-watch';
import { migrationSelector, RUN_ANNOTATION } from './names';

export interface KubernetesBackendDeps {
  kubeConfig: KubeConfig;
  config: KubernetesGpuConfig;
  /** an object-store artifact store the Job reaches directly; without it, the artifacts PVC */
  remoteArtifacts?: RemoteArtifacts;
  /** fallback poll when no watch event arrives */
  pollIntervalMs?: number;
  /** how often to fetch the running pod's log tail for heartbeats */
  logIntervalMs?: number;
  /** times a Job deleted from outside is recreated before giving up */
  maxRecreates?: number;
  clock?: () => Date;
}

/** Failures after which the Job is deleted: it is stuck (pending) or must be resubmitted fresh. */
const DELETE_ON: ReadonlySet<FailureClass> = new Set(['imagePull', 'unschedulable', 'evicted']);

function apiReason(err: unknown): { code?: number; reason?: string } {
  if (!(err instanceof ApiException)) return {};
  let reason: string | undefined;
  try {
    reason = (typeof err.body === 'string' ? JSON.parse(err.body) : err.body)?.reason;
  } catch {
    // body was not JSON: the code alone decides
  }
  return { code: err.code, reason };
}

export function isNotFound(err: unknown): boolean {
  return apiReason(err).code === 404;
}

export function createKubernetesBackend(deps: KubernetesBackendDeps): GpuBackend {
  const { kubeConfig: kc, config: cfg } = deps;
  const batch = kc.makeApiClient(BatchV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const ns = cfg.namespace;
  const pollMs = deps.pollIntervalMs ?? 5000;
  const logMs = deps.logIntervalMs ?? 30_000;
  const maxRecreates = deps.maxRecreates ?? 3;
  const clock = deps.clock ?? (() => new Date());

  async function readJob(name: string): Promise<V1Job | null> {
    try {
      return await batch.readNamespacedJob({ name, namespace: ns });
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async function listPods(name: string): Promise<V1Pod[]> {
    const list = await core.listNamespacedPod({
      namespace: ns,
      labelSelector: `batch.kubernetes.io/job-name=${name}`,
    });
    return list.items;
  }

  async function deleteJob(name: string): Promise<void> {
    try {
      await batch.deleteNamespacedJob({ name, namespace: ns, propagationPolicy: 'Background' });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async function waitGone(name: string, signal: AbortSignal): Promise<void> {
    while (!signal.aborted && (await readJob(name)))
      await sleepOrWake(200, signal, { promise: new Promise(() => {}) });
  }

  /** Log tail of a pod through the API (kubelet); null when the node cannot serve logs within 5 s. */
  async function fetchLog(pod: V1Pod): Promise<string | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 5000)));
    const read = core
      .readNamespacedPodLog({
        name: pod.metadata!.name!,
        namespace: ns,
        container: TRAINER_CONTAINER,
        tailLines: 20,
      })
      .catch(() => null);
    try {
      return await Promise.race([read, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * An adopted Job left by another run of the workflow (a reset re-runs the step) is re-annotated with this
   * run, so the reaper, which deletes Jobs whose run is closed, leaves it to its new owner.
   */
  async function claim(existing: V1Job, want: V1Job): Promise<void> {
    const ours = want.metadata?.annotations;
    if (!ours?.[RUN_ANNOTATION] || existing.metadata?.annotations?.[RUN_ANNOTATION] === ours[RUN_ANNOTATION])
      return;
    await batch.patchNamespacedJob(
      { name: existing.metadata!.name!, namespace: ns, body: { metadata: { annotations: ours } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /** Creates the Job, or adopts the one an earlier attempt created. A failed leftover is replaced. */
  async function submit(want: V1Job, signal: AbortSignal): Promise<'created' | 'adopted'> {
    const name = want.metadata!.name!;
    for (;;) {
      try {
        await batch.createNamespacedJob({ namespace: ns, body: want });
        return 'created';
      } catch (err) {
        if (apiReason(err).reason !== 'AlreadyExists') throw err;
      }
      const existing = await readJob(name);
      if (!existing) continue; // deleted between create and read
      const failed = existing.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True');
      // A failure already reported by an earlier attempt (or run): this attempt starts over.
      if (!failed && !existing.metadata?.deletionTimestamp) {
        await claim(existing, want);
        return 'adopted';
      }
      if (!existing.metadata?.deletionTimestamp) await deleteJob(name);
      await waitGone(name, signal);
      if (signal.aborted) throw stopReason(signal);
    }
  }

  return {
    artifactsRoot: deps.remoteArtifacts?.location ?? ARTIFACTS_MOUNT,

    async deleteWork(migrationId: string): Promise<string[]> {
      const jobs = await batch.listNamespacedJob({
        namespace: ns,
        labelSelector: migrationSelector(migrationId),
      });
      const names = jobs.items.map((j) => j.metadata!.name!);
      // Background propagation: the garbage collector deletes the pods (the worker may not delete pods itself).
      for (const name of names) await deleteJob(name);
      return names;
    },

    async run(req: GpuRunRequest, hooks: RunHooks): Promise<void> {
      const want = buildJob(req, cfg, deps.remoteArtifacts);
      const name = want.metadata!.name!;
      let origin: GpuProgress['origin'] = await submit(want, hooks.signal);
      let recreates = 0;
      let lastLogAt = 0;
      let logTail: string[] = [];

      const watching = new AbortController();
      let wake = makeWake();
      const poke = () => wake.fire();
      keepWatching(
        kc,
        { path: `/apis/batch/v1/namespaces/${ns}/jobs`, fieldSelector: `metadata.name=${name}` },
        poke,
        watching.signal,
      );
      keepWatching(
        kc,
        { path: `/api/v1/namespaces/${ns}/pods`, labelSelector: `batch.kubernetes.io/job-name=${name}` },
        poke,
        watching.signal,
      );

      try {
        for (;;) {
          if (hooks.signal.aborted) {
            const stop = stopReason(hooks.signal);
            if (stop.deleteWork) await deleteJob(name);
            throw stop;
          }
          wake = makeWake();
          const job = await readJob(name);
          if (!job || job.metadata?.deletionTimestamp) {
            // Deleted from outside (kubectl, TTL of a stale Job): the work is not done, so submit it again.
            if (recreates >= maxRecreates)
              throw new Error(`job ${name} was deleted from outside ${recreates + 1} times; giving up`);
            await waitGone(name, hooks.signal);
            if (hooks.signal.aborted) continue;
            recreates++;
            await submit(want, hooks.signal);
            origin = 'recreated';
            continue;
          }
          const pods = await listPods(name);
          const running = pods.find((p) => p.status?.phase === 'Running');
          if (running && Date.now() - lastLogAt >= logMs) {
            lastLogAt = Date.now();
            const text = await fetchLog(running);
            if (text) logTail = text.trimEnd().split('\n').slice(-20);
          }
          const state = classifyJob(job, pods, {
            now: clock(),
            unschedulableTimeoutSeconds: cfg.unschedulableTimeoutSeconds,
          });
          hooks.heartbeat({
            backend: 'kubernetes',
            name,
            phase: state.phase,
            origin,
            pods: pods.map((p) => ({
              name: p.metadata!.name!,
              phase: p.status?.phase ?? 'Unknown',
              reason: p.status?.reason,
            })),
            logTail,
          });
          if (state.phase === 'succeeded') return;
          if (state.phase === 'failed') {
            const failure = state.failure;
            if (!failure.logTail.length) {
              const lastPod = pods.find((p) => p.status?.phase === 'Failed');
              const text = lastPod ? await fetchLog(lastPod) : null;
              failure.logTail = text
                ? text.trimEnd().split('\n').slice(-20)
                : lastPod
                  ? podLogTail(lastPod)
                  : logTail;
            }
            if (DELETE_ON.has(failure.kind)) await deleteJob(name);
            throw toApplicationFailure(failure, name);
          }
          await sleepOrWake(pollMs, hooks.signal, wake);
        }
      } finally {
        watching.abort();
      }
    },
  };
}
