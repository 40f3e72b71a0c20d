// Text normalization and word tokens shared by every curation step, so exact dedup, MinHash shingles,
// n-gram decontamination and ROUGE-L all see the same words.

import { hashWord } from './hashing';

const WORD = /[\p{L}\p{N}_]+/gu;
const DIGITS = /^\p{N}+$/u;

/** NFKC, lower case, whitespace collapsed: what "the same text" means for exact dedup. */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * Word tokens of a text: letters/digits runs after NFKC + lower case, punctuation dropped. A run of digits
 * becomes "0" so that samples differing only in their numbers look alike to the near-duplicate filters.
 */
export function words(text: string): string[] {
  const out = text.normalize('NFKC').toLowerCase().match(WORD);
  if (!out) return [];
  for (let i = 0; i < out.length; i++) if (DIGITS.test(out[i]!)) out[i] = '0';
  return out;
}

/** Words without number folding, for checks where numbers matter (echo, ROUGE-L on instructions). */
export function plainWords(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(WORD) ?? [];
}

// Function words carry no topic: two instructions that share only these are not paraphrases.
const STOPWORDS = new Set(
  (
    'a an the and or but if then of to in on at by for with from into about as is are was were be been being ' +
    'do does did have has had it its this that these those there here i you he she we they me my your our ' +
    'their his her them us what which who whom whose when where why how can could should would will shall ' +
    'may might must not no so than too very s t just also any some all each both more most other such only'
  ).split(' '),
);

const STOPWORD_HASHES = new Set([...STOPWORDS].map(hashWord));

/** Word hashes with stop words removed, or all of them when nothing else is left. */
export function withoutStopwords(hashes: Uint32Array): Uint32Array {
  const content = hashes.filter((h) => !STOPWORD_HASHES.has(h));
  return content.length > 0 ? content : hashes;
}
