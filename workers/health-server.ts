// Liveness and readiness for the worker Deployment's probes: /healthz answers while the process runs,
// /readyz only while every worker in it is RUNNING (not starting, draining or stopped).
import { createServer, type Server } from 'node:http';
import type { Worker } from '@temporalio/worker';

export function startHealthServer(workers: Worker[], port: number): Server {
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200).end('ok\n');
    } else if (req.url === '/readyz') {
      const states = workers.map((w) => w.getState());
      const ready = states.every((s) => s === 'RUNNING');
      res.writeHead(ready ? 200 : 503).end(`${states.join(',')}\n`);
    } else {
      res.writeHead(404).end();
    }
  });
  server.listen(port);
  return server;
}
