// Rule-based quality filters for teacher-written samples. Each rule names the reason it drops a sample.
import { francAll } from 'franc-min';
import { rougeL } from './rouge';
import { plainWords } from './text';
import type { TextFields } from './features';

export type QualityReason =
  'empty-field' | 'truncated' | 'length-out-of-range' | 'refusal' | 'echo' | 'wrong-language';

/** Word-count ranges of the train split, per category, that synthetic samples must fall into. */
export interface LengthRange {
  instruction: [number, number];
  response: [number, number];
}

export interface QualityProfile {
  ranges: Record<string, LengthRange>;
  /** range over all categories, for a category the train split lacks */
  overall: LengthRange;
  /** ISO 639-3 code of the train split's language (franc), or 'und' to skip the language rule */
  language: string;
}

/** Slack around the train split's ranges: a synthetic sample may be half the shortest or 1.5x the longest. */
const LENGTH_SLACK = { below: 0.5, above: 1.5 };
/** Text given to language detection: enough for franc, cheap at 256k samples. */
const LANGUAGE_SAMPLE_CHARS = 240;
/** The train language's franc score (relative to the best language, 1) below which a sample is foreign. */
const LANGUAGE_MIN_SCORE = 0.8;

const REFUSAL =
  /\b(as an ai\b|as a (large )?language model|i(?:'m| am) (?:sorry|unable|not able)\b|i can(?:'t|not) (?:help|assist|provide|comply|fulfil|do that)|i (?:do not|don't) have (?:access|the ability|personal)|i apologi[sz]e, but)/i;
const DANGLING_END = /[,:;([{–-]\s*$|(?:\.\.\.|…)\s*$/;

function wordCount(s: string): number {
  return plainWords(s).length;
}

export function buildQualityProfile(train: readonly (TextFields & { category: string })[]): QualityProfile {
  const ranges: Record<string, LengthRange> = {};
  const widen = (r: LengthRange | undefined, iw: number, rw: number): LengthRange =>
    r
      ? {
          instruction: [Math.min(r.instruction[0], iw), Math.max(r.instruction[1], iw)],
          response: [Math.min(r.response[0], rw), Math.max(r.response[1], rw)],
        }
      : { instruction: [iw, iw], response: [rw, rw] };
  let overall: LengthRange | undefined;
  const langVotes = new Map<string, number>();
  for (const r of train) {
    const iw = wordCount(r.instruction);
    const rw = wordCount(r.response);
    ranges[r.category] = widen(ranges[r.category], iw, rw);
    overall = widen(overall, iw, rw);
    const lang = detectLanguage(r);
    langVotes.set(lang, (langVotes.get(lang) ?? 0) + 1);
  }
  langVotes.delete('und');
  const language = [...langVotes].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'und';
  return { ranges, overall: overall ?? { instruction: [0, Infinity], response: [0, Infinity] }, language };
}

function detectLanguage(r: TextFields): string {
  return francAll(`${r.instruction}\n${r.response}`.slice(0, LANGUAGE_SAMPLE_CHARS), {
    minLength: 40,
  })[0]![0];
}

function inRange(n: number, [lo, hi]: [number, number]): boolean {
  return n >= Math.floor(lo * LENGTH_SLACK.below) && n <= Math.ceil(hi * LENGTH_SLACK.above);
}

/** The first rule a sample breaks, or null when it passes them all. */
export function qualityIssue(
  s: TextFields & { category: string },
  profile: QualityProfile,
): QualityReason | null {
  if (!s.instruction.trim() || !s.response.trim()) return 'empty-field';
  const fences = s.response.split('```').length - 1;
  if (fences % 2 === 1 || DANGLING_END.test(s.response)) return 'truncated';
  const range = profile.ranges[s.category] ?? profile.overall;
  const iw = plainWords(s.instruction);
  const rw = plainWords(s.response);
  if (!inRange(iw.length, range.instruction) || !inRange(rw.length, range.response))
    return 'length-out-of-range';
  if (REFUSAL.test(s.response) || REFUSAL.test(s.instruction)) return 'refusal';
  // An echo has about the instruction's length; skip the LCS for responses far longer or shorter.
  if (rw.length <= 2 * iw.length && 2 * rw.length >= iw.length && rougeL(iw, rw) >= 0.8) return 'echo';
  if (profile.language !== 'und') {
    const scores = francAll(`${s.instruction}\n${s.response}`.slice(0, LANGUAGE_SAMPLE_CHARS), {
      minLength: 40,
    });
    if (scores[0]![0] !== 'und') {
      const own = scores.find(([lang]) => lang === profile.language)?.[1] ?? 0;
      if (own < LANGUAGE_MIN_SCORE) return 'wrong-language';
    }
  }
  return null;
}
