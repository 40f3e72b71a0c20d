// The S3-compatible artifact store (AWS S3, GCS interoperability, Cloudflare R2, SeaweedFS, MinIO…).
// Each artifact is one object under `s3://bucket/prefix/<key>`. A write is spooled to a temp file while
// its sha256, size and line count are computed, then uploaded (multipart above partSize) with those in the
// object's metadata. S3 makes an object visible only when its PUT or CompleteMultipartUpload succeeds, so a
// writer that dies mid-upload leaves nothing a reader can see; multi-object artifacts (the trainer's adapter
// and checkpoint folders) are committed by a manifest written last (k8s/trainer/CONTRACT.md).
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ArtifactRef } from '../../common/types';
import { ArtifactStore } from './artifact-store';
import { createS3Client, parseS3Uri } from './s3-config';
import { classifyS3Error, isNotFound } from './s3-errors';

export interface S3StoreOptions {
  client?: S3Client;
  /** multipart part size in bytes (S3's minimum is 5 MiB) */
  partSize?: number;
  /** parts uploaded in parallel */
  queueSize?: number;
  /** where writes are spooled before upload; default the OS temp directory */
  spoolDir?: string;
}

interface Spooled {
  file: string;
  sha256: string;
  bytes: number;
  lines: number;
}

export class S3ArtifactStore extends ArtifactStore {
  readonly location: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly spoolDir: string;
  private bucketChecked: Promise<void> | undefined;

  constructor(uri: string, opts: S3StoreOptions = {}) {
    super();
    const loc = parseS3Uri(uri);
    this.bucket = loc.bucket;
    this.prefix = loc.prefix;
    this.location = `s3://${loc.bucket}${loc.prefix ? `/${loc.prefix}` : ''}`;
    this.client = opts.client ?? createS3Client();
    this.partSize = opts.partSize ?? 16 * 1024 * 1024;
    this.queueSize = opts.queueSize ?? 4;
    this.spoolDir = opts.spoolDir ?? tmpdir();
  }

