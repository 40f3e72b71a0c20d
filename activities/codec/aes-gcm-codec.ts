// A Temporal PayloadCodec that encrypts every payload with AES-256-GCM before it reaches the server, so
// workflow history holds no prompts, responses or config in plaintext. Used by the client, the worker
// and the codec server; never by workflow code.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { type CodecKey, codecKeysFromEnv } from './codec-keys';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

// @temporalio/proto is CommonJS: its namespaces come through the default export under ESM.
const ProtoPayload = proto.temporal.api.common.v1.Payload;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export class AesGcmCodec implements PayloadCodec {
  private readonly encryptWith: CodecKey;
  private readonly byId: Map<string, Buffer>;

  /** `keys[0]` encrypts; all of them decrypt. */
  constructor(keys: CodecKey[]) {
    const [newest] = keys;
    if (!newest) throw new Error('AesGcmCodec needs at least one key');
    this.encryptWith = newest;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): AesGcmCodec {
    return new AesGcmCodec(codecKeysFromEnv(env));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      // The whole payload (metadata included) is sealed: its encoding can reveal what the data is.
      const plain = ProtoPayload.encode(payload).finish();
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.encryptWith.key, iv);
      cipher.setAAD(utf8.encode(this.encryptWith.id));
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          encoding: utf8.encode(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: utf8.encode(this.encryptWith.id),
        },
        data: new Uint8Array(sealed),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.encoding;
      if (!encoding || fromUtf8.decode(encoding) !== ENCRYPTED_ENCODING) return payload;
      const rawId = payload.metadata?.[KEY_ID_METADATA];
      if (!rawId) throw new Error(`encrypted payload has no "${KEY_ID_METADATA}" metadata`);
      const keyId = fromUtf8.decode(rawId);
      const key = this.byId.get(keyId);
      if (!key)
        throw new Error(
          `payload was encrypted with key id "${keyId}", which is not among the configured keys`,
        );
      const data = payload.data ?? new Uint8Array();
      if (data.length < IV_BYTES + TAG_BYTES)
        throw new Error(`encrypted payload (key id "${keyId}") is truncated`);
      const iv = data.subarray(0, IV_BYTES);
      const tag = data.subarray(data.length - TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(utf8.encode(keyId));
      decipher.setAuthTag(tag);
      let plain: Buffer;
      try {
        plain = Buffer.concat([
          decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
          decipher.final(),
        ]);
      } catch {
        throw new Error(
          `encrypted payload (key id "${keyId}") failed authentication: tampered, or a different key under that id`,
        );
      }
      return ProtoPayload.decode(plain);
    });
  }
}
