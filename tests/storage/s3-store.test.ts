// The S3 artifact store against a real S3 server (SeaweedFS): every kind of artifact the pipeline writes
// round-trips with the same reference (sha256, bytes, count) the local store gives for the same content,
// large files go up in parts, and configuration errors are non-retryable and name the URI and the fix.
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { createIngestActivities } from '../../activities/data/ingest/ingest-activity';
import { createPromotionActivities } from '../../activities/data/promotion/promotion-activities';
import { readRecords, SyntheticSampleSchema } from '../../activities/data/curation/read-records';
import { dropCheckpoint } from '../../activities/eval/resumable-run';
import { shardKey, shardMetaKey } from '../../activities/synthesis/keys';
import { stepKeys } from '../../activities/gpu/names';
import { ArtifactStore } from '../../activities/store/artifact-store';
import { LocalArtifactStore } from '../../activities/store/local-store';
import { openArtifactStore } from '../../activities/store/open-store';
import { S3ArtifactStore } from '../../activities/store/s3-store';
import { STORE_FAILURE_TYPES } from '../../activities/store/s3-errors';
import { SplitConfig } from '../../common/config';
import { dollyRecords } from '../unit/curation/real-records';
import { clientAs, newBucket, s3Env, S3_TEST } from './env';

let bucket: string;
let dir: string;
let s3: S3ArtifactStore;
let local: LocalArtifactStore;

