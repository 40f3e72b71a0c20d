// Prompt templates: the spans most of a category's real records share (a system preamble, tool
// descriptions, a label set, format rules). They are found by word n-gram document frequency over the
// user's own coverage records, and masked out before the similarity steps, so that two records are
// compared on what varies (the variable part of the prompt, and the response), not on the boilerplate.
import { ngramKeys, wordHashes } from './hashing';
import { promptText, type TextFields } from './features';

/** Words per n-gram: long enough that ordinary prose rarely repeats one across half a category. */
export const TEMPLATE_NGRAM = 6;
/** A span is template when its n-grams occur in at least this share of a category's records. */
export const TEMPLATE_SHARE = 0.5;
/** Categories with fewer real records than this only use the templates shared across all categories. */
export const TEMPLATE_MIN_RECORDS = 8;
/** Key of the templates found over all records (prompts that share one preamble across categories). */
export const ALL_CATEGORIES = '*';

/**
 * Frequent n-gram keys per category (and ALL_CATEGORIES). Plain arrays, so that the model crosses to
 * worker threads by structured clone. Each key packs the two 32-bit rolling hashes into 53 bits.
 */
export interface TemplateModel {
  n: number;
  keys: Record<string, number[]>;
}

/** What the curation report shows about one template. */
export interface TemplateInfo {
  category: string;
  /** real records of the category (all records for ALL_CATEGORIES) */
  records: number;
  /** records whose prompt contains template spans */
  matching: number;
  /** mean share of prompt words that are template, over the matching records */
  templateShare: number;
  /** the template spans as they read in one matching record, in order */
  spans: string[];
}

const pack = (a: number, b: number) => (a >>> 0) * 2097152 + (b >>> 11);

export type Categorized = TextFields & { category?: string };

/** Frequent prompt n-grams of the real records, per category with enough records and over all. */
export function findTemplates(real: readonly Categorized[], n = TEMPLATE_NGRAM): TemplateModel {
  const byCategory = new Map<string, Categorized[]>();
  for (const r of real) {
    const c = r.category ?? '';
    let list = byCategory.get(c);
    if (!list) byCategory.set(c, (list = []));
    list.push(r);
  }
  const keys: Record<string, number[]> = {};
  const all = frequentNgrams(real, n);
  if (all.length > 0) keys[ALL_CATEGORIES] = all;
  for (const [c, list] of byCategory) {
    if (list.length < TEMPLATE_MIN_RECORDS || byCategory.size === 1) continue;
    const found = frequentNgrams(list, n);
    if (found.length > 0) keys[c] = found;
  }
  return { n, keys };
}

function frequentNgrams(records: readonly TextFields[], n: number): number[] {
  if (records.length < 2) return [];
  const df = new Map<number, number>();
  const seen = new Set<number>();
  for (const r of records) {
    seen.clear();
    ngramKeys(wordHashes(promptText(r)), n, (a, b) => {
      seen.add(pack(a, b));
    });
    for (const k of seen) df.set(k, (df.get(k) ?? 0) + 1);
  }
  const min = Math.max(2, Math.ceil(TEMPLATE_SHARE * records.length));
  const out: number[] = [];
  for (const [k, count] of df) if (count >= min) out.push(k);
  return out;
}

/** The template model as sets, ready to mask records with (built once per thread). */
export class TemplateMasker {
  private readonly sets = new Map<string, Set<number>>();
  private readonly all: Set<number> | undefined;
  readonly n: number;

  constructor(model: TemplateModel) {
    this.n = model.n;
    for (const [c, list] of Object.entries(model.keys)) this.sets.set(c, new Set(list));
    this.all = this.sets.get(ALL_CATEGORIES);
  }

  get empty(): boolean {
    return this.sets.size === 0;
  }

