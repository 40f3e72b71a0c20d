// The artifact store: datasets, adapters, generations and judgments live here; workflow history only
// carries their URIs (`artifact://<key>`), sizes and sha256. Keys are deterministic per
// (migration, cycle, step, shard), so a retried activity finds and reuses what an earlier attempt finished.
// Writes are atomic (temp file + rename): a reader never sees half a file.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import type { ArtifactRef } from '../../common/types';

const SCHEME = 'artifact://';

export class ArtifactStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** A deterministic key; parts are validated so a key can never escape the root. */
  static key(...parts: (string | number)[]): string {
    return parts
      .map((p) => {
        const s = String(p);
        if (!/^[A-Za-z0-9._=-]+$/.test(s) || s === '.' || s === '..')
          throw new Error(`invalid artifact key part: ${JSON.stringify(s)}`);
        return s;
      })
      .join('/');
  }

  uri(key: string): string {
    return SCHEME + key;
  }

  keyOf(uri: string): string {
    if (!uri.startsWith(SCHEME)) throw new Error(`not an artifact URI: ${uri}`);
    const key = uri.slice(SCHEME.length);
    ArtifactStore.key(...key.split('/'));
    return key;
  }

  /** Local filesystem path of a key or artifact URI. */
  path(keyOrUri: string): string {
    const key = keyOrUri.startsWith(SCHEME)
      ? this.keyOf(keyOrUri)
      : ArtifactStore.key(...keyOrUri.split('/'));
    return path.join(this.root, key);
  }

  /** The finished artifact under `key`, or null. Used to skip work an earlier attempt completed. */
  async find(key: string, opts: { countLines?: boolean } = {}): Promise<ArtifactRef | null> {
    const file = this.path(key);
    try {
      const s = await stat(file);
      if (!s.isFile()) return null;
    } catch {
      return null;
    }
    return this.refOf(key, opts.countLines ?? key.endsWith('.jsonl'));
  }

  async refOf(key: string, countLines: boolean): Promise<ArtifactRef> {
    const file = this.path(key);
    const hash = createHash('sha256');
    let bytes = 0;
    let lines = 0;
    for await (const chunk of createReadStream(file)) {
      const buf = chunk as Buffer;
      hash.update(buf);
      bytes += buf.length;
      if (countLines) for (let i = 0; i < buf.length; i++) if (buf[i] === 10) lines++;
    }
    const ref: ArtifactRef = { uri: this.uri(key), sha256: hash.digest('hex'), bytes };
    if (countLines) ref.count = lines;
    return ref;
  }

  /** Writes chunks to `key` atomically and returns the reference. */
  async write(
    key: string,
    chunks: Iterable<string | Buffer> | AsyncIterable<string | Buffer>,
    count?: number,
  ): Promise<ArtifactRef> {
    const file = this.path(key);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${randomUUID()}`;
    const hash = createHash('sha256');
    let bytes = 0;
    const out = createWriteStream(tmp);
    try {
      for await (const chunk of chunks) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        hash.update(buf);
        bytes += buf.length;
        if (!out.write(buf)) await new Promise<void>((resolve) => out.once('drain', resolve));
      }
      out.end();
      await finished(out);
      await rename(tmp, file);
    } catch (err) {
      out.destroy();
      await rm(tmp, { force: true });
      throw err;
    }
    const ref: ArtifactRef = { uri: this.uri(key), sha256: hash.digest('hex'), bytes };
    if (count !== undefined) ref.count = count;
    return ref;
  }

  async writeText(key: string, text: string): Promise<ArtifactRef> {
    return this.write(key, [text]);
  }

  async writeJson(key: string, value: unknown): Promise<ArtifactRef> {
    return this.write(key, [JSON.stringify(value, null, 2) + '\n']);
  }

  async writeJsonl(key: string, records: Iterable<unknown> | AsyncIterable<unknown>): Promise<ArtifactRef> {
    let count = 0;
    async function* lines() {
      let batch = '';
      for await (const r of records) {
        batch += JSON.stringify(r) + '\n';
        count++;
        if (batch.length > 1 << 16) {
          yield batch;
          batch = '';
        }
      }
      if (batch) yield batch;
    }
    const ref = await this.write(key, lines());
    ref.count = count;
    return ref;
  }

  async readText(keyOrUri: string): Promise<string> {
    return readFile(this.path(keyOrUri), 'utf8');
  }

  async readJson<T>(keyOrUri: string): Promise<T> {
    return JSON.parse(await this.readText(keyOrUri)) as T;
  }

  async *readJsonl<T>(keyOrUri: string): AsyncGenerator<T> {
    const rl = createInterface({ input: createReadStream(this.path(keyOrUri)), crlfDelay: Infinity });
    for await (const line of rl) if (line.trim()) yield JSON.parse(line) as T;
  }

  async readAllJsonl<T>(keyOrUri: string): Promise<T[]> {
    const out: T[] = [];
    for await (const r of this.readJsonl<T>(keyOrUri)) out.push(r);
    return out;
  }

  /** Keys under a prefix (recursive), for reports and tests. */
  async list(prefix: string): Promise<string[]> {
    const base = this.path(prefix);
    const out: string[] = [];
    async function walk(dir: string) {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (!e.name.includes('.tmp-')) out.push(p);
      }
    }
    await walk(base);
    return out.map((p) => path.relative(this.root, p)).sort();
  }
}
