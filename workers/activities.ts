// Builds the real activity implementations from the worker's environment.
import type { AllActivities } from '../common/activities';
import { createIngestActivities } from '../activities/data/ingest/ingest-activity';
import { createPromotionActivities } from '../activities/data/promotion/promotion-activities';
import { createReportActivities } from '../activities/data/report/report-activity';
import { createEvalActivities } from '../activities/eval/eval-activities';
import { createClientRegistry, estimateUsd } from '../activities/llm/client-registry';
import { ArtifactStore } from '../activities/store/artifact-store';
import { createSynthesisDataActivities } from '../activities/synthesis/curate-synthesis';
import { createSynthesisActivities } from '../activities/synthesis/synthesize-shard';
import type { WorkerEnv } from './worker-config';

export function createActivities(
  env: WorkerEnv,
  processEnv: NodeJS.ProcessEnv = process.env,
): Partial<AllActivities> {
  const store = new ArtifactStore(env.LLAMADUO_ARTIFACTS);
  const clientFor = createClientRegistry(processEnv);
  return {
    ...createIngestActivities({ store }),
    ...createPromotionActivities({ store }),
    ...createReportActivities({ store }),
    ...createEvalActivities({ store, llm: clientFor, estimateUsd }),
    ...createSynthesisActivities({ store, llm: clientFor }),
    ...createSynthesisDataActivities({ store, estimateUsd }),
  };
}
