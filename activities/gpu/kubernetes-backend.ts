// Runs trainer steps as Kubernetes Jobs. Submit is idempotent (deterministic name, 409 adopts the existing
// Job), waiting survives worker crashes (the next attempt adopts the same Job), failures are classified,
// and only a real cancellation or a stuck pod deletes the Job (propagationPolicy Background, so its pods go
// too). Steps follow their Jobs and pods through the worker's one shared informer (job-informer.ts).
import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  type CoreV1Event,
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
import { classifyJob, isStarting, podLogTail, startingSince } from './classify';
import { toApplicationFailure, type FailureClass } from './failures';
import { acquireJobInformer } from './job-informer';
import {
  ARTIFACTS_MOUNT,
  AVOID_NODES_ANNOTATION,
  buildJob,
  TRAINER_CONTAINER,
  type KubernetesGpuConfig,
  type RemoteArtifacts,
} from './job-manifest';
import { migrationSelector, RUN_ANNOTATION } from './names';

export interface KubernetesBackendDeps {
  kubeConfig: KubeConfig;
  config: KubernetesGpuConfig;
  /** an object-store artifact store the Job reaches directly; without it, the artifacts PVC */
  remoteArtifacts?: RemoteArtifacts;
  /** how often a waiting step looks at its Job when no informer event wakes it (reads the cache, not the API) */
  pollIntervalMs?: number;
  /** how long the shared informer outlives the last step that used it */
  informerLingerMs?: number;
  /** notable things the backend did on its own (a resubmission elsewhere), for the worker's log */
  onEvent?: (message: string) => void;
  /** how often to fetch the running pod's log tail for heartbeats */
  logIntervalMs?: number;
  /** times a Job deleted from outside is recreated before giving up */
  maxRecreates?: number;
  clock?: () => Date;
}

