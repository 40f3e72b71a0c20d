// npm run bench:dedup — near-duplicate removal + decontamination at 256k samples, side by side with
// datasketch's MinHashLSH and rensa's RMinHashLSH (same shingles, num_perm, threshold; greedy
// query-then-insert). Ground truth: exact Jaccard of the word-shingle sets (strings, no hashing) between
// 2,000 sampled records and every record; recall and precision are scored on what curate dropped.
// Prints one JSON line. Options: --samples N --seed S --truth N --python PATH (default: the tools
// folder's venv, $LLAMADUO_TOOLS/venv, as scripts/tools-env.sh sets it)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SynthesisConfig } from '../common/config';
import { words } from '../activities/data/curation/text';
import { mulberry32 } from '../activities/synthesis/rng';
import { buildBenchSet, loadRealRecords } from './dedup-data';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    samples: { type: 'string', default: '256000' },
    seed: { type: 'string', default: '42' },
    truth: { type: 'string', default: '2000' },
    python: { type: 'string' },
  },
});
const size = Number(opt.samples);
const seed = Number(opt.seed);
const truthSize = Number(opt.truth);
const python = opt.python ?? findPython();
const dedup = SynthesisConfig.shape.dedup.parse(undefined);

const dir = mkdtempSync(path.join(tmpdir(), 'llamaduo-bench-dedup-'));
try {
  const set = buildBenchSet(loadRealRecords(path.resolve(ROOT, '../shared/data/raw')), size, seed);
  const rng = mulberry32(seed + 1);
  const ids = new Set<number>();
  while (ids.size < Math.min(truthSize, size)) ids.add(Math.floor(rng() * size));
  const sampleIds = [...ids].sort((a, b) => a - b);
  const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  writeFileSync(path.join(dir, 'samples.jsonl'), jsonl(set.samples));
  writeFileSync(path.join(dir, 'train.jsonl'), jsonl(set.train));
  writeFileSync(path.join(dir, 'test.jsonl'), jsonl(set.test));
  writeFileSync(path.join(dir, 'dedup.json'), JSON.stringify(dedup));
  writeFileSync(path.join(dir, 'ids.json'), JSON.stringify(sampleIds));
  const fullWords = (r: { instruction: string; context: string; response: string }) =>
    words(`${r.instruction} ${r.context} ${r.response}`).join(' ');
  // ids: samples, then the test split, then the train split (ids >= size are never dropped)
  const tokens = [
    ...set.samples.map((r) => ({ full: fullWords(r), test: false, ref: false })),
    ...set.test.map((r) => ({ full: fullWords(r), test: true, ref: false })),
    ...set.train.map((r) => ({ full: fullWords(r), test: false, ref: true })),
  ];
  writeFileSync(path.join(dir, 'tokens.jsonl'), tokens.map((t) => JSON.stringify(t)).join('\n') + '\n');

  const ours = run('tsx', [
    path.join(ROOT, 'bench/dedup-run.ts'),
    ...['samples.jsonl', 'train.jsonl', 'test.jsonl', 'dedup.json', 'ours.json'].map((f) =>
      path.join(dir, f),
    ),
  ]);
  const rensaWall = run(
    python,
    [
      path.join(ROOT, 'bench/dedup_rensa.py'),
      ...['tokens.jsonl', 'rensa.json'].map((f) => path.join(dir, f)),
      String(dedup.numPerm),
      String(dedup.threshold),
      String(dedup.shingleSize),
      String(dedup.bands),
    ],
    { RAYON_NUM_THREADS: '1' },
  );
  const rs = JSON.parse(readFileSync(path.join(dir, 'rensa.json'), 'utf8')) as Reference;
  const theirs = run(python, [
    path.join(ROOT, 'bench/dedup_datasketch.py'),
    ...['tokens.jsonl', 'datasketch.json'].map((f) => path.join(dir, f)),
    String(dedup.numPerm),
    String(dedup.threshold),
    String(dedup.shingleSize),
  ]);
  const o = JSON.parse(readFileSync(path.join(dir, 'ours.json'), 'utf8')) as {
    seconds: number;
    cpuSeconds: number;
    kept: number;
    thresholds: { threshold: number; rougeLThreshold: number };
    calibration: object | null;
    templates: number;
    peakRssMB: number;
    drops: object;
    timings: object;
    dropped: Partial<Record<string, number[]>>;
  };
  const d = JSON.parse(readFileSync(path.join(dir, 'datasketch.json'), 'utf8')) as Reference & {
    bands: number;
    rows: number;
  };

  // neighbours among the samples (ids < size) and in the test and train splits (ids >= size), at the
  // threshold curation used (calibrated on the train split, never below the configured one)
  const truth = exactNeighbours(
    tokens.map((t) => t.full),
    sampleIds,
    dedup.shingleSize,
    o.thresholds.threshold,
  );
  // rensa and datasketch run at the configured threshold: scored against the truth at that one
  const truthAt = (t: number) =>
    t === o.thresholds.threshold
      ? truth
      : exactNeighbours(
          tokens.map((x) => x.full),
          sampleIds,
          dedup.shingleSize,
          t,
        );
  const by = (...reasons: string[]) => new Set(reasons.flatMap((r) => o.dropped[r] ?? []));
  const ourDropped = by(...Object.keys(o.dropped));
  const ourScore = scoreDrops(truth, {
    // greedy near-duplicate filtering compares with the samples still live at that step: those ROUGE-L
    // drops afterwards count as kept
    dropped: by('exact-duplicate', 'test-ngram-overlap', 'test-near-duplicate', 'near-duplicate'),
    any: ourDropped,
    caught: by('exact-duplicate', 'near-duplicate', 'test-near-duplicate', 'test-ngram-overlap'),
    byJaccard: by('exact-duplicate', 'near-duplicate', 'test-near-duplicate'),
  });
  const referenceScore = (r: Reference) => {
    const dropped = new Set(r.dropped);
    return scoreDrops(truthAt(dedup.threshold), {
      dropped,
      any: dropped,
      caught: dropped,
      byJaccard: dropped,
    });
  };
  const rsScore = referenceScore(rs);
  const dsScore = referenceScore(d);
  const line = {
    samples: size,
    seconds: round(o.seconds, 2),
    peakRssMB: Math.round(o.peakRssMB),
    datasketchSeconds: round(d.seconds, 2),
    speedup: round(d.seconds / o.seconds, 2),
    rensaSeconds: round(rs.seconds, 2),
    rensaSpeedup: round(rs.seconds / o.seconds, 2),
    recall: round(ourScore.recall, 4),
    precision: round(ourScore.precision, 4),
    recallAnyReason: round(ourScore.anyReason, 4),
    truthRecords: ourScore.truth,
    kept: o.kept,
    drops: o.drops,
    steps: o.timings,
    cpuSeconds: round(o.cpuSeconds, 2),
    // ours runs on every core (two here), rensa on one: the CPU-time ratio beside the wall-time one
    rensaCpuRatio: round(rs.cpuSeconds / o.cpuSeconds, 2),
    rensa: {
      kept: rs.kept,
      cpuSeconds: round(rs.cpuSeconds, 2),
      threads: 1,
      bands: dedup.bands,
      recall: round(rsScore.recall, 4),
      precision: round(rsScore.precision, 4),
    },
    datasketch: {
      kept: d.kept,
      bands: d.bands,
      rows: d.rows,
      cpuSeconds: round(d.cpuSeconds, 2),
      recall: round(dsScore.recall, 4),
      precision: round(dsScore.precision, 4),
    },
    wallSeconds: { ours: round(ours, 1), rensa: round(rensaWall, 1), datasketch: round(theirs, 1) },
    curation: {
      templates: dedup.templates,
      thresholds: dedup.thresholds,
      trainRecords: set.train.length,
      templatesFound: o.templates,
      used: o.thresholds,
      calibration: o.calibration,
    },
    loadAverage: loadavg().map((x) => round(x, 1)),
  };
  console.log(JSON.stringify(line));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

interface Reference {
  seconds: number;
  cpuSeconds: number;
  kept: number;
  /** the samples it dropped */
  dropped: number[];
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, ...env },
  });
  if (r.status !== 0)
    throw new Error(
      `${cmd} ${args[0]} failed with status ${r.status}${r.error ? `: ${r.error.message}` : ''}`,
    );
  return (performance.now() - t) / 1000;
}

