// A Markdown reference of every config field (path, type, default, constraints), generated from the JSON
// Schema so it cannot drift from the zod schema.
type Schema = Record<string, unknown> & {
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  required?: string[];
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  description?: string;
};

const CONSTRAINTS = [
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'pattern',
  'minItems',
  'format',
];

function typeOf(s: Schema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return alts.map(typeOf).join(' \\| ');
  if (s.type === 'array') return `${s.items ? typeOf(s.items) : 'any'}[]`;
  return Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
}

function rows(s: Schema, path: string, required: boolean, out: string[]): void {
  const alts = s.oneOf ?? s.anyOf;
  if (alts && alts.every((a) => a.properties)) {
    for (const a of alts) {
      const tag = Object.entries(a.properties!).find(([, p]) => p.const !== undefined);
      out.push(
        `| \`${path}\` (${tag ? `${tag[0]}: ${JSON.stringify(tag[1].const)}` : 'variant'}) | object | ${required ? 'yes' : ''} | | |`,
      );
      for (const [k, p] of Object.entries(a.properties!))
        rows(p, `${path}.${k}`, a.required?.includes(k) ?? false, out);
    }
    return;
  }
  const constraints = CONSTRAINTS.filter((c) => s[c] !== undefined).map(
    (c) => `${c} ${JSON.stringify(s[c])}`,
  );
  const def = s.default === undefined ? '' : `\`${JSON.stringify(s.default).slice(0, 60)}\``;
  if (path)
    out.push(
      `| \`${path}\` | ${typeOf(s)} | ${required && s.default === undefined ? 'yes' : ''} | ${def} | ${constraints.join(', ')} |`,
    );
  if (s.properties)
    for (const [k, p] of Object.entries(s.properties))
      rows(p, path ? `${path}.${k}` : k, s.required?.includes(k) ?? false, out);
  if (s.type === 'array' && s.items?.properties)
    rows({ ...s.items, default: undefined }, `${path}[]`, false, out);
}

export function configReferenceMarkdown(schema: Schema): string {
  const out = [
    '# Configuration reference',
    '',
    'Generated from the zod schema in `common/config.ts` by `npm run gen:schema` (a unit test fails when it is',
    'out of date). Editors: point the YAML language server at [config.schema.json](config.schema.json).',
    'Unknown fields are errors, so a typo never goes unnoticed. API keys are never part of a config: a model',
    'entry names the environment variable that holds its key on the workers (`apiKeyEnv`).',
    '',
    '| field | type | required | default | constraints |',
    '|---|---|---|---|---|',
  ];
  rows(schema, '', true, out);
  out.push(
    '',
    '## GPU fast path',
    '',
    "Off by default; each option that cannot run where the step runs falls back and says why in the step's",
    '`result.json` (`fastPath.fallbacks`, `engineReason`):',
    '',
    '- `trainer.attnImplementation: flash_attention_2` runs packed rows as variable-length flash attention; it',
    '  needs CUDA and the flash-attn package, else sdpa runs.',
    "- `trainer.kernels: liger` patches Liger's Triton kernels (RMSNorm, RoPE, SwiGLU/GeGLU) into the model and",
    '  computes the loss with its fused linear cross-entropy; it needs CUDA and liger-kernel, else plain kernels run.',
    '- `trainer.compileLayers: true` compiles each decoder layer with `torch.compile` (a few minutes at the start',
    '  of every fine-tune, repaid on long runs).',
    '- `inference.engine`: `transformers` (the default); `auto` uses vLLM, with the adapter as a LoRA, where',
    '  vLLM is installed and a CUDA device is visible; `vllm` fails the step where vLLM cannot run.',
  );
  return out.join('\n') + '\n';
}
