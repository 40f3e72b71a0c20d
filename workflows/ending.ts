// How a migration ends when it ends normally: the status it closes with and the decision recorded for it.
import type { Decision } from '../common/progress';
import type { MigrationStatus } from '../common/types';

export interface Ending {
  status: Exclude<MigrationStatus, 'running' | 'failed' | 'cancelled'>;
  decision?: Decision;
}

/** The decision of an ending that had no evaluation to decide on (the budget could not pay for it). */
export function noEvaluation(cycle: number, reason: string): Decision {
  return { cycle, score: 0, target: 0, teacherScore: null, outcome: 'stop-budget', reason };
}
