// Per-record features every similarity step needs, computed once (in worker threads for big batches):
// shingle sets and LSH band keys of the whole sample and of its prompt (instruction + context), and
// whether the sample shares an n-gram with the test split.
import { NgramSet, ngramKeys, shingleSetInto, wordHashes } from './hashing';
import { minHasher } from './minhash';
import { withoutStopwords } from './stopwords';
import { TemplateMasker, unmasked, unmaskedRuns, type TemplateModel } from './templates';
import { plainWords } from './text';

export interface TextFields {
  instruction: string;
  context: string;
  response: string;
  /** the coverage category, where known: templates are found and masked per category */
  category?: string;
}

export interface FeatureParams {
  numPerm: number;
  bands: number;
  /** word shingle size for the whole-sample view (config `shingleSize`) */
  shingleSize: number;
  /** n of the n-gram decontamination (config `decontaminationNgram`) */
  ngram: number;
  seed: number;
  /** prompt templates to mask before shingling (the variable part and the response are compared) */
  templates?: TemplateModel;
}

/**
 * Prompts are compared as sets of content words (single words, stop words removed): prompts with
 * ROUGE-L >= 0.7 share most of their content words, so their sets reach the LSH band threshold, while
 * unrelated prompts that share only function words do not collide.
 */
export const PROMPT_SHINGLE = 1;

/** Variable-length sets stored flat: set i is data[offsets[i] .. offsets[i+1]). */
export interface FlatSets {
  offsets: Uint32Array;
  data: Uint32Array;
}

export interface Features {
  count: number;
  full: FlatSets;
  fullKeys: Uint32Array;
  prompt: FlatSets;
  promptKeys: Uint32Array;
  /** 1 where the record shares an n-gram with the test n-gram set given */
  ngramHit: Uint8Array;
}

/** The prompt a user (or the student) sees: instruction and context. */
export function promptText(r: TextFields): string {
  return r.context ? `${r.instruction}\n${r.context}` : r.instruction;
}

export function setAt(s: FlatSets, i: number): Uint32Array {
  return s.data.subarray(s.offsets[i]!, s.offsets[i + 1]!);
}

/** FlatSets filled set by set, the data array doubling as it fills. */
class FlatSetsBuilder {
  private readonly offsets: Uint32Array;
  private data: Uint32Array;
  private count = 0;

  constructor(sets: number, guess: number) {
    this.offsets = new Uint32Array(sets + 1);
    this.data = new Uint32Array(Math.max(1024, guess));
  }

  push(set: Uint32Array): void {
    const at = this.offsets[this.count]!;
    if (at + set.length > this.data.length) {
      const grown = new Uint32Array(Math.max(this.data.length * 2, at + set.length));
      grown.set(this.data.subarray(0, at));
      this.data = grown;
    }
    this.data.set(set, at);
    this.offsets[++this.count] = at + set.length;
  }

  build(): FlatSets {
    return { offsets: this.offsets, data: this.data.slice(0, this.offsets[this.count]!) };
  }
}

export function computeFeatures(
  records: readonly TextFields[],
  p: FeatureParams,
  testNgrams?: NgramSet,
): Features {
  const mh = minHasher({ numPerm: p.numPerm, bands: p.bands, seed: p.seed });
  const n = records.length;
  const full = new FlatSetsBuilder(n, n * 128);
  const prompt = new FlatSetsBuilder(n, n * 16);
  const fullKeys = new Uint32Array(n * p.bands);
  const promptKeys = new Uint32Array(n * p.bands);
  const ngramHit = new Uint8Array(n);
  const masker = p.templates ? new TemplateMasker(p.templates) : null;
  // per-record buffers, reused: the words of the sample, and its shingle sets until they are copied out
  let joined = new Uint32Array(1024);
  let scratch = new Uint32Array(1024);
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    const v = variableWords(r, masker);
    const words = v.prompt.length + v.response.length;
    if (joined.length < words) {
      joined = new Uint32Array(words * 2);
      scratch = new Uint32Array(words * 2);
    }
    joined.set(v.prompt, 0);
    joined.set(v.response, v.prompt.length);
    const fullSet = shingleSetInto(joined.subarray(0, words), p.shingleSize, scratch);
    mh.keysOf(fullSet, fullKeys, i * p.bands);
    full.push(fullSet);
    const promptSet = shingleSetInto(withoutStopwords(v.prompt), PROMPT_SHINGLE, scratch);
    mh.keysOf(promptSet, promptKeys, i * p.bands);
    prompt.push(promptSet);
    if (testNgrams && testNgrams.size > 0) {
      let hit = false;
      const probe = (a: number, b: number) => (hit = testNgrams.has(a, b));
      for (const f of v.runs) {
        ngramKeys(f, p.ngram, probe);
        if (hit) break;
      }
      ngramHit[i] = hit ? 1 : 0;
    }
  }
  return { count: n, full: full.build(), fullKeys, prompt: prompt.build(), promptKeys, ngramHit };
}

