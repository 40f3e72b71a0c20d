// The trainer writes some outputs as directories (a PEFT adapter is config + weights + tokenizer files).
// ArtifactStore references files; this gives a directory the same kind of reference: sha256 over the sorted
// (relative path, file sha256) list, bytes summed, so equal trees get equal refs.
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { ArtifactRef } from '../../common/types';
import type { ArtifactStore } from '../store/artifact-store';

export async function pathRef(store: ArtifactStore, key: string): Promise<ArtifactRef | null> {
  const s = await stat(store.path(key)).catch(() => null);
  if (!s) return null;
  if (s.isFile()) return store.find(key);
  const files = await store.list(key);
  if (!files.length) return null;
  const hash = createHash('sha256');
  let bytes = 0;
  for (const file of files) {
    const ref = await store.refOf(file, false);
    hash.update(`${file.slice(key.length + 1)}\0${ref.sha256}\n`);
    bytes += ref.bytes;
  }
  return { uri: store.uri(key), sha256: hash.digest('hex'), bytes };
}
