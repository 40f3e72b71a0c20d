// The promotion registry: which adapter serves a channel now, and every promotion ever made, in the store.
//   promotions/<channel>/current.json            the promoted adapter
//   promotions/<channel>/by-migration/<id>.json  one record per promotion, with what it was compared against
import type { PromoteInput, Promoted } from '../../../common/types';
import { ArtifactStore } from '../../store/artifact-store';

export function createPromotionActivities({
  store,
  now = () => new Date(),
}: {
  store: ArtifactStore;
  now?: () => Date;
}) {
  return {
    async readPromoted(channel: string): Promise<Promoted | null> {
      const key = ArtifactStore.key('promotions', channel, 'current.json');
      return (await store.find(key)) ? store.readJson<Promoted>(key) : null;
    },

    async promote(input: PromoteInput): Promise<Promoted> {
      const recordKey = ArtifactStore.key(
        'promotions',
        input.channel,
        'by-migration',
        `${input.migrationId}.json`,
      );
      const currentKey = ArtifactStore.key('promotions', input.channel, 'current.json');
      // A retry after the record was written must not promote a second time with a new timestamp.
      if (await store.find(recordKey)) {
        const done = await store.readJson<Promoted & { comparison: unknown }>(recordKey);
        await store.writeJson(currentKey, stripComparison(done));
        return stripComparison(done);
      }
      const promoted: Promoted = {
        channel: input.channel,
        migrationId: input.migrationId,
        cycle: input.cycle,
        adapter: input.adapter,
        baseModel: input.baseModel,
        score: input.score,
        promotedAt: now().toISOString(),
      };
      await store.writeJson(recordKey, { ...promoted, comparison: input.comparison });
      await store.writeJson(currentKey, promoted);
      return promoted;
    },
  };
}

function stripComparison(p: Promoted & { comparison?: unknown }): Promoted {
  const { comparison: _c, ...rest } = p;
  return rest;
}
