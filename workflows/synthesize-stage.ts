// Between cycles: the teacher synthesizes the data the next cycle's volume schedule asks for, in a child
// workflow (its shards and curation keep this workflow's history small).
import { ApplicationFailure, patched, workflowInfo } from '@temporalio/workflow';
import { syntheticVolumeForCycle } from '../common/config';
import type { Decision } from '../common/progress';
import type { SynthesisResult } from '../common/types';
import type { Ending } from './ending';
import { FAILURE_SPEND_PATCH, spentIn } from './failure-spend';
import type { MigrationRun } from './migration-run';
import { runSynthesisChild, stopAfterSynthesis } from './synthesis-child';

/**
 * Synthesizes for cycle `state.cycle + 1`, keeping `reserveUsd` of the budget for that cycle's evaluation.
 * Returns an ending if the budget ran out with nothing accepted; throws SynthesisFailed if nothing was.
 */
export async function synthesizeForNextCycle(
  run: MigrationRun,
  reserveUsd: number,
  decision: (outcome: Decision['outcome'], reason: string) => Decision,
): Promise<Ending | null> {
  const { config, migrationId, state } = run;
  const next = state.cycle + 1;
  // the 'reach-max' schedule is taken only by runs that record its patch (older histories doubled)
  const reachMax = config.synthesis.schedule === 'reach-max' && patched('reach-max-volume-schedule');
  const wanted =
    syntheticVolumeForCycle(config.synthesis, next, reachMax ? config.maxCycles : undefined) -
    state.syntheticCount;
  if (wanted <= 0) return null;
  run.setStage('synthesize', `${wanted} samples`);
  let synth: SynthesisResult;
  try {
    synth = await runSynthesisChild(
      run.synthesis,
      {
        workflowId: `${workflowInfo().workflowId}/synthesis-${next}`,
        input: {
          migrationId,
          cycle: next,
          train: state.ingest.train,
          test: state.ingest.test,
          prior: state.synthetic,
          wanted,
          synthesis: config.synthesis,
          budgetUsd: Math.max(0, run.remainingUsd() - reserveUsd),
        },
        tuning: run.tuning,
        staticSummary: `synthesize ${wanted} samples for cycle ${next}`,
      },
      state.maxUsd,
      () => state.stopRequested,
      () => state.maxUsd,
    );
  } catch (err) {
    // a failed child passes on what it paid: the failed migration's spend and report count it
    if (patched(FAILURE_SPEND_PATCH)) {
      const paid = spentIn(err);
      if (paid) run.spend('synthesize', paid);
    }
    throw err;
  }
  run.spend('synthesize', synth.usage);
  state.syntheses.push({
    forCycle: next,
    wanted,
    accepted: synth.accepted,
    generated: synth.generated,
    drops: synth.drops,
    dataset: synth.dataset,
    usd: synth.usage.usd,
  });
  if (synth.dataset) {
    state.synthetic.push(synth.dataset);
    state.syntheticCount += synth.accepted;
  }
  if (stopAfterSynthesis(state.stopRequested))
    return {
      status: 'stopped',
      decision: decision('stop-requested', 'stop requested by a user during synthesis'),
    };
  if (synth.accepted === 0 && run.remainingUsd() <= 0)
    return { status: 'budget-exhausted', decision: decision('stop-budget', 'budget spent during synthesis') };
  if (synth.accepted === 0) {
    run.status = 'failed';
    run.publish();
    throw ApplicationFailure.nonRetryable(
      `synthesis for cycle ${next} accepted no samples (drops: ${JSON.stringify(synth.drops)})`,
      'SynthesisFailed',
    );
  }
  return null;
}
