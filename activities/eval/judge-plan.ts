// The deterministic list of judge calls of one evaluation, and its split into shards. planEvaluation and every
// judgeShard attempt compute the same list from the same inputs, so shards never overlap or miss a call.
import type { ServiceModel } from '../../common/config';
import { EvalInputError, type EvalInputs } from './eval-inputs';

/** Where the student sits in a pairwise call: shown first (as A) or second (as B). */
export type PairwiseOrder = 'student-first' | 'student-second';

interface CallBase {
  /** position in the evaluation's call list */
  index: number;
  judge: string;
  judgeIndex: number;
  repeat: number;
  promptId: string;
  sample: number;
}
export type JudgeCall =
  | (CallBase & { kind: 'single' })
  | (CallBase & { kind: 'pairwise'; order: PairwiseOrder; referenceSample: number });

/** Stable judge names for tables and records: "provider/model", made unique by the endpoint when repeated. */
export function judgeIds(judges: readonly ServiceModel[]): string[] {
  const base = judges.map((j) => `${j.provider}/${j.model}`);
  return base.map((b, i) => {
    if (base.filter((x) => x === b).length === 1) return b;
    const j = judges[i]!;
    return j.baseURL ? `${b}@${new URL(j.baseURL).host}` : `${b}#${i + 1}`;
  });
}

export interface CallPlanOptions {
  judges: readonly ServiceModel[];
  repeats: number;
  /** compare against the teacher's answers too (needs inputs.reference) */
  pairwise: boolean;
}

/**
 * Sample-major order (every judge, repeat and order of one sample before the next sample), so each shard holds
 * complete samples for all judges and a partial evaluation is still balanced across judges.
 */
export function planCalls(inputs: EvalInputs, opts: CallPlanOptions): JudgeCall[] {
  const ids = judgeIds(opts.judges);
  const calls: JudgeCall[] = [];
  for (const g of inputs.generations) {
    let referenceSample: number | undefined;
    if (opts.pairwise) {
      if (!inputs.reference) throw new EvalInputError('pairwise comparison needs the teacher generations');
      // A prompt the teacher could not answer (a refusal) has no pairwise comparison; its single grades remain.
      const refs = inputs.reference.get(g.promptId);
      if (refs?.length) referenceSample = refs[g.sample % refs.length]!.sample;
    }
    ids.forEach((judge, judgeIndex) => {
      for (let repeat = 0; repeat < opts.repeats; repeat++) {
        const base = { judge, judgeIndex, repeat, promptId: g.promptId, sample: g.sample };
        calls.push({ ...base, index: calls.length, kind: 'single' });
        if (referenceSample !== undefined) {
          calls.push({
            ...base,
            index: calls.length,
            kind: 'pairwise',
            order: 'student-first',
            referenceSample,
          });
          calls.push({
            ...base,
            index: calls.length,
            kind: 'pairwise',
            order: 'student-second',
            referenceSample,
          });
        }
      }
    });
  }
  return calls;
}

export function shardCount(calls: number, callsPerShard: number): number {
  return Math.max(1, Math.ceil(calls / callsPerShard));
}

export function shardSlice<T>(
  calls: readonly T[],
  shard: number,
  shards: number,
  callsPerShard: number,
): T[] {
  const expected = shardCount(calls.length, callsPerShard);
  if (shards !== expected || shard < 0 || shard >= shards || !Number.isInteger(shard)) {
    throw new EvalInputError(
      `shard ${shard} of ${shards} does not fit the plan (${calls.length} calls make ${expected} shards)`,
    );
  }
  return calls.slice(shard * callsPerShard, (shard + 1) * callsPerShard);
}
