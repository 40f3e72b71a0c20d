// Text normalization and word tokens shared by every curation step, so exact dedup, MinHash shingles,
// n-gram decontamination and ROUGE-L all see the same words.

const WORD = /[\p{L}\p{N}_]+/gu;
const DIGITS = /^\p{N}+$/u;

// eslint-disable-next-line no-control-regex -- the ASCII range starts at NUL
const ASCII = /^[\x00-\x7f]*$/;

/** NFKC, skipped for ASCII text (which it leaves unchanged) because it is costly at 256k samples. */
export function nfkc(text: string): string {
  return ASCII.test(text) ? text : text.normalize('NFKC');
}

/** NFKC, lower case, whitespace collapsed: what "the same text" means for exact dedup. */
export function normalizeText(text: string): string {
  return nfkc(text).toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * Word tokens of a text: letters/digits runs after NFKC + lower case, punctuation dropped. A run of digits
 * becomes "0" so that samples differing only in their numbers look alike to the near-duplicate filters.
 */
export function words(text: string): string[] {
  const out = nfkc(text).toLowerCase().match(WORD);
  if (!out) return [];
  for (let i = 0; i < out.length; i++) if (DIGITS.test(out[i]!)) out[i] = '0';
  return out;
}

/** Words without number folding, for checks where numbers matter (echo, ROUGE-L on instructions). */
export function plainWords(text: string): string[] {
  return nfkc(text).toLowerCase().match(WORD) ?? [];
}
