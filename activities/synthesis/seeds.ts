// Seed sampling: which train records the teacher sees, with a seeded RNG and spread over categories in
// the train split's proportions (largest remainder), so every shard is reproducible on retry.
import type { CoverageRecord } from '../data/curation/records';
import type { Rng } from './rng';

/** Seeds per category for `count` requests, proportional to the category sizes. */
export function allocateByCategory(counts: Record<string, number>, count: number): Record<string, number> {
  const cats = Object.keys(counts).sort();
  const total = cats.reduce((s, c) => s + counts[c]!, 0);
  if (total === 0 || count <= 0) return {};
  const exact = cats.map((c) => (count * counts[c]!) / total);
  const out: Record<string, number> = {};
  let given = 0;
  cats.forEach((c, i) => {
    out[c] = Math.floor(exact[i]!);
    given += out[c];
  });
  const byRemainder = cats
    .map((c, i) => ({ c, r: exact[i]! - Math.floor(exact[i]!) }))
    .sort((a, b) => b.r - a.r || (a.c < b.c ? -1 : 1));
  for (let k = 0; given < count; k++, given++) out[byRemainder[k % byRemainder.length]!.c]!++;
  return out;
}

/**
 * `count` seeds from `train`, proportional per category, in shuffled order. Within a category records are
 * drawn without replacement until all were used, then again, so seeds spread over the whole split.
 */
export function sampleSeeds(train: readonly CoverageRecord[], count: number, rng: Rng): CoverageRecord[] {
  const byCat = new Map<string, CoverageRecord[]>();
  for (const r of train) {
    const list = byCat.get(r.category);
    if (list) list.push(r);
    else byCat.set(r.category, [r]);
  }
  const alloc = allocateByCategory(Object.fromEntries([...byCat].map(([c, rs]) => [c, rs.length])), count);
  const out: CoverageRecord[] = [];
  for (const cat of Object.keys(alloc).sort()) {
    const pool = byCat.get(cat)!;
    let bag: CoverageRecord[] = [];
    for (let k = 0; k < alloc[cat]!; k++) {
      if (bag.length === 0) bag = shuffle([...pool], rng);
      out.push(bag.pop()!);
    }
  }
  return shuffle(out, rng);
}

export function shuffle<T>(xs: T[], rng: Rng): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
