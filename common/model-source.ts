// What `baseModel` may name (the trainer's llamaduo_trainer/model_source.py is the Python twin):
//   builtin:<name>              a randomly initialised builtin (tests, CPU demo)
//   /abs/dir | /abs/file.gguf   a model directory, or a GGUF file dequantized by the trainer
//   s3://bucket/prefix[.gguf]   the same in object storage
//   <org>/<name>[@<revision>]   a Hugging Face Hub model (branch, tag or commit sha; default main)
const NAME = '[A-Za-z0-9][A-Za-z0-9._-]{0,95}';
const HUB_ID = new RegExp(`^(${NAME}/${NAME})(?:@([A-Za-z0-9._-][A-Za-z0-9._/-]{0,199}))?$`);

export type ModelSourceKind = 'builtin' | 'dir' | 'gguf' | 's3' | 's3-gguf' | 'hub';

export interface ModelSource {
  kind: ModelSourceKind;
  value: string;
  repo?: string;
  revision?: string;
}

/** The parsed source, or a message saying which forms are accepted. */
export function parseModelSource(value: string): ModelSource | { error: string } {
  if (value.trim() !== value || !value)
    return { error: `${JSON.stringify(value)} has leading or trailing blanks` };
  if (value.startsWith('builtin:')) return { kind: 'builtin', value };
  const gguf = value.toLowerCase().endsWith('.gguf');
  if (value.startsWith('s3://')) {
    if (!/^s3:\/\/[^/]/.test(value)) return { error: `${JSON.stringify(value)} names no bucket` };
    return { kind: gguf ? 's3-gguf' : 's3', value };
  }
  if (value.startsWith('/')) return { kind: gguf ? 'gguf' : 'dir', value };
  const m = HUB_ID.exec(value);
  if (m && !value.includes('..'))
    return { kind: 'hub', value, repo: m[1]!, ...(m[2] !== undefined ? { revision: m[2] } : {}) };
  return {
    error:
      `${JSON.stringify(value)} is not a model source: use a Hugging Face Hub id (org/name or ` +
      'org/name@revision), an absolute model directory or .gguf file, an s3:// URI, or builtin:<name>',
  };
}

/** Whether the trainer downloads or converts this source (and so wants a model cache and a revision lock). */
export function needsModelCache(value: string): boolean {
  const s = parseModelSource(value);
  return 'kind' in s && (s.kind === 'hub' || s.kind === 'gguf' || s.kind === 's3-gguf');
}
