// The JSON form of payloads that the Temporal Web UI and CLI send to a codec server:
// {"payloads":[{"metadata":{"encoding":"<base64>"},"data":"<base64>"}]} (proto3 JSON, bytes as base64).
import type { Payload } from '@temporalio/common';

export interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function bytes(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string' || !BASE64.test(value)) throw new Error(`${field} must be a base64 string`);
  return new Uint8Array(Buffer.from(value, 'base64'));
}

/** Parses a request body; errors name the offending field, e.g. `payloads[2].metadata.encoding`. */
export function payloadsFromJson(body: unknown): Payload[] {
  if (
    typeof body !== 'object' ||
    body === null ||
    !Array.isArray((body as { payloads?: unknown }).payloads)
  ) {
    throw new Error('body must be an object with a "payloads" array');
  }
  return (body as { payloads: unknown[] }).payloads.map((p, i) => {
    if (typeof p !== 'object' || p === null) throw new Error(`payloads[${i}] must be an object`);
    const { metadata = {}, data } = p as { metadata?: unknown; data?: unknown };
    if (typeof metadata !== 'object' || metadata === null)
      throw new Error(`payloads[${i}].metadata must be an object`);
    const out: Payload = { metadata: {} };
    for (const [k, v] of Object.entries(metadata))
      out.metadata![k] = bytes(v, `payloads[${i}].metadata.${k}`);
    if (data !== undefined) out.data = bytes(data, `payloads[${i}].data`);
    return out;
  });
}

export function payloadsToJson(payloads: Payload[]): { payloads: JsonPayload[] } {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(
        Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
      data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
    })),
  };
}
