// A local server that speaks the Hugging Face Hub's HTTP download API the way huggingface_hub calls it
// with HF_ENDPOINT pointed here, serving real model files from a directory:
//   GET  /api/models/:org/:name[/revision/:rev]    model info: sha, siblings, gated
//   GET  /api/models/:org/:name/tree/:rev[/:path]  file listing (oid, size, lfs {oid, size})
//   HEAD /:org/:name/resolve/:rev/:file            metadata: ETag, X-Repo-Commit, Content-Length; weights
//                                                  answer 302 to the "CDN" with X-Linked-Etag/-Size
//   GET  /:org/:name/resolve/:rev/:file            the file (small files), or the 302 (weights)
//   GET  <cdn>/cdn/:sha256                         weight bytes, Range requests answered with 206; the CDN is
//                                                  a second port (another origin, as on the Hub), so the
//                                                  client reads the metadata off the 302 and sends no token
// Errors carry X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo), as the Hub does.
// Faults for the client's retries: dropOnceFile cuts a weight download halfway, failOnceFile answers 500 once.
// hold(file) parks the weight downloads of a file until the test releases them (two Jobs racing for a model).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface HubRepoOptions {
  /** directory whose top-level files are the repo's files at every commit */
  dir: string;
  /** files of `dir` left out of the repo (e.g. a chat template, to serve a model without one) */
  omit?: string[];
  /** requests without a valid token get 401 GatedRepo */
  gated?: boolean;
  /** branch/tag -> commit; default { main: <a sha derived from the repo id> } */
  refs?: Record<string, string>;
}

export interface HubServerOptions {
  repos: Record<string, HubRepoOptions>;
  /** tokens the server accepts (Authorization: Bearer <token>) */
  tokens?: string[];
  /** cut the connection halfway through the first download of this file (once) */
  dropOnceFile?: string;
  /** answer the first request for this file (HEAD or GET on /resolve/) with a 500 (once) */
  failOnceFile?: string;
}

export interface HubRequest {
  method: string;
  path: string;
  status: number;
  range?: string;
  authorized: boolean;
}

export interface StartedHubServer {
  url: string;
  /** every request answered, in order */
  log: HubRequest[];
  /** the commit `main` points at in each repo */
  commits: Record<string, string>;
  /** parks CDN GETs of `file` until release(); `arrived` resolves when the first one is parked */
  hold(file: string): { arrived: Promise<void>; release(): void };
  close(): Promise<void>;
}

interface HubFile {
  name: string;
  full: string;
  size: number;
  /** git blob sha1 (the ETag of a small file) */
  blobId: string;
  /** content sha256 (the ETag of an LFS file) */
  sha256: string;
  lfs: boolean;
}

interface Repo {
  id: string;
  opts: HubRepoOptions;
  files: HubFile[];
  refs: Record<string, string>;
}

const isLfs = (name: string) => /\.(safetensors|bin|gguf|pt|pth)$/.test(name);

async function hashFile(full: string, size: number): Promise<{ blobId: string; sha256: string }> {
  const sha1 = createHash('sha1').update(`blob ${size}\0`);
  const sha256 = createHash('sha256');
  for await (const chunk of createReadStream(full)) {
    sha1.update(chunk as Buffer);
    sha256.update(chunk as Buffer);
  }
  return { blobId: sha1.digest('hex'), sha256: sha256.digest('hex') };
}

async function loadRepo(id: string, opts: HubRepoOptions): Promise<Repo> {
  const names = (await readdir(opts.dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && !e.name.startsWith('.') && !(opts.omit ?? []).includes(e.name))
    .map((e) => e.name)
    .sort();
  const files: HubFile[] = [];
  for (const name of names) {
    const full = path.join(opts.dir, name);
    const size = (await stat(full)).size;
    files.push({ name, full, size, lfs: isLfs(name), ...(await hashFile(full, size)) });
  }
  const main = createHash('sha1')
    .update(`commit ${id} ${files.map((f) => f.blobId).join()}`)
    .digest('hex');
  return { id, opts, files, refs: opts.refs ?? { main } };
}

function fail(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'X-Error-Code': code,
    'X-Error-Message': message,
  });
  res.end(JSON.stringify({ error: message }));
}

