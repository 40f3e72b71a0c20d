// The promotion registry: which adapter serves a channel now, and every promotion ever made, in the store.
//   promotions/<channel>/versions/<n>.json         promotion n of the channel (1, 2, ...): the source of truth
//   promotions/<channel>/current.json              a copy of the highest version, for whatever serves it
//   promotions/<channel>/by-migration/<id>.json    one record per promotion, with what it was compared against
// A promotion is a compare-and-swap: it names the version it compared against and commits by creating the
// next version's file exclusively, so of two runs that compared against the same version only one wins; the
// other gets PromotionConflict and compares again against the new winner.
import { ApplicationFailure } from '@temporalio/common';
import type { PromoteInput, Promoted } from '../../../common/types';
import { ArtifactStore } from '../../store/artifact-store';

export const PROMOTION_CONFLICT = 'PromotionConflict';

export function createPromotionActivities({
  store,
  now = () => new Date(),
}: {
  store: ArtifactStore;
  now?: () => Date;
}) {
  const keys = (channel: string) => ({
    current: ArtifactStore.key('promotions', channel, 'current.json'),
    versions: ArtifactStore.key('promotions', channel, 'versions'),
    version: (n: number) => ArtifactStore.key('promotions', channel, 'versions', `${n}.json`),
    record: (migrationId: string) =>
      ArtifactStore.key('promotions', channel, 'by-migration', `${migrationId}.json`),
  });

  async function latestVersion(channel: string): Promise<number> {
    const names = (await store.list(keys(channel).versions)).map((k) => k.slice(k.lastIndexOf('/') + 1));
    return names.reduce((max, f) => Math.max(max, /^\d+\.json$/.test(f) ? Number.parseInt(f, 10) : 0), 0);
  }

  async function readPromoted(channel: string): Promise<Promoted | null> {
    const k = keys(channel);
    const n = await latestVersion(channel);
    if (n > 0) return { ...(await store.readJson<Promoted>(k.version(n))), version: n };
    // a registry written before versions existed: its current.json is version 0
    return (await store.find(k.current))
      ? { ...(await store.readJson<Promoted>(k.current)), version: 0 }
      : null;
  }

  /** Creates `key` with `value` only if it does not exist yet; false if it does. */
  async function createExclusive(key: string, value: unknown): Promise<boolean> {
    return store.createExclusive(key, JSON.stringify(value, null, 2) + '\n');
  }

  /** current.json follows the highest version, whichever writer finishes last. */
  async function syncCurrent(channel: string): Promise<void> {
    for (;;) {
      const latest = await readPromoted(channel);
      if (!latest) return;
      await store.writeJson(keys(channel).current, latest);
      if ((await latestVersion(channel)) === latest.version) return;
    }
  }

  return {
    readPromoted,

    async promote(input: PromoteInput): Promise<Promoted> {
      const k = keys(input.channel);
      // A retry after this promotion committed must not promote again, nor undo a later promotion.
      if (await store.find(k.record(input.migrationId))) {
        const done = await store.readJson<Promoted & { comparison: unknown }>(k.record(input.migrationId));
        await syncCurrent(input.channel);
        return stripComparison(done);
      }
      const base: Omit<Promoted, 'version'> = {
        channel: input.channel,
        migrationId: input.migrationId,
        cycle: input.cycle,
        adapter: input.adapter,
        baseModel: input.baseModel,
        score: input.score,
        promotedAt: now().toISOString(),
      };
      let version: number;
      if (input.expectedVersion === undefined) {
        // unconditional (workflows started before compare-and-swap): the next free version
        for (version = (await latestVersion(input.channel)) + 1; ; version++)
          if (await createExclusive(k.version(version), { ...base, version })) break;
      } else {
        version = input.expectedVersion + 1;
        if (!(await createExclusive(k.version(version), { ...base, version }))) {
          const winner = await store.readJson<Promoted>(k.version(version));
          // this activity's own earlier attempt committed, then died before writing the record
          if (winner.migrationId !== input.migrationId || winner.cycle !== input.cycle)
            throw ApplicationFailure.nonRetryable(
              `channel ${input.channel}: version ${version} was promoted by ${winner.migrationId} meanwhile`,
              PROMOTION_CONFLICT,
            );
          base.promotedAt = winner.promotedAt;
        }
      }
      const promoted: Promoted = { ...base, version };
      await store.writeJson(k.record(input.migrationId), { ...promoted, comparison: input.comparison });
      await syncCurrent(input.channel);
      return promoted;
    },
  };
}

function stripComparison(p: Promoted & { comparison?: unknown }): Promoted {
  const { comparison: _c, ...rest } = p;
  return rest;
}
