// The behaviour shared by the three wire-compatible provider servers: latency, rate limits (RPM/TPM token
// buckets refilled continuously, like a provider that enforces its per-minute limit per second), scripted
// faults, prompt-prefix caching, token billing and the counters tests compare a client's accounting with.
import { seededRandom } from '../../common/random';
import { billUsd, serverPriceOf, type ServerPrice } from './prices';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * 'malformed' / 'truncated': the model's JSON is broken / cut at the token limit (a well-formed response);
 * 'badBody': the HTTP response body itself is cut mid-JSON (a dropped connection or broken proxy).
 */
export type FaultKind = 'ok' | '429' | '5xx' | 'timeout' | 'malformed' | 'truncated' | 'refusal' | 'badBody';

export interface FaultRates {
  rate429?: number;
  rate5xx?: number;
  rateTimeout?: number;
  rateMalformed?: number;
  rateTruncated?: number;
  rateRefusal?: number;
  rateBadBody?: number;
}

/** What a provider request asked for, in one shape for all three wire formats. */
export interface ServedRequest {
  provider: 'openai' | 'anthropic' | 'google';
  model: string;
  system: string;
  messages: { role: string; content: string }[];
  /** JSON Schema of the structured output asked for, if any */
  schema?: unknown;
  maxTokens?: number;
  temperature?: number;
  /** true when the request came inside a batch */
  batch: boolean;
  /** 0-based index of this request among all the server has seen */
  index: number;
  /** the HTTP headers it came with (a request sent on its own, not inside a batch) */
  headers?: Readonly<Record<string, string | string[] | undefined>>;
  /** set once its reply was handed to the operating system for a client still connected (sent on its own) */
  delivered?: boolean;
}

export interface ServerOptions {
  rpm?: number;
  tpm?: number;
  /** Seconds of the per-minute budget that may be spent at once (bucket capacity). Default 1. */
  burstSeconds?: number;
  latencyMs?: [number, number];
  faults?: FaultRates;
  /** Faults for the first requests, in order (then `faults` rates apply): deterministic scripting for tests. */
  faultSequence?: FaultKind[];
  /** The model's reply text (for structured requests: the JSON text). Default: derived from the schema. */
  respond?: (req: ServedRequest) => string | Promise<string>;
  /** Expected API key; any other gets 401. When omitted every key is accepted. */
  apiKey?: string;
  /** How long a 'timeout' fault holds the request before answering 504 (the client should give up sooner). */
  timeoutHoldMs?: number;
  /** How long a submitted batch stays in progress. Default 50 ms. */
  /**
   * OpenAI server: awaited after a batch is created and before the client hears so (a test kills the client
   * here: the provider has the batch, the client never learns its id).
   */
  onBatchCreated?: (batchId: string) => void | Promise<void>;
  batchDelayMs?: number;
  /** Shortest shared prefix (tokens) eligible for prompt caching. Default 1024. */
  cacheMinTokens?: number;
  /** Seed of the fault/latency generator. */
  seed?: number;
  /** Divides every duration (latency, per-minute windows) for fast benchmarks. Default 1. */
  timeScale?: number;
  /** Called as each synchronous request arrives, before the rate limits decide (benchmarks time arrivals). */
  onRequest?: (req: ServedRequest) => void;
  /** The retry-after of a scripted 429 (faultSequence / rate429), seconds. Default 1. */
  retryAfterS?: number;
  /** The account has no credit left: every request is refused the way the provider refuses it (no bill). */
  quotaExhausted?: boolean;
  /** Prices by exact model name, over the server's own list (prices.ts). */
  prices?: Record<string, ServerPrice>;
}

