// The GPU reaper: deletes llamaduo Jobs whose workflow run is closed. A cancelled migration deletes its own Jobs
// (the GPU activity on cancel, then the workflow's cleanup step); this catches what those cannot: a terminated
// workflow (no workflow code runs), a reset, a worker lost while its Job ran. It runs as a loop in every GPU
// worker that is given namespaces to watch (LLAMADUO_REAPER_NAMESPACES); two workers reaping at once is
// harmless (a delete of a deleted Job is a no-op). A Job names its owner by Temporal namespace, workflow id and
// run id (names.ts), so one reaper serves several namespaces, and a run that reset the owner away and did not
// adopt the Job (adopting re-annotates it) does not keep the old run's Job alive.
import { BatchV1Api, type KubeConfig } from '@kubernetes/client-node';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { isNotFound } from './kubernetes-backend';
import { LABELS, ownerOf } from './names';

export interface ReaperDeps {
  kubeConfig: KubeConfig;
  /** Temporal client of the namespace the migrations run in (and of Jobs that name no namespace) */
  client: Client;
  /** clients of further Temporal namespaces; a Job of a namespace with no client is left alone */
  clients?: Client[];
  /** Kubernetes namespaces whose llamaduo Jobs to check */
  namespaces: string[];
  log?: (message: string) => void;
}

/**
 * Whether the run that owns a Job is still running: the given run when the Job names one, else (Jobs from
 * before run annotations) the workflow id's latest run. A workflow the server no longer knows is not.
 */
async function isRunning(client: Client, workflowId: string, runId?: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(workflowId, runId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** One pass: deletes (with their pods) the Jobs whose workflow is closed; returns their names. */
export async function reapOrphanedJobs(deps: ReaperDeps): Promise<string[]> {
  const batch = deps.kubeConfig.makeApiClient(BatchV1Api);
  const reaped: string[] = [];
  const running = new Map<string, boolean>();
  const clients = new Map<string, Client>();
  for (const c of [deps.client, ...(deps.clients ?? [])])
    if (!clients.has(c.options.namespace)) clients.set(c.options.namespace, c);
  for (const namespace of deps.namespaces) {
    const jobs = await batch.listNamespacedJob({
      namespace,
      labelSelector: `${LABELS.managedBy}=llamaduo`,
    });
    for (const job of jobs.items) {
      const name = job.metadata!.name!;
      const owner = ownerOf(job.metadata?.annotations);
      // Jobs from before the annotation, or made by hand: not ours to judge.
      if (!owner || job.metadata?.deletionTimestamp) continue;
      // A finished Job holds no GPU; it keeps its pod logs until its ttlSecondsAfterFinished.
      const finished = job.status?.conditions?.some(
        (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
      );
      if (finished) continue;
      const client = clients.get(owner.namespace ?? deps.client.options.namespace);
      // another namespace's Job: a reaper with a client for that namespace judges it
      if (!client) continue;
      const key = `${client.options.namespace}/${owner.workflowId}/${owner.runId ?? ''}`;
      if (!running.has(key)) {
        try {
          running.set(key, await isRunning(client, owner.workflowId, owner.runId));
        } catch (err) {
          // Cannot tell (no permission, that namespace's frontend down): keep the Job, judge the others.
          running.set(key, true);
          deps.log?.(
            `GPU reaper: cannot describe ${key} for Job ${namespace}/${name}: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
      if (running.get(key)) continue;
      const which = `${client.options.namespace}/${owner.workflowId}${owner.runId ? ` run ${owner.runId}` : ''}`;
      try {
        await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' });
        reaped.push(`${namespace}/${name}`);
        deps.log?.(`reaped Job ${namespace}/${name}: workflow ${which} is closed`);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }
  return reaped;
}

/** Runs a pass every `periodMs` until stopped; a failed pass is logged and the next one tries again. */
export function startGpuReaper(deps: ReaperDeps & { periodMs: number }): { stop(): Promise<void> } {
  let stopped = false;
  let wake: () => void = () => {};
  const loop = (async () => {
    while (!stopped) {
      try {
        await reapOrphanedJobs(deps);
      } catch (err) {
        deps.log?.(`GPU reaper pass failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deps.periodMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();
  return {
    async stop() {
      stopped = true;
      wake();
      await loop;
    },
  };
}
