// After a cycle's evaluation: record the cycle, then decide (paper section 3.6) whether the migration ends
// (target met, max cycles, stop requested, budget) or continues with more synthetic data.
import { decide } from '../common/metrics';
import type { CycleRecord, Decision } from '../common/progress';
import type { Ending } from './ending';
import type { EvaluationOutcome } from './evaluate-stage';
import type { MigrationRun } from './migration-run';
import { observeCycleScore } from './observability';
import type { StudentOutputs } from './student-stage';
import { stopRuleTarget } from './stop-rule';

export interface Verdict {
  /** set when the migration ends after this cycle */
  ending: Ending | null;
  /** builds a decision of this cycle (also used by later stages of the cycle) */
  decision: (outcome: Decision['outcome'], reason: string) => Decision;
}

export function recordAndDecide(
  run: MigrationRun,
  student: StudentOutputs,
  evaluation: EvaluationOutcome,
): Verdict {
  const { config, state } = run;
  const cycle = state.cycle;
  run.setStage('decide');
  const verdict = decide(stopRuleTarget(state.target), evaluation.summary, state.teacher?.evaluation);
  const score = verdict.value ?? 0;
  const teacherScore = verdict.teacherValue ?? null;
  const target = verdict.threshold ?? 100;
  const record: CycleRecord = {
    cycle,
    trainSamples: student.samples,
    syntheticSamples: state.syntheticCount,
    adapter: student.tuned.adapter,
    generations: student.gen.generations,
    judgments: evaluation.judgments,
    evaluation: evaluation.summary,
    score,
    target,
    reached: verdict.action === 'stop',
    fineTuneSeconds: student.tuned.seconds,
    method: student.tuned.method,
  };
  state.cycles.push(record);
  run.publish();
  observeCycleScore(cycle, score);
  const decision = (outcome: Decision['outcome'], reason: string): Decision => ({
    cycle,
    score,
    target,
    teacherScore,
    outcome,
    reason,
  });
  const fmt = (n: number) => n.toFixed(2);
  const end = (status: Ending['status'], d: Decision): Verdict => ({
    ending: { status, decision: d },
    decision,
  });
  if (record.reached)
    return end('succeeded', decision('stop-target-met', `score ${fmt(score)} >= target ${fmt(target)}`));
  if (cycle + 1 >= config.maxCycles)
    return end('target-not-met', decision('stop-max-cycles', `ran ${config.maxCycles} cycles`));
  if (state.stopRequested) return end('stopped', decision('stop-requested', 'stop requested by a user'));
  // The next cycle costs at least another evaluation; do not start what the budget cannot finish.
  if (run.remainingUsd() <= evaluation.usage.usd)
    return end(
      'budget-exhausted',
      decision('stop-budget', `remaining ${fmt(run.remainingUsd())} USD cannot pay for another cycle`),
    );
  const why =
    verdict.reason === 'below-target' ? `score ${fmt(score)} < target ${fmt(target)}` : verdict.reason;
  state.decisions.push(decision('continue', why));
  return { ending: null, decision };
}