export interface ServerStats {
  requests: number;
  ok: number;
  got429: number;
  got5xx: number;
  timeouts: number;
  malformed: number;
  truncated: number;
  refusals: number;
  badBodies: number;
  unauthorized: number;
  batchesCreated: number;
  /** batches cancelled while in progress (their items are never run nor billed) */
  batchesCancelled: number;
  batchItems: number;
  /** Tokens billed, sync and batch together; `batch*` is the batch share. */
  billedInputTokens: number;
  billedOutputTokens: number;
  billedCachedTokens: number;
  batchInputTokens: number;
  batchOutputTokens: number;
  /** USD billed from the server's own token count and price list (prices.ts); `batchUsd` is the batch share */
  billedUsd: number;
  batchUsd: number;
  /** USD of each billed reply, in order (bounded to the last 10,000) */
  replyUsd: number[];
  /** requests refused because the account's quota is exhausted */
  quotaRefused: number;
  /** every request's parsed form, for assertions (bounded to the last 10,000) */
  log: ServedRequest[];
}

export interface StartedServer {
  url: string;
  close(): Promise<void>;
  stats: ServerStats;
}

/** About four characters a token: the rule of thumb the providers document; the client estimates the same way. */
export function countTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function emptyStats(): ServerStats {
  return {
    requests: 0,
    ok: 0,
    got429: 0,
    got5xx: 0,
    timeouts: 0,
    malformed: 0,
    truncated: 0,
    refusals: 0,
    badBodies: 0,
    unauthorized: 0,
    batchesCreated: 0,
    batchesCancelled: 0,
    batchItems: 0,
    billedInputTokens: 0,
    billedOutputTokens: 0,
    billedCachedTokens: 0,
    batchInputTokens: 0,
    batchOutputTokens: 0,
    billedUsd: 0,
    batchUsd: 0,
    replyUsd: [],
    quotaRefused: 0,
    log: [],
  };
}

/** A continuously refilled bucket; `take` admits when the level covers the cost (or the whole capacity). */
export class Bucket {
  private level: number;
  private last: number;
  constructor(
    readonly capacity: number,
    readonly perMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.level = capacity;
    this.last = now();
  }
  private refill(): void {
    const t = this.now();
    this.level = Math.min(this.capacity, this.level + (t - this.last) * this.perMs);
    this.last = t;
  }
  /** Milliseconds until `cost` could be admitted (0 = now). */
  waitFor(cost: number): number {
    this.refill();
    const need = Math.min(cost, this.capacity);
    return this.level >= need ? 0 : (need - this.level) / this.perMs;
  }
  take(cost: number): boolean {
    if (this.waitFor(cost) > 0) return false;
    this.level -= cost;
    return true;
  }
  remaining(): number {
    this.refill();
    return Math.max(0, Math.floor(this.level));
  }
}

/** Small seeded PRNG (mulberry32) so scripted runs repeat. */
export const rng: (seed: number) => () => number = seededRandom;

/** A minimal instance of a JSON Schema: the default reply to structured requests. */
export function sampleFromSchema(schema: unknown): unknown {
  const s = (schema ?? {}) as Record<string, unknown>;
  if (Array.isArray(s.enum)) return s.enum[0];
  if ('const' in s) return s.const;
  const anyOf = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (anyOf?.length) return sampleFromSchema(anyOf[0]);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, sampleFromSchema(v)]));
    }
    case 'array':
      return s.minItems ? Array.from({ length: Number(s.minItems) }, () => sampleFromSchema(s.items)) : [];
    case 'string':
      return 'sample';
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : 0;
    case 'boolean':
      return false;
    default:
      return null;
  }
}

export interface Reply {
  /** text the model produced, already faulted (malformed / truncated) */
  text: string;
  finish: 'stop' | 'length' | 'refusal';
  inputTokens: number;
  outputTokens: number;
  /** prompt tokens read from the prefix cache */
  cachedTokens: number;
  /** prompt tokens written to the prefix cache by this request */
  cacheWriteTokens: number;
}

export type Admission =
  { kind: 'reply'; reply: Reply } | { kind: 'error'; fault: '429' | '5xx' | 'timeout'; retryAfterS?: number };

/**
 * The provider-independent part of answering one request. Each wire server parses its format into a
 * ServedRequest, calls `admit`/`answer`, and renders the result in its own format.
 */
export class ScriptedModel {
  readonly stats = emptyStats();
  private readonly random: () => number;
  private readonly requestBucket?: Bucket;
  private readonly tokenBucket?: Bucket;
  private readonly seenPrefixes = new Set<string>();
  private sequence: FaultKind[];
  readonly scale: number;
  private index = 0;

