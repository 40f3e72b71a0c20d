// S3 failures in Temporal's terms: configuration problems (missing bucket, wrong or missing credentials,
// access denied) do not get better by retrying, so they are non-retryable and say what to fix; throttling,
// 5xx and network timeouts stay plain errors that the activity retry policy retries.
import { ApplicationFailure } from '@temporalio/common';

interface SdkError {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

// Expired session tokens (ExpiredToken, TokenRefreshRequired, RequestExpired) are left out on purpose: under
// IRSA / Workload Identity the SDK refreshes its credentials on the next call, so a retry succeeds.
const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'AuthorizationHeaderMalformed',
]);

export const STORE_FAILURE_TYPES = {
  bucket: 'ArtifactStoreBucketMissing',
  credentials: 'ArtifactStoreCredentials',
  denied: 'ArtifactStoreAccessDenied',
} as const;

/** The error to throw for a failed S3 call on `uri`. */
export function classifyS3Error(err: unknown, uri: string, op: string): Error {
  if (err instanceof ApplicationFailure) return err;
  const e = (err ?? {}) as SdkError;
  const code = e.Code ?? e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const what = `${op} ${uri}`;
  if (code === 'NoSuchBucket')
    return ApplicationFailure.nonRetryable(
      `${what}: the bucket does not exist. Create it, or point LLAMADUO_ARTIFACTS at an existing bucket ` +
        `(and AWS_ENDPOINT_URL_S3 at the right server for non-AWS storage).`,
      STORE_FAILURE_TYPES.bucket,
    );
  if (CREDENTIAL_CODES.has(code) || e.name === 'CredentialsProviderError')
    return ApplicationFailure.nonRetryable(
      `${what}: the S3 credentials were rejected or not found (${code}). Set AWS_ACCESS_KEY_ID / ` +
        `AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the pod's IRSA / Workload Identity role for this endpoint.`,
      STORE_FAILURE_TYPES.credentials,
    );
  if (code === 'AccessDenied' || code === 'Forbidden' || status === 403)
    return ApplicationFailure.nonRetryable(
      `${what}: access denied (403). Grant the credentials' identity s3:GetObject, s3:PutObject, ` +
        `s3:DeleteObject and s3:ListBucket on this bucket and prefix.`,
      STORE_FAILURE_TYPES.denied,
    );
  const detail = e.message || code || String(err);
  const out = new Error(`${what}: ${detail}${status ? ` (HTTP ${status})` : ''}`, { cause: err });
  out.name = code && code !== 'Error' ? `S3${code}` : 'S3Error';
  return out;
}

export function isNotFound(err: unknown): boolean {
  const e = (err ?? {}) as SdkError;
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}
