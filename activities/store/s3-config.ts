// Where an S3-compatible store is and how to talk to it, from the environment the AWS SDKs read. Credentials
// are never read here: the SDK's default chain finds them (environment, shared config/credentials files,
// IRSA / web identity, container and instance metadata), so they never pass through workflow input or logs.
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export interface S3Location {
  bucket: string;
  /** key prefix without leading or trailing slashes; '' for the bucket root */
  prefix: string;
}

/** Parses `s3://bucket[/prefix]`. */
export function parseS3Uri(uri: string): S3Location {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1]!))
    throw new Error(`${uri}: not an S3 URI (expected s3://<bucket>[/<prefix>] with a valid bucket name)`);
  return { bucket: m[1]!, prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

export function isS3Uri(s: string): boolean {
  return s.startsWith('s3://');
}

/**
 * Client settings: endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (SeaweedFS, MinIO, R2, GCS's
 * https://storage.googleapis.com), region from AWS_REGION / AWS_DEFAULT_REGION, path-style addressing
 * when an endpoint is set unless LLAMADUO_S3_PATH_STYLE=0.
 */
export function s3ClientConfig(env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const pathStyle = env.LLAMADUO_S3_PATH_STYLE ? env.LLAMADUO_S3_PATH_STYLE !== '0' : !!endpoint;
  return {
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: pathStyle,
    // AWS itself: a bucket in another region than AWS_REGION (an IRSA pod gets its cluster's) is followed
    ...(endpoint ? {} : { followRegionRedirects: true }),
    // Several S3-compatible servers reject the newer default CRC checksums; send them only when required.
    ...(endpoint
      ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
      : {}),
    maxAttempts: Number(env.LLAMADUO_S3_MAX_ATTEMPTS ?? 3),
    // An explicit environment (a worker built with its own env) carries its keys; otherwise the default chain.
    ...(env !== process.env && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          credentials: {
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {}),
  };
}

/** The non-secret S3 settings a trainer Job gets from the worker (never keys: those come from a Secret
 * or the pod's cloud identity). */
export function s3TrainerEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const names = [
    'AWS_ENDPOINT_URL_S3',
    'AWS_ENDPOINT_URL',
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
    'LLAMADUO_S3_PATH_STYLE',
  ];
  return Object.fromEntries(names.filter((n) => env[n]).map((n) => [n, env[n]!]));
}

export function createS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  return new S3Client(s3ClientConfig(env));
}
