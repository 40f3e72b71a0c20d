// 32-bit hashes of words, word shingles and word n-grams. Hand-written because they run in the hot loop
// of MinHash over hundreds of thousands of records, where a general hash library call per shingle
// (or a crypto digest, as datasketch does) costs more than the whole signature.

/** FNV-1a over UTF-16 code units, finished with murmur3's fmix32. */
export function hashWord(w: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// Vocabulary repeats across records, and V8 caches a string's own hash, so a Map hit beats rehashing.
const wordCache = new Map<string, number>();
const WORD_CACHE_LIMIT = 1 << 20;

export function hashWords(ws: readonly string[]): Uint32Array {
  const out = new Uint32Array(ws.length);
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    let h = wordCache.get(w);
    if (h === undefined) {
      h = hashWord(w);
      if (wordCache.size >= WORD_CACHE_LIMIT) wordCache.clear();
      wordCache.set(w, h);
    }
    out[i] = h;
  }
  return out;
}

/**
 * Sorted, distinct hashes of the word k-shingles of a text. A text shorter than k words is one shingle
 * (all its words), so short instructions still get a set; an empty text gets an empty set.
 */
export function shingleSet(wordHashes: Uint32Array, k: number): Uint32Array {
  const n = wordHashes.length;
  if (n === 0) return new Uint32Array(0);
  const span = Math.min(k, n);
  const out = new Uint32Array(n - span + 1);
  for (let i = 0; i + span <= n; i++) {
    let h = 0x9747b28c;
    for (let j = 0; j < span; j++) h = fmix32(Math.imul(h, 0x9e3779b1) ^ wordHashes[i + j]!);
    out[i] = h;
  }
  out.sort();
  let m = 0;
  for (let i = 0; i < out.length; i++) if (i === 0 || out[i] !== out[m - 1]) out[m++] = out[i]!;
  return out.subarray(0, m);
}

/**
 * Hashes of the word n-grams of a text as numbers below 2^53 (two independent 32-bit hashes folded into
 * 53 bits), so that a Set<number> lookup against a test split's n-grams has no practical false positives.
 */
export function ngramKeys(wordHashes: Uint32Array, n: number, into: (key: number) => boolean | void): void {
  for (let i = 0; i + n <= wordHashes.length; i++) {
    let a = 0x1b873593;
    let b = 0x27d4eb2f;
    for (let j = 0; j < n; j++) {
      const w = wordHashes[i + j]!;
      a = fmix32(Math.imul(a, 0x9e3779b1) ^ w);
      b = fmix32(Math.imul(b ^ w, 0x85ebca6b) + 0x165667b1);
    }
    if (into(a * 2097152 + (b >>> 11)) === true) return;
  }
}

/** Exact Jaccard similarity of two sorted distinct hash sets. */
export function jaccard(a: Uint32Array, b: Uint32Array): number {
  if (a.length === 0 && b.length === 0) return 1;
  let i = 0;
  let j = 0;
  let inter = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      inter++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return inter / (a.length + b.length - inter);
}
