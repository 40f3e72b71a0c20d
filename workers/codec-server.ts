// Entry point of the codec server the Temporal Web UI points at (UI setting codec.endpoint).
// Env: LLAMADUO_CODEC_KEYS (see activities/codec/codec-keys.ts), LLAMADUO_CODEC_TOKEN (bearer token),
// LLAMADUO_CODEC_ORIGINS (comma-separated UI origins, default http://localhost:8233),
// LLAMADUO_CODEC_HOST (default 127.0.0.1), LLAMADUO_CODEC_PORT (default 8888).
import type { AddressInfo } from 'node:net';
import { AesGcmCodec } from '../activities/codec/aes-gcm-codec';
import { createCodecServer } from '../activities/codec/codec-server';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const codec = AesGcmCodec.fromEnv();
const server = createCodecServer({
  codec,
  token: required('LLAMADUO_CODEC_TOKEN'),
  allowedOrigins: (process.env.LLAMADUO_CODEC_ORIGINS ?? 'http://localhost:8233')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
});
const host = process.env.LLAMADUO_CODEC_HOST ?? '127.0.0.1';
const port = Number(process.env.LLAMADUO_CODEC_PORT ?? 8888);
server.listen(port, host, () => {
  const { port: bound } = server.address() as AddressInfo;
  console.log(`codec server listening on http://${host}:${bound}`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => server.close(() => process.exit(0)));
}
