import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ArtifactStore } from '../../../activities/store/artifact-store';
import { LocalArtifactStore } from '../../../activities/store/local-store';

describe('artifact store', () => {
  let dir: string;
  let store: LocalArtifactStore;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-store-'));
    store = new LocalArtifactStore(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes JSONL atomically and returns a content-addressed reference', async () => {
    const key = ArtifactStore.key('m1', 'cycle-0', 'x.jsonl');
    const ref = await store.writeJsonl(key, [{ a: 1 }, { a: 2 }]);
    const text = '{"a":1}\n{"a":2}\n';
    assert.deepEqual(ref, {
      uri: 'artifact://m1/cycle-0/x.jsonl',
      sha256: createHash('sha256').update(text).digest('hex'),
      bytes: text.length,
      count: 2,
    });
    assert.deepEqual(await store.find(key), ref);
    assert.deepEqual(await store.readAllJsonl(ref.uri), [{ a: 1 }, { a: 2 }]);
  });

  it('finds nothing for an unfinished key and leaves no temp file after a failed write', async () => {
    const key = ArtifactStore.key('m1', 'broken.jsonl');
    async function* failing() {
      yield 'partial\n';
      throw new Error('disk on fire');
    }
    await assert.rejects(store.write(key, failing()), /disk on fire/);
    assert.equal(await store.find(key), null);
    assert.deepEqual(await readdir(path.join(dir, 'm1')), ['cycle-0']);
  });

  it('refuses keys that could escape the root', () => {
    assert.throws(() => ArtifactStore.key('m1', '..', 'etc'), /invalid artifact key part/);
    assert.throws(() => ArtifactStore.key('a/b'), /invalid artifact key part/);
    assert.throws(() => store.path('artifact://m1/../../etc/passwd'), /invalid artifact key part/);
    assert.throws(() => store.path('file:///etc/passwd'), /not an artifact URI|invalid/);
  });
});
