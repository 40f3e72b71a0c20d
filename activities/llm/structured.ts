// From a zod schema to the JSON Schema each provider's structured-output mechanism takes, and from the
// model's text back to a validated value (or the error message fed back to the model on retry).
// OpenAI json_schema and Anthropic tool input need an object at the root, so any other root is wrapped
// as {"value": ...} and unwrapped on the way back.
import { z } from 'zod';
import type { StructuredSpec } from './provider';

export interface StructuredPlan<T> {
  spec: StructuredSpec;
  wrapped: boolean;
  schema: z.ZodType<T>;
}

export function planStructured<T>(schema: z.ZodType<T>, name: string): StructuredPlan<T> {
  const json = z.toJSONSchema(schema, { target: 'draft-7', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  delete json.$schema;
  const wrapped = json.type !== 'object';
  const jsonSchema = wrapped
    ? { type: 'object', properties: { value: json }, required: ['value'], additionalProperties: false }
    : json;
  const safeName = name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || 'result';
  return { spec: { name: safeName, jsonSchema }, wrapped, schema };
}

/** Strips a markdown code fence some models put around JSON even when asked not to. */
function unfence(text: string): string {
  const m = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/.exec(text);
  return m ? m[1]! : text;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export function parseStructured<T>(plan: StructuredPlan<T>, text: string): Parsed<T> {
  let data: unknown;
  try {
    data = JSON.parse(unfence(text));
  } catch (err) {
    return { ok: false, error: `reply is not valid JSON (${(err as Error).message})` };
  }
  if (plan.wrapped) {
    if (!data || typeof data !== 'object' || !('value' in data))
      return { ok: false, error: 'missing "value" at the root' };
    data = (data as { value: unknown }).value;
  }
  const r = plan.schema.safeParse(data);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, error: `reply does not match the schema: ${z.prettifyError(r.error)}` };
}
