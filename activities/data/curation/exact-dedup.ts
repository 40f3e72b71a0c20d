// Exact duplicates: same normalized instruction and response.
import { createHash } from 'node:crypto';
import type { TextFields } from './features';
import { normalizeText } from './text';

export function exactKey(f: TextFields): string {
  return createHash('sha1')
    .update(normalizeText(f.instruction))
    .update('\u0000')
    .update(normalizeText(f.response))
    .digest('base64');
}

/** Marks (in `live`) samples whose key a reference or an earlier live sample has; returns how many. */
export function dropExactDuplicates(
  references: Iterable<TextFields>,
  samples: readonly TextFields[],
  live: Uint8Array,
): number {
  const seen = new Set<string>();
  for (const r of references) seen.add(exactKey(r));
  let dropped = 0;
  for (let i = 0; i < samples.length; i++) {
    if (!live[i]) continue;
    const k = exactKey(samples[i]!);
    if (seen.has(k)) {
      live[i] = 0;
      dropped++;
    } else seen.add(k);
  }
  return dropped;
}
