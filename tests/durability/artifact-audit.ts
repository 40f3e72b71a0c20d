// Checks on what a set of migrations left in a local artifact store, after the fact:
// - complete: every JSON file parses, every JSONL file ends with a newline and every line parses;
// - unique: no record key twice in a records file (generations, judgments, scores, datasets);
// - consistent: every artifact reference in the histories ({uri, sha256, count}) matches the bytes on disk;
// - written once: no output key committed twice (the worker's write log) and no trainer step that succeeded
//   twice (the trainer wrapper's ledger);
// and a content map (key -> sha256) to compare two runs with.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { LocalArtifactStore } from '../../activities/store/local-store';
import type { SeenRef } from './history-refs';

/** Rewritten by design while a step is under way; a finished step's leftover one is unused. */
export const CHECKPOINT = /\.(checkpoint\.json|partial\.jsonl|batch\.json)$/;
/** The local backend's process bookkeeping (pid, exit code, log): not artifacts. */
const RUN_STATE = `${path.sep}run${path.sep}`;

export interface AuditReport {
  files: number;
  problems: string[];
  /** temp files of writes a kill cut short: never renamed, so never seen by a reader */
  orphanTemps: number;
  /** checkpoints whose step finished before its cleanup (harmless, unused) */
  leftoverCheckpoints: number;
  refsChecked: number;
  recordsChecked: number;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(path.join(e.parentPath, e.name));
  return out;
}

/** The identity of a record in a records file: its id, or what a generation/judgment/score is about. */
function recordKey(r: Record<string, unknown>): string {
  if (typeof r.id === 'string') return r.id;
  const fields = ['kind', 'judge', 'repeat', 'promptId', 'sample', 'order', 'referenceSample', 'metric'];
  return JSON.stringify(fields.map((f) => r[f] ?? null));
}

function jsonl<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

function countsOver1<T>(items: T[], key: (t: T) => string): [string, number][] {
  const counts = new Map<string, number>();
  for (const it of items) counts.set(key(it), (counts.get(key(it)) ?? 0) + 1);
  return [...counts].filter(([, n]) => n > 1);
}

export async function auditArtifacts(opts: {
  store: LocalArtifactStore;
  refs: SeenRef[];
  /** JSONL of { key, sha256 } per committed write (tests/chaos/chaos-worker.ts) */
  writes: string;
  /** JSONL of { event, spec } per trainer step (tests/chaos/trainer-wrapper.sh) */
  trainerLedger: string;
}): Promise<AuditReport> {
  const { store } = opts;
  const problems: string[] = [];
  const files = existsSync(store.root) ? await walk(store.root) : [];
  let orphanTemps = 0;
  let leftoverCheckpoints = 0;
  let recordsChecked = 0;
  for (const file of files) {
    const rel = path.relative(store.root, file);
    if (file.includes(RUN_STATE)) continue;
    if (rel.includes('.tmp-')) {
      orphanTemps++;
      continue;
    }
    if (CHECKPOINT.test(rel)) {
      const final = file.replace(CHECKPOINT, '.jsonl');
      if (!existsSync(final)) problems.push(`${rel}: a checkpoint without its finished output`);
      leftoverCheckpoints++;
      continue;
    }
    if (rel.endsWith('.json')) {
      try {
        JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        problems.push(`${rel}: not complete JSON (${(err as Error).message})`);
      }
    } else if (rel.endsWith('.jsonl')) {
      const text = readFileSync(file, 'utf8');
      if (text.length && !text.endsWith('\n')) problems.push(`${rel}: last line cut short`);
      const rows: Record<string, unknown>[] = [];
      for (const [i, line] of text.split('\n').entries()) {
        if (!line) continue;
        try {
          rows.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          problems.push(`${rel}:${i + 1}: not complete JSON`);
        }
      }
      recordsChecked += rows.length;
      for (const [key, n] of countsOver1(rows, recordKey).slice(0, 3))
        problems.push(`${rel}: record ${key} appears ${n} times`);
    }
  }

  for (const ref of opts.refs) {
    const key = store.keyOf(ref.uri);
    const now = await store.pathRef(key);
    if (!now) problems.push(`${key} (referenced at ${ref.where}) is missing`);
    else if (now.sha256 !== ref.sha256)
      problems.push(`${key}: sha256 on disk differs from the reference at ${ref.where}`);
    else if (ref.count !== undefined && key.endsWith('.jsonl')) {
      const lines = (await store.find(key, { countLines: true }))?.count;
      if (lines !== ref.count)
        problems.push(`${key}: ${lines} lines, the reference at ${ref.where} says ${ref.count}`);
    }
  }

  // Checkpoints are rewritten as a step progresses, and a trainer step's spec.json (its input) by every attempt
  // before it adopts the running step: a spec may repeat only with the same content. Outputs are written once.
  const writes = jsonl<{ key: string; sha256: string }>(opts.writes);
  for (const [key, n] of countsOver1(
    writes.filter((w) => !CHECKPOINT.test(w.key) && !w.key.endsWith('/spec.json')),
    (w) => w.key,
  ))
    problems.push(`${key}: committed ${n} times`);
  const specs = [
    ...new Set(writes.filter((w) => w.key.endsWith('/spec.json')).map((w) => `${w.key} ${w.sha256}`)),
  ];
  for (const [key, n] of countsOver1(specs, (s) => s.split(' ')[0]!))
    problems.push(`${key}: written with ${n} different contents`);
  const steps = jsonl<{ event: string; spec: string }>(opts.trainerLedger).filter((s) => s.event === 'ok');
  for (const [spec, n] of countsOver1(steps, (s) => s.spec))
    problems.push(`trainer step ${spec} succeeded ${n} times`);

  return {
    files: files.length,
    problems,
    orphanTemps,
    leftoverCheckpoints,
    refsChecked: opts.refs.length,
    recordsChecked,
  };
}

/** key -> sha256 of every finished artifact of a store (no run state, temp files or checkpoints). */
export async function contentMap(store: LocalArtifactStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!existsSync(store.root)) return out;
  for (const file of await walk(store.root)) {
    const rel = path.relative(store.root, file);
    if (file.includes(RUN_STATE) || rel.includes('.tmp-') || CHECKPOINT.test(rel)) continue;
    out.set(rel, createHash('sha256').update(readFileSync(file)).digest('hex'));
  }
  return out;
}
