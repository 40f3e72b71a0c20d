// What tests/storage/run.ts hands each test file: the SeaweedFS endpoint and its two identities.
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../activities/store/s3-config';
import type { S3Identity } from './seaweedfs';

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the storage tests through \`npm run test:storage\``);
  return v;
}

export const S3_TEST = {
  get endpoint() {
    return need('LLAMADUO_TEST_S3_ENDPOINT');
  },
  get admin(): S3Identity {
    return {
      accessKeyId: need('LLAMADUO_TEST_S3_ADMIN_KEY'),
      secretAccessKey: need('LLAMADUO_TEST_S3_ADMIN_SECRET'),
    };
  },
  get reader(): S3Identity {
    return {
      accessKeyId: need('LLAMADUO_TEST_S3_READER_KEY'),
      secretAccessKey: need('LLAMADUO_TEST_S3_READER_SECRET'),
    };
  },
};

/** The environment the SDKs read to reach the test server as `id` (admin by default). */
export function s3Env(id: S3Identity = S3_TEST.admin): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: S3_TEST.endpoint,
    AWS_ACCESS_KEY_ID: id.accessKeyId,
    AWS_SECRET_ACCESS_KEY: id.secretAccessKey,
    AWS_REGION: 'us-east-1',
  };
}

export function clientAs(id: S3Identity = S3_TEST.admin): S3Client {
  return createS3Client(s3Env(id));
}

/** A fresh bucket for one test file. */
export async function newBucket(label: string): Promise<string> {
  const bucket = `${label}-${randomBytes(4).toString('hex')}`.toLowerCase();
  await clientAs().send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}
