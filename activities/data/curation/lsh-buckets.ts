// LSH buckets for a whole batch at once: per band, records sorted by band key, so the records sharing a
// bucket are one contiguous run, in record order. Sorting typed arrays keeps the index in a few flat
// arrays (about 16 bytes per record and band) instead of millions of Map entries.

const MAX_RECORDS = 1 << 21;

export class LshBuckets {
  readonly n: number;
  readonly bands: number;
  /** per band: record ids ordered by (key, id) */
  private readonly sorted: Uint32Array[] = [];
  /** per band: position of each record in `sorted` */
  private readonly pos: Uint32Array[] = [];
  /** per band: for each position, the first position of its run */
  private readonly runStart: Uint32Array[] = [];
  /** per band: for each position, one past the last position of its run */
  private readonly runEnd: Uint32Array[] = [];

  /** keys: `bands` keys per record, record-major. */
  constructor(keys: Uint32Array, n: number, bands: number) {
    if (n > MAX_RECORDS) throw new Error(`LSH batch of ${n} records is over the ${MAX_RECORDS} limit`);
    this.n = n;
    this.bands = bands;
    const packed = new Float64Array(n);
    for (let band = 0; band < bands; band++) {
      for (let i = 0; i < n; i++) packed[i] = keys[i * bands + band]! * MAX_RECORDS + i;
      packed.sort();
      const sorted = new Uint32Array(n);
      const pos = new Uint32Array(n);
      const runStart = new Uint32Array(n);
      const runEnd = new Uint32Array(n);
      let start = 0;
      for (let p = 0; p < n; p++) {
        const v = packed[p]!;
        const id = v % MAX_RECORDS;
        sorted[p] = id;
        pos[id] = p;
        if (p > 0 && Math.floor(v / MAX_RECORDS) !== Math.floor(packed[p - 1]! / MAX_RECORDS)) {
          runEnd.fill(p, start, p);
          start = p;
        }
        runStart[p] = start;
      }
      runEnd.fill(n, start, n);
      this.sorted.push(sorted);
      this.pos.push(pos);
      this.runStart.push(runStart);
      this.runEnd.push(runEnd);
    }
  }

  /**
   * Calls visit(j) once for every record j sharing a bucket with i in some band (j != i); with
   * `earlierOnly`, only for j < i. Stops when visit returns true. `stamp` arrays make each j visited once.
   */
  forEachCandidate(i: number, earlierOnly: boolean, visit: (j: number) => boolean | void): void {
    this.seenStamp++;
    if (this.seenStamp === 0xffffffff) {
      this.seen.fill(0);
      this.seenStamp = 1;
    }
    const seen = this.seen;
    const stamp = this.seenStamp;
    seen[i] = stamp;
    for (let band = 0; band < this.bands; band++) {
      const p = this.pos[band]![i]!;
      const sorted = this.sorted[band]!;
      const end = earlierOnly ? p : this.runEnd[band]![p]!;
      for (let q = this.runStart[band]![p]!; q < end; q++) {
        const j = sorted[q]!;
        if (seen[j] === stamp) continue;
        seen[j] = stamp;
        if (visit(j) === true) return;
      }
    }
  }

  private seen = new Uint32Array(0);
  private seenStamp = 0;

  /** Must be called once before forEachCandidate (kept apart so the constructor stays allocation-lean). */
  prepare(): this {
    if (this.seen.length !== this.n) this.seen = new Uint32Array(this.n);
    return this;
  }
}

/**
 * Greedy filtering over a batch laid out as [references ..., samples ...]: each live sample, in order, is
 * matched against the references and (with `againstSamples`) against the samples kept before it. A match
 * is a bucket neighbour that `similar` confirms. Returns, per sample, the id of what it matched or -1.
 */
export function greedyMatch(
  buckets: LshBuckets,
  refCount: number,
  live: Uint8Array,
  againstSamples: boolean,
  similar: (i: number, j: number) => boolean,
): Int32Array {
  const n = buckets.n;
  const match = new Int32Array(n - refCount).fill(-1);
  const kept = new Uint8Array(n);
  kept.fill(1, 0, refCount);
  buckets.prepare();
  for (let i = refCount; i < n; i++) {
    if (!live[i - refCount]) continue;
    let found = -1;
    buckets.forEachCandidate(i, true, (j) => {
      if (kept[j] && (j < refCount || againstSamples) && similar(i, j)) {
        found = j;
        return true;
      }
    });
    if (found >= 0) match[i - refCount] = found;
    else kept[i] = 1;
  }
  return match;
}
