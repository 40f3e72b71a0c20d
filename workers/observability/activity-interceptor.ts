// Puts the migration, cycle and stage of every activity call in scope (metric labels of the LLM spend) and on
// every activity log line (JSON logs filterable by migration and cycle).
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { activityScope, scopeOf, type ActivityScope } from '../../activities/metrics/activity-scope';

export const scopeInterceptor: ActivityInterceptorsFactory = (ctx) => {
  let scope: ActivityScope = { stage: ctx.info.activityType };
  return {
    inbound: {
      execute(input, next) {
        scope = scopeOf(ctx.info.activityType, input.args);
        return activityScope.run(scope, () => next(input));
      },
    },
    outbound: {
      getLogAttributes(input, next) {
        const extra: Record<string, unknown> = {};
        if (scope.migrationId !== undefined) extra.migrationId = scope.migrationId;
        if (scope.cycle !== undefined) extra.cycle = scope.cycle;
        return next({ ...input, ...extra });
      },
    },
  };
};
