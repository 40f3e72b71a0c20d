// Before an embedded run starts its worker: are the API keys its service models need set in this process?
// (The same rule the worker applies when it builds a client, activities/llm/factory.ts.) A missing key found
// here costs nothing; found by the worker, it fails the migration after ingest.
import type { MigrationConfig, ServiceModel } from '../common/config';
import { apiKeyVariable } from '../activities/llm/factory';

export interface MissingKey {
  variable: string;
  /** e.g. "teacher openai/gpt-4o" */
  usedBy: string[];
}

export function missingApiKeys(
  config: MigrationConfig,
  env: Record<string, string | undefined> = process.env,
): MissingKey[] {
  const models: [string, ServiceModel][] = [
    ['teacher', config.synthesis.teacher],
    ...config.evaluation.judges.map((j): [string, ServiceModel] => ['judge', j]),
  ];
  const missing = new Map<string, Set<string>>();
  for (const [role, model] of models) {
    const { variable, required } = apiKeyVariable(model);
    if (!required || env[variable]) continue;
    const users = missing.get(variable) ?? new Set<string>();
    users.add(`${role} ${model.provider}/${model.model}`);
    missing.set(variable, users);
  }
  return [...missing].map(([variable, users]) => ({ variable, usedBy: [...users] }));
}

export function missingKeysMessage(missing: MissingKey[], source?: string): string {
  const list = missing.map((m) => `${m.variable} (for ${m.usedBy.join(', ')})`).join('; ');
  const vars = missing.map((m) => m.variable);
  const names = vars.length > 1 ? `${vars.slice(0, -1).join(', ')} and ${vars.at(-1)}` : vars[0];
  return (
    `cannot start${source ? ` ${source}` : ''}: ${missing.length === 1 ? 'an API key is' : 'API keys are'} not set: ${list}. ` +
    `Export ${names} in this shell and run the command again; keys are read from the environment only and ` +
    `never stored in the config or the workflow history. A model can name another variable with apiKeyEnv.`
  );
}
