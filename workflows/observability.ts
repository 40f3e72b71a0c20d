// Workflow-side observability that issues no commands, so it needs no patch and replays unchanged:
// - the migration id and cycle on every workflow log line (getLogAttributes);
// - stage durations and cycle scores through the SDK's workflow metric meter, which the worker's runtime
//   exports to Prometheus and which the SDK mutes while a history is replayed.
// The worker loads this module as a workflow interceptor module (workers/observability/worker-options.ts).
import { metricMeter, workflowInfo, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

interface Scope {
  migrationId: string;
  cycle: number;
  stage?: string;
  stageSince?: number;
}

// Workflow globals are per workflow execution (the SDK isolates globalThis between workflows).
const SCOPE = Symbol.for('llamaduo.observability.scope');
type WithScope = typeof globalThis & { [SCOPE]?: Scope };

function scope(): Scope | undefined {
  return (globalThis as WithScope)[SCOPE];
}

/** Called by the migration run once it knows its id; cycle updates follow through setCycle. */
export function observeMigration(migrationId: string, cycle: number): void {
  (globalThis as WithScope)[SCOPE] = { migrationId, cycle };
}

export function observeCycle(cycle: number): void {
  const s = scope();
  if (s) s.cycle = cycle;
}

/** Records how long the previous stage took (workflow time) and starts timing `stage`. */
export function observeStage(stage: string): void {
  const s = scope();
  if (!s) return;
  const now = Date.now();
  if (s.stage !== undefined && s.stageSince !== undefined && s.stage !== stage)
    metricMeter
      .createHistogram('llamaduo_stage_duration_seconds', 'float', 's', 'Wall time of a migration stage')
      .record((now - s.stageSince) / 1000, { migration: s.migrationId, stage: s.stage });
  if (s.stage !== stage) {
    s.stage = stage;
    s.stageSince = now;
  }
}

/** The score a cycle's student reached (0..100 on the migration's target metric). */
export function observeCycleScore(cycle: number, score: number): void {
  const s = scope();
  if (!s) return;
  metricMeter
    .createGauge('llamaduo_cycle_score', 'float', '', "Score of a cycle's student on the target metric")
    .set(score, { migration: s.migrationId, cycle: String(cycle) });
}

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      getLogAttributes(input, next) {
        const s = scope();
        return next(
          s
            ? { ...input, migrationId: s.migrationId, cycle: s.cycle }
            : { ...input, workflowId: workflowInfo().workflowId },
        );
      },
    },
  ],
});
