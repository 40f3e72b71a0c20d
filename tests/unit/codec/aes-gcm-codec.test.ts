import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { AesGcmCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../../../activities/codec/aes-gcm-codec';
import { parseCodecKeys } from '../../../activities/codec/codec-keys';

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };
const secretPrompt = {
  prompt: 'Summarise the patient record of Jane Roe, born 1970',
  apiKeyEnv: 'OPENAI_API_KEY',
};
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');

function payload(value: unknown): Payload {
  return defaultPayloadConverter.toPayload(value);
}

test('round trip restores payloads exactly and hides the plaintext', async () => {
  const codec = new AesGcmCodec([k1]);
  const input = [payload(secretPrompt), payload('second'), payload(null)];
  const encoded = await codec.encode(input);
  assert.equal(encoded.length, 3);
  for (const p of encoded) {
    assert.equal(text(p.metadata?.encoding), ENCRYPTED_ENCODING);
    assert.equal(text(p.metadata?.[KEY_ID_METADATA]), 'k1');
    assert.ok(!text(p.data).includes('Jane Roe'));
    assert.ok(!text(p.data).includes('json/plain'), 'inner encoding is sealed too');
  }
  const decoded = await codec.decode(encoded);
  assert.deepEqual(
    decoded.map((p) => defaultPayloadConverter.fromPayload(p)),
    [secretPrompt, 'second', null],
  );
  assert.equal(text(decoded[0]!.metadata?.encoding), 'json/plain');
});

test('the same payload encrypts differently each time (fresh IV)', async () => {
  const codec = new AesGcmCodec([k1]);
  const [a] = await codec.encode([payload('same')]);
  const [b] = await codec.encode([payload('same')]);
  assert.notDeepEqual(a!.data, b!.data);
});

test('payloads that were never encrypted pass through decode untouched', async () => {
  const plain = payload({ a: 1 });
  const [out] = await new AesGcmCodec([k1]).decode([plain]);
  assert.equal(out, plain);
});

test('decoding without the key fails with the key id named', async () => {
  const encoded = await new AesGcmCodec([k1]).encode([payload(secretPrompt)]);
  await assert.rejects(
    new AesGcmCodec([k2]).decode(encoded),
    /key id "k1", which is not among the configured keys/,
  );
});

test('a different key under the same id is detected, not turned into garbage', async () => {
  const encoded = await new AesGcmCodec([k1]).encode([payload(secretPrompt)]);
  const impostor = { id: 'k1', key: randomBytes(32) };
  await assert.rejects(new AesGcmCodec([impostor]).decode(encoded), /failed authentication/);
});

test('rotation: newest key encrypts, older keys still decrypt', async () => {
  const before = await new AesGcmCodec([k1]).encode([payload('written before rotation')]);
  const rotated = new AesGcmCodec([k2, k1]);
  const after = await rotated.encode([payload('written after rotation')]);
  assert.equal(text(after[0]!.metadata?.[KEY_ID_METADATA]), 'k2');
  const decoded = await rotated.decode([...before, ...after]);
  assert.deepEqual(
    decoded.map((p) => defaultPayloadConverter.fromPayload(p)),
    ['written before rotation', 'written after rotation'],
  );
  // A worker that still only has the old key cannot read what the new key wrote.
  await assert.rejects(new AesGcmCodec([k1]).decode(after), /key id "k2"/);
});

test('tampering with ciphertext, tag, IV or key id metadata is detected', async () => {
  const codec = new AesGcmCodec([k2, k1]);
  const [sealed] = await codec.encode([payload(secretPrompt)]);
  const flip = (index: number): Payload => {
    const data = new Uint8Array(sealed!.data!);
    data[index < 0 ? data.length + index : index]! ^= 0x01;
    return { metadata: sealed!.metadata, data };
  };
  await assert.rejects(codec.decode([flip(0)]), /failed authentication/, 'IV');
  await assert.rejects(codec.decode([flip(20)]), /failed authentication/, 'ciphertext');
  await assert.rejects(codec.decode([flip(-1)]), /failed authentication/, 'tag');
  const relabelled = {
    ...sealed!,
    metadata: { ...sealed!.metadata, [KEY_ID_METADATA]: new TextEncoder().encode('k1') },
  };
  await assert.rejects(codec.decode([relabelled]), /failed authentication/, 'key id swapped');
  const truncated = { ...sealed!, data: sealed!.data!.subarray(0, 10) };
  await assert.rejects(codec.decode([truncated]), /truncated/);
});

test('key list parsing: order kept, clear errors, no key material echoed', () => {
  const a = randomBytes(32).toString('base64');
  const b = randomBytes(32).toString('base64');
  const keys = parseCodecKeys(`k2:${a}, k1:${b}`);
  assert.deepEqual(
    keys.map((k) => k.id),
    ['k2', 'k1'],
  );
  assert.equal(keys[0]!.key.toString('base64'), a);
  assert.throws(() => parseCodecKeys(undefined), /LLAMADUO_CODEC_KEYS is not set/);
  assert.throws(() => parseCodecKeys(`k1${a}`), /entry 1: expected "keyId:base64Key"/);
  const short = randomBytes(16).toString('base64');
  assert.throws(
    () => parseCodecKeys(`k2:${a},k1:${short}`),
    (err: Error) =>
      /entry 2 \(key id "k1"\): key must be 32 bytes for AES-256, got 16/.test(err.message) &&
      !err.message.includes(short),
  );
  assert.throws(() => parseCodecKeys(`k1:${a},k1:${b}`), /duplicate key id "k1"/);
  assert.throws(() => parseCodecKeys(`bad id:${a}`), /key id must be/);
  assert.throws(() => parseCodecKeys(`k1:not base64!`), /not base64/);
});

test('dataConverterFromEnv: off without keys, encrypting with them, bad keys rejected', async () => {
  const { dataConverterFromEnv } = await import('../../../activities/codec/data-converter');
  assert.equal(dataConverterFromEnv({}), undefined);
  const converter = dataConverterFromEnv({ LLAMADUO_CODEC_KEYS: `k9:${randomBytes(32).toString('base64')}` });
  const [sealed] = await converter!.payloadCodecs![0]!.encode([payload('x')]);
  assert.equal(text(sealed!.metadata?.[KEY_ID_METADATA]), 'k9');
  assert.throws(() => dataConverterFromEnv({ LLAMADUO_CODEC_KEYS: 'k1:AAAA' }), /must be 32 bytes/);
});
