import { hashWord } from './hashing';

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
// Most words are not stop words: a bitmap over the low hash bits answers those without a Set lookup.
const FILTER_BITS = 1 << 16;
const filter = new Uint8Array(FILTER_BITS >>> 3);
for (const h of STOPWORD_HASHES) filter[(h & (FILTER_BITS - 1)) >>> 3]! |= 1 << (h & 7);
const maybeStopword = (h: number) => (filter[(h & (FILTER_BITS - 1)) >>> 3]! & (1 << (h & 7))) !== 0;

/** Word hashes with stop words removed, or all of them when nothing else is left. */
export function withoutStopwords(hashes: Uint32Array): Uint32Array {
  const content = new Uint32Array(hashes.length);
  let n = 0;
  for (let i = 0; i < hashes.length; i++) {
    const h = hashes[i]!;
    if (!maybeStopword(h) || !STOPWORD_HASHES.has(h)) content[n++] = h;
  }
  return n > 0 ? content.subarray(0, n) : hashes;
}