/** The tools folder's venv (scripts/tools-env.sh: $LLAMADUO_TOOLS, else <repo>/.tools), with datasketch and rensa. */
function findPython(): string {
  const tools = process.env.LLAMADUO_TOOLS ?? path.join(ROOT, '.tools');
  const p = path.join(tools, 'venv/bin/python');
  if (!existsSync(p)) throw new Error(`no Python at ${p}: run scripts/setup.sh, or pass --python`);
  if (spawnSync(p, ['-c', 'import datasketch, rensa'], { stdio: 'ignore' }).status !== 0)
    throw new Error(`${p} lacks datasketch or rensa: ${p} -m pip install -r bench/requirements.txt`);
  return p;
}

function round(x: number, digits: number): number {
  return Number(x.toFixed(digits));
}

function shingleStrings(text: string, k: number): Set<string> {
  const w = text ? text.split(' ') : [];
  const out = new Set<string>();
  if (w.length === 0) return out;
  const span = Math.min(k, w.length);
  for (let i = 0; i + span <= w.length; i++) out.add(w.slice(i, i + span).join(' '));
  return out;
}

/** For each sampled record, every other record with exact Jaccard >= threshold (overlap counting). */
function exactNeighbours(
  texts: string[],
  sampleIds: number[],
  k: number,
  threshold: number,
): Map<number, Set<number>> {
  const sampleSets = sampleIds.map((i) => shingleStrings(texts[i]!, k));
  const postings = new Map<string, number[]>();
  sampleSets.forEach((s, si) => {
    for (const sh of s) {
      const list = postings.get(sh);
      if (list) list.push(si);
      else postings.set(sh, [si]);
    }
  });
  const truth = new Map<number, Set<number>>(sampleIds.map((i) => [i, new Set<number>()]));
  const counts = new Int32Array(sampleIds.length);
  const touched: number[] = [];
  for (let j = 0; j < texts.length; j++) {
    const s = shingleStrings(texts[j]!, k);
    for (const sh of s) {
      const list = postings.get(sh);
      if (!list) continue;
      for (const si of list) if ((counts[si] = counts[si]! + 1) === 1) touched.push(si);
    }
    for (const si of touched) {
      const inter = counts[si]!;
      counts[si] = 0;
      const i = sampleIds[si]!;
      if (i !== j && inter / (sampleSets[si]!.size + s.size - inter) >= threshold) truth.get(i)!.add(j);
    }
    touched.length = 0;
  }
  return truth;
}

