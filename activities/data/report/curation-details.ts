// Curation details for the report, read back from the curation.json each synthesis round wrote beside
// its accepted.jsonl: templates and thresholds of the last round, example drops of all rounds.
import type { Progress } from '../../../common/progress';
import type { CurationDetails } from '../../../report';
import type { ArtifactStore } from '../../store/artifact-store';

const MAX_EXAMPLES = 3;

/** Keyed by the cycle whose evaluation the synthesis followed (forCycle - 1), as the report's cycles. */
export async function loadCurationDetails(
  store: ArtifactStore,
  progress: Progress,
): Promise<Record<number, CurationDetails>> {
  const out: Record<number, CurationDetails> = {};
  for (const s of progress.syntheses) {
    const m = s.dataset?.uri.match(/^(.*\/round-)(\d+)\/accepted\.jsonl$/);
    if (!m) continue;
    let details = null as CurationDetails | null;
    for (let round = 0; round <= Number(m[2]); round++) {
      const uri = `${m[1]}${round}/curation.json`;
      if (!(await store.find(store.keyOf(uri), { countLines: false }))) continue;
      const meta = await store.readJson<Partial<CurationDetails>>(store.keyOf(uri));
      if (!meta.thresholds) continue; // written before curation recorded details
      const examples: CurationDetails['examples'] = { ...(details?.examples ?? {}) };
      for (const [reason, list] of Object.entries(meta.examples ?? {}))
        examples[reason] = [...(examples[reason] ?? []), ...list].slice(0, MAX_EXAMPLES);
      details = {
        thresholds: meta.thresholds,
        calibration: meta.calibration ?? null,
        templates: meta.templates ?? [],
        examples,
      };
    }
    if (details) out[s.forCycle - 1] = details;
  }
  return out;
}