export async function startHubServer(options: HubServerOptions): Promise<StartedHubServer> {
  const repos = new Map<string, Repo>();
  for (const [id, opts] of Object.entries(options.repos)) repos.set(id, await loadRepo(id, opts));
  const cdn = new Map<string, HubFile>();
  for (const r of repos.values()) for (const f of r.files) if (f.lfs) cdn.set(f.sha256, f);
  const tokens = new Set(options.tokens ?? []);
  const log: HubRequest[] = [];
  let dropPending = options.dropOnceFile;
  const holds = new Map<string, { parked: (() => void)[]; arrived: () => void }>();
  let failPending = options.failOnceFile;
  let base = '';
  let cdnBase = '';

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', base);
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const authorized = auth !== undefined && tokens.has(auth);
    const entry: HubRequest = { method: req.method ?? 'GET', path: url.pathname, status: 0, authorized };
    if (req.headers.range) entry.range = req.headers.range;
    log.push(entry);
    res.on('finish', () => (entry.status = res.statusCode));
    res.on('close', () => (entry.status ||= res.statusCode));

    const api = parts[0] === 'api' && parts[1] === 'models';
    const rest = api ? parts.slice(2) : parts;
    const repo = repos.get(`${rest[0]}/${rest[1]}`);
    if (!repo) return fail(res, 404, 'RepoNotFound', `Repository Not Found for url: ${url.pathname}.`);
    if (auth !== undefined && !authorized)
      return fail(res, 401, 'InvalidCredentials', 'Invalid credentials in Authorization header');
    if (repo.opts.gated && !authorized)
      return fail(
        res,
        401,
        'GatedRepo',
        `Access to model ${repo.id} is restricted. You must have access to it and be authenticated to access it.`,
      );

    const resolveRev = (rev: string): string | undefined =>
      /^[0-9a-f]{40}$/.test(rev) && Object.values(repo.refs).includes(rev) ? rev : repo.refs[rev];

    if (api) {
      // /api/models/org/name[/revision/rev] or /api/models/org/name/tree/rev[/path...]
      const kind = rest[2];
      const rev = kind ? rest[3] : 'main';
      const sha = rev ? resolveRev(rev) : undefined;
      if (!sha) return fail(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
      if (kind === undefined || kind === 'revision') return json(res, modelInfo(repo, sha));
      if (kind === 'tree') {
        const sub = rest.slice(4).join('/');
        const files = repo.files.filter((f) => !sub || f.name.startsWith(`${sub}/`));
        return json(
          res,
          files.map((f) => ({
            type: 'file',
            oid: f.blobId,
            size: f.size,
            path: f.name,
            ...(f.lfs ? { lfs: { oid: f.sha256, size: f.size, pointerSize: 134 } } : {}),
          })),
        );
      }
      return fail(res, 404, 'NotFound', `no route ${url.pathname}`);
    }

    if (rest[2] !== 'resolve' || rest.length < 5)
      return fail(res, 404, 'NotFound', `no route ${url.pathname}`);
    const sha = resolveRev(rest[3]!);
    if (!sha) return fail(res, 404, 'RevisionNotFound', `Invalid rev id: ${rest[3]}`);
    const name = rest.slice(4).join('/');
    const file = repo.files.find((f) => f.name === name);
    if (!file) return fail(res, 404, 'EntryNotFound', `${name} does not exist on "${rest[3]}"`);
    if (failPending === file.name) {
      failPending = undefined;
      return fail(res, 500, 'Internal', 'injected fault');
    }
    const headers: Record<string, string> = { 'X-Repo-Commit': sha, 'Accept-Ranges': 'bytes' };
    if (file.lfs) {
      res.writeHead(302, {
        ...headers,
        Location: `${cdnBase}/cdn/${file.sha256}`,
        ETag: `"${file.blobId}"`,
        'X-Linked-Etag': `"${file.sha256}"`,
        'X-Linked-Size': String(file.size),
        'Content-Length': '0',
      });
      return void res.end();
    }
    res.writeHead(200, { ...headers, ETag: `"${file.blobId}"`, 'Content-Length': String(file.size) });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file.full).pipe(res);
  }

  function serveCdn(req: IncomingMessage, res: ServerResponse, sha256: string): void {
    const file = cdn.get(sha256);
    if (!file) return fail(res, 404, 'EntryNotFound', 'no such object');
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const end = range && range[2] ? Number(range[2]) : file.size - 1;
    if (start >= file.size) {
      res.writeHead(416, { 'Content-Range': `bytes */${file.size}` });
      return void res.end();
    }
    const headers: Record<string, string> = {
      ETag: `"${file.sha256}"`,
      'Accept-Ranges': 'bytes',
      'Content-Length': String(end - start + 1),
      'Content-Type': 'application/octet-stream',
    };
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${file.size}`;
    const hold = req.method === 'GET' ? holds.get(file.name) : undefined;
    if (hold) {
      hold.parked.push(() => serveCdn(req, res, sha256));
      return hold.arrived();
    }
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD') return void res.end();
    if (dropPending === file.name && start === 0) {
      // Half the body, then the connection goes away: the client must resume with a Range request.
      dropPending = undefined;
      const half = Math.floor(file.size / 2);
      const stream = createReadStream(file.full, { start: 0, end: half - 1 });
      stream.on('data', (chunk) => res.write(chunk));
      stream.on('end', () => res.socket?.destroy());
      return;
    }
    createReadStream(file.full, { start, end }).pipe(res);
  }

  const guarded =
    (fn: (req: IncomingMessage, res: ServerResponse) => void) =>
    (req: IncomingMessage, res: ServerResponse) => {
      try {
        fn(req, res);
      } catch (err) {
        if (!res.headersSent) fail(res, 500, 'Internal', String(err));
        else res.destroy();
      }
    };
  const server = createServer(guarded(handle));
  const cdnServer = createServer(
    guarded((req, res) => {
      const url = new URL(req.url ?? '/', cdnBase);
      const parts = url.pathname.split('/').filter(Boolean);
      const entry: HubRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        status: 0,
        authorized: req.headers.authorization !== undefined,
      };
      if (req.headers.range) entry.range = req.headers.range;
      log.push(entry);
      res.on('finish', () => (entry.status = res.statusCode));
      res.on('close', () => (entry.status ||= res.statusCode));
      if (parts[0] !== 'cdn' || parts.length !== 2) return fail(res, 404, 'NotFound', 'no such object');
      serveCdn(req, res, parts[1]!);
    }),
  );
  const listen = async (srv: typeof server) => {
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  };
  base = await listen(server);
  cdnBase = await listen(cdnServer);
  const closeOne = (srv: typeof server) =>
    new Promise<void>((resolve) => {
      srv.closeAllConnections();
      srv.close(() => resolve());
    });
  const commits = Object.fromEntries([...repos.values()].map((r) => [r.id, r.refs.main!]));
  return {
    url: base,
    log,
    commits,
    hold(file: string) {
      let arrived!: () => void;
      const arrival = new Promise<void>((resolve) => (arrived = resolve));
      const parked: (() => void)[] = [];
      holds.set(file, { parked, arrived });
      return {
        arrived: arrival,
        release() {
          holds.delete(file);
          for (const resume of parked.splice(0)) resume();
        },
      };
    },
    close: async () => {
      await Promise.all([closeOne(server), closeOne(cdnServer)]);
    },
  };
}

function modelInfo(repo: Repo, sha: string) {
  const [author] = repo.id.split('/');
  return {
    _id: createHash('sha1').update(repo.id).digest('hex').slice(0, 24),
    id: repo.id,
    modelId: repo.id,
    author,
    sha,
    private: false,
    gated: repo.opts.gated ? 'manual' : false,
    disabled: false,
    downloads: 0,
    likes: 0,
    tags: ['transformers', 'safetensors'],
    library_name: 'transformers',
    siblings: repo.files.map((f) => ({ rfilename: f.name })),
    lastModified: '2026-01-01T00:00:00.000Z',
    createdAt: '2026-01-01T00:00:00.000Z',
  };
}

function json(res: ServerResponse, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(data)),
  });
  res.end(data);
}
