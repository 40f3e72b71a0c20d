// What clients may ask a running migration and change in it: progress and config queries, the stop signal,
// and validated target and budget updates.
import { log, setHandler } from '@temporalio/workflow';
import { TargetConfig } from '../common/config';
import {
  configQuery,
  progressQuery,
  setBudgetUpdate,
  setTargetUpdate,
  stopAfterCycleSignal,
} from './messages';
import { synthesisSpentSignal } from './failure-spend';
import type { MigrationRun } from './migration-run';
import { forwardBudget, forwardStop } from './synthesis-child';

export function installHandlers(run: MigrationRun): void {
  const { state } = run;
  setHandler(progressQuery, () => run.progress());
  setHandler(configQuery, () => run.config);
  // a synthesis child cancelled with the migration says what it paid before it closes
  setHandler(synthesisSpentSignal, (usage) => run.spend('synthesize', usage));
  setHandler(stopAfterCycleSignal, (reason) => {
    state.stopRequested = true;
    forwardStop(run.synthesis);
    log.info('stop requested', { reason });
  });
  setHandler(
    setTargetUpdate,
    (target) => {
      state.target = target;
      return target;
    },
    {
      validator: (target) => {
        const r = TargetConfig.safeParse(target);
        if (!r.success) throw new Error(`invalid target: ${r.error.issues.map((i) => i.message).join('; ')}`);
        if (target.relativeToTeacher !== undefined && !state.teacher && state.cycle > 0)
          throw new Error('no teacher baseline to be relative to');
      },
    },
  );
  setHandler(
    setBudgetUpdate,
    (maxUsd) => {
      state.maxUsd = maxUsd;
      forwardBudget(run.synthesis, maxUsd);
      return maxUsd;
    },
    {
      validator: (maxUsd) => {
        if (!(maxUsd >= 0) || !Number.isFinite(maxUsd))
          throw new Error('budget must be a non-negative number');
        if (maxUsd < state.spend.total.usd)
          throw new Error(
            `budget ${maxUsd} is below what is already spent (${state.spend.total.usd.toFixed(2)} USD)`,
          );
      },
    },
  );
}
