// Local wire-compatible provider servers for tests and benchmarks (loopback only).
export { startOpenAiServer } from './openai-server';
export { startAnthropicServer } from './anthropic-server';
export { startGeminiServer } from './gemini-server';
export { countTokens, sampleFromSchema } from './scripted';
export type {
  FaultKind,
  FaultRates,
  ServedRequest,
  ServerOptions,
  ServerStats,
  StartedServer,
} from './scripted';
export { billUsd, serverPriceOf, SERVER_PRICES, type ServerPrice } from './prices';
