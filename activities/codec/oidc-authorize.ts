// Codec server authorisation for the Temporal Web UI: with codec.passAccessToken (env
// TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true) the UI sends the signed-in user's OIDC access token as
// `Authorization: Bearer <token>`. It is accepted only if it is a JWT signed by a key in the issuer's JWKS,
// issued by that issuer, for our audience, and within its validity period.
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';

export interface OidcAuthorizeOptions {
  /** the issuer (`iss`) exactly as the IdP writes it, e.g. https://login.example.com/realms/ops */
  issuer: string;
  /** accepted `aud` values (the API / client id the UI's tokens are issued for) */
  audience: string[];
  /** the JWKS URL; default: jwks_uri from <issuer>/.well-known/openid-configuration */
  jwksUrl?: string;
  /** seconds of clock skew tolerated on exp/nbf (default 30) */
  clockToleranceS?: number;
  /** told why a token was refused (never the token) */
  log?: (message: string) => void;
}

async function discoverJwks(issuer: string): Promise<URL> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`OIDC discovery ${url}: HTTP ${res.status}`);
  const doc = (await res.json()) as { jwks_uri?: string; issuer?: string };
  if (!doc.jwks_uri) throw new Error(`OIDC discovery ${url}: no jwks_uri`);
  if (doc.issuer && doc.issuer !== issuer)
    throw new Error(`OIDC discovery ${url}: issuer is ${doc.issuer}, configured ${issuer}`);
  return new URL(doc.jwks_uri);
}

export function oidcAuthorizer(
  opts: OidcAuthorizeOptions,
): (authorization: string | undefined) => Promise<boolean> {
  if (!opts.issuer) throw new Error('OIDC issuer is empty');
  if (!opts.audience.length) throw new Error('OIDC audience is empty: name the audience the UI tokens carry');
  const log = opts.log ?? (() => {});
  // Discovery happens on the first request (the IdP may be down while this starts) and is retried after a failure.
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const keySet = () =>
    (keys ??= (opts.jwksUrl ? Promise.resolve(new URL(opts.jwksUrl)) : discoverJwks(opts.issuer)).then(
      (url) => createRemoteJWKSet(url),
      (err: unknown) => {
        keys = undefined;
        throw err;
      },
    ));
  return async (authorization) => {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!m) {
      log('codec request refused: no bearer token');
      return false;
    }
    try {
      await jwtVerify(m[1]!, await keySet(), {
        issuer: opts.issuer,
        audience: opts.audience,
        clockTolerance: opts.clockToleranceS ?? 30,
        requiredClaims: ['exp'],
      });
      return true;
    } catch (err) {
      const why =
        err instanceof errors.JOSEError
          ? `${err.code}: ${err.message}`
          : `key set unavailable: ${String(err)}`;
      log(`codec request refused: ${why}`);
      return false;
    }
  };
}
