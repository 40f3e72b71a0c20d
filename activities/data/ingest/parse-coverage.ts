// Reads a coverage dataset (JSONL, or a JSON array) in any of the accepted shapes and normalizes it.
// Everything is validated before anything is returned: a caller writes nothing when this throws.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DatasetError, DatasetErrors, type CoverageRecord, type RecordShape } from './coverage-record';

export interface ParseOptions {
  maxRecordChars: number;
  /** split.field: every record must carry its side in this field */
  splitField?: string;
}

export interface ParseResult {
  records: CoverageRecord[];
  /** records that were exact copies of an earlier one (same content, no explicit id) */
  duplicatesDropped: number;
}

const MAX_ERRORS = 200;

export async function parseCoverageFile(file: string, opts: ParseOptions): Promise<ParseResult> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new DatasetErrors([
      new DatasetError(file, null, null, `cannot read file (${(err as NodeJS.ErrnoException).code ?? err})`),
    ]);
  }
  return parseCoverageBytes(file, bytes, opts);
}

export function parseCoverageBytes(file: string, bytes: Buffer, opts: ParseOptions): ParseResult {
  const text = decodeUtf8(file, bytes);
  if (text.trim() === '') throw new DatasetErrors([new DatasetError(file, null, null, 'file is empty')]);
  const raw = splitRecords(file, text);
  const errors: DatasetError[] = [];
  const records: CoverageRecord[] = [];
  const seenExplicit = new Map<string, number>();
  const seenContent = new Set<string>();
  let duplicatesDropped = 0;
  for (const { line, value } of raw) {
    if (errors.length >= MAX_ERRORS) break;
    const rec = normalize(file, line, value, opts, errors);
    if (!rec) continue;
    if (rec.explicitId) {
      const first = seenExplicit.get(rec.record.id);
      if (first !== undefined) {
        errors.push(
          new DatasetError(file, line, 'id', `duplicate id '${rec.record.id}' (first on line ${first})`),
        );
        continue;
      }
      seenExplicit.set(rec.record.id, line);
    } else if (seenContent.has(rec.record.id)) {
      duplicatesDropped++;
      continue;
    }
    seenContent.add(rec.record.id);
    records.push(rec.record);
  }
  if (errors.length) throw new DatasetErrors(errors);
  if (records.length === 0) throw new DatasetErrors([new DatasetError(file, null, null, 'no records')]);
  return { records, duplicatesDropped };
}

function decodeUtf8(file: string, bytes: Buffer): string {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    // Find the first invalid sequence so the error can name its line.
    let lo = 0;
    let hi = bytes.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid));
        lo = mid;
      } catch {
        hi = mid;
      }
    }
    let line = 1;
    for (let i = 0; i < lo; i++) if (bytes[i] === 10) line++;
    throw new DatasetErrors([
      new DatasetError(file, line, null, `not valid UTF-8 (byte offset ${lo}); save the file as UTF-8`),
    ]);
  }
}

interface RawRecord {
  line: number;
  value: unknown;
}

function splitRecords(file: string, text: string): RawRecord[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    let arr: unknown;
    try {
      arr = JSON.parse(text);
    } catch (err) {
      throw new DatasetErrors([
        new DatasetError(file, lineOfJsonError(text, err), null, `broken JSON: ${(err as Error).message}`),
      ]);
    }
    if (!Array.isArray(arr))
      throw new DatasetErrors([new DatasetError(file, 1, null, 'expected a JSON array of records')]);
    // A JSON array has no per-record lines; report the 1-based record index as "line".
    return arr.map((value, i) => ({ line: i + 1, value }));
  }
  const out: RawRecord[] = [];
  const errors: DatasetError[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (!l) continue;
    try {
      out.push({ line: i + 1, value: JSON.parse(l) });
    } catch (err) {
      const detail = (err as Error).message.replace(/ \(line 1 column (\d+)\)$/, ' (column $1)');
      errors.push(new DatasetError(file, i + 1, null, `broken JSON: ${detail}`));
      if (errors.length >= MAX_ERRORS) break;
    }
  }
  if (errors.length) throw new DatasetErrors(errors);
  return out;
}

