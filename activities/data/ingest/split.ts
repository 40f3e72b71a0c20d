// Seeded train/test split, stratified by category so every task family is represented in both — or, for a
// task whose answers are labels from a fixed set (scored by exact match), by the answer, so every label is.
import { seededRandom, shuffled } from '../../../common/random';
import { normalizeAnswer } from '../../eval/reference-metrics';
import { DatasetError, DatasetErrors, type CoverageRecord } from './coverage-record';

export interface SplitOptions {
  testRatio: number;
  seed: number;
  stratifyBy: 'category' | 'response' | 'none';
  /** keep at most this many records, chosen with the seed, before splitting (with `field`: train records) */
  limit?: number;
  /** a predefined split: each record's `split` (read from this field) decides its side */
  field?: string;
  testValue?: string;
}

export interface Split {
  train: CoverageRecord[];
  test: CoverageRecord[];
}

/**
 * The dataset's own split (split.field): test records are every record marked `testValue`, in id order;
 * train records the others, shuffled with the seed and cut to `limit`. The marker is not written out.
 */
function predefinedSplit(file: string, records: CoverageRecord[], opts: SplitOptions): Split {
  const testValue = opts.testValue ?? 'test';
  const byId = records.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const strip = ({ split: _split, ...r }: CoverageRecord): CoverageRecord => r;
  const test = byId.filter((r) => r.split === testValue).map(strip);
  let train = shuffled(
    byId.filter((r) => r.split !== testValue),
    seededRandom(opts.seed),
  ).map(strip);
  if (opts.limit !== undefined) train = train.slice(0, opts.limit);
  if (train.length === 0 || test.length === 0) {
    const found = [...new Set(records.map((r) => r.split))].sort().join(', ');
    throw new DatasetErrors([
      new DatasetError(
        file,
        null,
        'split.field',
        `field '${opts.field}' gives ${test.length} test and ${train.length} train record(s); test records have the value "${testValue}" (split.testValue); values found: ${found}`,
      ),
    ]);
  }
  return { train, test };
}

export function splitCoverage(file: string, records: CoverageRecord[], opts: SplitOptions): Split {
  if (opts.field !== undefined) return predefinedSplit(file, records, opts);
  const rand = seededRandom(opts.seed);
  // Sort by id first so the split depends on content, not on the order of lines in the file.
  let pool = shuffled(
    records.slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    rand,
  );
  if (opts.limit !== undefined) pool = pool.slice(0, opts.limit);

  const keyOf = (r: CoverageRecord) =>
    opts.stratifyBy === 'category'
      ? `c:${r.category}`
      : opts.stratifyBy === 'response'
        ? `r:${normalizeAnswer(r.response)}`
        : '*';
  const byKey = new Map<string, CoverageRecord[]>();
  for (const r of pool) {
    const key = keyOf(r);
    let g = byKey.get(key);
    if (!g) byKey.set(key, (g = []));
    g.push(r);
  }
  // Answers seen once (free text under 'response') cannot be on both sides: they share one stratum.
  const groups = new Map<string, CoverageRecord[]>();
  for (const [key, g] of byKey) {
    if (opts.stratifyBy === 'response' && g.length < 2) {
      groups.set('~single', [...(groups.get('~single') ?? []), ...g]);
    } else groups.set(key, g);
  }
  const train: CoverageRecord[] = [];
  const test: CoverageRecord[] = [];
  for (const [, group] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    let nTest = Math.round(group.length * opts.testRatio);
    // Every stratum with at least two records contributes to both sides.
    if (group.length >= 2) nTest = Math.min(Math.max(nTest, 1), group.length - 1);
    test.push(...group.slice(0, nTest));
    train.push(...group.slice(nTest));
  }
  if (train.length === 0 || test.length === 0) {
    throw new DatasetErrors([
      new DatasetError(
        file,
        null,
        'split.testRatio',
        `${pool.length} record(s) cannot be split into non-empty train and test sets with testRatio ${opts.testRatio}`,
      ),
    ]);
  }
  return { train, test };
}
