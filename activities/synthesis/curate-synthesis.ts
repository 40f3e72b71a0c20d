// planSynthesis and curateSynthesis: the data-queue side of a synthesis round. Planning sizes a round
// from the samples still missing; curation runs the curation pipeline on the round's shard outputs
// against the train split, earlier cycles' data and what earlier rounds accepted, and decontaminates
// against the test split.
import type { ArtifactStore } from '../store/artifact-store';
import type { CurateInput, CurateResult, SynthesisPlan, SynthesisPlanInput } from '../../common/types';
import { curate } from '../data/curation/pipeline';
import { buildQualityProfile } from '../data/curation/quality';
import {
  CoverageRecordSchema,
  RawSampleSchema,
  readRecords,
  SyntheticSampleSchema,
} from '../data/curation/read-records';
import { fieldsOfSample, toSyntheticSample, type SyntheticSample } from '../data/curation/records';
import { heartbeat } from './activity-context';
import { acceptedKey, curationMetaKey } from './keys';

/** More requests than strictly needed, since curation drops part of what the teacher writes. */
const OVERSHOOT = 1.3;

export function planSynthesis(input: SynthesisPlanInput): SynthesisPlan {
  const { samplesPerRequest, requestsPerShard } = input.synthesis;
  if (input.missing <= 0) return { shards: 0, requests: 0 };
  const requests = Math.ceil((input.missing * OVERSHOOT) / samplesPerRequest);
  return { shards: Math.ceil(requests / requestsPerShard), requests };
}

export function createSynthesisDataActivities(deps: { store: ArtifactStore; threads?: number }) {
  const { store } = deps;

  return {
    async planSynthesis(input: SynthesisPlanInput): Promise<SynthesisPlan> {
      return planSynthesis(input);
    },

    async curateSynthesis(input: CurateInput): Promise<CurateResult> {
      const { migrationId, cycle, round } = input;
      const key = acceptedKey(migrationId, cycle, round);
      const metaKey = curationMetaKey(migrationId, cycle, round);
      const done = await store.find(key);
      if (done) {
        const meta = await store.readJson<{ drops: Record<string, number> }>(metaKey);
        return { accepted: done, acceptedCount: done.count ?? 0, drops: meta.drops };
      }

      heartbeat({ step: 'read' });
      const train = await readRecords(store, input.train.uri, CoverageRecordSchema);
      const test = await readRecords(store, input.test.uri, CoverageRecordSchema);
      const prior: SyntheticSample[] = [];
      for (const ref of input.prior)
        prior.push(...(await readRecords(store, ref.uri, SyntheticSampleSchema)));
      const acceptedSoFar = input.accepted
        ? await readRecords(store, input.accepted.uri, SyntheticSampleSchema)
        : [];
      const raw = [];
      for (const ref of input.shardOutputs) raw.push(...(await readRecords(store, ref.uri, RawSampleSchema)));

      const out = await curate({
        samples: raw,
        references: [...train, ...prior.map(fieldsOfSample), ...acceptedSoFar.map(fieldsOfSample)],
        test,
        quality: buildQualityProfile(train),
        dedup: input.synthesis.dedup,
        threads: deps.threads,
        onStep: (step) => heartbeat({ step }),
      });

      const room = Math.max(0, input.wanted - acceptedSoFar.length);
      const drops: Record<string, number> = { ...out.drops };
      if (out.kept.length > room) drops['over-volume'] = out.kept.length - room;
      const accepted = [...acceptedSoFar, ...out.kept.slice(0, room).map(toSyntheticSample)];
      await store.writeJson(metaKey, {
        generated: raw.length,
        kept: out.kept.length,
        drops,
        timings: out.timings,
      });
      const ref = await store.writeJsonl(key, accepted);
      return { accepted: ref, acceptedCount: accepted.length, drops };
    },
  };
}
