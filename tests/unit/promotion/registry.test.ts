// The promotion registry's compare-and-swap, on a real directory: of two promotions that compared against the
// same version only one commits; a retry of a committed promotion is a no-op; current.json follows the highest
// version; a registry from before versions is version 0.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { createPromotionActivities } from '../../../activities/data/promotion/promotion-activities';
import { LocalArtifactStore } from '../../../activities/store/local-store';
import type { PromoteInput } from '../../../common/types';

const adapter = (id: string) => ({
  uri: `artifact://${id}/cycle-0/adapter`,
  sha256: id.padEnd(64, '0'),
  bytes: 1,
});
const input = (migrationId: string, score: number, expectedVersion?: number): PromoteInput => ({
  channel: 'support',
  migrationId,
  cycle: 0,
  adapter: adapter(migrationId),
  baseModel: 'base',
  score,
  expectedVersion,
  comparison: { previous: null, previousScoreOnThisSplit: null },
});

describe('promotion registry (compare-and-swap)', () => {
  let dir: string;
  let store: LocalArtifactStore;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-promo-'));
    store = new LocalArtifactStore(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lets one of two promotions against the same version win; the other gets PromotionConflict', async () => {
    const reg = createPromotionActivities({ store });
    assert.equal(await reg.readPromoted('support'), null);
    const results = await Promise.allSettled([
      reg.promote(input('a', 60, 0)),
      reg.promote(input('b', 70, 0)),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 1);
    const err = (lost[0] as PromiseRejectedResult).reason;
    assert.ok(err instanceof ApplicationFailure && err.type === 'PromotionConflict', String(err));
    const current = await reg.readPromoted('support');
    assert.equal(current?.version, 1);
    assert.equal(
      current?.migrationId,
      (won[0] as PromiseFulfilledResult<{ migrationId: string }>).value.migrationId,
    );
    assert.deepEqual(await store.readJson('promotions/support/current.json'), current);
  });

  it('a retried promotion that already committed returns it and does not promote again', async () => {
    const reg = createPromotionActivities({ store });
    const before = await reg.readPromoted('support');
    const again = await reg.promote(input(before!.migrationId, before!.score, 0));
    assert.equal(again.version, 1);
    assert.equal((await reg.readPromoted('support'))?.version, 1);
  });

  it('the next promotion against the current version commits version 2 and moves current.json', async () => {
    const reg = createPromotionActivities({ store });
    const p = await reg.promote(input('c', 90, 1));
    assert.equal(p.version, 2);
    assert.equal(
      (await store.readJson<{ migrationId: string }>('promotions/support/current.json')).migrationId,
      'c',
    );
    await assert.rejects(reg.promote(input('d', 95, 1)), /version 2 was promoted by c/);
  });

  it('reads a registry written before versions as version 0, and promotes over it', async () => {
    const reg = createPromotionActivities({ store });
    await store.writeJson('promotions/legacy/current.json', { ...input('old', 50), promotedAt: 'x' });
    assert.equal((await reg.readPromoted('legacy'))?.version, 0);
    const p = await reg.promote({ ...input('new', 60, 0), channel: 'legacy' });
    assert.equal(p.version, 1);
    assert.equal((await reg.readPromoted('legacy'))?.migrationId, 'new');
  });
});
