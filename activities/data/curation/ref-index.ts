// A small LSH index (Map of band key -> ids) for a reference set that is probed many times, such as the
// test split during decontamination.

export class RefIndex {
  private readonly buckets = new Map<number, number[]>();

  constructor(
    keys: Uint32Array,
    n: number,
    private readonly bands: number,
  ) {
    for (let i = 0; i < n; i++) {
      for (let b = 0; b < bands; b++) {
        const k = keys[i * bands + b]!;
        const list = this.buckets.get(k);
        if (list) {
          if (list[list.length - 1] !== i) list.push(i);
        } else this.buckets.set(k, [i]);
      }
    }
  }

  /** The first reference sharing a band with the probe (keys at offset) that `similar` confirms, or -1. */
  firstMatch(keys: Uint32Array, offset: number, similar: (ref: number) => boolean): number {
    const tried = new Set<number>();
    for (let b = 0; b < this.bands; b++) {
      const list = this.buckets.get(keys[offset + b]!);
      if (!list) continue;
      for (const r of list) {
        if (tried.has(r)) continue;
        tried.add(r);
        if (similar(r)) return r;
      }
    }
    return -1;
  }
}
