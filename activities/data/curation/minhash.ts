// MinHash signatures and LSH band keys. Written here rather than taken from npm: no maintained
// MinHash/LSH package exists there (the only one, `minhash` 0.0.9, is a pre-1.0 package), and the hot
// loop must be typed arrays and Math.imul only to run 256k records inside worker threads in seconds.
// The permutation family is h -> a*h + b mod 2^32 (a odd) over already well-mixed 32-bit shingle
// hashes; its accuracy is checked against exact Jaccard in tests and in bench/dedup.ts.
import { fmix32 } from './hashing';

export interface MinHashParams {
  numPerm: number;
  bands: number;
  seed: number;
}

export class MinHasher {
  readonly numPerm: number;
  readonly bands: number;
  readonly rows: number;
  private readonly a: Int32Array;
  private readonly b: Int32Array;
  private readonly mins: Uint32Array;

  constructor(p: MinHashParams) {
    if (p.numPerm % p.bands !== 0) {
      throw new Error(`synthesis.dedup: numPerm (${p.numPerm}) must be a multiple of bands (${p.bands})`);
    }
    this.numPerm = p.numPerm;
    this.bands = p.bands;
    this.rows = p.numPerm / p.bands;
    this.a = new Int32Array(p.numPerm);
    this.b = new Int32Array(p.numPerm);
    let s = p.seed >>> 0;
    const next = () => (s = fmix32((s + 0x9e3779b9) >>> 0));
    for (let i = 0; i < p.numPerm; i++) {
      this.a[i] = next() | 1;
      this.b[i] = next();
    }
    this.mins = new Uint32Array(p.numPerm);
  }

  /** Signature of a shingle set into `out` (numPerm values); an empty set gets all 0xffffffff. */
  signature(shingles: Uint32Array, out: Uint32Array = new Uint32Array(this.numPerm)): Uint32Array {
    const { a, b, numPerm } = this;
    const n = shingles.length;
    // Values are compared as int32 with the sign bit flipped (same order as uint32): V8 keeps int32 in
    // registers, while uint32 above 2^31 would become doubles. Permutation-major keeps the minimum local.
    for (let i = 0; i < numPerm; i++) {
      const ai = a[i]!;
      const bi = b[i]!;
      let min = 0x7fffffff;
      for (let s = 0; s < n; s++) {
        const v = ((Math.imul(ai, shingles[s]!) + bi) ^ 0x80000000) | 0;
        if (v < min) min = v;
      }
      out[i] = (min ^ 0x80000000) >>> 0;
    }
    return out;
  }

  /** One 32-bit key per band (rows values hashed together), written at out[offset ..]. */
  bandKeys(sig: Uint32Array, out: Uint32Array, offset = 0): void {
    const { rows, bands } = this;
    for (let band = 0; band < bands; band++) {
      let h = 0x811c9dc5 ^ band;
      for (let r = 0; r < rows; r++) h = fmix32(Math.imul(h, 0x9e3779b1) ^ sig[band * rows + r]!);
      out[offset + band] = h;
    }
  }

  /** Signature then band keys, reusing an internal buffer. */
  keysOf(shingles: Uint32Array, out: Uint32Array, offset = 0): void {
    this.bandKeys(this.signature(shingles, this.mins), out, offset);
  }
}

/** Share of equal positions: the MinHash estimate of Jaccard similarity. */
export function estimateJaccard(x: Uint32Array, y: Uint32Array): number {
  let eq = 0;
  for (let i = 0; i < x.length; i++) if (x[i] === y[i]) eq++;
  return eq / x.length;
}
