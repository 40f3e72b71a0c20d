// The JSON Schema of a migration config file, generated from the zod schema (the one source of truth).
import { z } from 'zod';
import { MigrationConfig } from './config';

export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(MigrationConfig, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://llamaduo.dev/schemas/migration-config.json',
    title: 'llamaduo migration config',
  };
}
