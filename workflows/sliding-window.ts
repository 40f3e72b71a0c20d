// Runs n tasks with at most `width` in flight, starting the next as soon as one finishes.
// Deterministic in workflow code: tasks start in index order and results keep that order.
export async function slidingWindow<T>(
  n: number,
  width: number,
  run: (index: number) => Promise<T>,
  onDone?: (index: number, result: T) => void,
): Promise<T[]> {
  const results = new Array<T>(n);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < n) {
      const i = next++;
      const r = await run(i);
      results[i] = r;
      onDone?.(i, r);
    }
  }
  await Promise.all(Array.from({ length: Math.min(Math.max(width, 1), n) }, lane));
  return results;
}
