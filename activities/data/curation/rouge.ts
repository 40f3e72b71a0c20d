// ROUGE-L F1 between two token sequences (longest common subsequence, one rolling row).

export function rougeL(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return a.length === b.length ? 1 : 0;
  const [x, y] = a.length >= b.length ? [a, b] : [b, a];
  const row = new Uint32Array(y.length + 1);
  for (let i = 0; i < x.length; i++) {
    let diag = 0;
    for (let j = 1; j <= y.length; j++) {
      const up = row[j]!;
      row[j] = x[i] === y[j - 1] ? diag + 1 : Math.max(up, row[j - 1]!);
      diag = up;
    }
  }
  const lcs = row[y.length]!;
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
