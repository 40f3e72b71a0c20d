// How workers and the CLI reach an existing Temporal cluster: address and namespace, TLS (server CA, SNI),
// mTLS (client cert and key) and API keys, from the same variables the temporal CLI reads.
//   TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE
//   TEMPORAL_TLS=true                turn TLS on with the system's roots (implied by any other TLS_* or API key)
//   TEMPORAL_TLS_CA                  PEM file of the server's CA (a private PKI)
//   TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY  PEM files of the client certificate and key (mTLS)
//   TEMPORAL_TLS_SERVER_NAME         SNI / name to verify, when it differs from the address's host
//   TEMPORAL_API_KEY                 sent as `Authorization: Bearer <key>` (Temporal Cloud API keys)
// Secrets are read from files or the environment at connect time and never logged.
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';

export interface TemporalConnectionSettings {
  address: string;
  /** false, not undefined, so that an API key alone does not turn TLS on behind our back */
  tls: TLSConfig | false;
  apiKey?: string;
}

function file(env: NodeJS.ProcessEnv, name: string): Buffer | undefined {
  const p = env[name];
  if (!p) return undefined;
  try {
    return readFileSync(p);
  } catch (err) {
    throw new Error(`${name}: cannot read ${p}: ${(err as Error).message}`);
  }
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const v = env[name]?.trim().toLowerCase();
  if (v === undefined || v === '') return undefined;
  if (['1', 'true', 'yes'].includes(v)) return true;
  if (['0', 'false', 'no'].includes(v)) return false;
  throw new Error(`${name} must be true or false (got "${env[name]}")`);
}

export function temporalConnectionSettings(
  address: string,
  env: NodeJS.ProcessEnv = process.env,
): TemporalConnectionSettings {
  const crt = file(env, 'TEMPORAL_TLS_CERT');
  const key = file(env, 'TEMPORAL_TLS_KEY');
  if (!!crt !== !!key)
    throw new Error(
      'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (mTLS needs both the certificate and its key)',
    );
  const ca = file(env, 'TEMPORAL_TLS_CA');
  const serverName = env.TEMPORAL_TLS_SERVER_NAME || undefined;
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const implied = !!(crt || ca || serverName || apiKey);
  const explicit = flag(env, 'TEMPORAL_TLS');
  if (explicit === false && (crt || ca || serverName))
    throw new Error('TEMPORAL_TLS=false contradicts TEMPORAL_TLS_CA/CERT/KEY/SERVER_NAME');
  // An API key over plaintext is allowed only when asked for explicitly (a sidecar proxy doing TLS).
  const tlsOn = explicit ?? implied;
  return {
    address,
    tls: tlsOn
      ? {
          ...(serverName ? { serverNameOverride: serverName } : {}),
          ...(ca ? { serverRootCACertificate: ca } : {}),
          ...(crt && key ? { clientCertPair: { crt, key } } : {}),
        }
      : false,
    apiKey,
  };
}

/** For a startup line: what kind of connection, never the secrets. */
export function describeConnection(s: TemporalConnectionSettings): string {
  const parts = [s.tls ? (s.tls.clientCertPair ? 'mTLS' : 'TLS') : 'plaintext'];
  if (s.apiKey) parts.push('API key');
  return parts.join(' + ');
}
