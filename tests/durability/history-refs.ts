// Every artifact reference ({ uri, sha256 }) that crossed the history of some executions: activity results,
// workflow inputs and results, child results. The run checks each against the bytes on disk afterwards.
import type { Client } from '@temporalio/client';

export interface Execution {
  workflowId: string;
  runId: string;
  type: string;
}

export interface SeenRef {
  uri: string;
  sha256: string;
  count?: number;
  /** where it was seen: execution and event id */
  where: string;
}

export async function listExecutions(client: Client): Promise<Execution[]> {
  const out: Execution[] = [];
  for await (const e of client.workflow.list())
    out.push({ workflowId: e.workflowId, runId: e.runId, type: e.type });
  return out;
}

function collect(value: unknown, where: string, out: SeenRef[]): void {
  if (Array.isArray(value)) for (const v of value) collect(v, where, out);
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.uri === 'string' && typeof o.sha256 === 'string')
      out.push({
        uri: o.uri,
        sha256: o.sha256,
        ...(typeof o.count === 'number' ? { count: o.count } : {}),
        where,
      });
    for (const v of Object.values(o)) collect(v, where, out);
  }
}

/** Walks a history (protobuf objects) for payloads, decoding the JSON ones. */
function payloadsIn(node: unknown, found: unknown[], depth = 0): void {
  if (!node || typeof node !== 'object' || depth > 12) return;
  const o = node as Record<string, unknown>;
  if (o.data instanceof Uint8Array && o.metadata && typeof o.metadata === 'object') {
    const enc = (o.metadata as Record<string, Uint8Array>).encoding;
    if (enc && Buffer.from(enc).toString() === 'json/plain') {
      try {
        found.push(JSON.parse(Buffer.from(o.data).toString('utf8')));
      } catch {
        // not JSON after all: nothing to collect
      }
    }
    return;
  }
  for (const v of Object.values(o)) payloadsIn(v, found, depth + 1);
}

export async function refsInHistories(client: Client, executions: Execution[]): Promise<SeenRef[]> {
  const out: SeenRef[] = [];
  for (const e of executions) {
    const { events } = await client.workflow.getHandle(e.workflowId, e.runId).fetchHistory();
    for (const ev of events ?? []) {
      const payloads: unknown[] = [];
      payloadsIn(ev, payloads);
      for (const p of payloads) collect(p, `${e.workflowId}@${e.runId.slice(0, 8)} event ${ev.eventId}`, out);
    }
  }
  return out;
}
