// The codec server as the Temporal UI calls it with codec.passAccessToken on: the browser preflights from the
// UI's origin, then POSTs /decode with `Authorization: Bearer <the user's access token>`. The server runs
// from its entry point, configured by environment only, against a local OIDC issuer (discovery + JWKS).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { AesGcmCodec } from '../../../activities/codec/aes-gcm-codec';
import { payloadsFromJson, payloadsToJson } from '../../../activities/codec/payload-json';

const ENTRY = new URL('../../../workers/codec-server.ts', import.meta.url).pathname;
const UI = 'https://temporal-ui.example.com';
const AUDIENCE = 'temporal-ui';

describe('codec server behind the UI’s OIDC access token', () => {
  let idp: Server;
  let issuer: string;
  let signingKey: CryptoKey;
  let strangerKey: CryptoKey;
  let codecServer: ChildProcess;
  let output = '';
  let base: string;
  const keyB64 = randomBytes(32).toString('base64');
  const codec = new AesGcmCodec([{ id: 'k1', key: Buffer.from(keyB64, 'base64') }]);

  before(async () => {
    const pair = await generateKeyPair('RS256');
    signingKey = pair.privateKey;
    strangerKey = (await generateKeyPair('RS256')).privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    idp = createServer((req, res) => {
      res.setHeader('Content-Type', 'application/json');
      if (req.url === '/.well-known/openid-configuration')
        res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/keys` }));
      else if (req.url === '/keys') res.end(JSON.stringify({ keys: [jwk] }));
      else res.writeHead(404).end('{}');
    });
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
    issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;

    codecServer = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
      env: {
        PATH: process.env.PATH ?? '',
        LLAMADUO_CODEC_KEYS: `k1:${keyB64}`,
        LLAMADUO_CODEC_OIDC_ISSUER: issuer,
        LLAMADUO_CODEC_OIDC_AUDIENCE: `other-api,${AUDIENCE}`,
        LLAMADUO_CODEC_ORIGINS: UI,
        LLAMADUO_CODEC_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    codecServer.stdout!.on('data', (d) => (output += d));
    codecServer.stderr!.on('data', (d) => (output += d));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
        if (m) {
          clearInterval(timer);
          resolve(Number(m[1]));
        }
      }, 50);
      codecServer.once('exit', (code) => {
        clearInterval(timer);
        reject(new Error(`codec server exited with ${code}: ${output}`));
      });
    });
    base = `http://127.0.0.1:${port}`;
    assert.match(output, /accepts OIDC tokens from/);
  });
  after(async () => {
    if (codecServer && codecServer.exitCode === null) {
      codecServer.kill('SIGTERM');
      await once(codecServer, 'exit');
    }
    await new Promise<void>((r) => idp?.close(() => r()));
  });

  const token = (
    claims: { iss?: string; aud?: string; exp?: number | string; key?: CryptoKey; kid?: string } = {},
  ) =>
    new SignJWT({ sub: 'alice@example.com', scope: 'openid' })
      .setProtectedHeader({ alg: 'RS256', kid: claims.kid ?? 'k1' })
      .setIssuer(claims.iss ?? issuer)
      .setAudience(claims.aud ?? AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? '5m')
      .sign(claims.key ?? signingKey);

  const sealed = async () =>
    payloadsToJson(await codec.encode([defaultPayloadConverter.toPayload({ a: 1 })]));
  const decode = async (authorization?: string) =>
    fetch(`${base}/decode`, {
      method: 'POST',
      headers: {
        Origin: UI,
        'Content-Type': 'application/json',
        'X-Namespace': 'default',
        ...(authorization ? { Authorization: authorization } : {}),
      },
      body: JSON.stringify(await sealed()),
    });

  it('answers the UI’s preflight with CORS for its origin only', async () => {
    const pre = await fetch(`${base}/decode`, {
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
    const evil = await fetch(`${base}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
  });

  it('decodes for a valid access token from the issuer', async () => {
    const res = await decode(`Bearer ${await token()}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), UI);
    const [payload] = payloadsFromJson(await res.json());
    assert.deepEqual(defaultPayloadConverter.fromPayload(payload!), { a: 1 });
  });

  it('refuses expired, wrong-audience, wrong-issuer, foreign-key and missing tokens', async () => {
    const cases: [string, string | undefined][] = [
      ['expired', `Bearer ${await token({ exp: Math.floor(Date.now() / 1000) - 3600 })}`],
      ['wrong audience', `Bearer ${await token({ aud: 'someone-else' })}`],
      ['wrong issuer', `Bearer ${await token({ iss: 'https://other-idp.example.com' })}`],
      ['signed by another key', `Bearer ${await token({ key: strangerKey })}`],
      ['unknown key id', `Bearer ${await token({ key: strangerKey, kid: 'k9' })}`],
      ['not a JWT', 'Bearer not-a-jwt'],
      ['no token', undefined],
    ];
    for (const [what, header] of cases) {
      const res = await decode(header);
      assert.equal(res.status, 401, what);
      await res.body?.cancel();
    }
    assert.match(output, /ERR_JWT_EXPIRED/);
    assert.match(output, /ERR_JWT_CLAIM_VALIDATION_FAILED.*aud/);
    assert.match(output, /ERR_JWT_CLAIM_VALIDATION_FAILED.*iss/);
    assert.ok(!output.includes('eyJ'), 'no token is ever logged');
  });

  it('serves /healthz for the probes without a token', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });
});
