// MinHash signatures and LSH band keys. Written here rather than taken from npm: no maintained
// MinHash/LSH package exists there (the only one, `minhash` 0.0.9, is a pre-1.0 package), and the hot
// loop must be typed arrays and Math.imul only to run 256k records inside worker threads in seconds.
//
// The signature is one-permutation hashing with optimal densification (Li, Owen & Zhang, NIPS 2012;
// Shrivastava, ICML 2017): one hash per shingle picks one of numPerm bins and the bin keeps its minimum;
// an empty bin copies the first non-empty bin of its own seeded probe sequence (the same for every set),
// found by probing while the signature is dense and, when it is sparse, as the non-empty bin that comes
// first in that sequence (a table of first positions), so that tiny sets are densified exactly as well.
// Two sets agree in a bin with probability equal to their Jaccard similarity, as with numPerm independent
// permutations, at O(shingles + probes) instead of O(shingles x numPerm) per set: a quarter of the time
// on prompts of ~25 content words, a sixth on samples of ~100 shingles. (Rotation densification, cheaper
// still, copies one bin into runs of neighbours; on short prompts whole bands then agree on one shared
// word and the LSH candidates multiply.) Every LSH candidate is confirmed with exact Jaccard; recall is
// checked against exact Jaccard in tests and in bench/dedup.ts.
import { fmix32 } from './hashing';

export interface MinHashParams {
  numPerm: number;
  bands: number;
  seed: number;
}

/** The first-position table is numPerm x numPerm entries (4 MiB at this size). */
export const MAX_NUM_PERM = 1024;
/** Probes tried in sequence before the first-position table decides (sparse signatures). */
const MAX_PROBES = 64;
/** Signatures with at most this many non-empty bins go straight to the first-position table. */
const SPARSE = 8;

export class MinHasher {
  readonly numPerm: number;
  readonly bands: number;
  readonly rows: number;
  private readonly seed: number;
  private readonly mins: Uint32Array;
  private readonly filled: Uint8Array;
  /** per bin, the first MAX_PROBES bins of its probe sequence */
  private readonly probes: Uint32Array;
  /** per bin (row) and target bin (column): where the target first comes in the row's probe sequence */
  private readonly firstAt: Uint32Array;
  /** the non-empty bins of the signature being computed */
  private readonly nonEmptyBins: Uint32Array;
  /** 32 - log2(numPerm) when numPerm is a power of two (the bin is h >>> shift), else -1 */
  private readonly shift: number;

  constructor(p: MinHashParams) {
    if (p.numPerm % p.bands !== 0) {
      throw new Error(`synthesis.dedup: numPerm (${p.numPerm}) must be a multiple of bands (${p.bands})`);
    }
    if (p.numPerm > MAX_NUM_PERM)
      throw new Error(`synthesis.dedup: numPerm (${p.numPerm}) is over ${MAX_NUM_PERM}`);
    this.numPerm = p.numPerm;
    this.bands = p.bands;
    this.rows = p.numPerm / p.bands;
    let s = p.seed >>> 0;
    const next = () => (s = fmix32((s + 0x9e3779b9) >>> 0));
    this.seed = next();
    this.mins = new Uint32Array(p.numPerm);
    this.filled = new Uint8Array(p.numPerm);
    const bits = Math.log2(p.numPerm);
    this.shift = Number.isInteger(bits) && bits > 0 ? 32 - bits : -1;
    // the probe sequence of each bin, drawn until every bin has come up once
    const k = p.numPerm;
    this.probes = new Uint32Array(k * MAX_PROBES);
    this.firstAt = new Uint32Array(k * k).fill(0xffffffff);
    for (let bin = 0; bin < k; bin++) {
      const salt = fmix32((this.seed ^ Math.imul(bin + 1, 0x9e3779b1)) >>> 0);
      for (let at = 0, seen = 0; seen < k; at++) {
        const j = Math.floor((fmix32((salt ^ Math.imul(at + 1, 0x85ebca6b)) >>> 0) * k) / 4294967296);
        if (at < MAX_PROBES) this.probes[bin * MAX_PROBES + at] = j;
        if (this.firstAt[bin * k + j] === 0xffffffff) {
          this.firstAt[bin * k + j] = at;
          seen++;
        }
      }
    }
    this.nonEmptyBins = new Uint32Array(k);
  }

  /** Signature of a shingle set into `out` (numPerm values); an empty set gets all 0xffffffff. */
  signature(shingles: Uint32Array, out: Uint32Array = new Uint32Array(this.numPerm)): Uint32Array {
    const { numPerm, seed, filled, probes, shift } = this;
    const n = shingles.length;
    out.fill(0xffffffff);
    if (n === 0) return out;
    filled.fill(0);
    // bin = the hash's top bits (scaled to numPerm); the minimum within a bin is the minimum hash, since
    // every hash in one bin shares those bits
    let nonEmpty = 0;
    for (let s = 0; s < n; s++) {
      // shingle hashes are already fmix32 outputs: an odd multiply (a bijection) seeds them
      const h = Math.imul(shingles[s]! ^ seed, 0x9e3779b1) >>> 0;
      const bin = shift >= 0 ? h >>> shift : Math.floor((h * numPerm) / 4294967296);
      if (filled[bin] === 0) {
        filled[bin] = 1;
        this.nonEmptyBins[nonEmpty++] = bin;
        out[bin] = h;
      } else if (h < out[bin]!) out[bin] = h;
    }
    if (nonEmpty === numPerm) return out;
    for (let bin = 0; bin < numPerm; bin++) {
      if (filled[bin] === 1) continue;
      let from = -1;
      if (nonEmpty > SPARSE)
        for (let p = bin * MAX_PROBES, end = p + MAX_PROBES; p < end; p++) {
          if (filled[probes[p]!] === 1) {
            from = probes[p]!;
            break;
          }
        }
      if (from < 0) from = this.firstInSequence(bin, nonEmpty);
      out[bin] = out[from]!;
    }
    return out;
  }

  /** The non-empty bin that comes first in `bin`'s probe sequence. */
  private firstInSequence(bin: number, nonEmpty: number): number {
    const row = bin * this.numPerm;
    let best = this.nonEmptyBins[0]!;
    for (let i = 1; i < nonEmpty; i++) {
      const j = this.nonEmptyBins[i]!;
      if (this.firstAt[row + j]! < this.firstAt[row + best]!) best = j;
    }
    return best;
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

const hashers = new Map<string, MinHasher>();

/** A MinHasher per parameters and thread, kept: building the probe tables costs milliseconds. */
export function minHasher(p: MinHashParams): MinHasher {
  const key = `${p.numPerm}/${p.bands}/${p.seed}`;
  let mh = hashers.get(key);
  if (!mh) hashers.set(key, (mh = new MinHasher(p)));
  return mh;
}

/** Share of equal positions: the MinHash estimate of Jaccard similarity. */
export function estimateJaccard(x: Uint32Array, y: Uint32Array): number {
  let eq = 0;
  for (let i = 0; i < x.length; i++) if (x[i] === y[i]) eq++;
  return eq / x.length;
}
