// Deterministic artifact keys of an evaluation. The content hash of what is judged is part of the key, so a
// reused output always belongs to exactly these inputs.
import type { ArtifactRef, EvaluatePlanInput } from '../../common/types';
import { ArtifactStore } from '../store/artifact-store';

const short = (ref: ArtifactRef) => ref.sha256.slice(0, 12);

function evalDir(input: EvaluatePlanInput): string[] {
  const subject = input.subject;
  if (!/^[a-z0-9-]+$/.test(subject)) throw new Error(`invalid evaluation subject ${JSON.stringify(subject)}`);
  return [input.migrationId, `cycle-${input.cycle}`, 'eval', `${subject}-${short(input.generations)}`];
}

export function shardKey(input: EvaluatePlanInput, shard: number, shards: number): string {
  const name = `shard-${String(shard).padStart(4, '0')}-of-${String(shards).padStart(4, '0')}`;
  return ArtifactStore.key(...evalDir(input), 'judgments', `${name}.jsonl`);
}

export function shardCheckpointKey(input: EvaluatePlanInput, shard: number, shards: number): string {
  return shardKey(input, shard, shards).replace(/\.jsonl$/, '.partial.jsonl');
}

export function evalOutputKey(
  input: EvaluatePlanInput,
  file: 'judgments.jsonl' | 'per-sample.jsonl' | 'reference.jsonl' | 'summary.json',
): string {
  return ArtifactStore.key(...evalDir(input), file);
}

export function teacherBaselineKeys(migrationId: string, test: ArtifactRef, label?: string) {
  // the teacher's answers, or another service LLM's (evaluation.baselines) under its own label
  const dir =
    label === undefined
      ? [migrationId, 'teacher', `baseline-${short(test)}`]
      : [migrationId, 'baselines', label, `baseline-${short(test)}`];
  return {
    generations: ArtifactStore.key(...dir, 'generations.jsonl'),
    checkpoint: ArtifactStore.key(...dir, 'generations.partial.jsonl'),
    result: ArtifactStore.key(...dir, 'result.json'),
  };
}
