// The local-directory artifact store (the embedded default, and the shared volume a cluster may mount).
// Writes are atomic (temp file + rename): a reader never sees half a file.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ArtifactRef } from '../../common/types';
import { ArtifactStore } from './artifact-store';

export class LocalArtifactStore extends ArtifactStore {
  readonly root: string;

  constructor(root: string) {
    super();
    this.root = path.resolve(root);
  }

  get location(): string {
    return this.root;
  }

  /** Local filesystem path of a key or artifact URI. */
  path(keyOrUri: string): string {
    return path.join(this.root, this.toKey(keyOrUri));
  }

  async isFile(key: string): Promise<boolean> {
    const s = await stat(this.path(key)).catch(() => null);
    return !!s?.isFile();
  }

  async find(key: string, opts: { countLines?: boolean } = {}): Promise<ArtifactRef | null> {
    if (!(await this.isFile(key))) return null;
    return this.refOf(key, opts.countLines ?? key.endsWith('.jsonl'));
  }

  async refOf(key: string, countLines: boolean): Promise<ArtifactRef> {
    const hash = createHash('sha256');
    let bytes = 0;
    let lines = 0;
    for await (const chunk of createReadStream(this.path(key))) {
      const buf = chunk as Buffer;
      hash.update(buf);
      bytes += buf.length;
      if (countLines) for (let i = 0; i < buf.length; i++) if (buf[i] === 10) lines++;
    }
    const ref: ArtifactRef = { uri: this.uri(this.toKey(key)), sha256: hash.digest('hex'), bytes };
    if (countLines) ref.count = lines;
    return ref;
  }

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
    const ref: ArtifactRef = { uri: this.uri(this.toKey(key)), sha256: hash.digest('hex'), bytes };
    if (count !== undefined) ref.count = count;
    return ref;
  }

  async readStream(keyOrUri: string): Promise<Readable> {
    const file = this.path(keyOrUri);
    // Open eagerly so a missing artifact rejects here rather than on the first read.
    await stat(file);
    return createReadStream(file);
  }

  async remove(keyOrUri: string): Promise<void> {
    await rm(this.path(keyOrUri), { force: true });
  }

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

  async createExclusive(key: string, text: string): Promise<boolean> {
    const file = this.path(key);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${randomUUID()}`;
    await writeFile(tmp, text);
    try {
      await link(tmp, file); // atomic, and fails with EEXIST where rename would overwrite
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      await rm(tmp, { force: true });
    }
  }
}
