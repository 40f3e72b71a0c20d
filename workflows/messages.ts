// Queries, signals and updates of the migration workflow: what clients and the UI may ask and change.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { MigrationConfig, TargetConfig } from '../common/config';
import type { Progress } from '../common/progress';

export const progressQuery = defineQuery<Progress>('progress');
/** The migration's config as started (with defaults applied): reports and re-runs read it. */
export const configQuery = defineQuery<MigrationConfig>('config');
/** Finish the running cycle (its evaluation is recorded), then stop without synthesizing more data. */
export const stopAfterCycleSignal = defineSignal<[reason?: string]>('stopAfterCycle');
/** Change the stop rule; validated, returns the new target. */
export const setTargetUpdate = defineUpdate<TargetConfig, [TargetConfig]>('setTarget');
/** Change the budget; refused below what is already spent. Returns the new budget. */
export const setBudgetUpdate = defineUpdate<number, [maxUsd: number]>('setBudget');
