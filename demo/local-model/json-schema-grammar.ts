// Turns the JSON Schema of an OpenAI `response_format: {type: 'json_schema'}` request (as the openai SDK,
// zod's toJSONSchema or zod-to-json-schema write it) into the schema dialect node-llama-cpp compiles into a
// GBNF grammar, so decoding itself can only produce matching JSON.
//   - anyOf/oneOf become oneOf; `definitions` and its refs become `$defs`; {type, enum} becomes {enum}.
//   - A bounded integer (minimum and maximum, at most MAX_INTEGER_ENUM values apart) becomes an enum, so the
//     bound is enforced by the grammar too (judge scores 0..100 are the case that matters).
//   - Constraints a grammar cannot carry (pattern, other formats, open numeric bounds) are dropped: the
//     JSON is still well-formed and typed, and callers validate the value as they would with any provider.
//   - Anything else unknown is an error naming the keyword and where it is.

export class UnsupportedSchemaError extends Error {
  constructor(
    readonly at: string,
    message: string,
  ) {
    super(`response_format.json_schema.schema${at}: ${message}`);
    this.name = 'UnsupportedSchemaError';
  }
}

const MAX_INTEGER_ENUM = 1000;
const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array']);
const GRAMMAR_FORMATS = new Set(['date-time', 'date', 'time']);
/** Keywords that only annotate, or constrain in ways a grammar cannot: dropped. */
const DROPPED = new Set([
  '$schema',
  '$id',
  'title',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$comment',
  'pattern',
  'multipleOf',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'strict',
  'nullable',
  'contentEncoding',
  'contentMediaType',
]);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = { [k: string]: Json };

function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Strings without a maxLength get this one: a 135M model on two CPU cores can otherwise ramble for a
 * thousand tokens inside a free-text field (a judge's rationale) before closing the JSON.
 */
export const DEFAULT_MAX_STRING_LENGTH = 200;

export function toGrammarSchema(schema: unknown, maxStringLength = DEFAULT_MAX_STRING_LENGTH): Schema {
  return capStrings(convert(schema, ''), maxStringLength);
}

function capStrings(node: Json, max: number): Schema {
  if (Array.isArray(node)) return node.map((n) => capStrings(n, max)) as unknown as Schema;
  if (!isSchema(node)) return node as unknown as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'enum' || k === 'const' ? v : capStrings(v, max);
  if (
    out.type === 'string' &&
    out.maxLength === undefined &&
    out.format === undefined &&
    Number.isFinite(max)
  )
    out.maxLength = max;
  return out;
}

function convert(node: unknown, at: string): Schema {
  if (!isSchema(node)) throw new UnsupportedSchemaError(at, 'a schema must be an object');
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    const here = `${at}.${key}`;
    switch (key) {
      case 'type': {
        const types = Array.isArray(value) ? value : [value];
        for (const t of types)
          if (typeof t !== 'string' || !TYPES.has(t))
            throw new UnsupportedSchemaError(here, `unknown type ${JSON.stringify(t)}`);
        out.type = value;
        break;
      }
      case 'description':
      case 'enum':
      case 'const':
      case 'required':
      case 'minLength':
      case 'maxLength':
      case 'minItems':
      case 'maxItems':
      case 'minProperties':
      case 'maxProperties':
        out[key] = value as Json;
        break;
      case 'format':
        if (typeof value === 'string' && GRAMMAR_FORMATS.has(value)) out.format = value;
        break;
      case 'minimum':
      case 'maximum':
        break; // handled below, with `type`
      case 'properties':
      case '$defs':
      case 'definitions':
        if (!isSchema(value)) throw new UnsupportedSchemaError(here, 'must be an object of schemas');
        out[key === 'definitions' ? '$defs' : key] = Object.fromEntries(
          Object.entries(value).map(([name, sub]) => [name, convert(sub, `${here}.${name}`)]),
        );
        break;
      case 'items':
      case 'additionalProperties':
        out[key] = typeof value === 'boolean' ? value : convert(value, here);
        break;
      case 'prefixItems':
      case 'anyOf':
      case 'oneOf':
        if (!Array.isArray(value)) throw new UnsupportedSchemaError(here, 'must be an array of schemas');
        out[key === 'prefixItems' ? key : 'oneOf'] = value.map((sub, i) => convert(sub, `${here}[${i}]`));
        break;
      case '$ref':
        if (typeof value !== 'string' || !/^#\/(\$defs|definitions)\/[^/]+$/.test(value)) {
          throw new UnsupportedSchemaError(
            here,
            `only local refs like "#/$defs/Name" are supported, got ${JSON.stringify(value)}`,
          );
        }
        out.$ref = value.replace('#/definitions/', '#/$defs/');
        break;
      default:
        if (!DROPPED.has(key))
          throw new UnsupportedSchemaError(
            here,
            `keyword "${key}" is not supported by grammar-constrained decoding`,
          );
    }
  }
  if (out.type === undefined && isSchema(out.properties)) out.type = 'object';
  // In node-llama-cpp's dialect enum and const schemas carry no type (its validator would read a typed one
  // as the bare type); the enum or const is the tighter constraint anyway.
  if (out.enum !== undefined || out.const !== undefined) delete out.type;
  return boundedIntegerAsEnum(node, out);
}

function boundedIntegerAsEnum(node: Schema, out: Schema): Schema {
  const { minimum: min, maximum: max } = node;
  if (out.type !== 'integer' || typeof min !== 'number' || typeof max !== 'number' || out.enum !== undefined)
    return out;
  const lo = Math.ceil(min);
  const hi = Math.floor(max);
  if (hi < lo || hi - lo > MAX_INTEGER_ENUM) return out;
  const { type: _type, ...rest } = out;
  return { ...rest, enum: Array.from({ length: hi - lo + 1 }, (_, i) => lo + i) };
}
