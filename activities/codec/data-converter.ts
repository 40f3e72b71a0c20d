// The DataConverter that client and worker share when payload encryption is on. Both sides must use
// the same one: a worker without the key cannot read what an encrypting client started.
import type { DataConverter } from '@temporalio/common';
import { AesGcmCodec } from './aes-gcm-codec';
import { CODEC_KEYS_ENV } from './codec-keys';

/** Encrypting converter from LLAMADUO_CODEC_KEYS; undefined when the variable is unset (encryption off). */
export function dataConverterFromEnv(env: NodeJS.ProcessEnv = process.env): DataConverter | undefined {
  if (!env[CODEC_KEYS_ENV]) return undefined;
  return { payloadCodecs: [AesGcmCodec.fromEnv(env)] };
}