  constructor(readonly opts: ServerOptions) {
    this.random = rng(opts.seed ?? 1);
    this.scale = opts.timeScale ?? 1;
    const burst = opts.burstSeconds ?? 1;
    const minuteMs = 60_000 / this.scale;
    if (opts.rpm) this.requestBucket = new Bucket((opts.rpm / 60) * burst, opts.rpm / minuteMs);
    if (opts.tpm) this.tokenBucket = new Bucket((opts.tpm / 60) * burst, opts.tpm / minuteMs);
    this.sequence = [...(opts.faultSequence ?? [])];
  }

  nextIndex(): number {
    return this.index++;
  }

  private pickFault(): FaultKind {
    const next = this.sequence.shift();
    if (next) return next;
    const f = this.opts.faults ?? {};
    const r = this.random();
    let acc = 0;
    for (const [kind, rate] of [
      ['429', f.rate429],
      ['5xx', f.rate5xx],
      ['timeout', f.rateTimeout],
      ['malformed', f.rateMalformed],
      ['truncated', f.rateTruncated],
      ['refusal', f.rateRefusal],
      ['badBody', f.rateBadBody],
    ] as const) {
      acc += rate ?? 0;
      if (r < acc) return kind;
    }
    return 'ok';
  }

  latency(): number {
    const [min, max] = this.opts.latencyMs ?? [0, 0];
    return (min + this.random() * (max - min)) / this.scale;
  }

  /** Rate-limit headers the way OpenAI sends them (per real minute, so a scaled server reports its scaled limit). */
  limitHeaders(): Record<string, string> {
    const h: Record<string, string> = {};
    if (this.opts.rpm && this.requestBucket) {
      h['x-ratelimit-limit-requests'] = String(this.opts.rpm * this.scale);
      h['x-ratelimit-remaining-requests'] = String(this.requestBucket.remaining());
    }
    if (this.opts.tpm && this.tokenBucket) {
      h['x-ratelimit-limit-tokens'] = String(this.opts.tpm * this.scale);
      h['x-ratelimit-remaining-tokens'] = String(this.tokenBucket.remaining());
    }
    return h;
  }

  promptTokens(req: ServedRequest): number {
    return countTokens(req.system) + req.messages.reduce((n, m) => n + countTokens(m.content), 0);
  }

  /**
   * Decides the fate of a synchronous request before any latency: rate limits first (a 429 is cheap and
   * immediate, as at the providers), then the scripted fault.
   */
  admit(req: ServedRequest): { fault: FaultKind; retryAfterS?: number } {
    this.opts.onRequest?.(req);
    this.stats.requests++;
    this.stats.log.push(req);
    if (this.stats.log.length > 10_000) this.stats.log.shift();
    const tokenCost = this.promptTokens(req) + (req.maxTokens ?? 0);
    const waitReq = this.requestBucket?.waitFor(1) ?? 0;
    const waitTok = this.tokenBucket?.waitFor(tokenCost) ?? 0;
    if (waitReq > 0 || waitTok > 0) {
      this.stats.got429++;
      return { fault: '429', retryAfterS: Math.max(waitReq, waitTok) / 1000 };
    }
    this.requestBucket?.take(1);
    this.tokenBucket?.take(tokenCost);
    const fault = this.pickFault();
    if (fault === '429') {
      this.stats.got429++;
      return { fault, retryAfterS: (this.opts.retryAfterS ?? 1) / this.scale };
    }
    return { fault };
  }

  /** A request inside a batch: no per-minute limits (batches have their own queue), only scripted faults. */
  admitBatchItem(req: ServedRequest): FaultKind {
    this.stats.requests++;
    this.stats.batchItems++;
    this.stats.log.push(req);
    if (this.stats.log.length > 10_000) this.stats.log.shift();
    const fault = this.pickFault();
    if (fault === '429') this.stats.got429++;
    if (fault === '5xx') this.stats.got5xx++;
    if (fault === 'timeout') this.stats.timeouts++;
    return fault;
  }

