// Builds the real activity implementations from the worker's environment.
import type { AllActivities } from '../common/activities';
import { createIngestActivities } from '../activities/data/ingest/ingest-activity';
import { createPromotionActivities } from '../activities/data/promotion/promotion-activities';
import { createReportActivities } from '../activities/data/report/report-activity';
import { ArtifactStore } from '../activities/store/artifact-store';
import type { WorkerEnv } from './worker-config';

export function createActivities(env: WorkerEnv): Partial<AllActivities> {
  const store = new ArtifactStore(env.LLAMADUO_ARTIFACTS);
  return {
    ...createIngestActivities({ store }),
    ...createPromotionActivities({ store }),
    ...createReportActivities({ store }),
  };
}
