// An HTTP codec server for the Temporal Web UI and CLI: POST /encode and POST /decode with
// {"payloads":[...]}. Only requests bearing the operator token get an answer, and browsers get CORS
// headers only for the configured UI origins, so only an authorised operator sees decrypted payloads.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { PayloadCodec } from '@temporalio/common';
import { payloadsFromJson, payloadsToJson } from './payload-json';

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Bearer token every /encode and /decode request must carry (the CLI's --codec-auth "Bearer <token>"). */
  token?: string;
  /**
   * Instead of a fixed token: decides from the Authorization header, e.g. by verifying the OIDC access
   * token the Temporal UI forwards when its codec setting passAccessToken is on.
   */
  authorize?: (authorization: string | undefined) => boolean | Promise<boolean>;
  /** Browser origins allowed to call (the Temporal UI, e.g. http://localhost:8233). */
  allowedOrigins: string[];
  maxBodyBytes?: number;
}

const ALLOWED_HEADERS = 'Authorization, Content-Type, X-Namespace';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

async function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function staticToken(token: string | undefined): (authorization: string | undefined) => boolean {
  if (token === undefined) throw new Error('codec server needs a token or an authorize function');
  if (token.length < 16) throw new Error('codec server token must be at least 16 characters');
  const expected = digest(`Bearer ${token}`);
  // Comparing fixed-length digests keeps the check constant-time whatever the header's length.
  return (authorization) => timingSafeEqual(digest(authorization ?? ''), expected);
}

export function createCodecServer(opts: CodecServerOptions): Server {
  const authorize = opts.authorize ?? staticToken(opts.token);
  const origins = new Set(opts.allowedOrigins);
  const limit = opts.maxBodyBytes ?? 32 * 1024 * 1024;

  const send = (res: ServerResponse, status: number, body?: unknown) => {
    if (body === undefined) {
      res.writeHead(status).end();
      return;
    }
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  };

  return createServer((req, res) => {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      res.setHeader('Vary', 'Origin');
      if (!origins.has(origin)) return send(res, 403, { error: `origin ${origin} is not allowed` });
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    const route = new URL(req.url ?? '/', 'http://codec').pathname;
    // for the Deployment's probes: says only that the process serves requests
    if (route === '/healthz' && req.method === 'GET') return send(res, 200, { ok: true });
    if (route !== '/encode' && route !== '/decode') return send(res, 404, { error: 'not found' });
    if (req.method === 'OPTIONS') {
      // Preflight carries no credentials by design; the real request is checked below.
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      return send(res, 204);
    }
    if (req.method !== 'POST') return send(res, 405, { error: 'use POST' });

    void (async () => {
      if (!(await authorize(req.headers.authorization))) {
        req.resume();
        return send(res, 401, { error: 'missing or wrong bearer token' });
      }
      const text = await readBody(req, limit);
      if (text === null) return send(res, 413, { error: `body over ${limit} bytes` });
      let payloads;
      try {
        payloads = payloadsFromJson(JSON.parse(text));
      } catch (err) {
        return send(res, 400, { error: `bad request body: ${(err as Error).message}` });
      }
      try {
        const out =
          route === '/encode' ? await opts.codec.encode(payloads) : await opts.codec.decode(payloads);
        send(res, 200, payloadsToJson(out));
      } catch (err) {
        send(res, 422, { error: (err as Error).message });
      }
    })().catch((err: Error) => {
      if (!res.headersSent) send(res, 500, { error: err.message });
    });
  });
}