  /** Produces (and bills) the reply for an admitted request under `fault`. */
  async answer(req: ServedRequest, fault: FaultKind, cacheRequested: boolean): Promise<Reply> {
    const good = this.opts.respond
      ? await this.opts.respond(req)
      : req.schema !== undefined
        ? JSON.stringify(sampleFromSchema(req.schema))
        : `Reply to: ${req.messages.at(-1)?.content.slice(0, 80) ?? ''}`;
    let text = good;
    let finish: Reply['finish'] = 'stop';
    if (fault === 'malformed') {
      text = req.schema !== undefined ? good.slice(0, Math.max(1, good.length - 1)) + ',}' : good;
      this.stats.malformed++;
    } else if (fault === 'truncated') {
      text = good.slice(0, Math.ceil(good.length / 2));
      finish = 'length';
      this.stats.truncated++;
    } else if (fault === 'refusal') {
      text = "I'm sorry, I can't help with that.";
      finish = 'refusal';
      this.stats.refusals++;
    }
    const inputTokens = this.promptTokens(req);
    const { read: cachedTokens, write: cacheWriteTokens } = this.cache(req, cacheRequested);
    const outputTokens = countTokens(text);
    this.bill(req, inputTokens, outputTokens, cachedTokens);
    this.stats.ok++;
    return { text, finish, inputTokens, outputTokens, cachedTokens, cacheWriteTokens };
  }

  /** The system prompt is the shared prefix; a repeat of one long enough is served from cache. */
  private cache(req: ServedRequest, cacheRequested: boolean): { read: number; write: number } {
    const tokens = countTokens(req.system);
    if (!cacheRequested || tokens < (this.opts.cacheMinTokens ?? 1024)) return { read: 0, write: 0 };
    if (this.seenPrefixes.has(req.system)) return { read: tokens, write: 0 };
    this.seenPrefixes.add(req.system);
    return { read: 0, write: tokens };
  }

  private bill(req: ServedRequest, input: number, output: number, cached: number): void {
    const { batch } = req;
    const price = serverPriceOf(req.provider, req.model, this.opts.prices);
    const usd = price ? billUsd(price, { input, output, cached }, batch) : 0;
    this.stats.billedUsd += usd;
    if (batch) this.stats.batchUsd += usd;
    this.stats.replyUsd.push(usd);
    if (this.stats.replyUsd.length > 10_000) this.stats.replyUsd.shift();
    this.stats.billedInputTokens += input;
    this.stats.billedOutputTokens += output;
    this.stats.billedCachedTokens += cached;
    if (batch) {
      this.stats.batchInputTokens += input;
      this.stats.batchOutputTokens += output;
    }
  }

  /** Holds a 'timeout' request; resolves early when the client hangs up. */
  async hold(res: ServerResponse): Promise<void> {
    this.stats.timeouts++;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.opts.timeoutHoldMs ?? 30_000);
      res.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** True (and counted) when the account cannot pay: the caller sends its provider's refusal. */
  quotaRefused(): boolean {
    if (!this.opts.quotaExhausted) return false;
    this.stats.requests++;
    this.stats.quotaRefused++;
    return true;
  }

  authorized(key: string | undefined): boolean {
    if (this.opts.apiKey === undefined || key === this.opts.apiKey) return true;
    this.stats.unauthorized++;
    return false;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Sends a 200 reply, or under the 'badBody' fault only its first half (the SDK sees invalid JSON). */
export function sendReply(
  res: ServerResponse,
  fault: FaultKind,
  stats: ServerStats,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (fault !== 'badBody') return sendJson(res, 200, body, headers);
  stats.badBodies++;
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json', ...headers });
  res.end(text.slice(0, Math.floor(text.length / 2)));
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, base: string) => Promise<void>;

/** Starts `handler` on 127.0.0.1 at a free port. */
export async function listen(handler: Handler, stats: ServerStats): Promise<StartedServer> {
  let base = '';
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', base);
    handler(req, res, url, base).catch((err: unknown) => {
      sendJson(res, 500, {
        error: { message: `test server error: ${(err as Error).message}`, type: 'server_error' },
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let idCounter = 0;
export function newId(prefix: string): string {
  idCounter++;
  return `${prefix}${Date.now().toString(36)}${idCounter.toString(36)}`;
}
