// The artifact store: datasets, adapters, generations and judgments live here; workflow history only
// carries their URIs (`artifact://<key>`), sizes and sha256. Keys are deterministic per
// (migration, cycle, step, shard), so a retried activity finds and reuses what an earlier attempt finished.
// Two backends implement it: a local directory (local-store.ts, the embedded default) and S3-compatible
// object storage (s3-store.ts). Both commit atomically: a reader never sees half an artifact.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import type { ArtifactRef } from '../../common/types';

const SCHEME = 'artifact://';

export abstract class ArtifactStore {
  /** Where the store lives, as a runner outside this process addresses it: a directory or `s3://bucket/prefix`. */
  abstract readonly location: string;

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

  /** A validated key from a key or an artifact URI. */
  protected toKey(keyOrUri: string): string {
    return keyOrUri.startsWith(SCHEME) ? this.keyOf(keyOrUri) : ArtifactStore.key(...keyOrUri.split('/'));
  }

  /** The key as the trainer (or any process outside this one) addresses it: `<location>/<key>`. */
  runnerPath(keyOrUri: string): string {
    const base = this.location.endsWith('/') ? this.location.slice(0, -1) : this.location;
    return `${base}/${this.toKey(keyOrUri)}`;
  }

  /** The finished artifact under `key`, or null. Used to skip work an earlier attempt completed. */
  abstract find(key: string, opts?: { countLines?: boolean }): Promise<ArtifactRef | null>;

  /** The reference of an existing artifact (sha256 and size; lines when asked). */
  abstract refOf(key: string, countLines: boolean): Promise<ArtifactRef>;

  /** Writes chunks to `key` atomically and returns the reference. */
  abstract write(
    key: string,
    chunks: Iterable<string | Buffer> | AsyncIterable<string | Buffer>,
    count?: number,
  ): Promise<ArtifactRef>;

  /** The bytes of an artifact as a stream. */
  abstract readStream(keyOrUri: string): Promise<Readable>;

  /** Committed keys under a prefix (recursive), sorted. */
  abstract list(prefix: string): Promise<string[]>;

  /** Deletes one artifact; a missing one is not an error. */
  abstract remove(keyOrUri: string): Promise<void>;

  /** Whether `key` names a single artifact (false for a "directory" prefix or nothing). */
  abstract isFile(key: string): Promise<boolean>;

  /**
   * Writes `text` to `key` only if no artifact is there yet, atomically: of two writers racing for one key
   * exactly one gets true. The promotion registry's compare-and-swap commits through it.
   */
  abstract createExclusive(key: string, text: string): Promise<boolean>;

  /**
   * A reference to a file or a directory of files (the trainer writes a PEFT adapter as config + weights +
   * tokenizer files): sha256 over the sorted (relative path, file sha256) list, bytes summed, so equal trees
   * get equal refs on every backend. Null when nothing is there.
   */
  async pathRef(key: string): Promise<ArtifactRef | null> {
    if (await this.isFile(key)) return this.find(key);
    const files = await this.list(key);
    if (!files.length) return null;
    const hash = createHash('sha256');
    let bytes = 0;
    for (const file of files) {
      const ref = await this.refOf(file, false);
      hash.update(`${file.slice(key.length + 1)}\0${ref.sha256}\n`);
      bytes += ref.bytes;
    }
    return { uri: this.uri(key), sha256: hash.digest('hex'), bytes };
  }

  async writeText(key: string, text: string): Promise<ArtifactRef> {
    return this.write(key, [text]);
  }

  async writeJson(key: string, value: unknown): Promise<ArtifactRef> {
    return this.write(key, [JSON.stringify(value, null, 2) + '\n']);
  }

  /**
   * The artifact already committed at `key`, else `records` written there: for outputs a retry derives again from
   * the same inputs, which an attempt cut off before the step's end marker may have committed already.
   */
  async writeJsonlOnce(key: string, records: Iterable<unknown>): Promise<ArtifactRef> {
    return (await this.find(key)) ?? this.writeJsonl(key, records);
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

  async readBytes(keyOrUri: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const chunk of await this.readStream(keyOrUri)) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  }

  async readText(keyOrUri: string): Promise<string> {
    return (await this.readBytes(keyOrUri)).toString('utf8');
  }

  async readJson<T>(keyOrUri: string): Promise<T> {
    return JSON.parse(await this.readText(keyOrUri)) as T;
  }

  async *readJsonl<T>(keyOrUri: string): AsyncGenerator<T> {
    const rl = createInterface({ input: await this.readStream(keyOrUri), crlfDelay: Infinity });
    for await (const line of rl) if (line.trim()) yield JSON.parse(line) as T;
  }

  async readAllJsonl<T>(keyOrUri: string): Promise<T[]> {
    const out: T[] = [];
    for await (const r of this.readJsonl<T>(keyOrUri)) out.push(r);
    return out;
  }
}
