// A small LSH index (Map of band key -> ids) for a reference set that is probed many times, such as the
// test split during decontamination.

// Most probes miss: a bitmap over the low key bits answers those without a Map lookup.
const FILTER_BITS = 1 << 22;

export class RefIndex {
  private readonly buckets = new Map<number, number[]>();
  private readonly filter = new Uint8Array(FILTER_BITS >>> 3);

  constructor(
    keys: Uint32Array,
    n: number,
    private readonly bands: number,
  ) {
    for (let i = 0; i < n; i++) {
      for (let b = 0; b < bands; b++) {
        const k = keys[i * bands + b]!;
        const bit = k & (FILTER_BITS - 1);
        this.filter[bit >>> 3]! |= 1 << (bit & 7);
        const list = this.buckets.get(k);
        if (list) {
          if (list[list.length - 1] !== i) list.push(i);
        } else this.buckets.set(k, [i]);
      }
    }
  }

  /** The first reference sharing a band with the probe (keys at offset) that `similar` confirms, or -1. */
  firstMatch(keys: Uint32Array, offset: number, similar: (ref: number) => boolean): number {
    let tried: Set<number> | undefined;
    for (let b = 0; b < this.bands; b++) {
      const k = keys[offset + b]!;
      const bit = k & (FILTER_BITS - 1);
      if (!(this.filter[bit >>> 3]! & (1 << (bit & 7)))) continue;
      const list = this.buckets.get(k);
      if (!list) continue;
      tried ??= new Set<number>();
      for (const r of list) {
        if (tried.has(r)) continue;
        tried.add(r);
        if (similar(r)) return r;
      }
    }
    return -1;
  }
}
