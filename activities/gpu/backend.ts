// The one interface both GPU backends (Kubernetes Jobs, local child process) implement: run one trainer
// step whose spec is already in the artifact store, heartbeat while waiting, resolve once the trainer
// exited successfully, throw a classified ApplicationFailure otherwise.
import type { GpuWorkId, WorkflowOwner } from './names';

export interface GpuRunRequest extends GpuWorkId {
  /** spec file path as the runner sees it */
  specPath: string;
  /** the workflow run the work belongs to, recorded on the Job for the reaper */
  owner?: WorkflowOwner;
}

export interface GpuProgress {
  backend: 'kubernetes' | 'local';
  /** Job name or process key */
  name: string;
  phase: string;
  /** how this attempt got its work: created it, adopted a running one, recreated a vanished one, or
   * resubmitted it away from the nodes it failed on */
  origin: 'created' | 'adopted' | 'recreated' | 'retriedElsewhere';
  pods?: { name: string; phase: string; reason?: string }[];
  logTail?: string[];
}

/**
 * Why waiting stopped early. Only a real cancellation deletes the work: a worker shutting down or a heartbeat
 * timeout leaves the Job (or process) running for the next attempt to adopt.
 */
export class StopWaiting extends Error {
  constructor(
    readonly deleteWork: boolean,
    why: string,
  ) {
    super(why);
    this.name = 'StopWaiting';
  }
}

export interface RunHooks {
  heartbeat(progress: GpuProgress): void;
  /** aborted with a StopWaiting reason */
  signal: AbortSignal;
}

export interface GpuBackend {
  /** where the runner sees the artifact store root */
  readonly artifactsRoot: string;
  run(req: GpuRunRequest, hooks: RunHooks): Promise<void>;
  /**
   * Stops and deletes every piece of GPU work of a migration (all cycles and steps), whatever attempt started
   * it. Returns the names of what it deleted.
   */
  deleteWork(migrationId: string): Promise<string[]>;
}

export function stopReason(signal: AbortSignal): StopWaiting {
  return signal.reason instanceof StopWaiting ? signal.reason : new StopWaiting(false, String(signal.reason));
}

/** Resolves after ms, or early when the signal aborts or `wake` is called. */
export function sleepOrWake(
  ms: number,
  signal: AbortSignal,
  wake: { promise: Promise<void> },
): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
    void wake.promise.then(done);
  });
}

/** A one-shot signal a watch callback can fire to end the current sleep early. */
export function makeWake(): { promise: Promise<void>; fire: () => void } {
  let fire = () => {};
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}
