// Reads a Job and its pods and says where the work stands: queued, pending, running, succeeded, or failed
// with a classified reason. Pure, so every failure class is testable without a cluster.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { NON_RETRIABLE_EXIT_CODES } from './trainer-contract';
import { looksLikeCudaOom, tailLines, type GpuFailure } from './failures';
import { TRAINER_CONTAINER } from './job-manifest';

export type JobState =
  | { phase: 'queued' | 'pending' | 'running' }
  | { phase: 'succeeded' }
  | { phase: 'failed'; failure: GpuFailure };

export interface ClassifyOptions {
  now: Date;
  unschedulableTimeoutSeconds: number;
  /** how long a scheduled pod may fail to start (config error, image pull, mount) before the step fails;
   * default 0: at once */
  stuckTimeoutSeconds?: number;
  /** warning events per pod name (FailedMount, FailedAttachVolume), when the caller looked them up */
  podEvents?: Record<string, { reason: string; message: string }[]>;
  /** log text fetched per pod name, when the API could serve it */
  logs?: Record<string, string>;
}

/** Waiting reasons that another pull may clear (a registry hiccup): they fail after stuckTimeoutSeconds. */
const IMAGE_PULL_REASONS = new Set(['ImagePullBackOff', 'ErrImagePull']);
/** Waiting reasons no wait can clear. */
const IMAGE_NAME_REASONS = new Set(['InvalidImageName', 'ErrImageNeverPull']);
/** A missing Secret or ConfigMap (or key), a bad env reference: the kubelet cannot create the container. */
const CONFIG_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError']);
/** Events the kubelet and attach-detach controller write for a volume that cannot be mounted or attached
 * (Multi-Attach is a FailedAttachVolume). */
export const MOUNT_EVENT_REASONS = new Set(['FailedMount', 'FailedAttachVolume']);

/** Since when a pod has been trying to start: its scheduling time, else its creation. */
export function startingSince(pod: V1Pod, now: Date): Date {
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'True');
  return new Date(scheduled?.lastTransitionTime ?? pod.metadata?.creationTimestamp ?? now);
}

/** A pod that is scheduled but has not started its trainer (waiting on config, image or volumes). */
export function isStarting(pod: V1Pod): boolean {
  return !!pod.spec?.nodeName && pod.status?.phase === 'Pending' && !pod.metadata?.deletionTimestamp;
}

