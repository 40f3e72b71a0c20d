// Why a GPU step failed, as Temporal sees it: each class is a distinct ApplicationFailure type, retryable
// only where another attempt can succeed, and carries the trainer's last log lines.
import { ApplicationFailure } from '@temporalio/common';

export const FAILURE_TYPES = {
  /** the container was killed for exceeding its memory limit */
  oomKilled: { type: 'GpuJobOOMKilled', retryable: false },
  /** the trainer ran out of GPU memory (from its logs) */
  cudaOutOfMemory: { type: 'GpuJobCudaOutOfMemory', retryable: false },
  imagePull: { type: 'GpuJobImagePullFailed', retryable: false },
  /** the kubelet cannot create the container: a missing Secret or ConfigMap (key), a bad env reference */
  configError: { type: 'GpuJobConfigError', retryable: false },
  /** a volume does not mount or attach (FailedMount, Multi-Attach): the Job is deleted and the next attempt
   * resubmits, by when the volume may be free */
  volumeMount: { type: 'GpuJobVolumeMountFailed', retryable: true },
  /** no node could take the pod (no GPU capacity, selector or taints) for longer than allowed */
  unschedulable: { type: 'GpuJobUnschedulable', retryable: false },
  deadlineExceeded: { type: 'GpuJobDeadlineExceeded', retryable: false },
  backoffLimitExceeded: { type: 'GpuJobBackoffLimitExceeded', retryable: false },
  /** the trainer exited with one of its "do not retry" codes */
  rejected: { type: 'GpuJobRejected', retryable: false },
  /** evicted or preempted: the next attempt resubmits */
  evicted: { type: 'GpuJobEvicted', retryable: true },
  /** the trainer checkpointed and stopped on SIGTERM (exit 3): the next attempt resumes */
  preempted: { type: 'GpuTrainerPreempted', retryable: true },
  /** the trainer process crashed for another reason (local backend): another attempt may succeed */
  crashed: { type: 'GpuTrainerCrashed', retryable: true },
  /** the job ended without the result manifest the contract promises */
  noResult: { type: 'GpuJobNoResult', retryable: false },
} as const;
export type FailureClass = keyof typeof FAILURE_TYPES;

export interface GpuFailure {
  kind: FailureClass;
  message: string;
  /** last lines the trainer wrote, newest last */
  logTail: string[];
  /** the trainer was taken away (its process vanished with a worker), not failing by itself */
  lost?: boolean;
}

export function toApplicationFailure(f: GpuFailure, job: string): ApplicationFailure {
  const { type, retryable } = FAILURE_TYPES[f.kind];
  const tail = f.logTail.length ? `\n--- last log lines ---\n${f.logTail.join('\n')}` : '';
  return ApplicationFailure.create({
    type,
    message: `${job}: ${f.message}${tail}`,
    nonRetryable: !retryable,
    details: [{ job, kind: f.kind, logTail: f.logTail, ...(f.lost ? { lost: true } : {}) }],
  });
}

const CUDA_OOM = /CUDA out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED|cudaErrorMemoryAllocation/;

export function looksLikeCudaOom(lines: string[]): boolean {
  return lines.some((l) => CUDA_OOM.test(l));
}

export function tailLines(text: string | undefined, n = 20): string[] {
  if (!text) return [];
  return text.replace(/\s+$/, '').split('\n').slice(-n);
}
