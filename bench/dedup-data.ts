// Builds the dedup benchmark set: real records from ../shared/data/raw plus seeded, paraphrase-like
// perturbations of them, and a test split some of whose records leak into the set.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CoverageRecord } from '../activities/data/curation/records';
import { mulberry32, pick, type Rng } from '../activities/synthesis/rng';

interface Raw {
  instruction: string;
  context?: string;
  input?: string;
  response?: string;
  output?: string;
  category?: string;
}

export function loadRealRecords(rawDir: string): CoverageRecord[] {
  const files: [string, string][] = [
    ['dolly15k/databricks-dolly-15k.jsonl', ''],
    ['alpaca_subsets/alpaca_5000.jsonl', 'alpaca'],
    ['alpaca_subsets/code_alpaca_2k.jsonl', 'coding'],
  ];
  const out: CoverageRecord[] = [];
  for (const [file, category] of files) {
    const lines = readFileSync(path.join(rawDir, file), 'utf8').split('\n');
    lines.forEach((line, k) => {
      if (!line.trim()) return;
      const r = JSON.parse(line) as Raw;
      out.push({
        id: `${path.basename(file, '.jsonl')}:${k + 1}`,
        category: r.category ?? category,
        instruction: r.instruction,
        context: r.context ?? r.input ?? '',
        response: r.response ?? r.output ?? '',
      });
    });
  }
  return out;
}

type Perturb = (s: string, rng: Rng, vocab: string[]) => string;

const caseSpace: Perturb = (s, rng) =>
  s
    .split(' ')
    .map((w) => (rng() < 0.2 ? w.toUpperCase() : rng() < 0.1 ? w + '  ' : w))
    .join(rng() < 0.5 ? ' ' : '\n');
const numbers: Perturb = (s, rng) => s.replace(/\d+/g, (d) => String(Number(d) + 1 + Math.floor(rng() * 50)));
const swapWords =
  (rate: number): Perturb =>
  (s, rng) => {
    const w = s.split(' ');
    for (let i = 0; i + 1 < w.length; i++) if (rng() < rate) [w[i], w[i + 1]] = [w[i + 1]!, w[i]!];
    return w.join(' ');
  };
const replaceWords =
  (rate: number): Perturb =>
  (s, rng, vocab) =>
    s
      .split(' ')
      .map((w) => (rng() < rate ? pick(rng, vocab) : w))
      .join(' ');
const dropWords =
  (rate: number): Perturb =>
  (s, rng) =>
    s
      .split(' ')
      .filter(() => rng() >= rate)
      .join(' ');
const reorderSentences: Perturb = (s, rng) => {
  const parts = s.split(/(?<=[.!?])\s+/);
  for (let i = parts.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [parts[i], parts[j]] = [parts[j]!, parts[i]!];
  }
  return parts.join(' ');
};
const prefix: Perturb = (s, rng) =>
  pick(rng, ['Sure! ', 'Here is the answer: ', 'Certainly. ', 'Answer: ']) + s;

/** Perturbations and their weights: light ones make near-duplicates, heavy ones records near the threshold. */
const PERTURBATIONS: [Perturb, number][] = [
  [(s) => s, 3],
  [caseSpace, 12],
  [numbers, 8],
  [swapWords(0.03), 12],
  [replaceWords(0.05), 15],
  [replaceWords(0.2), 15],
  [dropWords(0.1), 10],
  [reorderSentences, 10],
  [prefix, 15],
];
const TOTAL_WEIGHT = PERTURBATIONS.reduce((s, [, w]) => s + w, 0);

function perturb(rng: Rng): Perturb {
  let x = rng() * TOTAL_WEIGHT;
  for (const [p, w] of PERTURBATIONS) if ((x -= w) < 0) return p;
  return PERTURBATIONS[0]![0];
}

export interface BenchSet {
  samples: CoverageRecord[];
  /** the user's coverage records (train split): curation's references, where templates and thresholds come from */
  train: CoverageRecord[];
  test: CoverageRecord[];
}

/**
 * `size` samples: every real record in neither the test nor the train split once, then perturbed copies
 * of any non-test record (train records included, as synthesis paraphrases them); 0.5 % leak test records.
 */
export function buildBenchSet(
  real: CoverageRecord[],
  size: number,
  seed: number,
  testSize = 500,
  trainSize = 3000,
): BenchSet {
  const rng = mulberry32(seed);
  const shuffled = [...real];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const test = shuffled.slice(0, testSize);
  const pool = shuffled.slice(testSize);
  const vocab = pool.slice(0, 2000).flatMap((r) => r.response.split(' ').slice(0, 20));
  const train = pool.slice(0, trainSize);
  const samples: CoverageRecord[] = pool.slice(trainSize, trainSize + size);
  while (samples.length < size) {
    const leak = rng() < 0.005;
    const base = leak ? pick(rng, test) : pick(rng, pool);
    const p = perturb(rng);
    const q = perturb(rng);
    samples.push({
      id: `${base.id}~${samples.length}`,
      category: base.category,
      instruction: rng() < 0.3 ? q(base.instruction, rng, vocab) : base.instruction,
      context: base.context,
      response: p(base.response, rng, vocab),
    });
  }
  return { samples, train, test };
}
