// A worker killed mid-upload (SIGKILL between the first part and the commit) leaves nothing a reader can
// see: S3 shows an object only once its multipart upload completes, and the store trusts nothing else.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { ListMultipartUploadsCommand, ListPartsCommand } from '@aws-sdk/client-s3';
import { S3ArtifactStore } from '../../activities/store/s3-store';
import { clientAs, newBucket, s3Env } from './env';

const WRITER = path.join(import.meta.dirname, 'fixtures', 'slow-writer.ts');
const KEY = 'm1/cycle-1/finetune/out/merged/model.safetensors';

let bucket: string;
let store: S3ArtifactStore;
before(async () => {
  bucket = await newBucket('kill');
  store = new S3ArtifactStore(`s3://${bucket}/p`, { client: clientAs() });
});

function startWriter(mib: number) {
  return spawn('tsx', [WRITER, `s3://${bucket}/p`, KEY, String(mib)], {
    env: { ...process.env, ...s3Env() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function partsInFlight(): Promise<number> {
  const client = clientAs();
  const ups = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `p/${KEY}` }));
  let parts = 0;
  for (const u of ups.Uploads ?? []) {
    const listed = await client.send(
      new ListPartsCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! }),
    );
    parts += listed.Parts?.length ?? 0;
  }
  return parts;
}

describe('a writer killed mid-upload', () => {
  it('leaves no visible artifact, and a retry commits the whole one', async () => {
    const child = startWriter(30);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const deadline = Date.now() + 120_000;
    while ((await partsInFlight()) < 2) {
      assert.equal(child.exitCode, null, `writer ended before it was killed: ${stderr}`);
      assert.ok(Date.now() < deadline, 'no part upload seen within 120s');
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    await exited;
    assert.ok(
      (await partsInFlight()) >= 2,
      'the killed upload left parts behind (invisible until completed)',
    );

    assert.equal(await store.find(KEY), null);
    assert.deepEqual(await store.list('m1'), []);
    assert.equal(await store.pathRef('m1/cycle-1/finetune/out/merged'), null);
    await assert.rejects(store.readBytes(KEY), /no such artifact/);

    const retry = startWriter(12);
    let out = '';
    retry.stdout.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => retry.once('exit', r));
    assert.equal(code, 0);
    const ref = JSON.parse(out) as { sha256: string; bytes: number };
    assert.equal(ref.bytes, 12 * 1024 * 1024);
    assert.deepEqual(await store.find(KEY), {
      uri: `artifact://${KEY}`,
      sha256: ref.sha256,
      bytes: ref.bytes,
    });
  });
});
