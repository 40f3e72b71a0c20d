// writeReport: renders the migration's HTML report into the artifact store at the end of each run.
import type { WriteReportInput } from '../../../common/activities';
import type { ArtifactRef } from '../../../common/types';
import { reportDataFromProgress, renderReport } from '../../../report';
import { ArtifactStore } from '../../store/artifact-store';
import { loadCurationDetails } from './curation-details';
import { loadDistributions } from './distributions';

export function createReportActivities({ store }: { store: ArtifactStore }) {
  return {
    async writeReport(input: WriteReportInput): Promise<ArtifactRef> {
      const distributions = await loadDistributions(store, input.progress);
      const curation = await loadCurationDetails(store, input.progress);
      const data = reportDataFromProgress(input.progress, input.config, { distributions, curation });
      return store.writeText(ArtifactStore.key(input.migrationId, 'report.html'), renderReport(data));
    },
  };
}
