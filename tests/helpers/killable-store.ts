// An artifact store as a worker process sees it, for kill tests: once killed, nothing it writes reaches the
// store any more (a SIGKILLed worker writes nothing after the kill), while reads still work.
import type { ArtifactStore } from '../../activities/store/artifact-store';

const WRITES = new Set(['write', 'writeText', 'writeJson', 'writeJsonl', 'remove', 'createExclusive']);

export function killableStore(store: ArtifactStore): { store: ArtifactStore; kill: () => void } {
  let killed = false;
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (killed && WRITES.has(String(prop))) return Promise.reject(new Error('worker killed'));
        return (v as (...a: unknown[]) => unknown).apply(proxy, args);
      };
    },
  });
  return { store: proxy, kill: () => (killed = true) };
}