/** Failures after which the Job is deleted: it is stuck (pending, holding quota) or must be resubmitted fresh. */
const DELETE_ON: ReadonlySet<FailureClass> = new Set([
  'imagePull',
  'unschedulable',
  'evicted',
  'configError',
  'volumeMount',
]);

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

  /** Warning events (FailedMount, FailedAttachVolume) of pods, newest first; {} when events cannot be read. */
  async function warningEvents(
    pods: V1Pod[],
  ): Promise<Record<string, { reason: string; message: string }[]>> {
    const out: Record<string, { reason: string; message: string }[]> = {};
    for (const pod of pods) {
      const podName = pod.metadata!.name!;
      const list = await core
        .listNamespacedEvent({
          namespace: ns,
          fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${podName},type=Warning`,
        })
        .catch(() => null);
      const t = (e: CoreV1Event) =>
        new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? 0).getTime();
      out[podName] = (list?.items ?? [])
        .filter((e) => e.involvedObject.uid === undefined || e.involvedObject.uid === pod.metadata!.uid)
        .sort((a, b) => t(b) - t(a))
        .map((e) => ({ reason: e.reason ?? '', message: e.message ?? '' }));
    }
    return out;
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
  async function submit(
    want: V1Job,
    signal: AbortSignal,
  ): Promise<{ origin: 'created' | 'adopted'; uid: string }> {
    const name = want.metadata!.name!;
    for (;;) {
      try {
        const created = await batch.createNamespacedJob({ namespace: ns, body: want });
        return { origin: 'created', uid: created.metadata!.uid! };
      } catch (err) {
        if (apiReason(err).reason !== 'AlreadyExists') throw err;
      }
      const existing = await readJob(name);
      if (!existing) continue; // deleted between create and read
      const failed = existing.status?.conditions?.some((c) => c.type === 'Failed' && c.status === 'True');
      // A failure already reported by an earlier attempt (or run): this attempt starts over.
      if (!failed && !existing.metadata?.deletionTimestamp) {
        await claim(existing, want);
        return { origin: 'adopted', uid: existing.metadata!.uid! };
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
      let want = buildJob(req, cfg, deps.remoteArtifacts);
      const name = want.metadata!.name!;
      const { informer, release } = acquireJobInformer(kc, ns, deps.informerLingerMs);
      let wake = makeWake();
      const unsubscribe = informer.subscribe(name, () => wake.fire());
      try {
        // a failed first list leaves the informer unhealthy: the loop then reads the API directly
        await informer.ready().catch(() => {});
        let current = await submit(want, hooks.signal);
        let origin: GpuProgress['origin'] = current.origin;
        let recreates = 0;
        let lastLogAt = 0;
        let lastEventsAt = 0;
        let podEvents: Record<string, { reason: string; message: string }[]> = {};
        let logTail: string[] = [];

        for (;;) {
          if (hooks.signal.aborted) {
            const stop = stopReason(hooks.signal);
            if (stop.deleteWork) await deleteJob(name);
            throw stop;
          }
          wake = makeWake();
          // The cache is the informer's; it may lag behind our own create or hold the Job this attempt
          // replaced, so anything but the Job we submitted is checked against the API.
          let job = informer.healthy() ? informer.job(name) : undefined;
          if (!job || job.metadata?.uid !== current.uid) job = (await readJob(name)) ?? undefined;
          if (!job || job.metadata?.deletionTimestamp) {
            // Deleted from outside (kubectl, TTL of a stale Job): the work is not done, so submit it again.
            if (recreates >= maxRecreates)
              throw new Error(`job ${name} was deleted from outside ${recreates + 1} times; giving up`);
            await waitGone(name, hooks.signal);
            if (hooks.signal.aborted) continue;
            recreates++;
            current = await submit(want, hooks.signal);
            origin = 'recreated';
            continue;
          }
          current.uid = job.metadata!.uid!;
          const ownPods = (list: V1Pod[]) =>
            list.filter((p) => p.metadata?.ownerReferences?.some((o) => o.uid === current.uid));
          const pods = ownPods(informer.healthy() ? informer.pods(name) : await listPods(name));
          const running = pods.find((p) => p.status?.phase === 'Running');
          if (running && Date.now() - lastLogAt >= logMs) {
            lastLogAt = Date.now();
            const text = await fetchLog(running);
            if (text) logTail = text.trimEnd().split('\n').slice(-20);
          }
          // Volume failures are only in events: look them up for pods that have been starting too long.
          const now = clock();
          const starting = pods.filter(
            (p) =>
              isStarting(p) &&
              now.getTime() - startingSince(p, now).getTime() >= cfg.stuckTimeoutSeconds * 1000,
          );
          if (starting.length && Date.now() - lastEventsAt >= Math.max(pollMs, 2000)) {
            lastEventsAt = Date.now();
            podEvents = await warningEvents(starting);
          }
          const state = classifyJob(job, pods, {
            now,
            unschedulableTimeoutSeconds: cfg.unschedulableTimeoutSeconds,
            stuckTimeoutSeconds: cfg.stuckTimeoutSeconds,
            podEvents,
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
            const failedNodes = [
              ...new Set(
                pods
                  .filter((p) => p.status?.phase === 'Failed' && p.spec?.nodeName)
                  .map((p) => p.spec!.nodeName!),
              ),
            ];
            const avoided = job.metadata?.annotations?.[AVOID_NODES_ANNOTATION];
            if (!failure.logTail.length) {
              const lastPod = pods.find((p) => p.status?.phase === 'Failed');
              const text = lastPod ? await fetchLog(lastPod) : null;
              failure.logTail = text
                ? text.trimEnd().split('\n').slice(-20)
                : lastPod
                  ? podLogTail(lastPod)
                  : logTail;
            }
            // A crash that exhausted backoffLimit may be the node's fault (a bad GPU, a broken driver): run
            // the step once more, away from the nodes it failed on. A second failure is the step's own.
            if (
              failure.kind === 'backoffLimitExceeded' &&
              cfg.retryOnOtherNode &&
              !avoided &&
              failedNodes.length
            ) {
              deps.onEvent?.(
                `${name}: BackoffLimitExceeded on ${failedNodes.join(', ')}; resubmitting elsewhere`,
              );
              await deleteJob(name);
              await waitGone(name, hooks.signal);
              if (hooks.signal.aborted) continue;
              want = buildJob({ ...req, avoidNodes: failedNodes }, cfg, deps.remoteArtifacts);
              current = await submit(want, hooks.signal);
              origin = 'retriedElsewhere';
              continue;
            }
            if (avoided) failure.message += ` (after a first failure on ${avoided})`;
            if (DELETE_ON.has(failure.kind)) await deleteJob(name);
            throw toApplicationFailure(failure, name);
          }
          await sleepOrWake(pollMs, hooks.signal, wake);
        }
      } finally {
        unsubscribe();
        release();
      }
    },
  };
}