/**
 * Scored on what each side dropped, for the sampled records, as greedy filtering defines it: a record
 * must be dropped when it has a near-duplicate (exact Jaccard of the string shingles >= the threshold) in
 * the train or test split, or among the earlier samples that side had not `dropped` by its Jaccard step. Recall: of those, the share
 * dropped by `caught` (ours: the Jaccard steps and the n-gram decontamination, not ROUGE-L;
 * `anyReason`: dropped at all). Precision: of the sampled records dropped by `byJaccard` (ours: exact,
 * near-duplicate, test-near-duplicate), the share with an earlier or train/test near-duplicate.
 */
function scoreDrops(
  truth: Map<number, Set<number>>,
  side: { dropped: Set<number>; any: Set<number>; caught: Set<number>; byJaccard: Set<number> },
) {
  let should = 0;
  let caught = 0;
  let any = 0;
  let droppedSampled = 0;
  let justified = 0;
  for (const [i, nb] of truth) {
    const required = [...nb].some((j) => j >= size || (j < i && !side.dropped.has(j)));
    if (required) {
      should++;
      if (side.caught.has(i)) caught++;
      if (side.any.has(i)) any++;
    }
    if (side.byJaccard.has(i)) {
      droppedSampled++;
      if ([...nb].some((j) => j < i || j >= size)) justified++;
    }
  }
  return {
    recall: should ? caught / should : 1,
    anyReason: should ? any / should : 1,
    precision: droppedSampled ? justified / droppedSampled : 1,
    truth: should,
  };
}