  private objectKey(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  /**
   * One HeadBucket per store: a missing bucket answers HeadObject with a bare 404 that looks like a missing
   * key, so it is told apart here, once, with an error that names the fix.
   */
  private checkBucket(): Promise<void> {
    this.bucketChecked ??= this.client.send(new HeadBucketCommand({ Bucket: this.bucket })).then(
      () => undefined,
      async (err: unknown) => {
        this.bucketChecked = undefined;
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        const status = e.$metadata?.httpStatusCode;
        if (e.name === 'NotFound' || e.name === 'NoSuchBucket' || status === 404)
          throw classifyS3Error({ ...e, name: 'NoSuchBucket' }, this.location, 'open');
        // A HEAD answer has no body: a 403 could be a bad signature or a missing permission. A one-key
        // listing (a GET, whose error names its code) tells them apart, and may well be allowed.
        if (status !== 403) throw classifyS3Error(err, this.location, 'open');
        try {
          await this.client.send(
            new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, MaxKeys: 1 }),
          );
        } catch (listErr) {
          throw classifyS3Error(listErr, this.location, 'open');
        }
      },
    );
    return this.bucketChecked;
  }

  private async head(key: string) {
    await this.checkBucket();
    try {
      return await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw classifyS3Error(err, this.runnerPath(key), 'head');
    }
  }

  async isFile(key: string): Promise<boolean> {
    return !!(await this.head(this.toKey(key)));
  }

  async find(key: string, opts: { countLines?: boolean } = {}): Promise<ArtifactRef | null> {
    const k = this.toKey(key);
    const head = await this.head(k);
    if (!head) return null;
    return this.refFromHead(k, head, opts.countLines ?? k.endsWith('.jsonl'));
  }

  async refOf(key: string, countLines: boolean): Promise<ArtifactRef> {
    const k = this.toKey(key);
    const head = await this.head(k);
    if (!head) throw new Error(`${this.runnerPath(k)}: no such artifact`);
    return this.refFromHead(k, head, countLines);
  }

  private async refFromHead(
    key: string,
    head: { Metadata?: Record<string, string>; ContentLength?: number },
    countLines: boolean,
  ): Promise<ArtifactRef> {
    const meta = head.Metadata ?? {};
    if (meta.sha256 && (!countLines || meta.lines !== undefined)) {
      const ref: ArtifactRef = { uri: this.uri(key), sha256: meta.sha256, bytes: head.ContentLength ?? 0 };
      if (countLines) ref.count = Number(meta.lines);
      return ref;
    }
    // An object another tool wrote (no metadata): hash it by reading it once.
    const hash = createHash('sha256');
    let bytes = 0;
    let lines = 0;
    for await (const chunk of await this.readStream(key)) {
      const buf = chunk as Buffer;
      hash.update(buf);
      bytes += buf.length;
      if (countLines) for (let i = 0; i < buf.length; i++) if (buf[i] === 10) lines++;
    }
    const ref: ArtifactRef = { uri: this.uri(key), sha256: hash.digest('hex'), bytes };
    if (countLines) ref.count = lines;
    return ref;
  }

  private async spool(chunks: Iterable<string | Buffer> | AsyncIterable<string | Buffer>): Promise<Spooled> {
    const dir = await mkdtemp(path.join(this.spoolDir, 'llamaduo-s3-'));
    const file = path.join(dir, randomUUID());
    const hash = createHash('sha256');
    let bytes = 0;
    let lines = 0;
    const out = createWriteStream(file);
    try {
      for await (const chunk of chunks) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        hash.update(buf);
        bytes += buf.length;
        for (let i = 0; i < buf.length; i++) if (buf[i] === 10) lines++;
        if (!out.write(buf)) await new Promise<void>((resolve) => out.once('drain', resolve));
      }
      out.end();
      await finished(out);
    } catch (err) {
      out.destroy();
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return { file, sha256: hash.digest('hex'), bytes, lines };
  }

  async write(
    key: string,
    chunks: Iterable<string | Buffer> | AsyncIterable<string | Buffer>,
    count?: number,
  ): Promise<ArtifactRef> {
    const k = this.toKey(key);
    await this.checkBucket();
    const spooled = await this.spool(chunks);
    try {
      await this.uploadFile(k, spooled);
    } finally {
      await rm(path.dirname(spooled.file), { recursive: true, force: true });
    }
    const ref: ArtifactRef = { uri: this.uri(k), sha256: spooled.sha256, bytes: spooled.bytes };
    if (count !== undefined) ref.count = count;
    return ref;
  }

  private async uploadFile(key: string, s: Spooled): Promise<void> {
    const upload = new Upload({
      client: this.client,
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
      params: {
        Bucket: this.bucket,
        Key: this.objectKey(key),
        Body: createReadStream(s.file),
        ContentLength: s.bytes,
        ContentType: contentType(key),
        Metadata: { sha256: s.sha256, bytes: String(s.bytes), lines: String(s.lines) },
      },
    });
    try {
      await upload.done();
    } catch (err) {
      throw classifyS3Error(err, this.runnerPath(key), 'upload');
    }
  }

  async readStream(keyOrUri: string): Promise<Readable> {
    const k = this.toKey(keyOrUri);
    await this.checkBucket();
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(k) }),
      );
      return verified(out.Body as Readable, out.Metadata?.sha256, this.runnerPath(k));
    } catch (err) {
      if (isNotFound(err)) throw new Error(`${this.runnerPath(k)}: no such artifact`, { cause: err });
      throw classifyS3Error(err, this.runnerPath(k), 'read');
    }
  }

  async list(prefix: string): Promise<string[]> {
    const p = this.toKey(prefix);
    await this.checkBucket();
    const base = `${this.objectKey(p)}/`;
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    const out: string[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, ContinuationToken: token }),
        );
      } catch (err) {
        throw classifyS3Error(err, this.runnerPath(p), 'list');
      }
      for (const o of page.Contents ?? []) if (o.Key) out.push(o.Key.slice(strip));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }

  async remove(keyOrUri: string): Promise<void> {
    const k = this.toKey(keyOrUri);
    await this.checkBucket();
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(k) }));
    } catch (err) {
      if (!isNotFound(err)) throw classifyS3Error(err, this.runnerPath(k), 'delete');
    }
  }

  /** A conditional PUT (If-None-Match: *): the server refuses it with 412 when the key already exists. */
  async createExclusive(key: string, text: string): Promise<boolean> {
    await this.checkBucket();
    const body = Buffer.from(text);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          Body: body,
          IfNoneMatch: '*',
          ContentType: contentType(key),
          Metadata: { sha256, bytes: String(body.length), lines: String(lines) },
        }),
      );
      return true;
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 412 || (err as { name?: string }).name === 'PreconditionFailed') return false;
      throw classifyS3Error(err, this.runnerPath(key), 'upload');
    }
  }
}

/**
 * The object's bytes, checked as they stream against the sha256 it was committed with (GetObject returns the
 * metadata with the body, so this costs no request): a damaged or half-replaced object ends the stream with
 * an error instead of handing a reader wrong records. Objects other tools wrote carry no sha256 and pass.
 */
function verified(body: Readable, want: string | undefined, where: string): Readable {
  if (!want) return body;
  const hash = createHash('sha256');
  const checked = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done) {
      const got = hash.digest('hex');
      done(got === want ? null : new Error(`${where}: sha256 ${got} does not match committed ${want}`));
    },
  });
  body.on('error', (err) => checked.destroy(err));
  return body.pipe(checked);
}

function contentType(key: string): string {
  if (key.endsWith('.json')) return 'application/json';
  if (key.endsWith('.jsonl')) return 'application/jsonl';
  if (key.endsWith('.html')) return 'text/html; charset=utf-8';
  return 'application/octet-stream';
}