function lineOfJsonError(text: string, err: unknown): number | null {
  const m = /position (\d+)/.exec(String((err as Error).message));
  if (!m) return null;
  const pos = Number(m[1]);
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

interface Normalized {
  record: CoverageRecord;
  explicitId: boolean;
}

function normalize(
  file: string,
  line: number,
  value: unknown,
  opts: ParseOptions,
  errors: DatasetError[],
): Normalized | null {
  const fail = (field: string | null, problem: string) => {
    errors.push(new DatasetError(file, line, field, problem));
    return null;
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return fail(null, 'expected a JSON object');
  const obj = value as Record<string, unknown>;
  const shape = detectShape(obj);
  if (!shape)
    return fail(
      null,
      `unknown record shape (keys: ${Object.keys(obj).join(', ') || 'none'}); expected 'messages', 'prompt'+'response', 'instruction'+'response' (Dolly) or 'instruction'+'output' (Alpaca)`,
    );

  let instruction: string | null;
  let context = '';
  let response: string | null;
  if (shape === 'messages') {
    const parsed = fromMessages(obj.messages, fail);
    if (!parsed) return null;
    ({ instruction, context, response } = parsed);
  } else {
    const [instrKey, ctxKey, respKey] =
      shape === 'prompt-response'
        ? ['prompt', null, 'response']
        : shape === 'dolly'
          ? ['instruction', 'context', 'response']
          : ['instruction', 'input', 'output'];
    instruction = requireText(obj, instrKey, fail);
    response = requireText(obj, respKey, fail);
    if (ctxKey && obj[ctxKey] !== undefined && obj[ctxKey] !== null) {
      if (typeof obj[ctxKey] !== 'string')
        return fail(ctxKey, `must be a string, got ${typeName(obj[ctxKey])}`);
      context = (obj[ctxKey] as string).trim();
    }
  }
  if (instruction === null || response === null) return null;

  let category = 'default';
  if (obj.category !== undefined) {
    if (typeof obj.category !== 'string' || !obj.category.trim())
      return fail('category', 'must be a non-empty string');
    category = obj.category.trim();
  }
  let split: string | undefined;
  if (opts.splitField !== undefined) {
    const v = obj[opts.splitField];
    if (typeof v !== 'string' || !v.trim())
      return fail(
        opts.splitField,
        `must be a non-empty string naming the record's split (split.field), got ${v === undefined ? 'nothing' : typeName(v)}`,
      );
    split = v.trim();
  }
  const size = instruction.length + context.length + response.length;
  if (size > opts.maxRecordChars)
    return fail(
      null,
      `record is ${size} characters, over the limit of ${opts.maxRecordChars} (dataset.maxRecordChars)`,
    );

  let id: string;
  let explicitId = false;
  if (obj.id !== undefined && obj.id !== null) {
    if (typeof obj.id !== 'string' && typeof obj.id !== 'number')
      return fail('id', 'must be a string or number');
    id = String(obj.id);
    if (!id.trim()) return fail('id', 'must not be empty');
    explicitId = true;
  } else {
    id = createHash('sha256')
      .update(JSON.stringify([instruction, context, response]))
      .digest('hex')
      .slice(0, 16);
  }
  return {
    record: {
      id,
      category,
      instruction,
      context,
      response,
      provenance: { file, line, shape },
      ...(split !== undefined ? { split } : {}),
    },
    explicitId,
  };
}

function detectShape(obj: Record<string, unknown>): RecordShape | null {
  if ('messages' in obj) return 'messages';
  if ('prompt' in obj) return 'prompt-response';
  if ('instruction' in obj && 'output' in obj) return 'alpaca';
  if ('instruction' in obj || 'response' in obj) return 'dolly';
  return null;
}

function requireText(
  obj: Record<string, unknown>,
  key: string,
  fail: (field: string | null, problem: string) => null,
): string | null {
  const v = obj[key];
  if (v === undefined || v === null) return fail(key, 'is missing');
  if (typeof v !== 'string') return fail(key, `must be a string, got ${typeName(v)}`);
  if (!v.trim()) return fail(key, 'is empty');
  return v.trim();
}

function fromMessages(
  messages: unknown,
  fail: (field: string | null, problem: string) => null,
): { instruction: string; context: string; response: string } | null {
  if (!Array.isArray(messages) || messages.length === 0) return fail('messages', 'must be a non-empty array');
  const system: string[] = [];
  let instruction: string | null = null;
  let response: string | null = null;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as Record<string, unknown> | null;
    const where = `messages[${i}]`;
    if (typeof m !== 'object' || m === null) return fail(where, 'must be an object with role and content');
    if (typeof m.content !== 'string')
      return fail(`${where}.content`, `must be a string, got ${typeName(m.content)}`);
    if (m.role === 'system') system.push(m.content.trim());
    else if (m.role === 'user') instruction = m.content.trim();
    else if (m.role === 'assistant') response = m.content.trim();
    else return fail(`${where}.role`, `must be system, user or assistant, got ${JSON.stringify(m.role)}`);
  }
  if (!instruction) return fail('messages', 'has no non-empty user message');
  if (!response) return fail('messages', 'has no non-empty assistant message (the response)');
  return { instruction, context: system.join('\n'), response };
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}
