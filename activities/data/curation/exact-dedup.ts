// Exact duplicates: same normalized instruction and response. The key is a 64-bit hash of the two
// normalized fields, computed in one pass over the text without building the normalized strings (ASCII
// text, the common case) because at 256k samples normalizing and digesting strings cost seconds. Each
// half mixes every character with a multiply and an xor-shift: a multiply alone (FNV-1a, polynomial
// hashes mod 2^32) lets structured strings such as Thue-Morse sequences collide in both halves.
import { fmix32, NgramSet } from './hashing';
import type { TextFields } from './features';
import { normalizeText } from './text';

const mixA = (h: number, c: number) => {
  const x = Math.imul(h ^ c, 0x01000193);
  return x ^ (x >>> 15);
};
const mixB = (h: number, c: number) => {
  const x = Math.imul(h + c, 0x5bd1e995);
  return x ^ (x >>> 13);
};

/** Two 32-bit hashes (different multipliers and shifts) of one normalized field. */
function fieldHash(text: string, out: Int32Array, at: number): void {
  let a = 0x811c9dc5;
  let b = 0x2545f491;
  let started = false;
  let space = false;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c > 0x7f) {
      // non-ASCII: NFKC and Unicode case folding need the real normalizer
      hashChars(normalizeText(text), out, at);
      return;
    }
    // normalizeText's \s on ASCII: tab, newline, vertical tab, form feed, carriage return, space
    if (c === 32 || (c >= 9 && c <= 13)) {
      space = started;
      continue;
    }
    if (space) {
      a = mixA(a, 32);
      b = mixB(b, 32);
      space = false;
    }
    if (c >= 65 && c <= 90) c += 32;
    a = mixA(a, c);
    b = mixB(b, c);
    started = true;
  }
  out[at] = a;
  out[at + 1] = b;
}

function hashChars(text: string, out: Int32Array, at: number): void {
  let a = 0x811c9dc5;
  let b = 0x2545f491;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = mixA(a, c);
    b = mixB(b, c);
  }
  out[at] = a;
  out[at + 1] = b;
}

const parts = new Int32Array(4);

/** The exact-duplicate key of a record as two int32 halves: equal for equal normalized fields. */
export function exactKey(f: TextFields): [number, number] {
  fieldHash(f.instruction, parts, 0);
  fieldHash(f.response, parts, 2);
  return [
    fmix32((Math.imul(fmix32(parts[0]! >>> 0), 0x9e3779b1) ^ parts[2]!) >>> 0) | 0,
    fmix32((Math.imul(fmix32(parts[1]! >>> 0), 0x85ebca6b) ^ parts[3]!) >>> 0) | 0,
  ];
}

/** Exact-duplicate keys of records, two int32 halves per record. */
export function exactKeys(records: readonly TextFields[]): Int32Array {
  const out = new Int32Array(records.length * 2);
  for (let i = 0; i < records.length; i++) {
    const [a, b] = exactKey(records[i]!);
    out[2 * i] = a;
    out[2 * i + 1] = b;
  }
  return out;
}

/**
 * With `keys` of [references..., samples...] (exactKeys): marks (in `live`, one per sample) the samples
 * whose key a reference or an earlier live sample has; returns how many.
 */
export function dropExactDuplicates(keys: Int32Array, refCount: number, live: Uint8Array): number {
  const seen = new NgramSet();
  for (let r = 0; r < refCount; r++) seen.add(keys[2 * r]!, keys[2 * r + 1]!);
  let dropped = 0;
  for (let i = 0; i < live.length; i++) {
    if (!live[i]) continue;
    const a = keys[2 * (refCount + i)]!;
    const b = keys[2 * (refCount + i) + 1]!;
    if (seen.has(a, b)) {
      live[i] = 0;
      dropped++;
    } else seen.add(a, b);
  }
  return dropped;
}
