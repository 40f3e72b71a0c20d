import assert from 'node:assert/strict';
import { test } from 'node:test';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { toGrammarSchema, UnsupportedSchemaError } from '../../../demo/local-model/json-schema-grammar';

const Judgment = z.object({
  similarity: z.number().int().min(0).max(100),
  precision: z.number().int().min(0).max(100),
  reasoning: z.string(),
  verdict: z.enum(['pass', 'fail']),
  notes: z.array(z.string()).nullable(),
});

test('the openai SDK zod helper schema becomes node-llama-cpp dialect with score bounds as enums', () => {
  const format = zodResponseFormat(Judgment, 'judgment');
  const out = toGrammarSchema(format.json_schema.schema, Infinity);
  assert.equal(out.$schema, undefined);
  assert.equal(out.type, 'object');
  assert.equal(out.additionalProperties, false);
  assert.deepEqual(out.required, ['similarity', 'precision', 'reasoning', 'verdict', 'notes']);
  const props = out.properties as Record<string, Record<string, unknown>>;
  const similarity = props.similarity!;
  assert.equal(similarity.type, undefined);
  assert.equal((similarity.enum as number[]).length, 101);
  assert.equal((similarity.enum as number[])[0], 0);
  assert.equal((similarity.enum as number[])[100], 100);
  assert.deepEqual(props.verdict, { enum: ['pass', 'fail'] });
  assert.deepEqual(props.notes, { oneOf: [{ type: 'array', items: { type: 'string' } }, { type: 'null' }] });
});

test('zod v4 toJSONSchema output converts too; unbounded integers stay integers', () => {
  const out = toGrammarSchema(
    z.toJSONSchema(z.object({ n: z.number().int(), s: z.string().regex(/^a+$/) })),
    Infinity,
  );
  const props = out.properties as Record<string, Record<string, unknown>>;
  assert.deepEqual(props.n, { type: 'integer' });
  assert.deepEqual(props.s, { type: 'string' }); // pattern cannot be a grammar here: dropped, documented
});

test('definitions and their refs are rewritten to $defs', () => {
  const out = toGrammarSchema(
    {
      type: 'object',
      properties: { a: { $ref: '#/definitions/A' } },
      definitions: { A: { type: 'string' } },
    },
    Infinity,
  );
  assert.deepEqual(out.properties, { a: { $ref: '#/$defs/A' } });
  assert.deepEqual(out.$defs, { A: { type: 'string' } });
});

test('an unsupported keyword is an error naming where it is', () => {
  assert.throws(
    () => toGrammarSchema({ type: 'object', properties: { a: { allOf: [{ type: 'string' }] } } }),
    (err: unknown) =>
      err instanceof UnsupportedSchemaError &&
      err.message ===
        'response_format.json_schema.schema.properties.a.allOf: keyword "allOf" is not supported by grammar-constrained decoding',
  );
  assert.throws(() => toGrammarSchema({ type: 'decimal' }), /schema\.type: unknown type "decimal"/);
  assert.throws(
    () => toGrammarSchema({ $ref: 'http://example.com/s.json' }),
    /schema\.\$ref: only local refs/,
  );
});

test('free-text strings get a default maxLength so a small model cannot ramble inside one', () => {
  const out = toGrammarSchema({
    type: 'object',
    properties: {
      rationale: { type: 'string' },
      label: { type: 'string', maxLength: 20 },
      kind: { enum: ['a', 'b'] },
    },
  });
  const props = out.properties as Record<string, Record<string, unknown>>;
  assert.equal(props.rationale!.maxLength, 200);
  assert.equal(props.label!.maxLength, 20);
  assert.equal(props.kind!.maxLength, undefined);
});
