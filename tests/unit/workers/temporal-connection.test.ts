import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { describeConnection, temporalConnectionSettings } from '../../../common/temporal-connection';

test('plaintext by default; API key implies TLS unless TEMPORAL_TLS=false', () => {
  const plain = temporalConnectionSettings('t:7233', {});
  assert.deepEqual(plain, { address: 't:7233', tls: false, apiKey: undefined });
  assert.equal(describeConnection(plain), 'plaintext');
  const cloud = temporalConnectionSettings('ns.acct.tmprl.cloud:7233', { TEMPORAL_API_KEY: 'k-123' });
  assert.deepEqual(cloud.tls, {});
  assert.equal(cloud.apiKey, 'k-123');
  assert.equal(describeConnection(cloud), 'TLS + API key');
  const proxied = temporalConnectionSettings('t:7233', { TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' });
  assert.equal(proxied.tls, false);
  assert.throws(
    () => temporalConnectionSettings('t', { TEMPORAL_TLS: 'maybe' }),
    /TEMPORAL_TLS must be true or false/,
  );
});

test('mTLS reads the CA, certificate and key files; a half pair or an unreadable file is an error', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'llamaduo-tls-'));
  try {
    const f = (n: string) => path.join(dir, n);
    await writeFile(f('ca.pem'), 'CA');
    await writeFile(f('tls.crt'), 'CRT');
    await writeFile(f('tls.key'), 'KEY');
    const s = temporalConnectionSettings('t:7233', {
      TEMPORAL_TLS_CA: f('ca.pem'),
      TEMPORAL_TLS_CERT: f('tls.crt'),
      TEMPORAL_TLS_KEY: f('tls.key'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    });
    assert.ok(s.tls);
    assert.equal(s.tls.serverNameOverride, 'temporal.internal');
    assert.equal(Buffer.from(s.tls.serverRootCACertificate!).toString(), 'CA');
    assert.equal(Buffer.from(s.tls.clientCertPair!.crt).toString(), 'CRT');
    assert.equal(Buffer.from(s.tls.clientCertPair!.key).toString(), 'KEY');
    assert.equal(describeConnection(s), 'mTLS');
    assert.throws(
      () => temporalConnectionSettings('t', { TEMPORAL_TLS_CERT: f('tls.crt') }),
      /TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/,
    );
    assert.throws(
      () => temporalConnectionSettings('t', { TEMPORAL_TLS_CA: f('nope.pem') }),
      /TEMPORAL_TLS_CA: cannot read .*nope\.pem/,
    );
    assert.throws(
      () => temporalConnectionSettings('t', { TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: f('ca.pem') }),
      /contradicts/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
