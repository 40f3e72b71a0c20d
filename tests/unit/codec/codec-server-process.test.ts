// The codec server entry point as an operator runs it: configured only through the environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { defaultPayloadConverter } from '@temporalio/common';
import { payloadsFromJson, payloadsToJson } from '../../../activities/codec/payload-json';

const ENTRY = new URL('../../../workers/codec-server.ts', import.meta.url).pathname;

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return { child, output: () => out };
}

test('runs from the environment, encrypts with the first key and stops on SIGTERM', async () => {
  const token = randomBytes(20).toString('hex');
  const keys = `k2:${randomBytes(32).toString('base64')},k1:${randomBytes(32).toString('base64')}`;
  const { child, output } = start({
    LLAMADUO_CODEC_KEYS: keys,
    LLAMADUO_CODEC_TOKEN: token,
    LLAMADUO_CODEC_PORT: '0',
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output());
        if (m) {
          clearInterval(timer);
          resolve(Number(m[1]));
        }
      }, 50);
      child.once('exit', (code) => {
        clearInterval(timer);
        reject(new Error(`codec server exited with ${code}: ${output()}`));
      });
    });
    const res = await fetch(`http://127.0.0.1:${port}/encode`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body: JSON.stringify(payloadsToJson([defaultPayloadConverter.toPayload({ secret: 1 })])),
    });
    assert.equal(res.status, 200);
    const [sealed] = payloadsFromJson(await res.json());
    assert.equal(Buffer.from(sealed!.metadata!['encryption-key-id']!).toString(), 'k2');
  } finally {
    child.kill('SIGTERM');
  }
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  assert.ok(!output().includes(keys.split(',')[0]!.slice(3)), 'key material never printed');
});

test('refuses to start without a token, naming the variable', async () => {
  const { child, output } = start({ LLAMADUO_CODEC_KEYS: `k1:${randomBytes(32).toString('base64')}` });
  const [code] = await once(child, 'exit');
  assert.notEqual(code, 0);
  assert.match(output(), /LLAMADUO_CODEC_TOKEN is not set/);
});