/**
 * Word hashes of what varies in a record: the prompt (instruction + context) without its template spans,
 * the response, and `runs`, the same words split at fields and template spans, so that an n-gram never
 * spans the seam between instruction, context and response, nor bridges a template span.
 */
export function variableWords(
  r: TextFields,
  masker: TemplateMasker | null,
): { prompt: Uint32Array; response: Uint32Array; runs: Uint32Array[] } {
  const iw = wordHashes(r.instruction);
  const cw = wordHashes(r.context);
  const rw = wordHashes(r.response);
  const prompt = new Uint32Array(iw.length + cw.length);
  prompt.set(iw, 0);
  prompt.set(cw, iw.length);
  const mask = masker && !masker.empty ? masker.mask(prompt, r.category) : null;
  if (!mask) return { prompt, response: rw, runs: [iw, cw, rw] };
  return {
    prompt: unmasked(prompt, mask),
    response: rw,
    runs: [
      ...unmaskedRuns(iw, mask.subarray(0, iw.length)),
      ...unmaskedRuns(cw, mask.subarray(iw.length)),
      rw,
    ],
  };
}

/** All n-grams (per field, templates masked) of the given records: the test split's prompts and references. */
export function collectNgrams(
  records: readonly TextFields[],
  n: number,
  templates?: TemplateModel,
): NgramSet {
  const out = new NgramSet();
  const add = (a: number, b: number) => {
    out.add(a, b);
  };
  const masker = templates ? new TemplateMasker(templates) : null;
  for (const r of records) {
    for (const f of variableWords(r, masker).runs) ngramKeys(f, n, add);
  }
  return out;
}

/** Concatenates feature batches computed in parallel chunks, in order. */
export function concatFeatures(parts: Features[], bands: number): Features {
  const count = parts.reduce((s, f) => s + f.count, 0);
  const joinSets = (pick: (f: Features) => FlatSets): FlatSets => {
    const offsets = new Uint32Array(count + 1);
    const data = new Uint32Array(parts.reduce((s, f) => s + pick(f).data.length, 0));
    let at = 0;
    let base = 0;
    for (const f of parts) {
      const s = pick(f);
      for (let i = 1; i <= f.count; i++) offsets[at + i] = base + s.offsets[i]!;
      data.set(s.data, base);
      at += f.count;
      base += s.data.length;
    }
    return { offsets, data };
  };
  const joinArr = <A extends Uint32Array | Uint8Array>(
    pick: (f: Features) => A,
    per: number,
    make: (n: number) => A,
  ): A => {
    const out = make(count * per);
    let at = 0;
    for (const f of parts) {
      out.set(pick(f), at);
      at += f.count * per;
    }
    return out;
  };
  return {
    count,
    full: joinSets((f) => f.full),
    fullKeys: joinArr(
      (f) => f.fullKeys,
      bands,
      (n) => new Uint32Array(n),
    ),
    prompt: joinSets((f) => f.prompt),
    promptKeys: joinArr(
      (f) => f.promptKeys,
      bands,
      (n) => new Uint32Array(n),
    ),
    ngramHit: joinArr(
      (f) => f.ngramHit,
      1,
      (n) => new Uint8Array(n),
    ),
  };
}

/** Plain words (numbers kept) of the prompt without its template spans. */
export function variablePromptWords(r: TextFields, masker: TemplateMasker | null): string[] {
  const text = promptText(r);
  const all = plainWords(text);
  if (!masker || masker.empty) return all;
  const mask = masker.mask(wordHashes(text), r.category);
  // the two tokenizers split words alike; should they ever disagree, the whole prompt is compared
  return mask && mask.length === all.length ? unmasked(all, mask) : all;
}