  /**
   * 1 for each word of the prompt (as wordHashes splits it) that lies in a template span of the record's
   * category or of all categories; null when nothing is template.
   */
  mask(promptHashes: Uint32Array, category: string | undefined): Uint8Array | null {
    const own = category !== undefined ? this.sets.get(category) : undefined;
    const all = this.all;
    if (!own && !all) return null;
    const n = this.n;
    let mask: Uint8Array | null = null;
    let end = 0;
    ngramKeys(promptHashes, n, (a, b) => {
      end++;
      const k = pack(a, b);
      if (own?.has(k) || all?.has(k)) {
        mask ??= new Uint8Array(promptHashes.length);
        mask.fill(1, end - 1, end - 1 + n);
      }
    });
    return mask;
  }
}

/** The words the mask leaves (the variable part), in order. */
export function unmasked<T extends Uint32Array | string[]>(words: T, mask: Uint8Array | null): T {
  if (!mask) return words;
  if (Array.isArray(words)) return words.filter((_, i) => !mask[i]) as T;
  const out = new Uint32Array(words.length);
  let m = 0;
  for (let i = 0; i < words.length; i++) if (!mask[i]) out[m++] = words[i]!;
  return out.subarray(0, m) as T;
}

/** The runs of variable words between template spans: n-gram checks never bridge a masked span. */
export function unmaskedRuns(words: Uint32Array, mask: Uint8Array | null): Uint32Array[] {
  if (!mask) return [words];
  const runs: Uint32Array[] = [];
  let start = -1;
  for (let i = 0; i <= words.length; i++) {
    const free = i < words.length && !mask[i];
    if (free && start < 0) start = i;
    else if (!free && start >= 0) {
      runs.push(words.subarray(start, i));
      start = -1;
    }
  }
  return runs;
}

const WORD = /[\p{L}\p{N}_]+/gu;

/** Character ranges [start, end) of the template spans in a prompt text, for greying them out. */
export function templateRanges(
  masker: TemplateMasker,
  prompt: string,
  category: string | undefined,
): [number, number][] {
  const mask = masker.mask(wordHashes(prompt), category);
  if (!mask) return [];
  const ranges: [number, number][] = [];
  let i = 0;
  for (const m of prompt.matchAll(WORD)) {
    const s = m.index;
    const e = s + m[0].length;
    if (mask[i++]) {
      const last = ranges[ranges.length - 1];
      // a template span runs over the punctuation and spaces between its words
      if (last && mask[i - 2]) last[1] = e;
      else ranges.push([s, e]);
    }
  }
  return ranges;
}

const MAX_SPAN_CHARS = 2000;

/** The templates for the report: per category with one, the spans as one matching record reads them. */
export function describeTemplates(model: TemplateModel, real: readonly Categorized[]): TemplateInfo[] {
  const out: TemplateInfo[] = [];
  for (const category of Object.keys(model.keys).sort()) {
    const records = category === ALL_CATEGORIES ? real : real.filter((r) => r.category === category);
    let matching = 0;
    let shareSum = 0;
    let spans: string[] = [];
    let bestShare = -1;
    const only = new TemplateMasker({ n: model.n, keys: { [category]: model.keys[category]! } });
    for (const r of records) {
      const prompt = promptText(r);
      const hashes = wordHashes(prompt);
      const mask = only.mask(hashes, category === ALL_CATEGORIES ? undefined : category);
      const masked = mask ? mask.reduce((s, x) => s + x, 0) : 0;
      if (masked === 0) continue;
      matching++;
      const share = masked / hashes.length;
      shareSum += share;
      if (share > bestShare) {
        bestShare = share;
        spans = templateRanges(only, prompt, category === ALL_CATEGORIES ? undefined : category).map(
          ([s, e]) => prompt.slice(s, e).slice(0, MAX_SPAN_CHARS),
        );
      }
    }
    out.push({
      category,
      records: records.length,
      matching,
      templateShare: matching ? Math.round((shareSum / matching) * 1000) / 1000 : 0,
      spans,
    });
  }
  return out;
}
