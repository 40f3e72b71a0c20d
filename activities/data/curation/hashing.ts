import { nfkc } from './text';

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

export function hashWords(ws: readonly string[]): Uint32Array {
  const out = new Uint32Array(ws.length);
  for (let i = 0; i < ws.length; i++) out[i] = hashWord(ws[i]!);
  return out;
}

// Character classes for the scanner below: 0 unknown, 1 letter/underscore, 2 digit, 3 separator.
const charClass = new Uint8Array(65536);
const LETTER = /[\p{L}_]/u;
const DIGIT = /\p{N}/u;
function classOf(ch: string): number {
  return DIGIT.test(ch) ? 2 : LETTER.test(ch) ? 1 : 3;
}
for (let c = 0; c < 128; c++) charClass[c] = classOf(String.fromCharCode(c));
const ZERO = hashWord('0');

/**
 * hashWords(words(text)) without building the word strings: one pass over the normalized text with the
 * same word rule (runs of letters, digits, underscore; digit-only runs as "0"). Most of curation's time
 * went into allocating those strings.
 */
export function wordHashes(text: string): Uint32Array {
  const t = nfkc(text).toLowerCase();
  // at most one word per two characters; the scratch buffer is reused (a fresh one is zero-filled), up to
  // texts of a million characters, beyond which a one-off buffer is not kept
  const need = (t.length >>> 1) + 1;
  if (scratch.length < need && need <= SCRATCH_MAX) scratch = new Uint32Array(need * 2);
  const out = scratch.length >= need ? scratch : new Uint32Array(need);
  let n = 0;
  let h = 0x811c9dc5;
  let inWord = false;
  let digitsOnly = true;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    let cls: number;
    let units = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < t.length) {
      // astral code point: classify the pair, hash both UTF-16 units
      cls = classOf(t.slice(i, i + 2));
      units = 2;
    } else {
      cls = charClass[c]!;
      if (cls === 0) cls = charClass[c] = classOf(t[i]!);
    }
    if (cls === 3) {
      if (inWord) {
        out[n++] = digitsOnly ? ZERO : fmix32(h);
        inWord = false;
      }
      continue;
    }
    if (!inWord) {
      inWord = true;
      h = 0x811c9dc5;
      digitsOnly = true;
    }
    if (cls !== 2) digitsOnly = false;
    h = Math.imul(h ^ c, 0x01000193);
    if (units === 2) h = Math.imul(h ^ t.charCodeAt(++i), 0x01000193);
  }
  if (inWord) out[n++] = digitsOnly ? ZERO : fmix32(h);
  return out.slice(0, n);
}
const SCRATCH_MAX = 1 << 19;
let scratch = new Uint32Array(4096);

/**
 * Sorted, distinct hashes of the word k-shingles of a text. A text shorter than k words is one shingle
 * (all its words), so short instructions still get a set; an empty text gets an empty set.
 */
export function shingleSet(wordHashes: Uint32Array, k: number): Uint32Array {
  return shingleSetInto(wordHashes, k, new Uint32Array(wordHashes.length)).slice();
}

/** shingleSet written into `scratch` (at least wordHashes.length long): a view valid until its next use. */
export function shingleSetInto(wordHashes: Uint32Array, k: number, scratch: Uint32Array): Uint32Array {
  const n = wordHashes.length;
  if (n === 0) return scratch.subarray(0, 0);
  const span = Math.min(k, n);
  const out = scratch.subarray(0, n - span + 1);
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

const NGRAM_BASE_A = 0x01000193;
const NGRAM_BASE_B = 0x5bd1e995;

/**
 * Keys of the word n-grams of a text: two rolling polynomial hashes (mod 2^32, different bases) over the
 * word hashes, 64 bits together, so that a lookup against a test split's n-grams has no practical false
 * positives. O(1) per position. `into` returning true stops the scan.
 */
export function ngramKeys(
  wordHashes: Uint32Array,
  n: number,
  into: (a: number, b: number) => boolean | void,
): void {
  if (wordHashes.length < n) return;
  let powA = 1;
  let powB = 1;
  for (let j = 1; j < n; j++) {
    powA = Math.imul(powA, NGRAM_BASE_A);
    powB = Math.imul(powB, NGRAM_BASE_B);
  }
  let a = 0;
  let b = 0;
  for (let i = 0; i < wordHashes.length; i++) {
    const w = wordHashes[i]!;
    if (i >= n) {
      const out = wordHashes[i - n]!;
      a = (a - Math.imul(out, powA)) | 0;
      b = (b - Math.imul(out ^ 0x9e3779b9, powB)) | 0;
    }
    a = (Math.imul(a, NGRAM_BASE_A) + w) | 0;
    b = (Math.imul(b, NGRAM_BASE_B) + (w ^ 0x9e3779b9)) | 0;
    if (i >= n - 1 && into(a, b) === true) return;
  }
}

/**
 * A set of 64-bit n-gram keys (two int32 halves) with open addressing in flat typed arrays: a
 * Set<number> of 53-bit keys boxes every probe as a heap number and was the slowest part of curation.
 * The tables are plain arrays so the set can be handed to worker threads.
 */
export class NgramSet {
  size = 0;
  constructor(
    readonly hi: Int32Array = new Int32Array(1 << 10),
    readonly lo: Int32Array = new Int32Array(1 << 10),
    readonly used: Uint8Array = new Uint8Array(1 << 10),
  ) {
    for (let i = 0; i < used.length; i++) this.size += used[i]!;
  }

  private slot(a: number, b: number): number {
    const mask = this.used.length - 1;
    let i = fmix32(a ^ Math.imul(b, 0x9e3779b1)) & mask;
    while (this.used[i] && (this.hi[i] !== a || this.lo[i] !== b)) i = (i + 1) & mask;
    return i;
  }

  has(a: number, b: number): boolean {
    return this.used[this.slot(a, b)] === 1;
  }

  add(a: number, b: number): void {
    if ((this.size + 1) * 2 > this.used.length) this.grow();
    const i = this.slot(a, b);
    if (this.used[i]) return;
    this.used[i] = 1;
    this.hi[i] = a;
    this.lo[i] = b;
    this.size++;
  }

  private grow(): void {
    const { hi, lo, used } = this;
    const cap = used.length * 2;
    (this as { hi: Int32Array }).hi = new Int32Array(cap);
    (this as { lo: Int32Array }).lo = new Int32Array(cap);
    (this as { used: Uint8Array }).used = new Uint8Array(cap);
    this.size = 0;
    for (let i = 0; i < used.length; i++) if (used[i]) this.add(hi[i]!, lo[i]!);
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