before(async () => {
  bucket = await newBucket('store');
  dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-s3-store-'));
  s3 = new S3ArtifactStore(`s3://${bucket}/team/llamaduo`, { client: clientAs(), partSize: 5 * 1024 * 1024 });
  local = new LocalArtifactStore(path.join(dir, 'local'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Writes the same artifact into both stores and checks S3 gives the local store's reference back. */
async function bothWrite(write: (store: ArtifactStore) => Promise<unknown>): Promise<void> {
  await write(local);
  await write(s3);
}

async function sameRef(key: string): Promise<void> {
  const want = await local.find(key);
  assert.ok(want, `local store lacks ${key}`);
  assert.deepEqual(await s3.find(key), want, key);
  assert.deepEqual(await s3.readBytes(key), await local.readBytes(key), key);
}

describe('S3 artifact store round-trips', () => {
  it('ingests a coverage dataset (train/test splits + ingest.json) from a local file and from s3://', async () => {
    const records = dollyRecords(120);
    const file = path.join(dir, 'coverage.jsonl');
    const body = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    await writeFile(file, body);
    const source = `s3://${bucket}/inputs/coverage.jsonl`;
    await clientAs().send(new PutObjectCommand({ Bucket: bucket, Key: 'inputs/coverage.jsonl', Body: body }));
    const split = SplitConfig.parse({});
    const fromFile = await createIngestActivities({ store: local }).ingestCoverage({
      migrationId: 'm1',
      dataset: { path: file, maxRecordChars: 20_000 },
      split,
    } as never);
    const fromS3 = await createIngestActivities({ store: s3 }).ingestCoverage({
      migrationId: 'm1',
      dataset: { path: source, maxRecordChars: 20_000 },
      split,
    } as never);
    assert.deepEqual(fromS3.categories, fromFile.categories);
    assert.equal(fromS3.train.count! + fromS3.test.count!, 120);
    // The same split; each record's provenance names its source (the local file or the s3:// URI).
    type Rec = { id: string; provenance: { file: string; line: number } };
    for (const name of ['train.jsonl', 'test.jsonl']) {
      const a = await local.readAllJsonl<Rec>(`m1/data/${name}`);
      const b = await s3.readAllJsonl<Rec>(`m1/data/${name}`);
      assert.deepEqual(
        b.map((r) => [r.id, r.provenance.line]),
        a.map((r) => [r.id, r.provenance.line]),
      );
      assert.ok(b.every((r) => r.provenance.file === source));
      const ref = (await s3.find(`m1/data/${name}`))!;
      assert.deepEqual(ref, name === 'train.jsonl' ? fromS3.train : fromS3.test);
    }
    const report = await s3.readJson<{ source: string }>('m1/data/ingest.json');
    assert.equal(report.source, source);
  });

  it('synthesis shards, their metadata and a dropped checkpoint', async () => {
    const samples = dollyRecords(30, 200).map((r, i) => ({
      id: `syn-${i}`,
      category: r.category,
      seedId: r.id,
      teacher: 'openai/gpt-4o',
      cycle: 1,
      round: 0,
      shard: 3,
      promptHash: createHash('sha256').update(r.instruction).digest('hex').slice(0, 16),
      messages: [
        { role: 'user', content: r.instruction },
        { role: 'assistant', content: r.response },
      ],
    }));
    const key = shardKey('m1', 1, 0, 3);
    await bothWrite((st) => st.writeJsonl(key, samples));
    await bothWrite((st) => st.writeJson(shardMetaKey('m1', 1, 0, 3), { generated: samples.length }));
    await sameRef(key);
    await sameRef(shardMetaKey('m1', 1, 0, 3));
    const ref = (await s3.find(key))!;
    assert.equal(ref.count, 30);
    const parsed = await readRecords(s3, ref.uri, SyntheticSampleSchema);
    assert.equal(parsed.length, 30);
    const ckpt = key.replace(/\.jsonl$/, '.partial.jsonl');
    await s3.writeJsonl(ckpt, samples.slice(0, 5));
    assert.ok(await s3.find(ckpt));
    await dropCheckpoint(s3, ckpt);
    assert.equal(await s3.find(ckpt), null);
  });

  it('generations, judgments, the report and the promotion registry', async () => {
    const gens = Array.from({ length: 50 }, (_, i) => ({
      promptId: `p${i}`,
      sample: 0,
      text: `answer ${i}`,
    }));
    await bothWrite((st) => st.writeJsonl('m1/cycle-1/generate/out/generations.jsonl', gens));
    await bothWrite((st) =>
      st.writeJsonl('m1/cycle-1/eval/x/judgments.jsonl', [{ score: 88 }, { score: 71 }]),
    );
    await bothWrite((st) => st.writeText('m1/report.html', '<!doctype html><title>report ✓</title>\n'));
    for (const k of [
      'm1/cycle-1/generate/out/generations.jsonl',
      'm1/cycle-1/eval/x/judgments.jsonl',
      'm1/report.html',
    ])
      await sameRef(k);
    assert.equal((await s3.find('m1/cycle-1/generate/out/generations.jsonl'))!.count, 50);
    const promo = createPromotionActivities({ store: s3, now: () => new Date('2026-01-01T00:00:00Z') });
    assert.equal(await promo.readPromoted('prod'), null);
    const adapter = (await s3.find('m1/report.html'))!;
    const input = {
      channel: 'prod',
      migrationId: 'm1',
      cycle: 1,
      adapter,
      baseModel: 'builtin:tiny-random-llama',
      score: 0.9,
      comparison: null,
    };
    const promoted = await promo.promote(input as never);
    assert.deepEqual(await promo.readPromoted('prod'), promoted);
  });

  it('promotion is a compare-and-swap on S3 too: of two runs that compared against one version, one wins', async () => {
    const promo = createPromotionActivities({ store: s3 });
    const adapter = (await s3.find('m1/report.html'))!;
    const base = {
      channel: 'cas',
      cycle: 1,
      adapter,
      baseModel: 'builtin:tiny-random-llama',
      comparison: null,
    };
    const outcomes = await Promise.allSettled([
      promo.promote({ ...base, migrationId: 'run-a', score: 0.7, expectedVersion: 0 } as never),
      promo.promote({ ...base, migrationId: 'run-b', score: 0.8, expectedVersion: 0 } as never),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    assert.equal(won.length, 1, 'exactly one of two racing promotions commits');
    assert.equal(((lost[0] as PromiseRejectedResult).reason as ApplicationFailure).type, 'PromotionConflict');
    assert.equal((await promo.readPromoted('cas'))!.version, 1);
    assert.equal(await s3.createExclusive('cas-probe.json', '{}\n'), true);
    assert.equal(await s3.createExclusive('cas-probe.json', '{"again":1}\n'), false);
    assert.equal(await s3.readText('cas-probe.json'), '{}\n');
  });

  it('a trainer output directory (adapter files + large weights in parts) gets the same tree reference', async () => {
    const weights = randomBytes(12 * 1024 * 1024 + 123);
    const keys = stepKeys({ migrationId: 'm1', cycle: 1, step: 'finetune' });
    const files: [string, string | Buffer][] = [
      ['adapter/adapter_config.json', '{"r": 8}\n'],
      ['adapter/tokenizer.json', '{"model": {}}\n'],
      ['adapter/adapter_model.safetensors', weights],
    ];
    for (const [name, body] of files) await bothWrite((st) => st.write(`${keys.output}/${name}`, [body]));
    const want = await local.pathRef(`${keys.output}/adapter`);
    assert.ok(want);
    assert.deepEqual(await s3.pathRef(`${keys.output}/adapter`), want);
    const big = await s3.find(`${keys.output}/adapter/adapter_model.safetensors`);
    assert.equal(big!.sha256, createHash('sha256').update(weights).digest('hex'));
    // Multipart objects get an ETag of the form <md5-of-part-md5s>-<parts>.
    const head = await s3.client.send(
      new HeadObjectCommand({
        Bucket: bucket,
        Key: `team/llamaduo/${keys.output}/adapter/adapter_model.safetensors`,
      }),
    );
    assert.match(head.ETag ?? '', /-3"?$/, `expected 3 parts, ETag ${head.ETag}`);
    assert.deepEqual(
      await s3.list(`${keys.output}/adapter`),
      files.map(([n]) => `${keys.output}/${n}`).sort(),
    );
    assert.equal(await s3.pathRef(`${keys.output}/nothing`), null);
  });

  it('checks content (whole and streamed reads) against the committed sha256 and hashes objects other tools wrote', async () => {
    await clientAs().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'team/llamaduo/m2/foreign.jsonl',
        Body: '{"a":1}\n{"a":2}\n',
      }),
    );
    const ref = await s3.find('m2/foreign.jsonl');
    assert.equal(ref!.count, 2);
    assert.equal(ref!.sha256, createHash('sha256').update('{"a":1}\n{"a":2}\n').digest('hex'));
    await clientAs().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'team/llamaduo/m2/tampered.json',
        Body: '{"x": 2}\n',
        Metadata: { sha256: createHash('sha256').update('{"x": 1}\n').digest('hex') },
      }),
    );
    await assert.rejects(s3.readJson('m2/tampered.json'), /does not match committed/);
    // Streamed reads (datasets, generations) are checked too: the records of a damaged object never all arrive.
    const good = '{"i":1}\n{"i":2}\n';
    await clientAs().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'team/llamaduo/m2/tampered.jsonl',
        Body: '{"i":1}\n{"i":3}\n',
        Metadata: { sha256: createHash('sha256').update(good).digest('hex') },
      }),
    );
    await assert.rejects(
      s3.readAllJsonl('m2/tampered.jsonl'),
      /m2\/tampered\.jsonl: sha256 [0-9a-f]+ does not match committed/,
    );
  });

  it('openArtifactStore picks S3 for s3:// and the endpoint from AWS_ENDPOINT_URL_S3', async () => {
    const store = openArtifactStore(`s3://${bucket}/team/llamaduo`, { ...process.env, ...s3Env() });
    assert.ok(store instanceof S3ArtifactStore);
    assert.equal(
      store.runnerPath('artifact://m1/report.html'),
      `s3://${bucket}/team/llamaduo/m1/report.html`,
    );
    assert.ok(await store.find('m1/report.html'));
    assert.ok(openArtifactStore(path.join(dir, 'x')) instanceof LocalArtifactStore);
    assert.throws(() => openArtifactStore('gs://bucket/x'), /unsupported store.*s3:\/\//);
  });
});

