// What the study report reads beyond the study's own progress: per cell, the per-sample scores of each cycle
// (Figure 3), the token statistics of its data (Table 4) and what its break-even needs (Table 2 / Figure 4).
// Gathered from the child migrations and the artifact store by client/study-data.ts.
import type { ServiceModel } from '../common/config';
import type { EconomicsConfig } from '../common/economics';
import type { TokenStats } from './token-stats';

/** One judge's per-sample scores of one cycle's student (mean over the K repeats). */
export interface CellScores {
  cycle: number;
  syntheticSamples: number;
  judge: string;
  similarity: number[];
  precision: number[];
}

export interface DataTokenRow {
  dataset: 'coverage-train' | 'coverage-test' | 'synthetic';
  /** the cycle whose training set a synthetic dataset grew; null for the coverage splits */
  cycle: number | null;
  /** the artifact's digest: cells that share a split show it once */
  sha256: string;
  stats: TokenStats;
}

export interface CellData {
  key: string;
  scores: CellScores[];
  tokens: DataTokenRow[];
  /** the cell's data generator as configured (its price override included) */
  generatorModel: ServiceModel | null;
  economics: EconomicsConfig | null;
  /** fine-tune seconds over the cell's cycles */
  fineTuneSeconds: number;
}

export interface StudyData {
  cells: CellData[];
}
