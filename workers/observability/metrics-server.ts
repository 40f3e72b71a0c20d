// GET /metrics: the product's series (prom-client) followed by the Temporal SDK runtime's (its Prometheus
// exporter listens on loopback only), so Prometheus scrapes one port per worker pod.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export function startMetricsServer(opts: {
  port: number;
  host?: string;
  registry: Registry;
  /** the SDK runtime's Prometheus endpoint, e.g. http://127.0.0.1:9465/metrics */
  sdkMetricsUrl?: string;
}): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    void (async () => {
      try {
        const own = await opts.registry.metrics();
        let sdk = '';
        if (opts.sdkMetricsUrl) {
          // An SDK exporter that does not answer must not hide the product's series.
          sdk = await fetch(opts.sdkMetricsUrl, { signal: AbortSignal.timeout(5000) })
            .then((r) => (r.ok ? r.text() : ''))
            .catch(() => '');
        }
        res.writeHead(200, { 'content-type': opts.registry.contentType });
        res.end(sdk ? `${own}\n${sdk}` : own);
      } catch (err) {
        res.writeHead(500).end(String(err));
      }
    })();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve(server));
  });
}
