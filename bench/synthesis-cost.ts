// bench:synthesis-cost — the spend of a simulated 10k-sample synthesis with GPT-4o as teacher, sync API vs
// batch API, as accounted by the client from its pricing table and as billed by the local OpenAI-compatible
// server from its own token count and its own price list (tests/servers/prices.ts). A share of the requests
// fail (5xx; inside a batch: failed items, retried synchronously at full price), so the batch's real share
// is what the run bills, not the discount restated. Seeds and "generated" samples are real dolly-15k
// records; each request shows one seed and gets `samples-per-request` new examples back as JSON.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { runBatch } from '../activities/llm/batch';
import { createLlmClient } from '../activities/llm/factory';
import { LimiterRegistry } from '../activities/llm/limiter';
import { addUsage, ZERO_USAGE, type Usage } from '../common/types';
import { startOpenAiServer } from '../tests/servers/index';

const { values: args } = parseArgs({
  options: {
    samples: { type: 'string', default: '10000' },
    'samples-per-request': { type: 'string', default: '5' },
    /** share of requests (sync) or batch items answered 5xx */
    'fault-rate': { type: 'string', default: '0.02' },
    data: {
      type: 'string',
      default: path.resolve(import.meta.dirname, '../../shared/data/raw/dolly15k/databricks-dolly-15k.jsonl'),
    },
  },
});
const perRequest = Number(args['samples-per-request']);
const requests = Math.ceil(Number(args.samples) / perRequest);
const records = readFileSync(args.data, 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as { instruction: string; context: string; response: string });
const pick = (i: number) => records[i % records.length]!;

const Samples = z.object({ samples: z.array(z.object({ instruction: z.string(), response: z.string() })) });
const system =
  'You generate training data. Given one example of an instruction and its response, write new, different ' +
  `examples of the same kind and quality. Return JSON: {"samples": [{"instruction", "response"}]} with ${perRequest} items.`;
const prompt = (i: number) => {
  const r = pick(i);
  return `Example instruction:\n${r.instruction}${r.context ? `\n${r.context}` : ''}\n\nExample response:\n${r.response}`;
};
const respond = (req: { index: number }) =>
  JSON.stringify({
    samples: Array.from({ length: perRequest }, (_, k) => {
      const r = pick(7919 * (req.index + 1) + k);
      return { instruction: r.instruction, response: r.response };
    }),
  });

async function run(mode: 'sync' | 'batch') {
  const srv = await startOpenAiServer({
    respond,
    batchDelayMs: 10,
    faults: { rate5xx: Number(args['fault-rate']) },
    seed: 7,
  });
  const client = createLlmClient({
    model: {
      provider: 'openai',
      model: 'gpt-4o',
      baseURL: `${srv.url}/v1`,
      batch: mode === 'batch',
      rpm: 1e6,
      tpm: 1e9,
    },
    env: { OPENAI_API_KEY: 'bench' },
    limiters: new LimiterRegistry(),
    limits: { maxConcurrency: 32 },
    tuning: { backoffMs: 5, maxBackoffMs: 20 },
  });
  let usage: Usage = ZERO_USAGE;
  let ok = 0;
  const req = (i: number) => ({ system, prompt: prompt(i), maxOutputTokens: 2048 });
  if (mode === 'sync') {
    const rs = await Promise.all(
      Array.from({ length: requests }, (_, i) =>
        client.generateStructured({ model: client.model, ...req(i) }, Samples, { name: 'samples' }),
      ),
    );
    for (const r of rs) {
      usage = addUsage(usage, r.usage);
      if (r.ok) ok++;
    }
  } else {
    const r = await runBatch({
      client,
      items: Array.from({ length: requests }, (_, i) => ({ id: `s${i}`, request: req(i) })),
      schema: Samples,
      name: 'samples',
      pollIntervalMs: 20,
    });
    usage = r.usage;
    ok = [...r.results.values()].filter((x) => x.ok).length;
  }
  const s = srv.stats;
  const server = {
    serverRequests: s.requests,
    serverInputTokens: s.billedInputTokens,
    serverOutputTokens: s.billedOutputTokens,
    serverBilledUsd: Math.round(s.billedUsd * 1e6) / 1e6,
    serverBatchUsd: Math.round(s.batchUsd * 1e6) / 1e6,
  };
  await srv.close();
  return { mode, requests, ok, samples: ok * perRequest, ...usage, ...server };
}

const sync = await run('sync');
const batch = await run('batch');
console.log(JSON.stringify(sync));
console.log(JSON.stringify(batch));
console.log(
  JSON.stringify({
    model: 'gpt-4o',
    samples: Number(args.samples),
    syncServerBilledUsd: sync.serverBilledUsd,
    batchServerBilledUsd: batch.serverBilledUsd,
    batchShare: Math.round((batch.serverBilledUsd / sync.serverBilledUsd) * 1000) / 1000,
    clientMinusServerUsd: {
      sync: Math.round((sync.usd - sync.serverBilledUsd) * 1e6) / 1e6,
      batch: Math.round((batch.usd - batch.serverBilledUsd) * 1e6) / 1e6,
    },
  }),
);
