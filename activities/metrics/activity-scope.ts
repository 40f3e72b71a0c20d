// Which migration, cycle and stage the running activity works for, from its input, for metric labels and
// log attributes. Set by the worker's activity interceptor (workers/observability/activity-interceptor.ts).
import { AsyncLocalStorage } from 'node:async_hooks';

export interface ActivityScope {
  stage: string;
  migrationId?: string;
  cycle?: number;
}

export const activityScope = new AsyncLocalStorage<ActivityScope>();

/** The scope of an activity call from its type and first argument (every llamaduo input carries migrationId). */
export function scopeOf(activityType: string, args: readonly unknown[]): ActivityScope {
  const first = args[0] as { migrationId?: unknown; cycle?: unknown } | undefined;
  return {
    stage: activityType,
    migrationId: typeof first?.migrationId === 'string' ? first.migrationId : undefined,
    cycle: typeof first?.cycle === 'number' ? first.cycle : undefined,
  };
}
