// tsx demo/local-model/serve.ts --port 8089
// Serves the demo model on 127.0.0.1 until SIGINT/SIGTERM; prints the base URL for OpenAI clients.
import { Command, InvalidArgumentError } from 'commander';
import { startLocalModelServer } from './server';

function int(name: string, min: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

const opts = new Command('serve')
  .description('Serve the offline demo model with the OpenAI chat completions protocol on 127.0.0.1')
  .option('--port <n>', 'port (0 picks a free one)', int('--port', 0), 8089)
  .option('--model <file>', 'GGUF file (default: the one scripts/setup-demo-model.sh installed)')
  .option('--context-size <n>', 'tokens of prompt + output per request', int('--context-size', 256), 4096)
  .option('--threads <n>', 'CPU threads (default: all cores but one)', int('--threads', 1))
  .parse()
  .opts<{ port: number; model?: string; contextSize: number; threads?: number }>();

try {
  const server = await startLocalModelServer({
    port: opts.port,
    modelPath: opts.model,
    contextSize: opts.contextSize,
    threads: opts.threads,
  });
  console.log(
    `serving ${server.modelId} at ${server.url} (OpenAI chat completions; any API key is accepted)`,
  );
  const stop = () => {
    server.close().then(
      () => process.exit(0),
      (err: unknown) => (console.error(err), process.exit(1)),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  console.error(`serve: ${(err as Error).message}`);
  process.exit(1);
}
