// Picks the artifact store backend from its location: `s3://bucket/prefix` is object storage, anything
// else a local directory (LLAMADUO_ARTIFACTS, default .llamaduo/artifacts).
import type { ArtifactStore } from './artifact-store';
import { LocalArtifactStore } from './local-store';
import { createS3Client, isS3Uri } from './s3-config';
import { S3ArtifactStore } from './s3-store';

export function openArtifactStore(location: string, env: NodeJS.ProcessEnv = process.env): ArtifactStore {
  if (isS3Uri(location)) return new S3ArtifactStore(location, { client: createS3Client(env) });
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location) && !location.startsWith('file://'))
    throw new Error(
      `LLAMADUO_ARTIFACTS=${location}: unsupported store (use a directory or s3://bucket/prefix; ` +
        `GCS and R2 work through their S3 endpoints, see docs/artifact-store.md)`,
    );
  return new LocalArtifactStore(location.replace(/^file:\/\//, ''));
}

/** The store a CLI or worker process uses: LLAMADUO_ARTIFACTS, else <LLAMADUO_HOME>/artifacts. */
export function storeFromEnv(env: NodeJS.ProcessEnv = process.env): ArtifactStore {
  return openArtifactStore(env.LLAMADUO_ARTIFACTS ?? `${env.LLAMADUO_HOME ?? '.llamaduo'}/artifacts`, env);
}
