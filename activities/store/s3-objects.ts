// Single objects addressed by full s3:// URIs, outside any store prefix: dataset sources a user points at.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client, parseS3Uri } from './s3-config';
import { classifyS3Error, isNotFound } from './s3-errors';

export async function readS3Object(uri: string, client: S3Client = createS3Client()): Promise<Buffer> {
  const { bucket, prefix: key } = parseS3Uri(uri);
  if (!key) throw new Error(`${uri}: names a bucket, not an object`);
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  } catch (err) {
    if (isNotFound(err) && (err as { name?: string }).name !== 'NoSuchBucket')
      throw new Error(`${uri}: no such object`, { cause: err });
    throw classifyS3Error(err, uri, 'read');
  }
}