function condition(job: V1Job, type: string) {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

function trainerStatus(pod: V1Pod) {
  return (
    pod.status?.containerStatuses?.find((c) => c.name === TRAINER_CONTAINER) ??
    pod.status?.containerStatuses?.[0]
  );
}

/** Log tail of a pod: fetched logs when there are any, else the termination message (FallbackToLogsOnError). */
export function podLogTail(pod: V1Pod, logs?: Record<string, string>): string[] {
  const fetched = logs?.[pod.metadata?.name ?? ''];
  if (fetched) return tailLines(fetched);
  const st = trainerStatus(pod);
  return tailLines(st?.state?.terminated?.message ?? st?.lastState?.terminated?.message);
}

function newest(pods: V1Pod[]): V1Pod[] {
  const t = (p: V1Pod) => new Date(p.metadata?.creationTimestamp ?? 0).getTime();
  return [...pods].sort((a, b) => t(b) - t(a));
}

function isEvicted(pod: V1Pod): boolean {
  if (pod.status?.reason === 'Evicted' || pod.status?.reason === 'Preempting') return true;
  return pod.status?.conditions?.some((c) => c.type === 'DisruptionTarget' && c.status === 'True') ?? false;
}

/** Why the last failed pod failed, or null when it says nothing specific. */
function podFailure(pod: V1Pod, logs?: Record<string, string>): GpuFailure | null {
  const logTail = podLogTail(pod, logs);
  const term = trainerStatus(pod)?.state?.terminated;
  const name = pod.metadata?.name;
  if (term?.reason === 'OOMKilled')
    return {
      kind: 'oomKilled',
      message: `pod ${name} was OOMKilled (exit ${term.exitCode}); raise gpu.memory or lower batchSize`,
      logTail,
    };
  if (looksLikeCudaOom(logTail))
    return {
      kind: 'cudaOutOfMemory',
      message: `pod ${name} ran out of GPU memory; lower batchSize or maxSeqLength`,
      logTail,
    };
  if (isEvicted(pod))
    return {
      kind: 'evicted',
      message: `pod ${name} was evicted or preempted: ${pod.status?.message ?? ''}`.trim(),
      logTail,
    };
  if (term && (NON_RETRIABLE_EXIT_CODES as readonly number[]).includes(term.exitCode))
    return {
      kind: 'rejected',
      message: `trainer in pod ${name} exited ${term.exitCode} (not retriable)`,
      logTail,
    };
  return null;
}

export function classifyJob(job: V1Job, pods: V1Pod[], opts: ClassifyOptions): JobState {
  const byAge = newest(pods);
  if (condition(job, 'Complete')) return { phase: 'succeeded' };

  const failed = condition(job, 'Failed');
  if (failed) {
    const lastFailed = byAge.find((p) => p.status?.phase === 'Failed');
    const specific = lastFailed ? podFailure(lastFailed, opts.logs) : null;
    const logTail = lastFailed ? podLogTail(lastFailed, opts.logs) : [];
    if (failed.reason === 'DeadlineExceeded')
      return {
        phase: 'failed',
        failure: {
          kind: 'deadlineExceeded',
          message: `job ran past activeDeadlineSeconds=${job.spec?.activeDeadlineSeconds}`,
          logTail,
        },
      };
    if (specific) return { phase: 'failed', failure: specific };
    const kind = failed.reason === 'BackoffLimitExceeded' ? 'backoffLimitExceeded' : 'rejected';
    return {
      phase: 'failed',
      failure: { kind, message: `job failed (${failed.reason}): ${failed.message ?? ''}`.trim(), logTail },
    };
  }

  if (job.spec?.suspend || condition(job, 'Suspended')) return { phase: 'queued' };

  for (const pod of byAge) {
    if (
      pod.metadata?.deletionTimestamp ||
      pod.status?.phase === 'Failed' ||
      pod.status?.phase === 'Succeeded'
    )
      continue;
    const stuckFor = (opts.now.getTime() - startingSince(pod, opts.now).getTime()) / 1000;
    const stuck = stuckFor >= (opts.stuckTimeoutSeconds ?? 0);
    const after = `after ${Math.round(stuckFor)}s (limit ${opts.stuckTimeoutSeconds ?? 0}s)`;
    for (const st of pod.status?.containerStatuses ?? []) {
      const reason = st.state?.waiting?.reason;
      const detail = st.state?.waiting?.message ?? '';
      if (reason && (IMAGE_NAME_REASONS.has(reason) || (stuck && IMAGE_PULL_REASONS.has(reason))))
        return {
          phase: 'failed',
          failure: {
            kind: 'imagePull',
            message: `pod ${pod.metadata?.name} cannot pull ${st.image}: ${reason} ${detail}`.trim(),
            logTail: [],
          },
        };
      if (reason && stuck && CONFIG_REASONS.has(reason))
        return {
          phase: 'failed',
          failure: {
            kind: 'configError',
            message:
              `pod ${pod.metadata?.name} cannot start its container ${after}: ${reason}: ${detail} ` +
              `(check gpu.secretName and the Secrets and ConfigMaps the Job references exist in its namespace)`,
            logTail: [],
          },
        };
    }
    const mount = opts.podEvents?.[pod.metadata?.name ?? '']?.find((e) => MOUNT_EVENT_REASONS.has(e.reason));
    if (mount && stuck && isStarting(pod))
      return {
        phase: 'failed',
        failure: {
          kind: 'volumeMount',
          message: `pod ${pod.metadata?.name} cannot mount its volumes ${after}: ${mount.reason}: ${mount.message}`,
          logTail: [],
        },
      };
    const sched = pod.status?.conditions?.find(
      (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
    );
    if (sched) {
      const since = new Date(sched.lastTransitionTime ?? pod.metadata?.creationTimestamp ?? opts.now);
      const waited = (opts.now.getTime() - since.getTime()) / 1000;
      if (waited >= opts.unschedulableTimeoutSeconds)
        return {
          phase: 'failed',
          failure: {
            kind: 'unschedulable',
            message:
              `pod ${pod.metadata?.name} unschedulable for ${Math.round(waited)}s (limit ${opts.unschedulableTimeoutSeconds}s): ${sched.message ?? ''}`.trim(),
            logTail: [],
          },
        };
    }
  }
  const live = byAge.find((p) => !p.metadata?.deletionTimestamp);
  return { phase: live?.status?.phase === 'Running' ? 'running' : 'pending' };
}
