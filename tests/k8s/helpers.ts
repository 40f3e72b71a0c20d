// Running the Job backend in tests: collect heartbeats, wait for conditions, count Jobs and pods.
import { strict as assert } from 'node:assert';
import * as k8s from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { GpuProgress } from '../../activities/gpu/backend';
import { createKubernetesBackend } from '../../activities/gpu/kubernetes-backend';
import type { KubernetesGpuConfig } from '../../activities/gpu/job-manifest';
import { jobName, type WorkflowOwner } from '../../activities/gpu/names';
import { adminKubeConfig, NAMESPACE } from './env';

export interface Run {
  beats: GpuProgress[];
  stop: AbortController;
  done: Promise<void>;
  job: string;
}

export function runStep(
  kc: k8s.KubeConfig,
  config: KubernetesGpuConfig,
  migrationId: string,
  extra: { pollIntervalMs?: number; owner?: WorkflowOwner } = {},
): Run {
  const backend = createKubernetesBackend({
    kubeConfig: kc,
    config,
    pollIntervalMs: extra.pollIntervalMs ?? 500,
  });
  const beats: GpuProgress[] = [];
  const stop = new AbortController();
  const id = { migrationId, cycle: 0, step: 'finetune' as const };
  const done = backend.run(
    { ...id, specPath: '/artifacts/spec.json', owner: extra.owner },
    { heartbeat: (p) => beats.push(p), signal: stop.signal },
  );
  return { beats, stop, done, job: jobName(id) };
}

export async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  ms = 30_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => assert.fail('expected the step to fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure, `expected ApplicationFailure, got ${String(err)}`);
  return err;
}

export async function jobsOf(migrationId: string): Promise<k8s.V1Job[]> {
  const batch = adminKubeConfig().makeApiClient(k8s.BatchV1Api);
  return (
    await batch.listNamespacedJob({
      namespace: NAMESPACE,
      labelSelector: `llamaduo.dev/migration=${migrationId}`,
    })
  ).items;
}

export async function podsOf(job: string): Promise<k8s.V1Pod[]> {
  const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
  return (
    await core.listNamespacedPod({
      namespace: NAMESPACE,
      labelSelector: `batch.kubernetes.io/job-name=${job}`,
    })
  ).items;
}
