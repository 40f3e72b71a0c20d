import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmCodec } from '../../../activities/codec/aes-gcm-codec';
import { createCodecServer } from '../../../activities/codec/codec-server';
import { payloadsFromJson, payloadsToJson } from '../../../activities/codec/payload-json';

const UI = 'http://localhost:8233';
const TOKEN = randomBytes(24).toString('hex');
const codec = new AesGcmCodec([{ id: 'k1', key: randomBytes(32) }]);
let server: Server;
let base: string;

before(async () => {
  server = createCodecServer({ codec, token: TOKEN, allowedOrigins: [UI] });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const body = (value: unknown) => JSON.stringify(payloadsToJson([defaultPayloadConverter.toPayload(value)]));
const post = (route: string, payload: string, headers: Record<string, string> = {}) =>
  fetch(base + route, {
    method: 'POST',
    body: payload,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
const auth = { Authorization: `Bearer ${TOKEN}`, 'X-Namespace': 'default' };

test('the UI path: encode then decode through the server with the token', async () => {
  const secret = { response: 'private answer 42' };
  const enc = await post('/encode', body(secret), auth);
  assert.equal(enc.status, 200);
  const encJson = await enc.json();
  const [sealed] = payloadsFromJson(encJson);
  assert.equal(Buffer.from(sealed!.metadata!.encoding!).toString(), 'binary/encrypted');
  assert.ok(!Buffer.from(sealed!.data!).toString('latin1').includes('private answer'));
  const dec = await post('/decode', JSON.stringify(encJson), auth);
  assert.equal(dec.status, 200);
  const [payload] = payloadsFromJson(await dec.json());
  assert.deepEqual(defaultPayloadConverter.fromPayload(payload!), secret);
});

test('no token or a wrong token gets 401 and no payloads', async () => {
  const [sealed] = await codec.encode([defaultPayloadConverter.toPayload('secret')]);
  const sealedBody = JSON.stringify(payloadsToJson([sealed!]));
  const attempts: Record<string, string>[] = [
    {},
    { Authorization: 'Bearer wrong-token-of-some-length' },
    { Authorization: TOKEN },
  ];
  for (const headers of attempts) {
    const res = await post('/decode', sealedBody, headers);
    assert.equal(res.status, 401);
    assert.doesNotMatch(await res.text(), /payloads/);
  }
});

test('CORS: the UI origin gets a preflight answer and allow-origin on the real request', async () => {
  const pre = await fetch(base + '/decode', {
    method: 'OPTIONS',
    headers: {
      Origin: UI,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization,content-type,x-namespace',
    },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), UI);
  assert.match(pre.headers.get('access-control-allow-headers') ?? '', /Authorization/);
  assert.match(pre.headers.get('access-control-allow-headers') ?? '', /X-Namespace/);
  assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
  const res = await post('/encode', body('x'), { ...auth, Origin: UI });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), UI);
  assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
});

test('CORS: another origin is refused even with the token', async () => {
  const evil = 'http://evil.example';
  const pre = await fetch(base + '/decode', {
    method: 'OPTIONS',
    headers: { Origin: evil, 'Access-Control-Request-Method': 'POST' },
  });
  assert.equal(pre.status, 403);
  assert.equal(pre.headers.get('access-control-allow-origin'), null);
  const res = await post('/decode', body('x'), { ...auth, Origin: evil });
  assert.equal(res.status, 403);
});

test('bad requests get specific errors', async () => {
  assert.equal((await post('/nope', '{}', auth)).status, 404);
  assert.equal((await fetch(base + '/decode', { headers: auth })).status, 405);
  const notJson = await post('/decode', '{', auth);
  assert.equal(notJson.status, 400);
  const wrongShape = await post(
    '/decode',
    JSON.stringify({ payloads: [{ metadata: { encoding: 42 } }] }),
    auth,
  );
  assert.equal(wrongShape.status, 400);
  assert.match(
    ((await wrongShape.json()) as { error: string }).error,
    /payloads\[0\]\.metadata\.encoding must be a base64 string/,
  );
  const [sealed] = await new AesGcmCodec([{ id: 'other', key: randomBytes(32) }]).encode([
    defaultPayloadConverter.toPayload('x'),
  ]);
  const unknownKey = await post('/decode', JSON.stringify(payloadsToJson([sealed!])), auth);
  assert.equal(unknownKey.status, 422);
  assert.match(((await unknownKey.json()) as { error: string }).error, /key id "other"/);
});

test('a short token is refused at startup', () => {
  assert.throws(
    () => createCodecServer({ codec, token: 'short', allowedOrigins: [] }),
    /at least 16 characters/,
  );
});

test('a custom authorizer (e.g. an OIDC check) replaces the fixed token', async () => {
  const seen: (string | undefined)[] = [];
  const custom = createCodecServer({
    codec,
    allowedOrigins: [UI],
    authorize: async (header) => {
      seen.push(header);
      return header === 'Bearer user-access-token-from-ui';
    },
  });
  await new Promise<void>((resolve) => custom.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(custom.address() as AddressInfo).port}/encode`;
    const ok = await fetch(url, {
      method: 'POST',
      body: body('x'),
      headers: { Authorization: 'Bearer user-access-token-from-ui' },
    });
    assert.equal(ok.status, 200);
    const no = await fetch(url, {
      method: 'POST',
      body: body('x'),
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(no.status, 401);
    assert.deepEqual(seen, ['Bearer user-access-token-from-ui', `Bearer ${TOKEN}`]);
  } finally {
    await new Promise<void>((resolve) => custom.close(() => resolve()));
  }
  assert.throws(
    () => createCodecServer({ codec, allowedOrigins: [] }),
    /needs a token or an authorize function/,
  );
});
