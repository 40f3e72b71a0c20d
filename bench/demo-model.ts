// Throughput of the offline demo model through its OpenAI-compatible server and the openai SDK, the path
// the pipeline uses: model load, prompt evaluation, free generation and a judge-shaped structured call,
// for 1 and 2 threads. Prints a markdown table for docs/demo-model.md.
//   npm run bench:demo-model [-- --runs 3]
// Tokens per CPU-second is printed beside wall-clock tokens/s: on a shared machine the wall numbers depend
// on what else runs (the load average is printed too); the CPU-time numbers much less.
import os from 'node:os';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { startLocalModelServer } from '../demo/local-model/server';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, threads: { type: 'string', default: '1,2' } },
});
const runs = Number(values.runs);
const threadCounts = values.threads.split(',').map(Number);

const Judgment = z.object({
  similarity: z.number().int().min(0).max(100),
  precision: z.number().int().min(0).max(100),
  reasoning: z.string(),
});
const longPrompt = `Summarize in one word: ${'The lighthouse keeper walked up the stairs every evening to light the lamp. '.repeat(60)}`;

interface Sample {
  tokens: number;
  wallS: number;
  cpuS: number;
}

async function measure(fn: () => Promise<number>): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const tokens = await fn();
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { tokens, wallS, cpuS: (cpu.user + cpu.system) / 1e6 };
}

function row(name: string, threads: number, samples: Sample[]): string {
  const tokens = samples.reduce((a, s) => a + s.tokens, 0);
  const wall = samples.reduce((a, s) => a + s.wallS, 0);
  const cpu = samples.reduce((a, s) => a + s.cpuS, 0);
  return `| ${name} | ${threads} | ${samples.length} | ${tokens} | ${(tokens / wall).toFixed(1)} | ${(tokens / cpu).toFixed(1)} |`;
}

const lines = [
  `node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}, load average at start ${os.loadavg()[0]!.toFixed(1)}`,
  '',
  '| measure | threads | runs | tokens | tokens/s (wall) | tokens per CPU-second |',
  '|---|---|---|---|---|---|',
];

for (const threads of threadCounts) {
  const t0 = performance.now();
  const server = await startLocalModelServer({ port: 0, threads });
  const loadS = (performance.now() - t0) / 1000;
  const client = new OpenAI({ baseURL: server.url, apiKey: 'unused-local', maxRetries: 0 });
  const model = server.modelId;
  try {
    // Warm-up: first call pays for graph allocation.
    await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 2,
    });

    const prompt: Sample[] = [];
    const gen: Sample[] = [];
    const judge: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      // Prompt evaluation: a ~900-token prompt, one output token; a fresh system line defeats the prefix cache.
      prompt.push(
        await measure(async () => {
          const r = await client.chat.completions.create({
            model,
            messages: [
              { role: 'system', content: `Run ${i} at ${Date.now()}.` },
              { role: 'user', content: longPrompt },
            ],
            max_tokens: 1,
          });
          return r.usage!.prompt_tokens;
        }),
      );
      gen.push(
        await measure(async () => {
          const r = await client.chat.completions.create({
            model,
            messages: [{ role: 'user', content: `Write a long story about a lighthouse keeper, part ${i}.` }],
            temperature: 0.8,
            seed: i,
            max_tokens: 128,
          });
          return r.usage!.completion_tokens;
        }),
      );
      judge.push(
        await measure(async () => {
          const r = await client.chat.completions.parse({
            model,
            messages: [
              { role: 'system', content: 'You are a strict grader. Reply with JSON only.' },
              {
                role: 'user',
                content: `Reference: Water boils at 100 degrees Celsius at sea level.\nCandidate ${i}: At sea level water boils at 100 C.\nRate similarity and precision from 0 to 100 and explain briefly.`,
              },
            ],
            temperature: 0,
            max_tokens: 96,
            response_format: zodResponseFormat(Judgment, 'judgment'),
          });
          return r.usage!.completion_tokens;
        }),
      );
    }
    lines.push(`| model load (s) | ${threads} | 1 | - | ${loadS.toFixed(2)} s | - |`);
    lines.push(row('prompt evaluation (~900 tokens)', threads, prompt));
    lines.push(row('free generation (128 tokens)', threads, gen));
    lines.push(row('judge call, json_schema grammar', threads, judge));
  } finally {
    await server.close();
  }
}

lines.push('', `load average at end ${os.loadavg()[0]!.toFixed(1)}`);
console.log(lines.join('\n'));
