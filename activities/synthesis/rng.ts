// A small seeded PRNG (mulberry32): seed sampling must be reproducible across retries and workers, and
// Math.random cannot be seeded.

import { seededRandom } from '../../common/random';

export type Rng = () => number;

/** mulberry32, shared with the train/test split (common/random.ts). */
export const mulberry32: (seed: number) => Rng = seededRandom;

/** A 32-bit seed from any strings and numbers (FNV-1a), e.g. (migrationId, cycle, round, shard). */
export function seedOf(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('\u0000')) h = Math.imul(h ^ ch.codePointAt(0)!, 0x01000193);
  return h >>> 0;
}

export function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)]!;
}