describe('S3 artifact store errors', () => {
  function nonRetryable(type: string, ...mentions: (string | RegExp)[]) {
    return (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure, `expected ApplicationFailure, got ${String(err)}`);
      assert.equal(err.type, type);
      assert.equal(err.nonRetryable, true);
      for (const m of mentions) assert.match(err.message, typeof m === 'string' ? new RegExp(escape(m)) : m);
      assert.ok(!err.message.includes(S3_TEST.admin.secretAccessKey), 'secret leaked into the error');
      return true;
    };
  }

  it('a missing bucket is non-retryable and says to create it', async () => {
    const store = new S3ArtifactStore('s3://no-such-bucket-llamaduo/p', { client: clientAs() });
    await assert.rejects(
      store.find('m1/x.json'),
      nonRetryable(STORE_FAILURE_TYPES.bucket, 's3://no-such-bucket-llamaduo/p', /Create it/),
    );
    await assert.rejects(
      store.writeJson('m1/x.json', {}),
      nonRetryable(STORE_FAILURE_TYPES.bucket, 'no-such-bucket-llamaduo'),
    );
  });

  it('wrong credentials are non-retryable and name the variables to fix', async () => {
    const bad = { accessKeyId: S3_TEST.admin.accessKeyId, secretAccessKey: 'wrong-secret-0123456789' };
    const store = new S3ArtifactStore(`s3://${bucket}/team/llamaduo`, { client: clientAs(bad) });
    await assert.rejects(
      store.find('m1/report.html'),
      nonRetryable(STORE_FAILURE_TYPES.credentials, `s3://${bucket}/team/llamaduo`, /AWS_SECRET_ACCESS_KEY/),
    );
    const unknown = { accessKeyId: 'AKUNKNOWN000', secretAccessKey: 'whatever-secret-value' };
    const other = new S3ArtifactStore(`s3://${bucket}/p`, { client: clientAs(unknown) });
    await assert.rejects(other.readText('m1/report.html'), nonRetryable(STORE_FAILURE_TYPES.credentials));
  });

  it('a 403 (read-only identity writing) is non-retryable and names the permissions', async () => {
    const store = new S3ArtifactStore(`s3://${bucket}/team/llamaduo`, { client: clientAs(S3_TEST.reader) });
    assert.ok(await store.find('m1/report.html'), 'the reader can read');
    await assert.rejects(
      store.writeText('m1/denied.txt', 'x'),
      nonRetryable(STORE_FAILURE_TYPES.denied, `s3://${bucket}/team/llamaduo/m1/denied.txt`, /s3:PutObject/),
    );
  });

  it('5xx answers and unreachable endpoints stay retryable errors that name the URI', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<Error><Code>SlowDown</Code><Message>try later</Message></Error>');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const env = {
        ...s3Env(),
        AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
        LLAMADUO_S3_MAX_ATTEMPTS: '1',
      };
      const store = openArtifactStore('s3://busy-bucket/p', env);
      await assert.rejects(store.find('m1/x.json'), (err: unknown) => {
        assert.ok(!(err instanceof ApplicationFailure), `5xx must stay retryable, got ${String(err)}`);
        assert.match((err as Error).message, /s3:\/\/busy-bucket\/p/);
        return true;
      });
    } finally {
      server.close();
    }
    const closed = openArtifactStore('s3://any-bucket/p', {
      ...s3Env(),
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
      LLAMADUO_S3_MAX_ATTEMPTS: '1',
    });
    await assert.rejects(closed.find('m1/x.json'), (err: unknown) => {
      assert.ok(
        !(err instanceof ApplicationFailure),
        `a refused connection must stay retryable: ${String(err)}`,
      );
      assert.match((err as Error).message, /s3:\/\/any-bucket\/p/);
      return true;
    });
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
