// Loads a GGUF file with the llama.cpp runtime the demo installs (node-llama-cpp, scripts/setup-demo-model.sh)
// and prints {"answer": ...} for one chat prompt, greedy. Usage: node answer.mjs <runtime entry> <gguf> <prompt>
import { pathToFileURL } from 'node:url';

const [entry, modelPath, prompt] = process.argv.slice(2);
const { getLlama, LlamaChatSession } = await import(pathToFileURL(entry).href);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error', progressLogs: false, maxThreads: 1 });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize: 512 });
const session = new LlamaChatSession({ contextSequence: context.getSequence() });
const answer = await session.prompt(prompt, { maxTokens: 24, temperature: 0 });
console.log(JSON.stringify({ answer }));
await context.dispose();
await model.dispose();
await llama.dispose();
