// bench:ratelimit-shared — N worker replicas (child processes) against one provider limit.
//
// One local OpenAI-protocol server enforces RPM (per second, as providers do; 429 with retry-after beyond
// it). N replica processes (tests/integration/shared-limits/replica.ts) each send requests/N calls for one
// model through the real client, either sharing one limit through a private redis-server (`--limiter
// shared`, the default) or each with the per-process limiter (`--limiter local`, what N replicas did before).
// The server times every arrival. Prints one JSON line:
//   ratioToLimit    requests the server accepted per minute (first to last arrival) / the limit
//   maxWindowRatio  the most arrivals in any 10 s window / the limit's 10 s share
//   scheduledWindowRatio  the same for the slots the limiter handed out (shared: Redis clock), before the
//                   requests left their processes
//   got429, failed  429s the server sent, calls that failed
//
//   npm run bench:ratelimit -- --workers 4                        # 600 RPM, 1,200 requests, time x2
//   npm run bench:ratelimit -- --workers 4 --limiter local        # the per-process limiter, for comparison
//   npm run bench:ratelimit -- --workers 4 --headroom 0.95        # the limiter's headroom (default 0.96)
// The limiter's time settings (burst and window seconds) are divided by --scale like the server's minute.
import { parseArgs } from 'node:util';
import { DEFAULT_BURST_SECONDS, DEFAULT_HEADROOM, DEFAULT_WINDOW_SECONDS } from '../activities/llm/pacing';
import type { ServiceModel } from '../common/config';
import { startRedis } from '../tests/helpers/redis-server';
import { maxInWindow, runReplica } from '../tests/integration/shared-limits/replicas';
import { startOpenAiServer } from '../tests/servers/index';

const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: '4' },
    limiter: { type: 'string', default: 'shared' },
    requests: { type: 'string', default: '1200' },
    rpm: { type: 'string', default: '600' },
    latency: { type: 'string', default: '300,3000' },
    scale: { type: 'string', default: '2' },
    // the limiter's own settings (activities/llm/pacing.ts defaults: 0.96, 0.1 s and 10 s)
    headroom: { type: 'string' },
    'burst-seconds': { type: 'string', default: String(DEFAULT_BURST_SECONDS) },
    'window-seconds': { type: 'string', default: String(DEFAULT_WINDOW_SECONDS) },
    // bench/ratelimit.ts's options, accepted when it hands over (`--workers`), unused here
    data: { type: 'string' },
    'max-output-tokens': { type: 'string' },
  },
});
const workers = Number(args.workers);
const requests = Number(args.requests);
const rpm = Number(args.rpm);
const scale = Number(args.scale);
const latencyMs = args.latency.split(',').map(Number) as [number, number];
if (args.limiter !== 'shared' && args.limiter !== 'local') throw new Error('--limiter is shared or local');
const KEY = 'bench-key';
const log = (m: string) => process.stderr.write(`[bench:ratelimit-shared] ${m}\n`);

const arrivals: number[] = [];
const srv = await startOpenAiServer({
  apiKey: KEY,
  rpm,
  latencyMs,
  timeScale: scale,
  seed: 7,
  onRequest: () => arrivals.push(performance.now()),
});
const redis = args.limiter === 'shared' ? await startRedis() : undefined;
const model: ServiceModel = {
  provider: 'openai',
  model: 'gpt-4o',
  baseURL: `${srv.url}/v1`,
  batch: false,
};
// In scaled runs a server "minute" is 60/scale s, which a client sees as scale times the limit.
const settings = { 'openai/gpt-4o': { rpm: rpm * scale, tpm: 100_000_000, maxConcurrency: 512 } };
const per = Math.ceil(requests / workers);
log(`${workers} replicas x ${per} requests, ${args.limiter} limiter, ${rpm} RPM, time x${scale}`);
const results = await Promise.all(
  Array.from({ length: workers }, () =>
    runReplica({
      mode: 'send',
      redisUrl: redis?.url,
      model,
      settings,
      limits: {
        burstSeconds: Number(args['burst-seconds']) / scale,
        windowSeconds: Number(args['window-seconds']) / scale,
        ...(args.headroom ? { headroom: Number(args.headroom) } : {}),
      },
      requests: per,
      prompts: ['Summarise the water cycle in one sentence.'],
      maxOutputTokens: 50,
      apiKey: KEY,
    }),
  ),
);
await srv.close();
await redis?.stop();

const accepted = srv.stats.requests - srv.stats.got429;
const serverMinutes = (ms: number) => (ms / 60_000) * scale;
const span = arrivals.at(-1)! - arrivals[0]!;
const achievedRpm = (accepted - 1) / serverMinutes(span);
const windowMs = 10_000 / scale;
const peak = maxInWindow(
  arrivals.map((t) => [t, 1]),
  windowMs,
);
const scheduledPeak = maxInWindow(
  results.flatMap((r) => r.sendAt.map((t): [number, number] => [t, 1])),
  windowMs,
);
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
console.log(
  JSON.stringify({
    limiter: args.limiter,
    workers,
    limitRpm: rpm,
    achievedRpm: round(achievedRpm, 1),
    ratioToLimit: round(achievedRpm / rpm),
    maxWindowRatio: round(peak / (rpm / 6)),
    scheduledWindowRatio: round(scheduledPeak / (rpm / 6)),
    got429: srv.stats.got429,
    failed: results.reduce((n, r) => n + r.failed, 0),
    requests: per * workers,
    serverRequests: srv.stats.requests,
    seconds: round(span / 1000, 1),
    scale,
    headroom: args.headroom ? Number(args.headroom) : DEFAULT_HEADROOM,
    burstSeconds: Number(args['burst-seconds']),
    windowSeconds: Number(args['window-seconds']),
  }),
);
