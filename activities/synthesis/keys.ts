// Deterministic artifact keys of a synthesis: a retried activity finds what an earlier attempt wrote.
import { ArtifactStore } from '../store/artifact-store';

export function shardKey(migrationId: string, cycle: number, round: number, shard: number): string {
  return ArtifactStore.key(migrationId, `cycle-${cycle}`, 'synth', `round-${round}`, `shard-${shard}.jsonl`);
}

export function shardMetaKey(migrationId: string, cycle: number, round: number, shard: number): string {
  return ArtifactStore.key(
    migrationId,
    `cycle-${cycle}`,
    'synth',
    `round-${round}`,
    `shard-${shard}.meta.json`,
  );
}

export function acceptedKey(migrationId: string, cycle: number, round: number): string {
  return ArtifactStore.key(migrationId, `cycle-${cycle}`, 'synth', `round-${round}`, 'accepted.jsonl');
}

export function curationMetaKey(migrationId: string, cycle: number, round: number): string {
  return ArtifactStore.key(migrationId, `cycle-${cycle}`, 'synth', `round-${round}`, 'curation.json');
}
