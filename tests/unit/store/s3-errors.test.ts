import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { s3ClientConfig } from '../../../activities/store/s3-config';
import { classifyS3Error, STORE_FAILURE_TYPES } from '../../../activities/store/s3-errors';

const uri = 's3://bucket/prefix/key.json';

describe('S3 error classification', () => {
  it('an expired session token is retried (the SDK refreshes IRSA / Workload Identity credentials)', () => {
    for (const name of ['ExpiredToken', 'TokenRefreshRequired', 'RequestExpired']) {
      const err = classifyS3Error({ name, $metadata: { httpStatusCode: 400 } }, uri, 'read');
      assert.ok(!(err instanceof ApplicationFailure && err.nonRetryable), `${name} must stay retryable`);
    }
  });

  it('a wrong key is final and names the variables to fix', () => {
    const err = classifyS3Error(
      { name: 'InvalidAccessKeyId', $metadata: { httpStatusCode: 403 } },
      uri,
      'read',
    );
    assert.ok(err instanceof ApplicationFailure && err.nonRetryable);
    assert.equal((err as ApplicationFailure).type, STORE_FAILURE_TYPES.credentials);
  });

  it('follows region redirects on AWS itself, not against a custom endpoint', () => {
    assert.equal(s3ClientConfig({ AWS_REGION: 'eu-west-1' }).followRegionRedirects, true);
    assert.equal(
      s3ClientConfig({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:8333' }).followRegionRedirects,
      undefined,
    );
  });
});
