// Turns zod issues into `path: message` pairs a user can act on.
import type { z } from 'zod';

export interface ConfigIssue {
  path: string;
  message: string;
  /** 1-based line in the config file, when known */
  line?: number;
}

export function formatConfigIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((i) => {
    const path = i.path.length ? i.path.map(String).join('.') : '(top level)';
    let message = i.message;
    if (i.code === 'unrecognized_keys') message = `unknown field(s): ${i.keys.join(', ')}`;
    if (i.code === 'invalid_type' && /received undefined$/.test(i.message))
      message = `is required (${i.expected})`;
    if (i.code === 'invalid_value' && 'values' in i)
      message = `must be one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`;
    return { path, message };
  });
}
