// ROUGE-L F1 between two token sequences. The LCS length is computed bit-parallel (Allison & Dix 1986;
// Hyyrö 2004): one bit per token of the shorter sequence, so a row of the LCS table costs
// ceil(length / 32) word operations instead of one step per token; prompts with long contexts made the
// plain dynamic programme the slowest part of the ROUGE-L step and of threshold calibration.

export function rougeL(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 1 : 0;
  const lcs = lcsLength(a, b);
  if (lcs === 0) return 0;
  const p = lcs / b.length;
  const r = lcs / a.length;
  return (2 * p * r) / (p + r);
}

/** rougeL(a, b) >= threshold, skipping the LCS when the lengths alone rule it out. */
export function rougeLAtLeast(a: readonly string[], b: readonly string[], threshold: number): boolean {
  // LCS <= min(|a|, |b|), so F1 <= 2 min / (|a| + |b|)
  if ((2 * Math.min(a.length, b.length)) / (a.length + b.length || 1) < threshold) return false;
  return rougeL(a, b) >= threshold;
}

/** Length of the longest common subsequence. */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  const [x, y] = a.length >= b.length ? [a, b] : [b, a];
  const m = y.length;
  if (m === 0) return 0;
  const words = (m + 31) >>> 5;
  // per token of y, the bit positions where it occurs
  const masks = new Map<string, Uint32Array>();
  for (let j = 0; j < m; j++) {
    let mask = masks.get(y[j]!);
    if (!mask) masks.set(y[j]!, (mask = new Uint32Array(words)));
    mask[j >>> 5]! |= 1 << (j & 31);
  }
  // V starts all ones; per token of x: U = V & match, V = (V + U) | (V - U), with carries across words.
  // The LCS length is the number of zero bits among the first m.
  const v = new Uint32Array(words).fill(0xffffffff);
  for (let i = 0; i < x.length; i++) {
    const mask = masks.get(x[i]!);
    if (!mask) continue;
    let carry = 0;
    let borrow = 0;
    for (let w = 0; w < words; w++) {
      const vw = v[w]!;
      const u = (vw & mask[w]!) >>> 0;
      const sum = vw + u + carry;
      carry = sum > 0xffffffff ? 1 : 0;
      const diff = vw - u - borrow;
      borrow = diff < 0 ? 1 : 0;
      v[w] = ((sum >>> 0) | (diff >>> 0)) >>> 0;
    }
  }
  let ones = 0;
  for (let w = 0; w < words; w++) {
    let bits = v[w]!;
    if (w === words - 1 && (m & 31) !== 0) bits &= (1 << (m & 31)) - 1;
    bits = bits - ((bits >>> 1) & 0x55555555);
    bits = (bits & 0x33333333) + ((bits >>> 2) & 0x33333333);
    ones += Math.imul((bits + (bits >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
  }
  return m - ones;
}
