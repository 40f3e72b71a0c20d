// Encryption keys for the payload codec, read from the environment (a Kubernetes Secret mounts them there).
// Format: LLAMADUO_CODEC_KEYS="k2:<base64 32 bytes>,k1:<base64 32 bytes>". The first key encrypts; every
// listed key decrypts, so a new key is rotated in by putting it first and the old one is dropped only
// once no history still needs it.

export const CODEC_KEYS_ENV = 'LLAMADUO_CODEC_KEYS';

export interface CodecKey {
  id: string;
  key: Buffer;
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Parses the key list; errors name the variable and the entry but never echo key material. */
export function parseCodecKeys(value: string | undefined, source = CODEC_KEYS_ENV): CodecKey[] {
  if (value === undefined || value.trim() === '') {
    throw new Error(
      `${source} is not set: expected "keyId:base64Key[,olderId:base64Key...]" with 32-byte keys`,
    );
  }
  const keys: CodecKey[] = [];
  value.split(',').forEach((entry, i) => {
    const where = `${source} entry ${i + 1}`;
    const colon = entry.indexOf(':');
    if (colon < 0) throw new Error(`${where}: expected "keyId:base64Key"`);
    const id = entry.slice(0, colon).trim();
    const material = entry.slice(colon + 1).trim();
    if (!KEY_ID.test(id)) throw new Error(`${where}: key id must be 1-64 of A-Z a-z 0-9 . _ -`);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(material))
      throw new Error(`${where} (key id "${id}"): key is not base64`);
    const key = Buffer.from(material, 'base64');
    if (key.length !== 32) {
      throw new Error(`${where} (key id "${id}"): key must be 32 bytes for AES-256, got ${key.length}`);
    }
    if (keys.some((k) => k.id === id)) throw new Error(`${where}: duplicate key id "${id}"`);
    keys.push({ id, key });
  });
  return keys;
}

/** Keys from the process environment (or the given one). */
export function codecKeysFromEnv(env: NodeJS.ProcessEnv = process.env): CodecKey[] {
  return parseCodecKeys(env[CODEC_KEYS_ENV]);
}
