// LSH buckets for a whole batch at once: per band, each record knows the first record with its band key
// and the next one after it, so the records sharing a bucket are one chain, in record order. Built with
// one open-addressing table reused band after band: two flat arrays (8 bytes per record and band) instead
// of millions of Map entries, and one hash probe per record and band instead of a sort per band.

const MAX_RECORDS = 1 << 21;

export class LshBuckets {
  readonly n: number;
  readonly bands: number;
  /** record-major (i * bands + band): the first record with i's key in that band */
  private readonly head: Int32Array;
  /** record-major: the next record with i's key in that band, or -1 */
  private readonly next: Int32Array;

  /** keys: `bands` keys per record, record-major. */
  constructor(keys: Uint32Array, n: number, bands: number) {
    if (n > MAX_RECORDS) throw new Error(`LSH batch of ${n} records is over the ${MAX_RECORDS} limit`);
    this.n = n;
    this.bands = bands;
    const head = (this.head = new Int32Array(n * bands));
    const next = (this.next = new Int32Array(n * bands).fill(-1));
    let size = 1024;
    while (size < n * 2) size *= 2;
    const mask = size - 1;
    // one slot = [key, first record, last record], side by side so that a probe touches one cache line
    const slots = new Int32Array(size * 3);
    for (let band = 0; band < bands; band++) {
      for (let s = 1; s < slots.length; s += 3) slots[s] = -1;
      for (let i = 0; i < n; i++) {
        const at = i * bands + band;
        const k = keys[at]! | 0;
        // band keys are fmix32 outputs: their low bits are already uniform
        let s = (k & mask) * 3;
        while (slots[s + 1] !== -1 && slots[s] !== k) s = s + 3 === slots.length ? 0 : s + 3;
        if (slots[s + 1] === -1) {
          slots[s] = k;
          slots[s + 1] = i;
        } else next[slots[s + 2]! * bands + band] = i;
        slots[s + 2] = i;
        head[at] = slots[s + 1]!;
      }
    }
  }

  /**
   * Calls visit(j) once for every record j sharing a bucket with i in some band (j != i), band by band and
   * in record order within a band; with `earlierOnly`, only for j < i. Stops when visit returns true.
   * `stamp` arrays make each j visited once.
   */
  forEachCandidate(i: number, earlierOnly: boolean, visit: (j: number) => boolean | void): void {
    this.seenStamp++;
    if (this.seenStamp === 0xffffffff) {
      this.seen.fill(0);
      this.seenStamp = 1;
    }
    const { seen, head, next, bands } = this;
    const stamp = this.seenStamp;
    seen[i] = stamp;
    for (let band = 0; band < bands; band++) {
      for (let j = head[i * bands + band]!; j >= 0 && (j < i || !earlierOnly); j = next[j * bands + band]!) {
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

/**
 * greedyMatch over the references and the live samples only: the buckets are built for those (dropped
 * samples can never be matched), and ids in and out are those of the whole batch.
 */
export function greedyMatchLive(
  keys: Uint32Array,
  bands: number,
  refCount: number,
  live: Uint8Array,
  againstSamples: boolean,
  similar: (i: number, j: number) => boolean,
): Int32Array {
  const ids: number[] = [];
  for (let i = 0; i < refCount; i++) ids.push(i);
  for (let k = 0; k < live.length; k++) if (live[k]) ids.push(refCount + k);
  const compact = new Uint32Array(ids.length * bands);
  for (let c = 0; c < ids.length; c++)
    compact.set(keys.subarray(ids[c]! * bands, (ids[c]! + 1) * bands), c * bands);
  const buckets = new LshBuckets(compact, ids.length, bands);
  const sub = greedyMatch(
    buckets,
    refCount,
    new Uint8Array(ids.length - refCount).fill(1),
    againstSamples,
    (a, b) => similar(ids[a]!, ids[b]!),
  );
  const match = new Int32Array(live.length).fill(-1);
  for (let c = 0; c < sub.length; c++) if (sub[c]! >= 0) match[ids[refCount + c]! - refCount] = ids[sub[c]!]!;
  return match;
}
