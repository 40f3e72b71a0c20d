// Deterministic names and labels for GPU work: the same (migration, cycle, step) always maps to the same
// Job name and process key, whatever the activity attempt, so a retry adopts instead of duplicating.
import { createHash } from 'node:crypto';
import { ArtifactStore } from '../store/artifact-store';
import type { GpuStep } from './trainer-contract';

export const LABELS = {
  app: 'app.kubernetes.io/name',
  managedBy: 'app.kubernetes.io/managed-by',
  migration: 'llamaduo.dev/migration',
  cycle: 'llamaduo.dev/cycle',
  step: 'llamaduo.dev/step',
  tag: 'llamaduo.dev/tag',
  kueueQueue: 'kueue.x-k8s.io/queue-name',
  kueuePriorityClass: 'kueue.x-k8s.io/priority-class',
} as const;

/** The workflow run that owns a Job: the reaper deletes Jobs whose run is closed. */
export const WORKFLOW_ANNOTATION = 'llamaduo.dev/workflow-id';
export const RUN_ANNOTATION = 'llamaduo.dev/run-id';
export const NAMESPACE_ANNOTATION = 'llamaduo.dev/temporal-namespace';

/**
 * The run a piece of GPU work belongs to. The namespace lets one reaper serve several Temporal namespaces; the
 * run id tells a run from a later run of the same workflow id (a reset, a continue-as-new).
 */
export interface WorkflowOwner {
  namespace: string;
  workflowId: string;
  runId: string;
}

export function ownerAnnotations(owner: WorkflowOwner): Record<string, string> {
  return {
    [NAMESPACE_ANNOTATION]: owner.namespace,
    [WORKFLOW_ANNOTATION]: owner.workflowId,
    [RUN_ANNOTATION]: owner.runId,
  };
}

/** The owner recorded on a Job; Jobs from before the run annotation carry only the workflow id. */
export function ownerOf(
  annotations: Record<string, string> | undefined,
): { namespace?: string; workflowId: string; runId?: string } | null {
  const workflowId = annotations?.[WORKFLOW_ANNOTATION];
  if (!workflowId) return null;
  return {
    workflowId,
    namespace: annotations[NAMESPACE_ANNOTATION],
    runId: annotations[RUN_ANNOTATION],
  };
}

export interface GpuWorkId {
  migrationId: string;
  cycle: number;
  step: GpuStep;
  /**
   * Names a variant of the step, e.g. 'promoted-v3' when the promoted adapter is re-generated on this run's
   * test split: without it that work would share (and reuse) the cycle's own generate outputs.
   */
  tag?: string;
}

const TAG = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** The step as it appears in names and keys: `generate`, or `generate-<tag>`. */
function stepName(id: GpuWorkId): string {
  if (id.tag === undefined) return id.step;
  if (!TAG.test(id.tag))
    throw new Error(`invalid GPU work tag ${JSON.stringify(id.tag)}: use a-z, 0-9 and -`);
  return `${id.step}-${id.tag}`;
}

/** A DNS-1123 label (<= 63 chars) for the Job; long or odd migration ids keep a hash suffix to stay unique. */
export function jobName(id: GpuWorkId): string {
  const base = `llamaduo-${id.migrationId}-c${id.cycle}-${stepName(id)}`.toLowerCase();
  const clean = base.replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-');
  if (clean === base && clean.length <= 63) return clean;
  const hash = createHash('sha256').update(base).digest('hex').slice(0, 8);
  return `${clean.slice(0, 63 - 9).replace(/-+$/, '')}-${hash}`;
}

/** Label values: at most 63 chars of [A-Za-z0-9._-], starting and ending alphanumeric. */
export function labelValue(s: string): string {
  const v = s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 63);
  return v.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
}

/**
 * The migration label: the id itself when it is a valid label value, else a cut of it with a hash suffix, so
 * two long ids that share their first 63 characters never select each other's Jobs.
 */
export function migrationLabel(migrationId: string): string {
  const v = labelValue(migrationId);
  if (v === migrationId) return v;
  const hash = createHash('sha256').update(migrationId).digest('hex').slice(0, 8);
  return `${labelValue(migrationId.slice(0, 63 - 9))}-${hash}`;
}

/** Selects every Job (and pod) of one migration. */
export function migrationSelector(migrationId: string): string {
  return `${LABELS.managedBy}=llamaduo,${LABELS.migration}=${migrationLabel(migrationId)}`;
}

export function jobLabels(id: GpuWorkId): Record<string, string> {
  return {
    [LABELS.app]: 'llamaduo-trainer',
    [LABELS.managedBy]: 'llamaduo',
    [LABELS.migration]: migrationLabel(id.migrationId),
    [LABELS.cycle]: String(id.cycle),
    [LABELS.step]: id.step,
    ...(id.tag !== undefined ? { [LABELS.tag]: labelValue(id.tag) } : {}),
  };
}

/** Artifact-store keys of one step's spec, outputs and result manifest. */
export type StepKeys = ReturnType<typeof stepKeys>;

export function stepKeys(id: GpuWorkId) {
  const dir = ArtifactStore.key(id.migrationId, `cycle-${id.cycle}`, stepName(id));
  return { dir, spec: `${dir}/spec.json`, output: `${dir}/out`, result: `${dir}/out/result.json` };
}
