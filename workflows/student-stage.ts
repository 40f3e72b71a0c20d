// One cycle's GPU work: fine-tune the base model on the coverage train split plus all synthetic data so far
// (LoRA rank from the synthetic volume, as in the paper's Table 5), then generate the student's answers to
// the test prompts.
import { patched } from '@temporalio/workflow';
import { loraForVolume } from '../common/config';
import type { FineTuneResult, GenerateResult } from '../common/types';
import { activityProxies } from './activity-proxies';
import type { MigrationRun } from './migration-run';

export interface StudentOutputs {
  samples: number;
  tuned: FineTuneResult;
  gen: GenerateResult;
}

export async function fineTuneAndGenerate(run: MigrationRun): Promise<StudentOutputs> {
  const { config, migrationId, state } = run;
  const { gpu } = activityProxies(run.tuning);
  const cycle = state.cycle;
  const samples = (state.ingest.train.count ?? 0) + state.syntheticCount;
  run.setStage('fine-tune', `${samples} samples`);
  // Table 5 keys the rank/alpha tier on the synthetic volume (8/16 up to 16k, 16/32 at 32k, 32/64 from 64k);
  // histories from before the fix looked it up with train + synthetic and must replay with that.
  const tierVolume = patched('lora-tier-by-synthetic-volume') ? state.syntheticCount : samples;
  const lora = loraForVolume(config.trainer, tierVolume);
  const tuned = await gpu.fineTune.executeWithOptions(
    { summary: `fine-tune ${config.baseModel} on ${samples} samples (r=${lora.rank})` },
    [
      {
        migrationId,
        cycle,
        baseModel: config.baseModel,
        trainer: config.trainer,
        datasets: [state.ingest.train, ...state.synthetic],
        samples,
        lora,
        gpu: config.gpu,
      },
    ],
  );

  run.setStage('generate');
  const gen = await gpu.generate.executeWithOptions(
    { summary: `generate ${config.inference.responsesPerPrompt} responses per test prompt` },
    [
      {
        migrationId,
        cycle,
        baseModel: config.baseModel,
        adapter: tuned.adapter,
        test: state.ingest.test,
        inference: config.inference,
        gpu: config.gpu,
      },
    ],
  );
  return { samples, tuned, gen };
}
