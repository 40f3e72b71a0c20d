// Deterministic reference-based scores of one answer against the reference response (0-100, no LLM call).
//   exact-match  1 when the normalized texts are equal (fixed label sets, short extractions)
//   rouge-l      ROUGE-L F1 over words (free text whose wording should follow the reference)
//   chrf         chrF: character 1..6-gram F-score with recall weighted twice (Popović 2015), robust to
//                inflection and tokenization
import { plainWords, normalizeText } from '../data/curation/text';
import { rougeL } from '../data/curation/rouge';

import type { ReferenceMetric } from '../../common/config';

/**
 * Lower case, surrounding quotes/punctuation dropped, and every run of whitespace, '_' and '-' one separator:
 * "Open_QA." equals "open_qa", and so do "open qa" and "open-qa" (a label's separator is how it is written,
 * not which label it is). Anything else, a wrong word or extra words, still differs.
 */
export function normalizeAnswer(text: string): string {
  return normalizeText(text)
    .replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '')
    .replace(/[\s_-]+/g, '_');
}

export function exactMatch(answer: string, reference: string): number {
  return normalizeAnswer(answer) === normalizeAnswer(reference) ? 100 : 0;
}

export function rougeLScore(answer: string, reference: string): number {
  return 100 * rougeL(plainWords(reference), plainWords(answer));
}

function charNgrams(text: string, n: number): Map<string, number> {
  const chars = [...text];
  const out = new Map<string, number>();
  for (let i = 0; i + n <= chars.length; i++) {
    const g = chars.slice(i, i + n).join('');
    out.set(g, (out.get(g) ?? 0) + 1);
  }
  return out;
}

/** chrF with n = 1..6 and beta = 2, whitespace removed as in sacrebleu's default. */
export function chrfScore(answer: string, reference: string, maxN = 6, beta = 2): number {
  const hyp = normalizeText(answer).replace(/\s+/g, '');
  const ref = normalizeText(reference).replace(/\s+/g, '');
  if (!hyp || !ref) return hyp === ref ? 100 : 0;
  let precision = 0;
  let recall = 0;
  let orders = 0;
  for (let n = 1; n <= maxN; n++) {
    const h = charNgrams(hyp, n);
    const r = charNgrams(ref, n);
    let hTotal = 0;
    let rTotal = 0;
    let common = 0;
    for (const c of h.values()) hTotal += c;
    for (const [g, c] of r) {
      rTotal += c;
      common += Math.min(c, h.get(g) ?? 0);
    }
    if (hTotal === 0 || rTotal === 0) continue;
    precision += common / hTotal;
    recall += common / rTotal;
    orders++;
  }
  if (orders === 0) return 0;
  precision /= orders;
  recall /= orders;
  if (precision + recall === 0) return 0;
  const b2 = beta * beta;
  return (100 * ((1 + b2) * precision * recall)) / (b2 * precision + recall);
}

export function referenceScore(metric: ReferenceMetric, answer: string, reference: string): number {
  switch (metric) {
    case 'exact-match':
      return exactMatch(answer, reference);
    case 'rouge-l':
      return rougeLScore(answer, reference);
    case 'chrf':
      return chrfScore(answer, reference);
  }
}
