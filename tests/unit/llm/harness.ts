// Starts a provider's local server and a client wired to it through the real SDK.
import type { ServiceModel } from '../../../common/config';
import { createLlmClient, type CreateLlmClientOptions } from '../../../activities/llm/factory';
import { LimiterRegistry } from '../../../activities/llm/limiter';
import type { ServiceLlmClient } from '../../../activities/llm/service-client';
import { startAnthropicServer, startGeminiServer, startOpenAiServer } from '../../servers/index';
import type { ServerOptions, StartedServer } from '../../servers/index';

export const KEY = 'sk-live-TEST-4f9a2c7e1b';

export const PROVIDERS = [
  { provider: 'openai', model: 'gpt-4o', start: startOpenAiServer, base: (url: string) => `${url}/v1` },
  {
    provider: 'anthropic',
    model: 'claude-3-sonnet-20240229',
    start: startAnthropicServer,
    base: (url: string) => url,
  },
  { provider: 'google', model: 'gemini-1.5-flash', start: startGeminiServer, base: (url: string) => url },
] as const;

export type ProviderCase = (typeof PROVIDERS)[number];

export async function harness(
  p: ProviderCase,
  server: ServerOptions = {},
  client: Partial<CreateLlmClientOptions> & { modelExtra?: Partial<ServiceModel> } = {},
): Promise<{ srv: StartedServer; client: ServiceLlmClient; model: ServiceModel }> {
  const srv = await p.start({ apiKey: KEY, ...server });
  const model: ServiceModel = {
    provider: p.provider,
    model: p.model,
    baseURL: p.base(srv.url),
    batch: false,
    rpm: 60_000,
    tpm: 100_000_000,
    ...client.modelExtra,
  };
  const c = createLlmClient({
    model,
    env: { OPENAI_API_KEY: KEY, ANTHROPIC_API_KEY: KEY, GEMINI_API_KEY: KEY },
    limiters: new LimiterRegistry(),
    ...client,
    tuning: { timeoutMs: 2000, backoffMs: 10, maxBackoffMs: 50, ...client.tuning },
  });
  return { srv, client: c, model };
}
