// The teacher baseline with a budget check: the activity prices its worst case before asking anything and
// refuses (BudgetExceeded) when the budget left cannot pay for it; each call then reserves its own worst
// case. The migration ends as budget-exhausted instead of failing.
import { ActivityFailure, ApplicationFailure, patched } from '@temporalio/workflow';
import type { TeacherBaselineInput, TeacherBaselineResult, Usage } from '../common/types';
import type { activityProxies } from './activity-proxies';
import { FAILURE_SPEND_PATCH, spentIn } from './failure-spend';

type Llm = ReturnType<typeof activityProxies>['llm'];

/** The baseline's result, or why the budget refused it. */
export async function teacherBaselineWithinBudget(
  llm: Llm,
  summary: string,
  input: TeacherBaselineInput,
  budgetUsd: number,
  /** what the baseline paid before it was stopped or failed (it reports it with the failure) */
  onSpend: (usage: Usage) => void = () => undefined,
): Promise<TeacherBaselineResult | { refused: string }> {
  // Histories from before the check ran the baseline unpriced.
  if (!patched('teacher-baseline-budget'))
    return llm.teacherBaseline.executeWithOptions({ summary }, [input]);
  try {
    return await llm.teacherBaseline.executeWithOptions({ summary }, [{ ...input, budgetUsd }]);
  } catch (err) {
    if (patched(FAILURE_SPEND_PATCH)) {
      const paid = spentIn(err);
      if (paid) onSpend(paid);
    }
    const cause = err instanceof ActivityFailure ? err.cause : undefined;
    // refused up front (BudgetExceeded) or stopped by its spend limit part-way (BudgetExhausted)
    if (
      cause instanceof ApplicationFailure &&
      (cause.type === 'BudgetExceeded' || cause.type === 'BudgetExhausted')
    )
      return { refused: cause.message };
    throw err;
  }
}
