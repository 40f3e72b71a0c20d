// Deterministic names and labels for GPU work: the same (migration, cycle, step) always maps to the same
// Job name and process key, whatever the activity attempt, so a retry adopts instead of duplicating.
import { createHash } from 'node:crypto';
import { ArtifactStore } from '../store/artifact-store';
import type { GpuStep } from './contract';

export const LABELS = {
  app: 'app.kubernetes.io/name',
  managedBy: 'app.kubernetes.io/managed-by',
  migration: 'llamaduo.dev/migration',
  cycle: 'llamaduo.dev/cycle',
  step: 'llamaduo.dev/step',
  kueueQueue: 'kueue.x-k8s.io/queue-name',
} as const;

export interface GpuWorkId {
  migrationId: string;
  cycle: number;
  step: GpuStep;
  /** names the work instead of the cycle ('base': the student without adapter; 'promoted': a re-judged adapter) */
  tag?: string;
}

/** The cycle's folder, or the tag's when the work has one, so tagged work never reuses a cycle's output. */
function workDir(id: GpuWorkId): string {
  return id.tag ? id.tag : `cycle-${id.cycle}`;
}

/** A DNS-1123 label (<= 63 chars) for the Job; long or odd migration ids keep a hash suffix to stay unique. */
export function jobName(id: GpuWorkId): string {
  const where = id.tag ? id.tag : `c${id.cycle}`;
  const base = `llamaduo-${id.migrationId}-${where}-${id.step}`.toLowerCase();
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

export function jobLabels(id: GpuWorkId): Record<string, string> {
  return {
    [LABELS.app]: 'llamaduo-trainer',
    [LABELS.managedBy]: 'llamaduo',
    [LABELS.migration]: labelValue(id.migrationId),
    [LABELS.cycle]: String(id.cycle),
    [LABELS.step]: id.step,
  };
}

/** Artifact-store keys of one step's spec, outputs and result manifest. */
export type StepKeys = ReturnType<typeof stepKeys>;

export function stepKeys(id: GpuWorkId) {
  const dir = ArtifactStore.key(id.migrationId, workDir(id), id.step);
  return { dir, spec: `${dir}/spec.json`, output: `${dir}/out`, result: `${dir}/out/result.json` };
}
