// One stored judgment: enough to recompute every table without calling a judge again.
import type { LlmFailureReason } from '../llm/client';
import type { PairwiseOrder } from './judge-plan';

export interface JudgmentRecord {
  kind: 'single' | 'pairwise';
  judge: string;
  repeat: number;
  promptId: string;
  sample: number;
  /** pairwise: where the student was shown, and which teacher sample it was compared with */
  order?: PairwiseOrder;
  referenceSample?: number;
  /** single: both scores, or null when the call failed */
  scores?: { similarity: number; precision: number } | null;
  /** pairwise: the judge's verdict by position, or null when the call failed */
  verdict?: 'A' | 'B' | 'tie' | null;
  rationale: { similarity: string; precision: string } | string | null;
  tokens: { input: number; output: number; cached: number };
  /** USD */
  cost: number;
  attempts: number;
  /** present when the call failed after the client's bounded retries */
  error?: { reason: LlmFailureReason; message: string };
}
