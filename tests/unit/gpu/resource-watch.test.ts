// keepWatching against a local HTTP server speaking the Kubernetes watch protocol: it re-watches from the
// last resourceVersion when a stream ends and drops the resourceVersion (re-list) after 410 Gone.
import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { keepWatching } from '../../../activities/gpu/resource-watch';

const requests: URLSearchParams[] = [];
let server: Server;
let kc: KubeConfig;

const event = (type: string, object: object) => JSON.stringify({ type, object }) + '\n';
const job = (rv: string) => ({ kind: 'Job', metadata: { name: 'j', resourceVersion: rv } });

before(async () => {
  server = createServer((req, res) => {
    const q = new URL(req.url!, 'http://x').searchParams;
    requests.push(q);
    res.writeHead(200, { 'content-type': 'application/json' });
    const n = requests.length;
    if (n === 1) res.end(event('ADDED', job('10')) + event('MODIFIED', job('11')));
    else if (n === 2) res.end(event('ERROR', { kind: 'Status', code: 410, reason: 'Expired' }));
    else if (n === 3) res.end(event('BOOKMARK', job('20')));
    else res.write(event('MODIFIED', job('21'))); // stays open
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
});
after(() => {
  server.closeAllConnections();
  server.close();
});

describe('keepWatching', () => {
  it('re-watches from the last resourceVersion and re-lists after 410 Gone', async () => {
    const stop = new AbortController();
    let changes = 0;
    keepWatching(
      kc,
      { path: '/apis/batch/v1/namespaces/ns/jobs', fieldSelector: 'metadata.name=j' },
      () => changes++,
      stop.signal,
    );
    const end = Date.now() + 10_000;
    while (requests.length < 4 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    assert.equal(requests.length, 4, 'four watch requests');
    assert.equal(requests[0]!.get('fieldSelector'), 'metadata.name=j');
    assert.equal(requests[0]!.get('resourceVersion'), null, 'first watch starts from now');
    assert.equal(requests[1]!.get('resourceVersion'), '11', 'resumes after the last event seen');
    assert.equal(requests[2]!.get('resourceVersion'), null, '410 Gone: re-list, no stale resourceVersion');
    assert.equal(requests[3]!.get('resourceVersion'), '20', 'bookmarks advance the resourceVersion');
    assert.ok(changes >= 3, `callers are woken on events and stream ends (${changes})`);
  });
});
