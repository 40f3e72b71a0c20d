// bench:ratelimit — throughput against a provider that enforces its per-minute limits.
//
// Two local OpenAI-compatible servers, each enforcing RPM/TPM (per second, as providers do) with a uniform
// latency, serve in the same run: (1) this project's client, 5,000 requests (dolly-15k prompts) through
// the shared limiter; (2) the reference implementation's scheduling rule (PAPER.md): fire N requests,
// wait for all, then sleep what is left of N's share of the minute. N is one second's quota, the largest
// burst the server admits; the baseline runs for the same wall time as the client and its rate is
// measured over it. Prints one JSON line.
//
//   npm run bench:ratelimit                       # the reported figures: 600 RPM, 200k TPM, 300-3000 ms
//   npm run bench:ratelimit -- --requests 500 --scale 10   # quick check: minutes and latencies / 10
//   npm run bench:ratelimit -- --workers 4        # N replicas sharing one limit: bench/ratelimit-shared.ts
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { createLlmClient } from '../activities/llm/factory';
import { LimiterRegistry } from '../activities/llm/limiter';
import { DEFAULT_BURST_SECONDS, DEFAULT_WINDOW_SECONDS } from '../activities/llm/pacing';
import { startOpenAiServer } from '../tests/servers/index';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '5000' },
    rpm: { type: 'string', default: '600' },
    tpm: { type: 'string', default: '200000' },
    latency: { type: 'string', default: '300,3000' },
    scale: { type: 'string', default: '1' },
    'max-output-tokens': { type: 'string', default: '100' },
    workers: { type: 'string' },
    limiter: { type: 'string' },
    // bench/ratelimit-shared.ts's options, accepted here so `--workers` can hand them over
    headroom: { type: 'string' },
    'burst-seconds': { type: 'string' },
    'window-seconds': { type: 'string' },
    data: {
      type: 'string',
      default: path.resolve(import.meta.dirname, '../../shared/data/raw/dolly15k/databricks-dolly-15k.jsonl'),
    },
  },
});
if (args.workers !== undefined) {
  await import('./ratelimit-shared');
  process.exit(0);
}
const requests = Number(args.requests);
const rpm = Number(args.rpm);
const tpm = Number(args.tpm);
const scale = Number(args.scale);
const latencyMs = args.latency.split(',').map(Number) as [number, number];
const maxOutputTokens = Number(args['max-output-tokens']);
const KEY = 'bench-key';

// Real prompts: dolly-15k instruction + context (context cut to 800 characters to stay a chat-sized call).
const prompts = readFileSync(args.data, 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .slice(0, requests)
  .map((l) => {
    const r = JSON.parse(l) as { instruction: string; context: string };
    return r.context ? `${r.instruction}\n\nContext: ${r.context.slice(0, 800)}` : r.instruction;
  });
if (prompts.length < requests)
  throw new Error(`${args.data}: only ${prompts.length} records, ${requests} wanted`);

const serverOpts = { apiKey: KEY, rpm, tpm, latencyMs, timeScale: scale, seed: 11 };
const ours = await startOpenAiServer(serverOpts);
const base = await startOpenAiServer({ ...serverOpts, seed: 12 });
const log = (m: string) => process.stderr.write(`[bench:ratelimit] ${m}\n`);

// In scaled runs a server "minute" is 60/scale s, which a client sees as scale times the limit.
const client = createLlmClient({
  model: {
    provider: 'openai',
    model: 'gpt-4o',
    baseURL: `${ours.url}/v1`,
    batch: false,
    rpm: rpm * scale,
    tpm: tpm * scale,
  },
  env: { OPENAI_API_KEY: KEY },
  limiters: new LimiterRegistry(),
  limits: {
    maxConcurrency: 256,
    burstSeconds: DEFAULT_BURST_SECONDS / scale,
    windowSeconds: DEFAULT_WINDOW_SECONDS / scale,
  },
});

const t0 = performance.now();
let done = 0;
let failed = 0;
let oursEnd = 0;
let stop = false;
const progress = setInterval(
  () => log(`client ${done}/${requests} done, ${ours.stats.got429} x 429; baseline ${base.stats.ok} done`),
  30_000,
);

const oursRun = Promise.all(
  prompts.map(async (prompt) => {
    try {
      await client.generate({ model: client.model, prompt, maxOutputTokens });
    } catch (err) {
      failed++;
      log(`client failure: ${(err as Error).message}`);
    }
    done++;
  }),
).then(() => {
  oursEnd = performance.now();
  stop = true;
});

// The reference rule, with the SDK's own retries (which honour retry-after) for any 429.
const sdk = new OpenAI({ apiKey: KEY, baseURL: `${base.url}/v1`, maxRetries: 5 });
const batchSize = Math.max(1, Math.floor(rpm / 60));
const windowMs = (batchSize * 60_000) / (rpm * scale);
let baseDone = 0;
let baseFailed = 0;
let baseEnd = 0;
const baselineRun = (async () => {
  for (let i = 0; !stop; i += batchSize) {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: batchSize }, async (_, j) => {
        try {
          await sdk.chat.completions.create({
            model: 'gpt-4o',
            messages: [{ role: 'user', content: prompts[(i + j) % prompts.length]! }],
            max_completion_tokens: maxOutputTokens,
          });
          if (!stop || performance.now() <= oursEnd) baseDone++;
        } catch {
          baseFailed++;
        }
      }),
    );
    baseEnd = Math.min(performance.now(), oursEnd || Infinity);
    const rest = windowMs - (performance.now() - started);
    if (rest > 0 && !stop) await new Promise((r) => setTimeout(r, rest));
  }
})();

await oursRun;
await baselineRun;
clearInterval(progress);
await ours.close();
await base.close();

const minutes = (ms: number) => (ms / 60_000) * scale; // in server minutes
const achievedRpm = (requests - failed) / minutes(oursEnd - t0);
const baselineRpm = baseDone / minutes(baseEnd - t0);
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
console.log(
  JSON.stringify({
    limitRpm: rpm,
    achievedRpm: round(achievedRpm),
    ratioToLimit: round(achievedRpm / rpm, 3),
    baselineRpm: round(baselineRpm),
    ratioToBaseline: round(achievedRpm / baselineRpm, 2),
    failed,
    got429: ours.stats.got429,
    requests,
    seconds: round((oursEnd - t0) / 1000),
    baselineRequests: baseDone,
    baselineGot429: base.stats.got429,
    baselineFailed: baseFailed,
    scale,
  }),
);
