// Entry point of the codec server the Temporal Web UI points at (UI setting codec.endpoint).
// Env: LLAMADUO_CODEC_KEYS (see activities/codec/codec-keys.ts),
//   either LLAMADUO_CODEC_OIDC_ISSUER + LLAMADUO_CODEC_OIDC_AUDIENCE (comma-separated) [+ LLAMADUO_CODEC_OIDC_JWKS_URL]:
//     verify the access token the UI forwards with codec.passAccessToken (activities/codec/oidc-authorize.ts),
//   or LLAMADUO_CODEC_TOKEN: one static bearer token (the temporal CLI's --codec-auth),
// LLAMADUO_CODEC_ORIGINS (comma-separated UI origins, default http://localhost:8233),
// LLAMADUO_CODEC_HOST (default 127.0.0.1; 0.0.0.0 in a pod), LLAMADUO_CODEC_PORT (default 8888).
import type { AddressInfo } from 'node:net';
import { AesGcmCodec } from '../activities/codec/aes-gcm-codec';
import { createCodecServer } from '../activities/codec/codec-server';
import { oidcAuthorizer } from '../activities/codec/oidc-authorize';

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function authorization() {
  const issuer = process.env.LLAMADUO_CODEC_OIDC_ISSUER;
  if (issuer)
    return {
      authorize: oidcAuthorizer({
        issuer,
        audience: list(process.env.LLAMADUO_CODEC_OIDC_AUDIENCE),
        jwksUrl: process.env.LLAMADUO_CODEC_OIDC_JWKS_URL || undefined,
        log: (m) => console.warn(m),
      }),
      mode: `OIDC tokens from ${issuer}`,
    };
  const token = process.env.LLAMADUO_CODEC_TOKEN;
  if (!token)
    throw new Error(
      'LLAMADUO_CODEC_TOKEN is not set (nor LLAMADUO_CODEC_OIDC_ISSUER and LLAMADUO_CODEC_OIDC_AUDIENCE)',
    );
  return { token, mode: 'a static bearer token' };
}

const codec = AesGcmCodec.fromEnv();
const { mode, ...auth } = authorization();
const server = createCodecServer({
  codec,
  ...auth,
  allowedOrigins: list(process.env.LLAMADUO_CODEC_ORIGINS ?? 'http://localhost:8233'),
});
const host = process.env.LLAMADUO_CODEC_HOST ?? '127.0.0.1';
const port = Number(process.env.LLAMADUO_CODEC_PORT ?? 8888);
server.listen(port, host, () => {
  const { port: bound } = server.address() as AddressInfo;
  console.log(`codec server listening on http://${host}:${bound} (accepts ${mode})`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => server.close(() => process.exit(0)));
}
